//! LeiKa CSV (the federal service catalogue, e.g. `ozg_leika_catalogue_flat.csv`): one row
//! per service with its 14-digit key (`leika_key`) and designation (`leika_bezeichnung`).
//! The OZG service, life situation and topic (`ozg_leistung`, `lebenslage`, `themenfeld`)
//! become keywords (there are no description texts), `rechtsgrundlagen` the legal basis.
//! The list names no departments: the mapping file assigns them.

use std::collections::HashMap;

use super::{Draft, DraftService, ImportError, Input};
use crate::domain::{Fact, Facts, Service, catalogue::is_leika_key};

const KEY: &str = "leika_key";
const NAME: &str = "leika_bezeichnung";
const TOPICS: [&str; 3] = ["ozg_leistung", "lebenslage", "themenfeld"];
const LEGAL: &str = "rechtsgrundlagen";

pub fn read(files: &[Input]) -> Result<Draft, ImportError> {
    let mut draft = Draft::new("LeiKa");
    let mut seen: HashMap<String, String> = HashMap::new();
    for file in files {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(file.text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ImportError::malformed(&file.name, "header row", e.to_string()))?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(key_at), Some(name_at)) = (column(KEY), column(NAME)) else {
            return Err(ImportError::malformed(
                &file.name,
                "header row",
                format!("a LeiKa list needs the columns '{KEY}' and '{NAME}'"),
            ));
        };
        let topics: Vec<usize> = TOPICS.iter().filter_map(|t| column(t)).collect();
        let legal = column(LEGAL);
        for (i, row) in reader.records().enumerate() {
            let line = i + 2;
            let row = row.map_err(|e| {
                ImportError::malformed(&file.name, format!("line {line}"), e.to_string())
            })?;
            let field = |at: usize| row.get(at).unwrap_or("").trim().to_string();
            let (key, name) = (field(key_at), field(name_at));
            let entry = format!("{}: line {line} ({name})", file.name);
            if !is_leika_key(&key) {
                draft.skip(entry, format!("'{key}' is not a 14-digit LeiKa key"));
                continue;
            }
            if let Some(first) = seen.get(&key) {
                draft.skip(entry, format!("LeiKa key {key} again; {first} is kept"));
                continue;
            }
            seen.insert(key.clone(), format!("line {line}"));
            // The topic (Themenfeld) groups related services: their auto-routing
            // threshold is fitted together.
            let family = column("themenfeld").map(field).filter(|t| !t.is_empty());
            let mut keywords: Vec<String> = Vec::new();
            for t in topics.iter().map(|&at| field(at)) {
                if !t.is_empty() && !keywords.contains(&t) {
                    keywords.push(t);
                }
            }
            let legal_basis = legal.map(field).filter(|t| !t.is_empty()).map(|text| Fact {
                text,
                source: format!("LeiKa {}[line {line}].{LEGAL}", file.name),
            });
            draft.services.push(DraftService {
                service: Service {
                    id: key.clone(),
                    name: name.clone(),
                    department: String::new(),
                    description: String::new(),
                    leika: Some(key),
                    leika_name: Some(name),
                    keywords,
                    examples: Vec::new(),
                    offices: Vec::new(),
                    family,
                    auto_route: true,
                    facts: Facts {
                        legal_basis,
                        ..Facts::default()
                    },
                },
                entry,
                assigned: false,
            });
        }
    }
    Ok(draft)
}
