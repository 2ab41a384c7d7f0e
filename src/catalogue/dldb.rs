//! DLDB JSON (the Dienstleistungsdatenbank export of the Berlin and Munich appointment
//! systems): `services_de.json` and `locations_de.json`, each `{"meta", "data": [...]}`.
//!
//! Mapping: a service keeps its DLDB id, name, HTML description (as clean text), the
//! editors' keywords (`meta.keywords`, comma-separated), its first valid LeiKa key, fees,
//! forms and links. Every location becomes an office (address, position, email, phone);
//! locations with the same `displayName` form one department (its mailbox is the email of
//! the location offering the most services). A service belongs to the department most of
//! its locations belong to (ties: the department offering more services); its offices are
//! its locations, the responsible department's first.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Draft, DraftService, ImportError, Input, clean_text, join_parts, slug};
use crate::domain::{
    Department, Fact, Facts, GeoPoint, Link, Office, Service, catalogue::is_leika_key,
};

#[derive(Deserialize)]
struct Export<T> {
    data: Vec<T>,
}

/// DLDB writes ids as strings or numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.trim().to_string(),
            Self::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct DService {
    id: Id,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    meta: Option<DMeta>,
    #[serde(default)]
    leika: Option<String>,
    #[serde(default)]
    fees: Option<String>,
    #[serde(default)]
    forms: Vec<DLink>,
    #[serde(default)]
    links: Vec<DLink>,
    #[serde(default)]
    locations: Vec<DServiceLocation>,
    #[serde(default)]
    authorities: Vec<DAuthority>,
}

#[derive(Deserialize)]
struct DMeta {
    #[serde(default)]
    keywords: Option<String>,
}

#[derive(Deserialize)]
struct DLink {
    name: String,
    link: String,
}

#[derive(Deserialize)]
struct DServiceLocation {
    location: Id,
}

