//! The templates of `prompts/replies/` (embedded at build time), rendered with minijinja.
//! Auto-escaping follows the file name: off for `.txt` (mail text), on for `.html`.
//! Undefined variables are errors, so a template can never leave a placeholder unfilled.

use std::{collections::BTreeMap, sync::LazyLock};

use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use super::{
    grounding::{DraftFact, FIELDS, Gap, marker},
    intent::Intent,
};

/// The languages templates exist in: German, English and Leichte Sprache (plain German).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ReplyLanguage {
    #[serde(rename = "de")]
    German,
    #[serde(rename = "en")]
    English,
    /// Leichte Sprache: short sentences, one statement each, common words, explained terms.
    #[serde(rename = "de-x-ls")]
    Plain,
}

impl ReplyLanguage {
    pub const ALL: [ReplyLanguage; 3] = [Self::German, Self::English, Self::Plain];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::German => "de",
            Self::English => "en",
            Self::Plain => "de-x-ls",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    fn dir(self) -> &'static str {
        match self {
            Self::German => "de",
            Self::English => "en",
            Self::Plain => "ls",
        }
    }
}

macro_rules! templates {
    ($($lang:literal),*) => {
        &[$(
            (concat!($lang, "/_head.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/_head.txt"))),
            (concat!($lang, "/_contact.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/_contact.txt"))),
            (concat!($lang, "/information.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/information.txt"))),
            (concat!($lang, "/defect.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/defect.txt"))),
            (concat!($lang, "/complaint.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/complaint.txt"))),
            (concat!($lang, "/appointment.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/appointment.txt"))),
            (concat!($lang, "/status.txt"), include_str!(concat!("../../prompts/replies/", $lang, "/status.txt"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = templates!("de", "en", "ls");

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
});

/// What the templates are filled with.
pub struct Values<'a> {
    pub greeting: Option<&'a str>,
    pub case_number: &'a str,
    pub service: &'a str,
    pub department: &'a str,
    pub facts: &'a [DraftFact],
    pub gaps: &'a [Gap],
}

#[derive(Serialize)]
struct Context<'a> {
    greeting: Option<&'a str>,
    case_number: &'a str,
    service: &'a str,
    department: &'a str,
    /// Every field: its value(s), or the gap marker.
    f: BTreeMap<&'static str, String>,
    /// Whether a field's line is written: it has a value or is a gap.
    show: BTreeMap<&'static str, bool>,
}

/// Renders the draft of `intent` in `language`.
pub fn render(intent: Intent, language: ReplyLanguage, v: &Values<'_>) -> String {
    let mut f = BTreeMap::new();
    let mut show = BTreeMap::new();
    for (field, _, _) in FIELDS {
        let values: Vec<&str> = v
            .facts
            .iter()
            .filter(|x| x.field == *field)
            .map(|x| x.value.as_str())
            .collect();
        let gap = v.gaps.iter().any(|g| g.field == *field);
        show.insert(*field, !values.is_empty() || gap);
        f.insert(
            *field,
            if values.is_empty() {
                marker(field, language == ReplyLanguage::English)
            } else {
                values.join("\n")
            },
        );
    }
    let context = Context {
        greeting: v.greeting,
        case_number: v.case_number,
        service: v.service,
        department: v.department,
        f,
        show,
    };
    let name = format!("{}/{}.txt", language.dir(), intent.as_str());
    let text = ENV
        .get_template(&name)
        .and_then(|t| t.render(&context))
        .unwrap_or_else(|e| panic!("template {name}: {e}"));
    tidy(&text)
}

/// At most one blank line in a row, none at the ends.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines().map(str::trim_end) {
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_string()
}
