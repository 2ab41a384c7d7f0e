//! The mapping file: which department handles which imported service. A LeiKa list names
//! no departments, so it needs one; for DLDB and XZuFi it may merge, rename or complete the
//! departments the source implies. TOML:
//!
//! ```toml
//! name = "Landeshauptstadt München"      # optional: the catalogue's name
//! default = "buergerservice"             # optional: department for everything unassigned
//!
//! [[departments]]                         # departments to add or replace (catalogue format)
//! id = "buergerservice"
//! name = "Bürgerservice"
//! mailbox = "buergerservice@example.org"
//!
//! [assign.services]                       # service id → department (first rule that matches wins)
//! "1063505" = "buergerservice"
//! [assign.leika]                          # LeiKa key prefix → department (longest prefix wins)
//! "99036" = "kfz"
//! [assign.keywords]                       # keyword or topic (case-insensitive) → department
//! "Bauen & Wohnen" = "bauamt"
//! [assign.departments]                    # department of the source → department
//! "buergerbuero-pasing" = "buergerservice"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Draft, ImportError, Input};
use crate::domain::Department;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    departments: Vec<Department>,
    #[serde(default)]
    assign: Assign,
    #[serde(skip)]
    file: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    #[serde(default)]
    services: BTreeMap<String, String>,
    #[serde(default)]
    leika: BTreeMap<String, String>,
    #[serde(default)]
    keywords: BTreeMap<String, String>,
    #[serde(default)]
    departments: BTreeMap<String, String>,
}

impl Mapping {
    pub fn parse(input: &Input) -> Result<Self, ImportError> {
        let mut m: Mapping = toml::from_str(&input.text).map_err(|e| {
            ImportError::malformed(
                &input.name,
                "mapping",
                e.to_string().trim().replace('\n', " "),
            )
        })?;
        m.file = input.name.clone();
        m.assign.keywords = m
            .assign
            .keywords
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        Ok(m)
    }

    /// The department the rules give a service, if any.
    fn department_for(&self, d: &super::DraftService) -> Option<&String> {
        let s = &d.service;
        if let Some(dep) = self.assign.services.get(&s.id) {
            return Some(dep);
        }
        if let Some(key) = &s.leika
            && let Some((_, dep)) = self
                .assign
                .leika
                .iter()
                .filter(|(prefix, _)| key.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len())
        {
            return Some(dep);
        }
        if let Some(dep) = s
            .keywords
            .iter()
            .find_map(|k| self.assign.keywords.get(&k.to_lowercase()))
        {
            return Some(dep);
        }
        if d.assigned {
            return self.assign.departments.get(&s.department);
        }
        self.default.as_ref()
    }

    /// Assigns departments and adds the mapping's own departments. A rule naming a
    /// department that neither the source nor the mapping defines is an error.
    pub fn apply(&self, draft: &mut Draft) -> Result<(), ImportError> {
        if let Some(name) = &self.name {
            draft.meta.name = name.clone();
        }
        for d in &self.departments {
            match draft.departments.iter_mut().find(|x| x.id == d.id) {
                Some(existing) => *existing = d.clone(),
                None => draft.departments.push(d.clone()),
            }
        }
        let known = |id: &str| draft.departments.iter().any(|d| d.id == id);
        let rules = self
            .assign
            .services
            .iter()
            .chain(&self.assign.leika)
            .chain(&self.assign.keywords)
            .chain(&self.assign.departments)
            .map(|(k, v)| (k.as_str(), v))
            .chain(self.default.iter().map(|v| ("default", v)));
        for (rule, department) in rules {
            if !known(department) {
                return Err(ImportError::malformed(
                    &self.file,
                    format!("assign '{rule}'"),
                    format!("unknown department '{department}'"),
                ));
            }
        }
        for d in &mut draft.services {
            if let Some(dep) = self.department_for(d) {
                d.service.department = dep.clone();
                d.assigned = true;
            }
        }
        Ok(())
    }
}