#[derive(Deserialize)]
struct DAuthority {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DLocation {
    id: Id,
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    organization_unit: Option<String>,
    #[serde(default)]
    address: Option<DAddress>,
    #[serde(default)]
    geo: Option<DGeo>,
    #[serde(default)]
    contact: Option<DContact>,
    #[serde(default)]
    services: Vec<DLocationService>,
}

#[derive(Deserialize)]
struct DAddress {
    #[serde(default)]
    street: Option<String>,
    #[serde(default)]
    house_number: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

#[derive(Deserialize)]
struct DGeo {
    lat: serde_json::Value,
    lon: serde_json::Value,
}

#[derive(Deserialize)]
struct DContact {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
struct DLocationService {
    service: Id,
    #[serde(default)]
    onlineprocessing: Option<DOnline>,
}

#[derive(Deserialize)]
struct DOnline {
    #[serde(default)]
    link: Option<String>,
}

fn parse<T: DeserializeOwned>(input: &Input) -> Result<Vec<T>, ImportError> {
    let de = &mut serde_json::Deserializer::from_str(&input.text);
    let export: Export<T> = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ImportError::malformed(&input.name, path, e.into_inner().to_string())
    })?;
    Ok(export.data)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

fn coordinate(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Offices and departments from the locations file, and which office offers what.
struct Places {
    departments: Vec<Department>,
    offices: Vec<Office>,
    /// Office id → department id.
    department_of: HashMap<String, String>,
    /// (office id, service id) → online-service link.
    online: HashMap<(String, String), String>,
}

fn places(input: &Input) -> Result<Places, ImportError> {
    let locations: Vec<DLocation> = parse(input)?;
    let mut groups: BTreeMap<String, Vec<&DLocation>> = BTreeMap::new();
    let mut seen = HashMap::new();
    for (i, l) in locations.iter().enumerate() {
        let id = l.id.text();
        if crate::domain::catalogue::check_id(&id).is_err() {
            return Err(ImportError::malformed(
                &input.name,
                format!("data[{i}].id"),
                format!("location id '{id}' is not usable as an office id"),
            ));
        }
        if let Some(first) = seen.insert(id.clone(), i) {
            return Err(ImportError::malformed(
                &input.name,
                format!("data[{i}].id"),
                format!("duplicate location id '{id}' (first at data[{first}])"),
            ));
        }
        let office_name = non_empty(l.display_name.as_deref()).unwrap_or_else(|| {
            l.name
                .split(" (")
                .next()
                .unwrap_or(&l.name)
                .trim()
                .to_string()
        });
        groups.entry(office_name).or_default().push(l);
    }
    let mut out = Places {
        departments: Vec::new(),
        offices: Vec::new(),
        department_of: HashMap::new(),
        online: HashMap::new(),
    };
    for (name, members) in groups {
        let id = slug(&name);
        if id.is_empty() {
            return Err(ImportError::malformed(
                &input.name,
                format!("location '{}'", members[0].id.text()),
                "no usable name",
            ));
        }
        let mailbox = members
            .iter()
            .filter_map(|l| {
                let email = non_empty(l.contact.as_ref()?.email.as_deref())?;
                crate::domain::catalogue::is_mailbox(&email).then_some((l.services.len(), email))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, e)| e)
            .unwrap_or_default();
        let units: Vec<String> = members
            .iter()
            .filter_map(|l| non_empty(l.organization_unit.as_deref()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        out.departments.push(Department {
            id: id.clone(),
            name,
            mailbox,
            description: units.join(", "),
            area: None,
        });
        for l in members {
            out.offices.push(office(l, &id));
            out.department_of.insert(l.id.text(), id.clone());
            for s in &l.services {
                if let Some(link) = s
                    .onlineprocessing
                    .as_ref()
                    .and_then(|o| non_empty(o.link.as_deref()))
                {
                    out.online
                        .insert((l.id.text(), s.service.text()), link.clone());
                }
            }
        }
    }
    Ok(out)
}

fn office(l: &DLocation, department: &str) -> Office {
    let id = l.id.text();
    let fact = |text: String, field: &str| Fact {
        text,
        source: format!("DLDB locations[{id}].{field}"),
    };
    let address = l.address.as_ref().and_then(|a| {
        let street = join_parts([a.street.as_deref(), a.house_number.as_deref()], " ");
        let city = join_parts([a.postal_code.as_deref(), a.city.as_deref()], " ");
        let text = join_parts([Some(street.as_str()), Some(city.as_str())], ", ");
        (!text.is_empty()).then(|| fact(text, "address"))
    });
    let contact = l.contact.as_ref();
    Office {
        id: id.clone(),
        name: l.name.trim().to_string(),
        department: department.to_string(),
        address,
        opening_hours: None,
        phone: non_empty(contact.and_then(|c| c.phone.as_deref()))
            .map(|p| fact(p, "contact.phone")),
        email: non_empty(contact.and_then(|c| c.email.as_deref()))
            .map(|e| fact(e, "contact.email")),
        position: l.geo.as_ref().and_then(|g| {
            let (lat, lon) = (coordinate(&g.lat)?, coordinate(&g.lon)?);
            (lat.abs() <= 90.0 && lon.abs() <= 180.0).then_some(GeoPoint { lat, lon })
        }),
    }
}

pub fn read(files: &[Input], locations: Option<&Input>) -> Result<Draft, ImportError> {
    let places = match locations {
        Some(l) => places(l)?,
        None => Places {
            departments: Vec::new(),
            offices: Vec::new(),
            department_of: HashMap::new(),
            online: HashMap::new(),
        },
    };
    // How many services each department offers: the tie-break between departments.
    let mut offered: HashMap<&str, usize> = HashMap::new();
    let mut draft = Draft::new("DLDB");
    let mut parsed = Vec::new();
    for file in files {
        for (i, s) in parse::<DService>(file)?.into_iter().enumerate() {
            for l in &s.locations {
                if let Some(d) = places.department_of.get(&l.location.text()) {
                    *offered.entry(d.as_str()).or_default() += 1;
                }
            }
            parsed.push((file, i, s));
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    for (file, i, s) in &parsed {
        let id = s.id.text();
        let entry = format!("{}: data[{i}] (id {id}, {})", file.name, s.name.trim());
        if crate::domain::catalogue::check_id(&id).is_err() {
            return Err(ImportError::malformed(
                &file.name,
                format!("data[{i}].id"),
                format!("service id '{id}' is not usable as an id"),
            ));
        }
        if let Some(first) = seen.insert(id.clone(), entry.clone()) {
            return Err(ImportError::malformed(
                &file.name,
                format!("data[{i}].id"),
                format!("duplicate service id '{id}' (first: {first})"),
            ));
        }
        if draft.meta.name == "DLDB"
            && let Some(a) = s.authorities.first()
        {
            draft.meta.name = a.name.trim().to_string();
        }
        let mut unknown = Vec::new();
        let mut offices: Vec<(String, String)> = Vec::new();
        for l in &s.locations {
            let office = l.location.text();
            match places.department_of.get(&office) {
                Some(d) => offices.push((office, d.clone())),
                None => unknown.push(office),
            }
        }
        if !unknown.is_empty() && locations.is_some() {
            draft.skip(
                format!("{entry}: locations {}", unknown.join(", ")),
                "not in the locations file; the service keeps its other offices",
            );
        }
        let department = {
            let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, d) in &offices {
                *votes.entry(d.as_str()).or_default() += 1;
            }
            votes
                .into_iter()
                .max_by(|a, b| {
                    a.1.cmp(&b.1)
                        .then(offered.get(a.0).cmp(&offered.get(b.0)))
                        .then(b.0.cmp(a.0))
                })
                .map(|(d, _)| d.to_string())
        };
        if let Some(d) = &department {
            offices.sort_by_key(|(_, od)| od != d);
        }
        let online = offices.iter().find_map(|(o, _)| {
            let url = places.online.get(&(o.clone(), id.clone()))?;
            Some(Link {
                title: "Online".into(),
                url: url.clone(),
                source: format!("DLDB locations[{o}].services[{id}].onlineprocessing.link"),
            })
        });
        let service = service(
            s,
            &id,
            offices.into_iter().map(|(o, _)| o).collect(),
            online,
        );
        draft.services.push(DraftService {
            assigned: department.is_some(),
            service: Service {
                department: department.unwrap_or_default(),
                ..service
            },
            entry,
        });
    }
    draft.departments = places.departments;
    draft.offices = places.offices;
    Ok(draft)
}

fn service(s: &DService, id: &str, offices: Vec<String>, online: Option<Link>) -> Service {
    let fact = |text: String, field: &str| Fact {
        text,
        source: format!("DLDB services[{id}].{field}"),
    };
    let links = |list: &[DLink], field: &str| -> Vec<Link> {
        list.iter()
            .enumerate()
            .filter(|(_, l)| !l.link.trim().is_empty())
            .map(|(i, l)| Link {
                title: l.name.trim().to_string(),
                url: l.link.trim().to_string(),
                source: format!("DLDB services[{id}].{field}[{i}]"),
            })
            .collect()
    };
    let forms = links(&s.forms, "forms");
    let mut further = links(&s.links, "links");
    further.retain(|l| !forms.iter().any(|f| f.url == l.url));
    let mut keywords: Vec<String> = Vec::new();
    for k in s
        .meta
        .as_ref()
        .and_then(|m| m.keywords.as_deref())
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
    {
        if !k.is_empty() && !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            keywords.push(k.to_string());
        }
    }
    Service {
        id: id.to_string(),
        name: s.name.trim().to_string(),
        department: String::new(),
        description: s.description.as_deref().map(clean_text).unwrap_or_default(),
        leika: s.leika.as_deref().and_then(|l| {
            l.split(',')
                .map(str::trim)
                .find(|k| is_leika_key(k))
                .map(String::from)
        }),
        leika_name: None,
        keywords,
        examples: Vec::new(),
        offices,
        family: None,
        auto_route: true,
        facts: Facts {
            fees: s
                .fees
                .as_deref()
                .map(clean_text)
                .filter(|t| !t.is_empty())
                .map(|t| fact(t, "fees")),
            online_service: online,
            forms,
            links: further,
            ..Facts::default()
        },
    }
}
