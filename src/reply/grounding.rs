//! The facts a draft may state, each taken from a catalogue field with its source, and the
//! gaps: what the draft's intent needs but the catalogue lacks. A gap is written into the
//! draft as a visible marker for the clerk (`[Gebühr: im Katalog nicht hinterlegt]`),
//! never filled with a guess.

use serde::Serialize;

use super::intent::Intent;
use crate::domain::{Catalogue, Service, facts::Fact};

/// One fact in a draft: the field, its text and where the catalogue has it from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DraftFact {
    pub field: &'static str,
    pub value: String,
    pub source: String,
}

/// A fact the intent needs that the catalogue does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub field: &'static str,
    /// The marker standing in the draft where the fact would be.
    pub marker: String,
}

/// Every field a draft can use, with its German and English label.
pub const FIELDS: &[(&str, &str, &str)] = &[
    ("documents", "Unterlagen", "Documents"),
    ("prerequisites", "Voraussetzungen", "Prerequisites"),
    ("fees", "Gebühr", "Fee"),
    ("deadlines", "Fristen", "Deadlines"),
    ("processing_time", "Bearbeitungsdauer", "Processing time"),
    ("online_service", "Online-Dienst", "Online service"),
    ("forms", "Formulare", "Forms"),
    ("links", "Weitere Informationen", "Further information"),
    ("office", "Zuständige Stelle", "Responsible office"),
    ("address", "Anschrift", "Address"),
    ("opening_hours", "Öffnungszeiten", "Opening hours"),
    ("phone", "Telefon", "Phone"),
    ("email", "E-Mail", "Email"),
];

/// The fields an intent's template needs; missing ones become gaps.
pub fn needed(intent: Intent) -> &'static [&'static str] {
    match intent {
        Intent::Information => &["documents", "fees", "address", "opening_hours", "phone"],
        Intent::Appointment => &["address", "opening_hours", "phone", "online_service"],
        Intent::Defect => &["processing_time", "phone"],
        Intent::Complaint | Intent::Status => &["phone"],
    }
}

/// The German marker for a missing field (`[Gebühr: im Katalog nicht hinterlegt]`).
pub fn marker(field: &str, english: bool) -> String {
    let (_, de, en) = FIELDS
        .iter()
        .find(|(f, _, _)| *f == field)
        .copied()
        .unwrap_or((field, field, field));
    if english {
        format!("[{en}: not in the catalogue]")
    } else {
        format!("[{de}: im Katalog nicht hinterlegt]")
    }
}

/// Whether `text` still carries a gap marker of either language.
pub fn marker_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (start, _) in text.match_indices('[') {
        if let Some(len) = text[start..].find(']') {
            let inner = &text[start..start + len];
            if inner.ends_with(": im Katalog nicht hinterlegt")
                || inner.ends_with(": not in the catalogue")
            {
                spans.push((start, start + len + 1));
            }
        }
    }
    spans
}

/// The service's facts and its responsible office's (the first listed), in field order.
pub fn facts(catalogue: &Catalogue, service: &Service) -> Vec<DraftFact> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, fact: &Option<Fact>| {
        if let Some(f) = fact.as_ref().filter(|f| !f.text.trim().is_empty()) {
            out.push(DraftFact {
                field,
                value: f.text.trim().to_string(),
                source: f.source.clone(),
            });
        }
    };
    let f = &service.facts;
    push("documents", &f.documents);
    push("prerequisites", &f.prerequisites);
    push("fees", &f.fees);
    push("deadlines", &f.deadlines);
    push("processing_time", &f.processing_time);
    if let Some(office) = service.offices.first().and_then(|id| catalogue.office(id)) {
        push("address", &office.address);
        push("opening_hours", &office.opening_hours);
        push("phone", &office.phone);
        push("email", &office.email);
        out.push(DraftFact {
            field: "office",
            value: office.name.clone(),
            source: format!("catalogue offices[{}].name", office.id),
        });
    }
    if let Some(link) = &f.online_service {
        out.push(DraftFact {
            field: "online_service",
            value: link.url.clone(),
            source: link.source.clone(),
        });
    }
    for (field, links) in [("forms", &f.forms), ("links", &f.links)] {
        for link in links {
            out.push(DraftFact {
                field,
                value: format!("{}: {}", link.title, link.url),
                source: link.source.clone(),
            });
        }
    }
    if !out.iter().any(|f| f.field == "email")
        && let Some(d) = catalogue
            .department(&service.department)
            .filter(|d| !d.mailbox.is_empty())
    {
        out.push(DraftFact {
            field: "email",
            value: d.mailbox.clone(),
            source: format!("catalogue departments[{}].mailbox", d.id),
        });
    }
    out
}

/// The needed fields of `intent` that `facts` lacks. A phone is not a gap when the office
/// can be reached by email.
pub fn gaps(intent: Intent, facts: &[DraftFact]) -> Vec<Gap> {
    let has = |field: &str| facts.iter().any(|f| f.field == field);
    needed(intent)
        .iter()
        .filter(|field| !(has(field) || (**field == "phone" && has("email"))))
        .map(|field| Gap {
            field,
            marker: marker(field, false),
        })
        .collect()
}
