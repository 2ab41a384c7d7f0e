//! The checker: every number, amount, date, time, phone number, email address and URL in
//! a draft — also one a clerk edited — must occur in the catalogue facts the draft was
//! grounded on or in the case's own data (case number, received date, the citizen's text).
//! What does not is flagged with its span; so is a gap marker still in the text.
//!
//! Values are compared in a normal form, so "089 233-96000" matches "+49 89 233 96000",
//! "10,00 €" matches "10 Euro", "1.2.2026" matches "01.02.2026" and "8 Uhr" matches
//! "08:00".

use std::{collections::HashSet, sync::LazyLock};

use regex::Regex;
use serde::Serialize;

use super::grounding::marker_spans;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Url,
    Email,
    Amount,
    Date,
    Time,
    Phone,
    Number,
    /// A gap marker the clerk has not replaced.
    Gap,
}

/// An offending span: character offsets (Unicode scalar values) into the checked text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub kind: Kind,
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// The checker's verdict on a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub ok: bool,
    pub flags: Vec<Flag>,
}

const MONTHS_DE: &str =
    "januar|februar|märz|maerz|april|mai|juni|juli|august|september|oktober|november|dezember";
const MONTHS_EN: &str =
    "january|february|march|april|may|june|july|august|september|october|november|december";

static PATTERNS: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("valid pattern");
    vec![
        (Kind::Url, r(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]]+")),
        (
            Kind::Email,
            r(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
        ),
        (
            Kind::Amount,
            r(
                r"(?i)(?:€|\bEUR)\s?\d[\d.,]*(?:,-)?|\b\d[\d.,]*(?:,-)?\s?(?:€|EUR\b|Euro\b|euros?\b)",
            ),
        ),
        (
            Kind::Date,
            r(&format!(
                r"(?i)\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}\.\s?(?:\d{{1,2}}\.(?:\s?\d{{4}}|\d{{2}}\b)?|(?:{MONTHS_DE})(?:\s\d{{4}})?)|\b(?:{MONTHS_EN})\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?|\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?(?:{MONTHS_EN})(?:\s\d{{4}})?"
            )),
        ),
        (
            Kind::Time,
            r(
                r"(?i)\b\d{1,2}[:.]\d{2}\s?(?:uhr|h\b|am\b|pm\b)?|\b\d{1,2}\s?(?:uhr\b|am\b|pm\b|a\.m\.|p\.m\.)",
            ),
        ),
        (Kind::Phone, r(r"\+?\(?\d[\d\s/()\-]{4,}\d")),
        (Kind::Number, r(r"\d+(?:[.,]\d+)*")),
    ]
});

/// A found value in normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Value {
    Text(String),
    /// Hundredths, so 10 and 10,00 are the same.
    Amount(i64),
    Date(u32, u32, Option<i32>),
    Minutes(u32),
    Digits(String),
}

struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    value: Value,
}

fn month_number(name: &str) -> Option<u32> {
    let n = name.to_lowercase();
    let de = MONTHS_DE.split('|').position(|m| m == n);
    let de = de.map(|p| if p >= 3 { p - 1 } else { p }); // "märz" and "maerz" are both March
    let i = MONTHS_EN
        .split('|')
        .position(|m| m == n)
        .or(de.filter(|_| n != "maerz" && n != "märz"))
        .or((n == "maerz" || n == "märz").then_some(2))?;
    Some(i as u32 + 1)
}

/// A number as written in German or English: "1.234,50", "1,234.50", "10,-", "10".
fn amount(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    let digits = digits.trim_end_matches([',', '.', '-']);
    let decimal = match (digits.rfind(','), digits.rfind('.')) {
        (Some(c), Some(d)) => Some(c.max(d)),
        (Some(c), None) => (digits.len() - c - 1 != 3).then_some(c),
        (None, Some(d)) => (digits.len() - d - 1 != 3).then_some(d),
        (None, None) => None,
    };
    let (whole, frac) = match decimal {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, ""),
    };
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}")[..2].parse().ok()?;
    Some(whole * 100 + frac)
}

