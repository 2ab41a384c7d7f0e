//! Suggested replies that never invent a fact. [`suggest_reply`] detects what the citizen
//! wants ([`intent`]), takes the facts the catalogue has for the decided service and its
//! office with their sources ([`grounding`]), marks what it lacks as gaps, renders the
//! templates of `prompts/replies/` in German, English and Leichte Sprache ([`render`]) and
//! runs the checker over the result ([`check`]): every number, amount, date, time, phone
//! number, email address and URL must occur in those facts or the case's own data.
//!
//! The draft speaks the citizen's language ([`language`]): German and English inquiries
//! get their own, any other language the German and English drafts with a note to the
//! clerk. The German copy is always part of the draft; it is what goes to the file.
//! Personal data from the inquiry never appears in a draft: the greeting is neutral.

pub mod case;
pub mod check;
pub mod grounding;
pub mod intent;
pub mod language;
pub mod render;
pub mod similar;

use serde::Serialize;

pub use check::{Allowed, Check, Flag};
pub use grounding::{DraftFact, Gap};
pub use intent::Intent;
pub use render::ReplyLanguage;

use crate::domain::{Catalogue, Decision};

pub use crate::domain::Autonomy;

/// Stands for the case number in a saved template.
pub const CASE_PLACEHOLDER: &str = "[Vorgangsnummer]";

/// What a draft is made for: the case's own data.
pub struct CaseData<'a> {
    pub case_number: &'a str,
    /// The day the inquiry came in, `DD.MM.YYYY`.
    pub received: &'a str,
    /// The citizen's text: read for the intent and the language, never quoted.
    pub text: &'a str,
    /// The language stored by the pipeline (ISO 639-1), if any; detected otherwise.
    pub language: Option<&'a str>,
}

/// One rendering of the draft.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Variant {
    pub language: ReplyLanguage,
    pub text: String,
    pub check: Check,
}

/// A suggested reply: the text in the language to send, every variant, the facts with
/// their sources, the gaps and the checker's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Draft {
    /// The language of `text`.
    pub language: ReplyLanguage,
    /// The inquiry's language (ISO 639-1).
    pub inquiry_language: String,
    pub intent: Intent,
    pub intent_confidence: f32,
    pub service_id: String,
    pub text: String,
    pub check: Check,
    pub facts: Vec<DraftFact>,
    pub gaps: Vec<Gap>,
    /// German, English and Leichte Sprache; the German one is the copy for the file.
    pub variants: Vec<Variant>,
    /// For the clerk, e.g. that the citizen wrote in a language without templates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Draft {
    pub fn variant(&self, language: ReplyLanguage) -> &Variant {
        self.variants
            .iter()
            .find(|v| v.language == language)
            .expect("every language is rendered")
    }

    pub fn is_complete(&self) -> bool {
        self.gaps.is_empty() && self.check.ok
    }
}

/// The texts a reply to this case may take values from: the facts and names it is
/// grounded on and the case's own data.
pub fn allowed(case: &CaseData<'_>, decision: &Decision, facts: &[DraftFact]) -> Allowed {
    Allowed::new(facts.iter().map(|f| f.value.as_str()).chain([
        case.case_number,
        case.received,
        case.text,
        decision.service.name.as_str(),
        decision.department.name.as_str(),
    ]))
}

/// The draft for `case` as decided by `decision`, from the facts of `catalogue`. `None`
/// when the decided service is not (or no longer) in the catalogue.
pub fn suggest_reply(
    case: &CaseData<'_>,
    decision: &Decision,
    catalogue: &Catalogue,
) -> Option<Draft> {
    let service = catalogue.service(&decision.service.id)?;
    let detected = intent::detect(case.text);
    let inquiry_language = case
        .language
        .map(str::to_string)
        .unwrap_or_else(|| language::detect(case.text).code.to_string());
    let facts = grounding::facts(catalogue, service);
    let gaps = grounding::gaps(detected.intent, &facts);
    let department = catalogue
        .department(&service.department)
        .map_or(decision.department.name.as_str(), |d| d.name.as_str());
    let values = render::Values {
        greeting: None,
        case_number: case.case_number,
        service: &service.name,
        department,
        facts: &facts,
        gaps: &gaps,
    };
    let allowed = allowed(case, decision, &facts);
    let variants: Vec<Variant> = ReplyLanguage::ALL
        .into_iter()
        .map(|language| {
            let text = render::render(detected.intent, language, &values);
            let check = check::check(&text, &allowed);
            Variant {
                language,
                text,
                check,
            }
        })
        .collect();
    let (language, note) = match inquiry_language.as_str() {
        "de" => (ReplyLanguage::German, None),
        "en" => (ReplyLanguage::English, None),
        other => (
            ReplyLanguage::German,
            Some(format!(
                "The inquiry is written in '{other}', for which there are no templates: the draft is offered in German and English."
            )),
        ),
    };
    let main = variants
        .iter()
        .find(|v| v.language == language)
        .expect("every language is rendered")
        .clone();
    Some(Draft {
        language,
        inquiry_language,
        intent: detected.intent,
        intent_confidence: detected.confidence,
        service_id: service.id.clone(),
        text: main.text,
        check: main.check,
        facts,
        gaps,
        variants,
        note,
    })
}

#[cfg(test)]
mod tests;
