//! Importing the catalogues administrations already have into the one catalogue model:
//! DLDB JSON (`dldb`), XZuFi 2.2 XML (`xzufi`), LeiKa CSV (`leika`) and anliegen's own TOML.
//! Every importer produces a `Draft`; a mapping file (`mapping`) may assign or merge
//! departments; `finish` leaves out what cannot be routed to, with the reason, and validates
//! the rest in one place (`Catalogue::from_parts`). A malformed file is an error naming the
//! entry, and nothing of it is imported. `diff` compares two catalogues.

pub mod diff;
pub mod dldb;
pub mod leika;
pub mod mapping;
pub mod versions;
pub mod xml;
pub mod xzufi;

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::domain::{
    Catalogue, CatalogueError, Department, Meta, Office, Service, catalogue::service_problem,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Dldb,
    Xzufi,
    Leika,
    Toml,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Dldb, Self::Xzufi, Self::Leika, Self::Toml]
            .into_iter()
            .find(|f| f.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Dldb => "dldb",
            Self::Xzufi => "xzufi",
            Self::Leika => "leika",
            Self::Toml => "toml",
        }
    }
}

/// One input file: its name (for messages) and content.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// What to import: the catalogue files of one format, DLDB's locations file and an
/// optional mapping file.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub format: Format,
    pub files: Vec<Input>,
    pub locations: Option<Input>,
    pub mapping: Option<Input>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not what its format says; names the file and the entry.
    #[error("{file}: {entry}: {problem}")]
    Malformed {
        file: String,
        entry: String,
        problem: String,
    },
    #[error("{0}")]
    Request(String),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

impl ImportError {
    pub fn malformed(file: &str, entry: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Malformed {
            file: file.to_string(),
            entry: entry.into(),
            problem: problem.into(),
        }
    }
}

/// An entry of the source that is not in the catalogue, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub entry: String,
    pub reason: String,
}

/// What an import took and what it left out.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub format: Format,
    pub services: usize,
    pub departments: usize,
    pub offices: usize,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug)]
pub struct Imported {
    pub catalogue: Catalogue,
    pub report: ImportReport,
}

/// A service whose department may still be open (the mapping or `finish` decides).
#[derive(Debug, Clone)]
pub struct DraftService {
    pub service: Service,
    /// Where it came from, for the report (e.g. `data[3] (id 1063475)`).
    pub entry: String,
    pub assigned: bool,
}

/// An importer's result before mapping and validation.
#[derive(Debug, Clone)]
pub struct Draft {
    pub meta: Meta,
    pub departments: Vec<Department>,
    pub offices: Vec<Office>,
    pub services: Vec<DraftService>,
    pub skipped: Vec<Skipped>,
}

impl Draft {
    /// An empty draft of a catalogue called `name` (German unless the source says otherwise).
    pub fn new(name: &str) -> Self {
        Self {
            meta: Meta {
                name: name.into(),
                language: "de".into(),
                source: None,
            },
            departments: Vec::new(),
            offices: Vec::new(),
            services: Vec::new(),
            skipped: Vec::new(),
        }
    }

    pub fn skip(&mut self, entry: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            entry: entry.into(),
            reason: reason.into(),
        });
    }
}

/// Imports the files of `request` into a validated catalogue and the report of what was
/// taken and skipped.
pub fn import(request: &ImportRequest) -> Result<Imported, ImportError> {
    if request.files.is_empty() {
        return Err(ImportError::Request("no catalogue file given".into()));
    }
    let mapping = request
        .mapping
        .as_ref()
        .map(mapping::Mapping::parse)
        .transpose()?;
    if request.format == Format::Toml {
        let [file] = request.files.as_slice() else {
            return Err(ImportError::Request("a TOML catalogue is one file".into()));
        };
        let catalogue = Catalogue::parse(&file.text, &file.name)?;
        let report = ImportReport {
            format: Format::Toml,
            services: catalogue.services.len(),
            departments: catalogue.departments.len(),
            offices: catalogue.offices.len(),
            skipped: Vec::new(),
        };
        return Ok(Imported { catalogue, report });
    }
    let mut draft = match request.format {
        Format::Dldb => dldb::read(&request.files, request.locations.as_ref())?,
        Format::Xzufi => xzufi::read(&request.files)?,
        Format::Leika => {
            if mapping.is_none() {
                return Err(ImportError::Request(
                    "a LeiKa list names no departments: give a mapping file (--mapping) that assigns them".into(),
                ));
            }
            leika::read(&request.files)?
        }
        Format::Toml => unreachable!("handled above"),
    };
    if let Some(m) = &mapping {
        m.apply(&mut draft)?;
    }
    finish(draft, request.format, &origin(request))
}

