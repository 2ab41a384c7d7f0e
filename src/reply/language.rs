//! The citizen's language: `whatlang` (trigram models, no data files) restricted to the
//! languages inquiries arrive in. Short or unreliable Latin-script texts lean towards
//! German, the administration's language, unless they carry English function words: a
//! three-word report ("Laterne Nr. 7 kaputt") is German far more often than Romanian.
//! Stored with the inquiry as a pipeline step (`inquiries.language`).

use serde::Serialize;
use whatlang::{Detector, Lang, Script};

/// Languages inquiries arrive in; anything else is detected as the closest of these.
const IN_USE: &[Lang] = &[
    Lang::Deu,
    Lang::Eng,
    Lang::Tur,
    Lang::Ukr,
    Lang::Rus,
    Lang::Ara,
    Lang::Pol,
    Lang::Fra,
    Lang::Ita,
    Lang::Spa,
];

/// Common words of the Latin-script languages in use: they decide a short text the
/// trigram model is unsure about ("Laterne kaputt" scores as Turkish there).
const CUES: &[(&str, &[&str])] = &[
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "wir", "bitte", "mit", "auf", "ein",
            "eine", "einen", "den", "dem", "im", "seit", "zu", "von", "wird", "wurde", "kaputt",
            "defekt", "wie", "wo", "was", "wann", "mein", "meine", "meinen", "fuer", "für", "beim",
            "brauche", "moechte", "möchte", "danke", "hallo", "termin", "antrag", "strasse",
            "straße", "kein", "keine", "voll", "abholen", "lassen", "geht", "gesucht", "um",
            "laterne", "nr", "muell", "müll",
        ],
    ),
    (
        "en",
        &[
            "the", "and", "is", "not", "we", "please", "with", "of", "my", "there", "has", "have",
            "been", "hello", "dear", "thank", "thanks", "broken", "since", "it", "this", "for",
            "are", "was", "what", "how", "where", "when", "can", "need", "call", "back", "lost",
            "working", "light", "street", "you", "your", "would", "like",
        ],
    ),
    (
        "tr",
        &[
            "bir",
            "ve",
            "bu",
            "için",
            "icin",
            "ne",
            "kadar",
            "var",
            "mi",
            "istiyorum",
            "nasıl",
            "nasil",
            "lütfen",
            "lutfen",
            "yeni",
            "almak",
            "randevu",
            "beni",
            "benim",
        ],
    ),
    (
        "pl",
        &[
            "nie", "jest", "na", "się", "ile", "jak", "nowy", "proszę", "prosze", "od", "czy",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "je", "est", "une", "des", "pour", "ne", "pas", "mon", "ma", "veux",
            "voudrais",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "gli", "un", "una", "vorrei", "della", "che", "per", "non", "mia", "mio",
            "è",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "una", "que", "por", "quisiera", "cómo", "mi", "no", "hace",
            "desde", "pedir",
        ],
    ),
];

/// A detected language: ISO 639-1 code and how sure the detector is (0–1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detected {
    pub code: &'static str,
    pub confidence: f64,
}

impl Detected {
    pub fn is_german(&self) -> bool {
        self.code == "de"
    }

    pub fn is_english(&self) -> bool {
        self.code == "en"
    }
}

fn code(lang: Lang) -> &'static str {
    match lang {
        Lang::Deu => "de",
        Lang::Eng => "en",
        Lang::Tur => "tr",
        Lang::Ukr => "uk",
        Lang::Rus => "ru",
        Lang::Ara => "ar",
        Lang::Pol => "pl",
        Lang::Fra => "fr",
        Lang::Ita => "it",
        Lang::Spa => "es",
        _ => "und",
    }
}

/// Letters only one of the languages in use has: they decide a short text that the
/// trigram model cannot.
fn distinctive(text: &str) -> Option<&'static str> {
    let has = |letters: &str| {
        text.chars()
            .any(|c| letters.contains(c.to_lowercase().next().unwrap_or(c)))
    };
    if has("ışğ") {
        Some("tr")
    } else if has("łąęśźżćń") {
        Some("pl")
    } else if has("іїєґ") {
        Some("uk")
    } else if has("ыэъё") {
        Some("ru")
    } else if has("ß") {
        Some("de")
    } else {
        None
    }
}

/// The language of `text`; German when there is nothing to tell by.
pub fn detect(text: &str) -> Detected {
    let german = Detected {
        code: "de",
        confidence: 0.0,
    };
    if let Some(code) = distinctive(text) {
        return Detected {
            code,
            confidence: 1.0,
        };
    }
    let Some(info) = Detector::with_allowlist(IN_USE.to_vec()).detect(text) else {
        return german;
    };
    let found = Detected {
        code: code(info.lang()),
        confidence: info.confidence(),
    };
    if info.script() != Script::Latin || (info.is_reliable() && info.confidence() > 0.5) {
        return found;
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphabetic()).collect();
    let scores: Vec<(&'static str, usize)> = CUES
        .iter()
        .map(|(code, cues)| (*code, words.iter().filter(|w| cues.contains(w)).count()))
        .collect();
    let best = scores.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let leaders: Vec<&'static str> = scores
        .iter()
        .filter(|(_, n)| *n == best && best > 0)
        .map(|(c, _)| *c)
        .collect();
    let code = match leaders.as_slice() {
        [] if info.confidence() >= 0.05 => found.code,
        [] => "de",
        [one] => one,
        several if several.contains(&found.code) => found.code,
        several if several.contains(&"de") => "de",
        several => several[0],
    };
    Detected {
        code,
        confidence: info.confidence(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const SET: &str = include_str!("../../tests/fixtures/reply/languages.tsv");

    /// The labelled set of `tests/fixtures/reply/languages.tsv`: accuracy overall and per
    /// language, printed (`cargo test --lib reply::language -- --nocapture`).
    #[test]
    fn accuracy_on_the_labelled_set() {
        let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut wrong = Vec::new();
        for line in SET.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let (lang, text) = line.split_once('\t').expect("language<TAB>text");
            let got = detect(text).code;
            let e = per.entry(lang).or_default();
            e.1 += 1;
            if got == lang {
                e.0 += 1;
            } else {
                wrong.push(format!("{lang}→{got}: {text}"));
            }
        }
        let (right, all) = per
            .values()
            .fold((0, 0), |(r, a), (pr, pa)| (r + pr, a + pa));
        let accuracy = right as f64 / all as f64;
        println!("language detection: {right}/{all} = {accuracy:.3}");
        for (lang, (r, a)) in &per {
            println!("  {lang}: {r}/{a}");
        }
        for w in &wrong {
            println!("  wrong: {w}");
        }
        assert!(all >= 100 && per.len() >= 6);
        assert!(accuracy >= 0.95, "accuracy {accuracy:.3}");
        assert!(per["de"].0 == per["de"].1, "every German inquiry is German");
    }

    #[test]
    fn short_and_umlaut_free_german_stays_german() {
        for t in [
            "Laterne Nr. 7",
            "Strassenlaterne kaputt",
            "Muell nicht abgeholt",
            "",
        ] {
            assert_eq!(detect(t).code, "de", "{t}");
        }
        assert_eq!(detect("Street light broken").code, "en");
    }
}
