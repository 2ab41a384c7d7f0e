//! The administration's service catalogue: departments with their mailboxes and areas,
//! the offices where citizens are served, and the services (LeiKa key, description,
//! keywords, optional example inquiries, the facts a reply needs). Parsed from TOML or
//! assembled by an importer, and validated once in one place; errors name the source, the
//! entry and the problem.

use std::{collections::HashMap, path::Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    area::Area,
    facts::{Facts, Office},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// Where routed inquiries are forwarded; empty: reviewed by a clerk, never forwarded.
    #[serde(default)]
    pub mailbox: String,
    #[serde(default)]
    pub description: String,
    /// The area the department is responsible for (GeoJSON Polygon or MultiPolygon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<Area>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub department: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leika: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leika_name: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Example inquiries: optional, they sharpen routing.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Offices providing the service, the responsible one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offices: Vec<String>,
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
    /// The family the service's auto-routing threshold is fitted for (e.g. its OZG topic);
    /// without one, the service's department is its family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Whether inquiries may be routed to the service without a clerk (default `true`).
    /// `false` sends every inquiry the model gives it to review, however confident.
    #[serde(default = "allowed", skip_serializing_if = "is_allowed")]
    pub auto_route: bool,
}

fn allowed() -> bool {
    true
}

fn is_allowed(auto_route: &bool) -> bool {
    *auto_route
}

impl Service {
    /// The group the service's auto-routing threshold is fitted for: its family, else its
    /// department.
    pub fn threshold_group(&self) -> &str {
        self.family.as_deref().unwrap_or(&self.department)
    }
}