fn origin(request: &ImportRequest) -> String {
    let names: Vec<&str> = request.files.iter().map(|f| f.name.as_str()).collect();
    format!("{} {}", request.format.name(), names.join(" "))
}

/// Leaves out services without a department or without anything to route by, and
/// departments and offices no service needs; validates the rest.
fn finish(mut draft: Draft, format: Format, origin: &str) -> Result<Imported, ImportError> {
    let mut services = Vec::new();
    for d in std::mem::take(&mut draft.services) {
        if let Some(problem) = service_problem(&d.service) {
            draft.skip(d.entry, problem);
        } else if !d.assigned {
            draft.skip(
                d.entry,
                "no department is responsible for it (assign one in the mapping file)",
            );
        } else {
            services.push(d.service);
        }
    }
    if services.is_empty() {
        return Err(ImportError::Request(format!(
            "{origin}: no service can be imported ({} skipped, e.g. {})",
            draft.skipped.len(),
            draft
                .skipped
                .first()
                .map_or("none".to_string(), |s| format!("{}: {}", s.entry, s.reason))
        )));
    }
    // Departments that handle a service or run an office offering one.
    let offered: HashSet<&str> = services
        .iter()
        .flat_map(|s| s.offices.iter().map(String::as_str))
        .collect();
    let used: HashSet<&str> = services
        .iter()
        .map(|s| s.department.as_str())
        .chain(
            draft
                .offices
                .iter()
                .filter(|o| offered.contains(o.id.as_str()))
                .map(|o| o.department.as_str()),
        )
        .collect();
    let mut departments = Vec::new();
    for d in draft.departments {
        if used.contains(d.id.as_str()) {
            departments.push(d);
        } else {
            draft.skipped.push(Skipped {
                entry: format!("department '{}'", d.id),
                reason: "no imported service belongs to it".into(),
            });
        }
    }
    let kept: HashSet<&str> = departments.iter().map(|d| d.id.as_str()).collect();
    let (offices, dropped): (Vec<Office>, Vec<Office>) = draft
        .offices
        .into_iter()
        .partition(|o| kept.contains(o.department.as_str()));
    let dropped: BTreeSet<String> = dropped.into_iter().map(|o| o.id).collect();
    for id in &dropped {
        draft.skipped.push(Skipped {
            entry: format!("office '{id}'"),
            reason: "its department has no imported service".into(),
        });
    }
    for s in &mut services {
        s.offices.retain(|o| !dropped.contains(o));
    }
    let meta = Meta {
        source: Some(origin.to_string()),
        ..draft.meta
    };
    let catalogue = Catalogue::from_parts(meta, departments, offices, services, origin)?;
    let report = ImportReport {
        format,
        services: catalogue.services.len(),
        departments: catalogue.departments.len(),
        offices: catalogue.offices.len(),
        skipped: draft.skipped,
    };
    Ok(Imported { catalogue, report })
}

/// An id from a source name or identifier: lower case, a-z/0-9 with single '-' between
/// words, umlauts spelled out, at most 64 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let spelled = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            _ => "",
        };
        if !spelled.is_empty() {
            out.push_str(spelled);
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(64).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The non-empty trimmed parts joined by `separator` (address lines and the like).
pub fn join_parts<'a>(parts: impl IntoIterator<Item = Option<&'a str>>, separator: &str) -> String {
    parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(separator)
}

/// Clean text from an HTML fragment (descriptions and fees of imported catalogues).
pub fn clean_text(html: &str) -> String {
    crate::text::html_to_text(html).trim().to_string()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("Bürgerbüro Orleansplatz"), "buergerbuero-orleansplatz");
        assert_eq!(
            slug("KfZ Zulassungsstelle (KVR-II/4211)"),
            "kfz-zulassungsstelle-kvr-ii-4211"
        );
        assert_eq!(slug("  --  "), "");
        assert!(crate::domain::catalogue::check_id(&slug(&"Straße ".repeat(40))).is_ok());
    }

    #[test]
    fn html_becomes_clean_text() {
        assert_eq!(
            clean_text(
                "<p>\u{200b}Sie haben <strong>ein Gewerbe</strong>.</p>\n<ol><li>Start</li></ol>"
            ),
            "Sie haben ein Gewerbe.\n\n- Start"
        );
    }
}