fn numbers(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn value(kind: Kind, text: &str) -> Option<Value> {
    Some(match kind {
        Kind::Url => {
            let t = text.to_lowercase();
            let t = t
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            Value::Text(
                t.trim_start_matches("www.")
                    .trim_end_matches('/')
                    .to_string(),
            )
        }
        Kind::Email => Value::Text(text.to_lowercase()),
        Kind::Amount => Value::Amount(amount(text)?),
        Kind::Date => {
            let n = numbers(text);
            let lower = text.to_lowercase();
            let month = lower
                .split(|c: char| !c.is_alphabetic())
                .find_map(month_number);
            match (text.contains('-'), month) {
                (true, _) => Value::Date(*n.get(2)?, *n.get(1)?, Some(*n.first()? as i32)),
                (false, Some(m)) => Value::Date(*n.first()?, m, n.get(1).map(|y| *y as i32)),
                (false, None) => {
                    let year = n.get(2).map(|y| {
                        if *y < 100 {
                            2000 + *y as i32
                        } else {
                            *y as i32
                        }
                    });
                    Value::Date(*n.first()?, *n.get(1)?, year)
                }
            }
        }
        Kind::Time => {
            let n = numbers(text);
            let mut hours = *n.first()?;
            if text.to_lowercase().contains('p') && hours < 12 {
                hours += 12;
            }
            Value::Minutes(hours * 60 + n.get(1).copied().unwrap_or(0))
        }
        Kind::Phone => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let national = match digits.strip_prefix("49") {
                Some(rest) if text.trim_start().starts_with('+') => format!("0{rest}"),
                _ => digits,
            };
            Value::Digits(national)
        }
        Kind::Number | Kind::Gap => Value::Text(text.to_string()),
    })
}

/// Every value in `text`, longest patterns first: a URL's digits are not numbers of their own.
fn tokens(text: &str) -> Vec<Token> {
    let mut taken = vec![false; text.len()];
    let mut out = Vec::new();
    for (kind, re) in PATTERNS.iter() {
        for m in re.find_iter(text) {
            let (start, mut end) = (m.start(), m.end());
            if *kind == Kind::Url {
                end = start
                    + m.as_str()
                        .trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\''])
                        .len();
            }
            if *kind == Kind::Phone && m.as_str().chars().filter(char::is_ascii_digit).count() < 6 {
                continue;
            }
            if taken[start..end].iter().any(|t| *t) {
                continue;
            }
            let Some(value) = value(*kind, text[start..end].trim()) else {
                continue;
            };
            taken[start..end].iter_mut().for_each(|t| *t = true);
            out.push(Token {
                kind: *kind,
                start,
                end,
                value,
            });
        }
    }
    out.sort_by_key(|t| t.start);
    out
}

/// What a draft may state: the values found in the grounding texts.
pub struct Allowed {
    values: HashSet<(Kind, Value)>,
    /// Every integer anywhere in the grounding, for plain numbers and amounts written
    /// without a currency in the catalogue.
    integers: HashSet<u64>,
    amounts: HashSet<i64>,
}

impl Allowed {
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut allowed = Self {
            values: HashSet::new(),
            integers: HashSet::new(),
            amounts: HashSet::new(),
        };
        for text in texts {
            for t in tokens(text) {
                if let Value::Amount(a) = t.value {
                    allowed.amounts.insert(a);
                }
                allowed.values.insert((t.kind, t.value));
            }
            for m in PATTERNS.last().expect("number pattern").1.find_iter(text) {
                allowed
                    .integers
                    .extend(numbers(m.as_str()).into_iter().map(u64::from));
                // "37,50" without a currency in a fee text is an amount too.
                let cents = m
                    .as_str()
                    .rsplit_once([',', '.'])
                    .is_some_and(|(_, c)| c.len() == 2);
                if let Some(a) = amount(m.as_str()).filter(|_| cents) {
                    allowed.amounts.insert(a);
                }
            }
        }
        allowed
    }

    fn permits(&self, t: &Token) -> bool {
        match (&t.kind, &t.value) {
            (Kind::Amount, Value::Amount(a)) => self.amounts.contains(a),
            (Kind::Date, Value::Date(d, m, y)) => self.values.iter().any(|(k, v)| {
                *k == Kind::Date
                    && matches!(v, Value::Date(d2, m2, y2) if d2 == d && m2 == m && (y.is_none() || y2.is_none() || y == y2))
            }),
            (Kind::Number, Value::Text(n)) => numbers(n)
                .iter()
                .all(|n| self.integers.contains(&u64::from(*n))),
            (Kind::Time, Value::Minutes(m)) => {
                self.values.contains(&(Kind::Time, t.value.clone()))
                    || (m % 60 == 0 && self.integers.contains(&u64::from(m / 60)))
            }
            _ => self.values.contains(&(t.kind, t.value.clone())),
        }
    }
}

fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// Checks `text` against what is allowed.
pub fn check(text: &str, allowed: &Allowed) -> Check {
    let mut flags: Vec<Flag> = tokens(text)
        .into_iter()
        .filter(|t| !allowed.permits(t))
        .map(|t| {
            let what = match t.kind {
                Kind::Url => "link",
                Kind::Email => "email address",
                Kind::Amount => "amount",
                Kind::Date => "date",
                Kind::Time => "time",
                Kind::Phone => "phone number",
                Kind::Number | Kind::Gap => "number",
            };
            Flag {
                kind: t.kind,
                text: text[t.start..t.end].to_string(),
                start: char_offset(text, t.start),
                end: char_offset(text, t.end),
                message: format!("this {what} is neither in the catalogue nor in the case"),
            }
        })
        .collect();
    for (start, end) in marker_spans(text) {
        flags.push(Flag {
            kind: Kind::Gap,
            text: text[start..end].to_string(),
            start: char_offset(text, start),
            end: char_offset(text, end),
            message: "a fact the catalogue lacks: fill it in or remove the sentence".into(),
        });
    }
    flags.sort_by_key(|f| f.start);
    Check {
        ok: flags.is_empty(),
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: &[&str] = &[
        "Gebühr: 37,50 Euro; ermäßigt 22,80 €",
        "Mo–Fr 8:00–12:00 Uhr, Do 14–18 Uhr",
        "Telefon +49 89 233-96000",
        "buergerbuero@muenchen.example",
        "https://stadt.muenchen.example/service/info/reisepass/",
        "Anmeldung innerhalb von 14 Tagen; Stichtag 31.03.2027",
        "2026-000123",
    ];

    fn verdict(text: &str) -> Check {
        check(text, &Allowed::new(FACTS.iter().copied()))
    }

    fn flagged(text: &str) -> Vec<(Kind, String)> {
        verdict(text)
            .flags
            .into_iter()
            .map(|f| (f.kind, f.text))
            .collect()
    }

    #[test]
    fn grounded_drafts_pass_in_any_notation() {
        for text in [
            "Die Gebühr beträgt 37,50 Euro (ermäßigt 22,80 Euro).",
            "The fee is EUR 37.50.",
            "Wir sind Mo–Fr von 8 bis 12 Uhr und Do 14:00–18:00 Uhr für Sie da.",
            "Rufen Sie uns an: 089 233 96000, oder schreiben Sie an Buergerbuero@muenchen.example.",
            "Mehr unter https://stadt.muenchen.example/service/info/reisepass.",
            "Bitte melden Sie sich innerhalb von 14 Tagen, spätestens am 31.3.2027.",
            "Ihre Vorgangsnummer: 2026-000123.",
        ] {
            let v = verdict(text);
            assert!(v.ok, "{text}: {:?}", v.flags);
        }
    }

    #[test]
    fn invented_fee_date_phone_and_link_are_flagged() {
        assert_eq!(
            flagged("Die Gebühr beträgt 45 Euro."),
            [(Kind::Amount, "45 Euro".into())]
        );
        assert_eq!(flagged("Fee: €12.00"), [(Kind::Amount, "€12.00".into())]);
        assert_eq!(
            flagged("Bitte kommen Sie am 15.04.2027 vorbei."),
            [(Kind::Date, "15.04.2027".into())]
        );
        assert_eq!(
            flagged("Deadline: March 3, 2027"),
            [(Kind::Date, "March 3, 2027".into())]
        );
        assert_eq!(
            flagged("Telefon: 089 233-12345"),
            [(Kind::Phone, "089 233-12345".into())]
        );
        assert_eq!(
            flagged("Siehe https://formulare.example.org/pass."),
            [(Kind::Url, "https://formulare.example.org/pass".into())]
        );
        assert_eq!(
            flagged("Schreiben Sie an info@muenchen.example"),
            [(Kind::Email, "info@muenchen.example".into())]
        );
        assert_eq!(
            flagged("Wir öffnen um 7:30 Uhr."),
            [(Kind::Time, "7:30 Uhr".into())]
        );
        assert_eq!(flagged("Es dauert 6 Wochen."), [(Kind::Number, "6".into())]);
    }

    #[test]
    fn flags_carry_character_offsets_and_gap_markers_are_flagged() {
        let text = "Gebühr: [Gebühr: im Katalog nicht hinterlegt], Frist: 99 Tage";
        let v = verdict(text);
        assert!(!v.ok);
        let gap = v.flags.iter().find(|f| f.kind == Kind::Gap).unwrap();
        assert_eq!(gap.start, 8);
        let number = v.flags.iter().find(|f| f.kind == Kind::Number).unwrap();
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(
            chars[number.start..number.end].iter().collect::<String>(),
            "99"
        );
    }
}
