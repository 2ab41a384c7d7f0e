//! What changed between two catalogues: departments, offices and services added, removed
//! or changed (with the names of the changed fields), for `anliegen catalogue diff` and the
//! report of every new catalogue version.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::domain::Catalogue;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Id → the fields that differ.
    pub changed: BTreeMap<String, Vec<String>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatalogueDiff {
    pub departments: Changes,
    pub offices: Changes,
    pub services: Changes,
}

fn changes<T: Serialize>(old: &[T], new: &[T], id: impl Fn(&T) -> &str) -> Changes {
    let index = |items: &[T]| -> BTreeMap<String, Value> {
        items
            .iter()
            .map(|x| {
                (
                    id(x).to_string(),
                    serde_json::to_value(x).expect("serialisable"),
                )
            })
            .collect()
    };
    let (old, new) = (index(old), index(new));
    let mut out = Changes::default();
    for (k, v) in &new {
        match old.get(k) {
            None => out.added.push(k.clone()),
            Some(before) if before != v => {
                let fields = match (before, v) {
                    (Value::Object(a), Value::Object(b)) => {
                        let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
                        keys.sort();
                        keys.dedup();
                        keys.retain(|key| a.get(key) != b.get(key));
                        keys
                    }
                    _ => vec!["value".into()],
                };
                out.changed.insert(k.clone(), fields);
            }
            Some(_) => {}
        }
    }
    out.removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    out
}

impl CatalogueDiff {
    pub fn between(old: &Catalogue, new: &Catalogue) -> Self {
        Self {
            departments: changes(&old.departments, &new.departments, |d| &d.id),
            offices: changes(&old.offices, &new.offices, |o| &o.id),
            services: changes(&old.services, &new.services, |s| &s.id),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.departments.is_empty() && self.offices.is_empty() && self.services.is_empty()
    }

    /// One line per change, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, c) in [
            ("department", &self.departments),
            ("office", &self.offices),
            ("service", &self.services),
        ] {
            out.extend(c.added.iter().map(|id| format!("+ {kind} {id}")));
            out.extend(c.removed.iter().map(|id| format!("- {kind} {id}")));
            out.extend(
                c.changed
                    .iter()
                    .map(|(id, fields)| format!("~ {kind} {id}: {}", fields.join(", "))),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../config/catalogue.toml");

    #[test]
    fn same_catalogue_has_no_changes_and_edits_show_their_fields() {
        let a = Catalogue::parse(DEMO, "a").unwrap();
        assert!(CatalogueDiff::between(&a, &a).is_empty());
        let first = &a.services[0].id;
        let mut b = a.clone();
        b.services[0].name.push_str(" (neu)");
        b.services.remove(1);
        let d = CatalogueDiff::between(&a, &b);
        assert_eq!(d.services.changed[first], vec!["name".to_string()]);
        assert_eq!(d.services.removed, vec![a.services[1].id.clone()]);
        assert!(d.services.added.is_empty() && d.departments.is_empty());
        assert_eq!(d.lines().len(), 2);
    }
}
