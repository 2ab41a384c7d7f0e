//! The administration's service catalogue: departments with their mailboxes and the
//! services they are responsible for (LeiKa key, description, keywords, example inquiries).
//! Parsed from TOML and validated once; errors name the file, the entry and the problem.

use std::{collections::HashMap, path::Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Fewer examples than this make a service too thin to route to reliably.
pub const MIN_EXAMPLES: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub mailbox: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub department: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leika: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leika_name: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    name: String,
    #[serde(default = "default_language")]
    language: String,
}

fn default_language() -> String {
    "de".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    catalogue: Meta,
    departments: Vec<Department>,
    services: Vec<Service>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{path}: cannot read the catalogue: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid catalogue: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {entry}: {problem}")]
    Invalid {
        path: String,
        entry: String,
        problem: String,
    },
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    pub name: String,
    pub language: String,
    pub departments: Vec<Department>,
    pub services: Vec<Service>,
    department_by_id: HashMap<String, usize>,
    service_by_id: HashMap<String, usize>,
    fingerprint: String,
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    /// Parses and validates; `origin` names the source in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| CatalogueError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let invalid = |entry: String, problem: String| CatalogueError::Invalid {
            path: origin.to_string(),
            entry,
            problem,
        };

        let mut department_by_id = HashMap::new();
        for (i, d) in file.departments.iter().enumerate() {
            let entry = format!("department '{}'", d.id);
            check_id(&d.id).map_err(|p| invalid(format!("department #{}", i + 1), p))?;
            if department_by_id.insert(d.id.clone(), i).is_some() {
                return Err(invalid(entry, "duplicate id".into()));
            }
            if d.name.trim().is_empty() {
                return Err(invalid(entry, "empty name".into()));
            }
            if !is_mailbox(&d.mailbox) {
                return Err(invalid(
                    entry,
                    format!("mailbox '{}' is not an email address", d.mailbox),
                ));
            }
        }

        let mut service_by_id = HashMap::new();
        for (i, s) in file.services.iter().enumerate() {
            let entry = format!("service '{}'", s.id);
            check_id(&s.id).map_err(|p| invalid(format!("service #{}", i + 1), p))?;
            if service_by_id.insert(s.id.clone(), i).is_some() {
                return Err(invalid(entry, "duplicate id".into()));
            }
            if !department_by_id.contains_key(&s.department) {
                return Err(invalid(
                    entry,
                    format!("unknown department '{}'", s.department),
                ));
            }
            if s.name.trim().is_empty() || s.description.trim().is_empty() {
                return Err(invalid(
                    entry,
                    "empty service: name and description are required".into(),
                ));
            }
            let examples = s.examples.iter().filter(|e| !e.trim().is_empty()).count();
            if examples < MIN_EXAMPLES {
                return Err(invalid(
                    entry,
                    format!(
                        "empty service: {examples} example inquiries, at least {MIN_EXAMPLES} needed"
                    ),
                ));
            }
            if let Some(key) = &s.leika
                && !(key.len() == 14 && key.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(invalid(
                    entry,
                    format!("LeiKa key '{key}' is not 14 digits"),
                ));
            }
        }
        if file.services.is_empty() {
            return Err(invalid(
                "services".into(),
                "the catalogue has no services".into(),
            ));
        }

        let fingerprint = hex::encode(Sha256::digest(
            serde_json::to_vec(&(&file.departments, &file.services)).expect("serialisable"),
        ));
        Ok(Self {
            name: file.catalogue.name,
            language: file.catalogue.language,
            departments: file.departments,
            services: file.services,
            department_by_id,
            service_by_id,
            fingerprint,
        })
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.service_by_id.get(id).map(|&i| &self.services[i])
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.department_by_id.get(id).map(|&i| &self.departments[i])
    }

    /// Index of a service in `services`, the class index used by classifiers.
    pub fn service_index(&self, id: &str) -> Option<usize> {
        self.service_by_id.get(id).copied()
    }

    /// Changes whenever anything that is embedded or routed to changes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id '{id}' must be 1–64 characters of a-z, 0-9, '-' or '_'"
        ))
    }
}

fn is_mailbox(s: &str) -> bool {
    matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../config/catalogue.toml");

    fn small(services: &str) -> String {
        format!(
            "[catalogue]\nname = \"T\"\n[[departments]]\nid = \"tiefbau\"\nname = \"Tiefbau\"\nmailbox = \"t@example.org\"\n{services}"
        )
    }

    const LAMP: &str = "[[services]]\nid = \"lampe\"\nname = \"Laterne\"\ndepartment = \"tiefbau\"\ndescription = \"d\"\nexamples = [\"a\", \"b\", \"c\"]\n";

    fn problem(text: &str) -> String {
        Catalogue::parse(text, "cat.toml").unwrap_err().to_string()
    }

    #[test]
    fn demo_catalogue_is_valid_and_large_enough() {
        let c = Catalogue::parse(DEMO, "config/catalogue.toml").unwrap();
        assert!(
            c.departments.len() >= 12,
            "{} departments",
            c.departments.len()
        );
        assert!(c.services.len() >= 40, "{} services", c.services.len());
        assert!(c.services.iter().all(|s| s.examples.len() >= MIN_EXAMPLES));
        assert!(c.services.iter().filter(|s| s.leika.is_some()).count() >= 20);
    }

    #[test]
    fn unknown_department_names_file_entry_and_problem() {
        let text = small(&LAMP.replace("department = \"tiefbau\"", "department = \"bauhof\""));
        assert_eq!(
            problem(&text),
            "cat.toml: service 'lampe': unknown department 'bauhof'"
        );
    }

    #[test]
    fn duplicate_service_id_is_rejected() {
        assert_eq!(
            problem(&small(&format!("{LAMP}{LAMP}"))),
            "cat.toml: service 'lampe': duplicate id"
        );
    }

    #[test]
    fn service_without_examples_is_empty() {
        let text = small(&LAMP.replace("[\"a\", \"b\", \"c\"]", "[\"a\", \" \"]"));
        assert!(
            problem(&text).contains("service 'lampe': empty service: 1 example"),
            "{}",
            problem(&text)
        );
    }

    #[test]
    fn malformed_leika_key_and_mailbox_are_rejected() {
        let text = small(&LAMP.replace(
            "description = \"d\"",
            "description = \"d\"\nleika = \"9901\"",
        ));
        assert!(problem(&text).contains("LeiKa key '9901'"));
        let text = small(LAMP).replace("t@example.org", "tiefbau");
        assert!(problem(&text).contains("department 'tiefbau': mailbox"));
    }

    #[test]
    fn syntax_error_names_the_file() {
        assert!(problem("[catalogue").starts_with("cat.toml: not a valid catalogue"));
    }

    #[test]
    fn fingerprint_follows_content() {
        let a = Catalogue::parse(&small(LAMP), "a").unwrap();
        let b = Catalogue::parse(&small(&LAMP.replace("\"c\"]", "\"c\", \"d\"]")), "b").unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            Catalogue::parse(&small(LAMP), "c").unwrap().fingerprint()
        );
        assert_eq!(a.service("lampe").unwrap().department, "tiefbau");
        assert_eq!(a.department("tiefbau").unwrap().mailbox, "t@example.org");
    }
}
