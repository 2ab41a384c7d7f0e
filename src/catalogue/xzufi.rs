//! XZuFi 2.2 (`http://xoev.de/schemata/xzufi/2_2_0`), the XÖV standard in which the
//! Zuständigkeitsfinder exchange services and responsibilities.
//!
//! Read from any message root (`schreibe` containers or objects directly under the root):
//! - `leistung` → service: `id`; `referenzLeiKa/code` (LeiKa key); text modules
//!   `modulText` by `leikaTextmodul/code` (02 Leistungsbezeichnung → LeiKa name and the name
//!   unless 03 Leistungsbezeichnung II gives a plainer one, 05 Kurztext + 06 Volltext →
//!   description, 07 Rechtsgrundlagen, 08 Unterlagen, 09 Voraussetzungen,
//!   11 Verfahrensablauf, 14 Formulare, 15 weiterführende Informationen: links from
//!   `weiterfuehrenderLink`); `modulKosten`, `modulFrist`, `modulBearbeitungsdauer`
//!   (`beschreibung`); `modulBegriffImKontext/begriffImKontext/begriff` → keywords.
//!   Texts in several languages (`languageCode`) give the German one, else the first.
//! - `organisationseinheit` → department and office: `id`, `name/name`, `anschrift`
//!   (strasse, hausnummer, postleitzahl, ort), `kommunikation` (`kennung`: an address with
//!   '@' is the email, other `kanal` codes but 04 (fax) the phone), `oeffnungszeiten`;
//!   its `zustaendigkeit` children (`leistungID`, `rolle/code`) make it responsible.
//! - `zustaendigkeitTransferObjekt` (`leistungID`, `organisationseinheitID`) likewise.
//!
//! A service's department is its first responsible unit with role 01 (or no role), else
//! its first responsible unit. Other objects (`onlinedienst`, `spezialisierung`, `loesche`)
//! are reported as skipped.

use std::collections::{BTreeMap, HashMap};

use super::{Draft, DraftService, ImportError, Input, clean_text, join_parts, slug, xml::Element};
use crate::domain::{Department, Fact, Facts, Link, Office, Service, catalogue::is_leika_key};

pub const NAMESPACE: &str = "http://xoev.de/schemata/xzufi/2_2_0";

/// Role code of the unit that decides (urn:xoev-de:fim:codeliste:xzufi.zustaendigkeitsrolle).
const ROLE_RESPONSIBLE: &str = "01";
/// `kanal` code of a fax number in the reachability code list.
const CHANNEL_FAX: &str = "04";

/// Text of a multilingual element list: the German one, else the first non-empty.
fn localised<'a>(elements: impl Iterator<Item = &'a Element>) -> Option<String> {
    let texts: Vec<(Option<&str>, String)> = elements
        .map(|e| (e.attribute("languageCode"), clean_text(&e.all_text())))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    texts
        .iter()
        .find(|(l, _)| l.is_some_and(|l| l.starts_with("de")))
        .or(texts.first())
        .map(|(_, t)| t.clone())
}

fn code(e: &Element, path: &[&str]) -> Option<String> {
    e.at(path)?.value().map(String::from)
}

struct Responsibility {
    service: String,
    unit: String,
    role: Option<String>,
}