/// The catalogue's name, language and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// The format and files it was imported from, if imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn default_language() -> String {
    "de".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    catalogue: Meta,
    departments: Vec<Department>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    offices: Vec<Office>,
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
    pub source: Option<String>,
    pub departments: Vec<Department>,
    pub offices: Vec<Office>,
    pub services: Vec<Service>,
    department_by_id: HashMap<String, usize>,
    office_by_id: HashMap<String, usize>,
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
        Self::from_parts(
            file.catalogue,
            file.departments,
            file.offices,
            file.services,
            origin,
        )
    }

    /// Validates assembled parts (from a file or an importer); `origin` names the source in
    /// error messages.
    pub fn from_parts(
        meta: Meta,
        departments: Vec<Department>,
        offices: Vec<Office>,
        services: Vec<Service>,
        origin: &str,
    ) -> Result<Self, CatalogueError> {
        let invalid = |entry: String, problem: String| CatalogueError::Invalid {
            path: origin.to_string(),
            entry,
            problem,
        };
        if meta.name.trim().is_empty() {
            return Err(invalid("catalogue".into(), "empty name".into()));
        }

        let mut department_by_id = HashMap::new();
        for (i, d) in departments.iter().enumerate() {
            let entry = format!("department '{}'", d.id);
            check_id(&d.id).map_err(|p| invalid(format!("department #{}", i + 1), p))?;
            if department_by_id.insert(d.id.clone(), i).is_some() {
                return Err(invalid(entry, "duplicate id".into()));
            }
            if d.name.trim().is_empty() {
                return Err(invalid(entry, "empty name".into()));
            }
            if !d.mailbox.is_empty() && !is_mailbox(&d.mailbox) {
                return Err(invalid(
                    entry,
                    format!("mailbox '{}' is not an email address", d.mailbox),
                ));
            }
            if let Some(problem) = d.area.as_ref().and_then(Area::problem) {
                return Err(invalid(entry, problem));
            }
        }

        let mut office_by_id = HashMap::new();
        for (i, o) in offices.iter().enumerate() {
            let entry = format!("office '{}'", o.id);
            check_id(&o.id).map_err(|p| invalid(format!("office #{}", i + 1), p))?;
            if office_by_id.insert(o.id.clone(), i).is_some() {
                return Err(invalid(entry, "duplicate id".into()));
            }
            if !department_by_id.contains_key(&o.department) {
                return Err(invalid(
                    entry,
                    format!("unknown department '{}'", o.department),
                ));
            }
        }

        let mut service_by_id = HashMap::new();
        for (i, s) in services.iter().enumerate() {
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
            if let Some(problem) = service_problem(s) {
                return Err(invalid(entry, problem));
            }
            if let Some(o) = s.offices.iter().find(|o| !office_by_id.contains_key(*o)) {
                return Err(invalid(entry, format!("unknown office '{o}'")));
            }
        }
        if services.is_empty() {
            return Err(invalid(
                "services".into(),
                "the catalogue has no services".into(),
            ));
        }

        let fingerprint = hex::encode(Sha256::digest(
            serde_json::to_vec(&(&departments, &offices, &services)).expect("serialisable"),
        ));
        Ok(Self {
            name: meta.name,
            language: meta.language,
            source: meta.source,
            departments,
            offices,
            services,
            department_by_id,
            office_by_id,
            service_by_id,
            fingerprint,
        })
    }

    /// The catalogue in its TOML file format (what `Catalogue::parse` reads back).
    pub fn to_toml(&self) -> String {
        let file = CatalogueFile {
            catalogue: Meta {
                name: self.name.clone(),
                language: self.language.clone(),
                source: self.source.clone(),
            },
            departments: self.departments.clone(),
            offices: self.offices.clone(),
            services: self.services.clone(),
        };
        toml::to_string(&file).expect("a validated catalogue serialises")
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.service_by_id.get(id).map(|&i| &self.services[i])
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.department_by_id.get(id).map(|&i| &self.departments[i])
    }

    pub fn office(&self, id: &str) -> Option<&Office> {
        self.office_by_id.get(id).map(|&i| &self.offices[i])
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

/// Why a service cannot be routed to: it needs a name and something to match inquiries
/// against (a description or keywords); example inquiries are optional.
pub fn service_problem(s: &Service) -> Option<String> {
    if s.name.trim().is_empty() {
        return Some("empty service: a name is required".into());
    }
    let has_keywords = s.keywords.iter().any(|k| !k.trim().is_empty());
    if s.description.trim().is_empty() && !has_keywords {
        return Some("empty service: a description or keywords are required".into());
    }
    match &s.leika {
        Some(key) if !is_leika_key(key) => Some(format!("LeiKa key '{key}' is not 14 digits")),
        _ => None,
    }
}

pub fn is_leika_key(key: &str) -> bool {
    key.len() == 14 && key.bytes().all(|b| b.is_ascii_digit())
}

pub fn check_id(id: &str) -> Result<(), String> {
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

pub fn is_mailbox(s: &str) -> bool {
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
        assert!(c.services.iter().all(|s| s.examples.len() >= 3));
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
    fn examples_are_optional_but_a_description_or_keywords_are_not() {
        let no_examples = small(&LAMP.replace("examples = [\"a\", \"b\", \"c\"]\n", ""));
        assert!(Catalogue::parse(&no_examples, "cat.toml").is_ok());
        let keywords_only = no_examples.replace("description = \"d\"", "keywords = [\"Laterne\"]");
        assert!(Catalogue::parse(&keywords_only, "cat.toml").is_ok());
        let bare = no_examples.replace("description = \"d\"\n", "");
        assert_eq!(
            problem(&bare),
            "cat.toml: service 'lampe': empty service: a description or keywords are required"
        );
    }

    #[test]
    fn facts_offices_and_areas_round_trip_through_toml() {
        let text = format!(
            "{}\n[[offices]]\nid = \"rathaus\"\nname = \"Rathaus\"\ndepartment = \"tiefbau\"\naddress = {{ text = \"Marienplatz 8, 80331 München\", source = \"test\" }}\n",
            small(&LAMP.replace(
                "examples",
                "offices = [\"rathaus\"]\nfacts = { fees = { text = \"10 Euro\", source = \"DLDB fees\" } }\nexamples"
            ))
        )
        .replace(
            "mailbox = \"t@example.org\"",
            "mailbox = \"t@example.org\"\narea = { type = \"Polygon\", coordinates = [[[11.0, 48.0], [12.0, 48.0], [12.0, 49.0], [11.0, 48.0]]] }",
        );
        let c = Catalogue::parse(&text, "cat.toml").unwrap();
        assert_eq!(
            c.service("lampe")
                .unwrap()
                .facts
                .fees
                .as_ref()
                .unwrap()
                .text,
            "10 Euro"
        );
        assert_eq!(c.office("rathaus").unwrap().department, "tiefbau");
        let again = Catalogue::parse(&c.to_toml(), "again").unwrap();
        assert_eq!(again.fingerprint(), c.fingerprint());
        assert!(again.department("tiefbau").unwrap().area.is_some());
        let bad = text.replace("offices = [\"rathaus\"]", "offices = [\"bahnhof\"]");
        assert_eq!(
            problem(&bad),
            "cat.toml: service 'lampe': unknown office 'bahnhof'"
        );
    }

    #[test]
    fn mailbox_is_optional() {
        let text = small(LAMP).replace("mailbox = \"t@example.org\"\n", "");
        let c = Catalogue::parse(&text, "cat.toml").unwrap();
        assert_eq!(c.department("tiefbau").unwrap().mailbox, "");
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