pub fn read(files: &[Input]) -> Result<Draft, ImportError> {
    let mut draft = Draft::new("XZuFi");
    let mut responsibilities = Vec::new();
    let mut service_ids: HashMap<String, String> = HashMap::new();
    for file in files {
        let root = super::xml::parse(&file.text).map_err(|e| {
            ImportError::malformed(&file.name, format!("byte {}", e.offset), e.message)
        })?;
        if root.namespace.as_deref() != Some(NAMESPACE) {
            return Err(ImportError::malformed(
                &file.name,
                format!("<{}>", root.name),
                format!(
                    "not an XZuFi 2.2 document: the root element's namespace is '{}', expected '{NAMESPACE}'",
                    root.namespace.as_deref().unwrap_or("none")
                ),
            ));
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for object in objects(&root) {
            let n = counts.entry(object.name.as_str()).or_default();
            *n += 1;
            let entry = format!("<{}> #{n} (byte {})", object.name, object.offset);
            match object.name.as_str() {
                "leistung" => {
                    let s = leistung(object, &file.name, &entry)?;
                    if let Some(first) = service_ids.insert(s.service.id.clone(), entry.clone()) {
                        return Err(ImportError::malformed(
                            &file.name,
                            &entry,
                            format!("duplicate leistung id '{}' (first: {first})", s.service.id),
                        ));
                    }
                    draft.services.push(s);
                }
                "organisationseinheit" => {
                    let (department, office, own) = unit(object, &file.name, &entry)?;
                    if draft.departments.iter().any(|d| d.id == department.id) {
                        return Err(ImportError::malformed(
                            &file.name,
                            &entry,
                            format!("duplicate organisationseinheit id '{}'", department.id),
                        ));
                    }
                    draft.departments.push(department);
                    draft.offices.push(office);
                    responsibilities.extend(own);
                }
                "zustaendigkeitTransferObjekt" => {
                    let id = |name: &str| {
                        object.child(name).and_then(Element::value).map(slug).ok_or_else(|| {
                            ImportError::malformed(&file.name, &entry, format!("no <{name}>"))
                        })
                    };
                    responsibilities.push(Responsibility {
                        service: id("leistungID")?,
                        unit: id("organisationseinheitID")?,
                        role: code(object, &["zustaendigkeit", "rolle", "code"]),
                    });
                }
                "nachrichtenkopf" => {}
                other => draft.skip(
                    format!("{}: {entry}", file.name),
                    format!("<{other}> objects are not imported (only leistung, organisationseinheit and their zustaendigkeit)"),
                ),
            }
        }
    }
    assign(&mut draft, responsibilities);
    Ok(draft)
}

/// The exchanged objects: children of `schreibe` containers or of the root itself.
fn objects(root: &Element) -> Vec<&Element> {
    root.children
        .iter()
        .flat_map(|c| {
            if c.name == "schreibe" {
                c.children.iter().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// An object's `<id>` as given and as a catalogue id.
fn object_id<'a>(
    e: &'a Element,
    file: &str,
    entry: &str,
) -> Result<(&'a str, String), ImportError> {
    let raw = e
        .child("id")
        .and_then(Element::value)
        .ok_or_else(|| ImportError::malformed(file, entry, "no <id>"))?;
    let id = slug(raw);
    if id.is_empty() {
        return Err(ImportError::malformed(
            file,
            entry,
            format!("id '{raw}' is not usable"),
        ));
    }
    Ok((raw, id))
}

fn leistung(e: &Element, file: &str, entry: &str) -> Result<DraftService, ImportError> {
    let (raw_id, id) = object_id(e, file, entry)?;
    let fact = |text: String, field: &str| Fact {
        text,
        source: format!("XZuFi leistung[{raw_id}].{field}"),
    };
    let mut modules: BTreeMap<String, (String, Vec<Link>)> = BTreeMap::new();
    for m in e.children("modulText") {
        let Some(code) = code(m, &["leikaTextmodul", "code"]) else {
            continue;
        };
        let text = localised(m.children("inhalt")).unwrap_or_default();
        let links = m
            .children("weiterfuehrenderLink")
            .filter_map(|l| {
                let url = l.child("uri").and_then(Element::value)?.to_string();
                let title = l
                    .child("titel")
                    .and_then(Element::value)
                    .unwrap_or(&url)
                    .to_string();
                Some(Link {
                    title,
                    url,
                    source: format!(
                        "XZuFi leistung[{raw_id}].modulText[{code}].weiterfuehrenderLink"
                    ),
                })
            })
            .collect();
        modules.insert(code, (text, links));
    }
    let text = |code: &str| {
        modules
            .get(code)
            .map(|(t, _)| t.clone())
            .filter(|t| !t.is_empty())
    };
    let module_fact = |code: &str, label: &str| {
        text(code).map(|t| fact(t, &format!("modulText[{code} {label}]")))
    };
    let described = |name: &str| {
        e.child(name)
            .and_then(|m| localised(m.children("beschreibung")))
            .map(|t| fact(t, name))
    };
    let leika_name = text("02");
    let name = text("03")
        .or_else(|| leika_name.clone())
        .unwrap_or_default();
    let description = [text("05"), text("06")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut keywords: Vec<String> = Vec::new();
    for b in e
        .children("modulBegriffImKontext")
        .flat_map(|m| m.children("begriffImKontext"))
    {
        if let Some(k) = localised(b.children("begriff"))
            && !keywords.contains(&k)
        {
            keywords.push(k);
        }
    }
    let links_of = |code: &str| {
        modules
            .get(code)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    Ok(DraftService {
        service: Service {
            id,
            name,
            department: String::new(),
            description,
            leika: e
                .children("referenzLeiKa")
                .filter_map(|r| code(r, &["code"]))
                .find(|k| is_leika_key(k)),
            leika_name,
            keywords,
            examples: Vec::new(),
            offices: Vec::new(),
            family: None,
            auto_route: true,
            facts: Facts {
                documents: module_fact("08", "Unterlagen"),
                prerequisites: module_fact("09", "Voraussetzungen"),
                fees: described("modulKosten"),
                deadlines: described("modulFrist"),
                processing_time: described("modulBearbeitungsdauer"),
                procedure: module_fact("11", "Verfahrensablauf"),
                legal_basis: module_fact("07", "Rechtsgrundlagen"),
                online_service: None,
                forms: links_of("14"),
                links: links_of("15"),
            },
        },
        entry: format!("{file}: {entry}"),
        assigned: false,
    })
}

fn unit(
    e: &Element,
    file: &str,
    entry: &str,
) -> Result<(Department, Office, Vec<Responsibility>), ImportError> {
    let (raw_id, id) = object_id(e, file, entry)?;
    let name = e
        .child("name")
        .and_then(|n| localised(n.children("name")).or_else(|| n.value().map(String::from)))
        .ok_or_else(|| ImportError::malformed(file, entry, "no <name>"))?;
    let fact = |text: String, field: &str| Fact {
        text,
        source: format!("XZuFi organisationseinheit[{raw_id}].{field}"),
    };
    let address = e.child("anschrift").and_then(|a| {
        let part = |n: &str| a.child(n).and_then(Element::value);
        let street = join_parts([part("strasse"), part("hausnummer")], " ");
        let city = join_parts([part("postleitzahl"), part("ort")], " ");
        let text = join_parts([Some(street.as_str()), Some(city.as_str())], ", ");
        (!text.is_empty()).then(|| fact(text, "anschrift"))
    });
    let (mut email, mut phone) = (None, None);
    for k in e.children("kommunikation") {
        let Some(value) = k.child("kennung").and_then(Element::value) else {
            continue;
        };
        if value.contains('@') {
            email.get_or_insert_with(|| fact(value.to_string(), "kommunikation.kennung"));
        } else if code(k, &["kanal", "code"]).as_deref() != Some(CHANNEL_FAX) {
            phone.get_or_insert_with(|| fact(value.to_string(), "kommunikation.kennung"));
        }
    }
    let opening_hours = e
        .child("oeffnungszeiten")
        .map(|o| clean_text(&o.all_text()))
        .filter(|t| !t.is_empty())
        .map(|t| fact(t, "oeffnungszeiten"));
    let mut own = Vec::new();
    for z in e.children("zustaendigkeit") {
        let service = z
            .child("leistungID")
            .and_then(Element::value)
            .ok_or_else(|| {
                ImportError::malformed(file, entry, "<zustaendigkeit> without <leistungID>")
            })?;
        own.push(Responsibility {
            service: slug(service),
            unit: id.clone(),
            role: code(z, &["rolle", "code"]),
        });
    }
    let mailbox = email
        .as_ref()
        .map(|f| f.text.clone())
        .filter(|m| crate::domain::catalogue::is_mailbox(m))
        .unwrap_or_default();
    Ok((
        Department {
            id: id.clone(),
            name: name.clone(),
            mailbox,
            description: String::new(),
            area: None,
        },
        Office {
            id: id.clone(),
            name,
            department: id,
            address,
            opening_hours,
            phone,
            email,
            position: None,
        },
        own,
    ))
}

/// Gives every service its responsible units: department and offices.
fn assign(draft: &mut Draft, responsibilities: Vec<Responsibility>) {
    let units: std::collections::HashSet<String> =
        draft.departments.iter().map(|d| d.id.clone()).collect();
    let mut by_service: BTreeMap<String, Vec<&Responsibility>> = BTreeMap::new();
    for r in &responsibilities {
        if !units.contains(&r.unit) {
            draft.skipped.push(super::Skipped {
                entry: format!("zustaendigkeit of leistung '{}'", r.service),
                reason: format!("organisationseinheit '{}' is not in the files", r.unit),
            });
            continue;
        }
        by_service.entry(r.service.clone()).or_default().push(r);
    }
    for d in &mut draft.services {
        let Some(list) = by_service.remove(&d.service.id) else {
            continue;
        };
        let responsible = list
            .iter()
            .find(|r| r.role.as_deref().is_none_or(|c| c == ROLE_RESPONSIBLE))
            .unwrap_or(&list[0]);
        d.service.department = responsible.unit.clone();
        d.assigned = true;
        d.service.offices.push(responsible.unit.clone());
        for r in list {
            if !d.service.offices.contains(&r.unit) {
                d.service.offices.push(r.unit.clone());
            }
        }
    }
    for (service, _) in by_service {
        draft.skipped.push(super::Skipped {
            entry: format!("zustaendigkeit of leistung '{service}'"),
            reason: "no such leistung in the files".into(),
        });
    }
}
