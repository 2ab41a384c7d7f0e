//! PII redaction for citizens' free-text inquiries.
//!
//! This module owns the decision of what counts as personal data in inquiry
//! text — e-mail addresses, phone numbers, IBANs, tax IDs, ID-card and
//! passport numbers, licence plates, dates of birth, street addresses and
//! person names — and replaces each occurrence with a fixed placeholder
//! before the text is embedded, indexed, logged or shown in a similar-cases
//! list. It is pure logic (no I/O, no other crate modules) and runs in time
//! linear in the input: every detector is a `regex` scan plus bounded-window
//! context checks.
//!
//! The detectors favour precision on administrative look-alikes (case
//! numbers, LeiKa keys, amounts, dates of damage, street names without a
//! house number) because over-redaction destroys exactly the content that
//! routing depends on. Bare names without any cue ("Lisa hat gesagt") are
//! not detected.
//!
//! Pattern tables and validators live in `redact_patterns.rs`, name
//! detection in `redact_names.rs`; both are private sub-modules pulled in
//! with `#[path]` so this module stays self-contained.

#[path = "redact_names.rs"]
mod names;
#[path = "redact_patterns.rs"]
mod patterns;

use patterns::{self as p, char_at, embedded_in_number, line_before, phone_shape_ok};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    Iban,
    TaxId,
    IdCard,
    LicencePlate,
    DateOfBirth,
    Address,
    Name,
}

/// Placeholder, stable name and overlap tie-break per kind, indexed by
/// discriminant. Checksum- or context-validated kinds get a higher
/// specificity so they win against shape-only heuristics of equal length.
const KIND_TABLE: [(&str, &str, u8); 9] = [
    ("[EMAIL]", "email", 9),
    ("[PHONE]", "phone", 4),
    ("[IBAN]", "iban", 8),
    ("[TAX_ID]", "tax_id", 7),
    ("[ID_NUMBER]", "id_card", 6),
    ("[PLATE]", "licence_plate", 3),
    ("[BIRTHDATE]", "date_of_birth", 5),
    ("[ADDRESS]", "address", 2),
    ("[NAME]", "name", 1),
];

impl PiiKind {
    pub fn placeholder(self) -> &'static str {
        KIND_TABLE[self as usize].0
    }

    pub fn all() -> &'static [PiiKind] {
        use PiiKind::*;
        &[
            Email,
            Phone,
            Iban,
            TaxId,
            IdCard,
            LicencePlate,
            DateOfBirth,
            Address,
            Name,
        ]
    }

    pub fn as_str(self) -> &'static str {
        KIND_TABLE[self as usize].1
    }

    fn specificity(self) -> u8 {
        KIND_TABLE[self as usize].2
    }
}

/// A redacted span; `start..end` is a byte range in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub findings: Vec<Finding>,
}

/// Replaces every detected PII span with its kind's placeholder.
pub fn redact(text: &str) -> Redacted {
    let mut found = Vec::new();
    detect_email(text, &mut found);
    detect_iban(text, &mut found);
    detect_tax_id(text, &mut found);
    detect_id_card(text, &mut found);
    detect_plate(text, &mut found);
    detect_phone(text, &mut found);
    detect_birth_date(text, &mut found);
    detect_address(text, &mut found);
    names::detect_names(text, &mut found);
    let findings = resolve_overlaps(found);

    let mut redacted = String::with_capacity(text.len());
    let mut last = 0;
    for f in &findings {
        redacted.push_str(&text[last..f.start]);
        redacted.push_str(f.kind.placeholder());
        last = f.end;
    }
    redacted.push_str(&text[last..]);
    Redacted {
        text: redacted,
        findings,
    }
}

/// Keeps the longest candidate wherever candidates overlap. Accepted spans
/// are disjoint, so one neighbour lookup in a start-keyed map decides each
/// candidate in O(log n) and the whole pass stays O(n log n).
fn resolve_overlaps(mut cands: Vec<Finding>) -> Vec<Finding> {
    cands.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(b.kind.specificity().cmp(&a.kind.specificity()))
            .then(a.start.cmp(&b.start))
    });
    let mut taken: BTreeMap<usize, Finding> = BTreeMap::new();
    for c in cands {
        if c.start >= c.end {
            continue;
        }
        if let Some((_, prev)) = taken.range(..c.end).next_back()
            && prev.end > c.start
        {
            continue;
        }
        taken.insert(c.start, c);
    }
    taken.into_values().collect()
}

fn push(out: &mut Vec<Finding>, kind: PiiKind, start: usize, end: usize) {
    out.push(Finding { kind, start, end });
}

fn detect_email(text: &str, out: &mut Vec<Finding>) {
    for m in p::EMAIL.find_iter(text) {
        push(out, PiiKind::Email, m.start(), m.end());
    }
}

fn detect_iban(text: &str, out: &mut Vec<Finding>) {
    // Manual restart instead of find_iter: the greedy body may swallow the
    // start of a second IBAN listed right after the first one.
    let mut pos = 0;
    while let Some(m) = p::IBAN.find_at(text, pos) {
        pos = m.start() + 4;
        let s = m.as_str();
        let Some(len) = p::iban_length(&s[..2]) else {
            continue;
        };
        let mut count = 0;
        let Some(end) = s.char_indices().find_map(|(i, c)| {
            count += usize::from(c.is_ascii_alphanumeric());
            (count == len).then_some(i + 1)
        }) else {
            continue;
        };
        let abs_end = m.start() + end;
        if char_at(text, abs_end).is_some_and(|c| c.is_alphanumeric()) {
            continue;
        }
        let compact: String = s[..end]
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        // A mistyped German IBAN is still a bank account when the writer says so.
        let typo_with_cue = compact.starts_with("DE")
            && compact[2..].bytes().all(|b| b.is_ascii_digit())
            && p::IBAN_CONTEXT.is_match(line_before(text, m.start(), 30));
        if p::iban_checksum_ok(&compact) || typo_with_cue {
            push(out, PiiKind::Iban, m.start(), abs_end);
            pos = abs_end;
        }
    }
}

fn detect_tax_id(text: &str, out: &mut Vec<Finding>) {
    for m in p::TAX_ID.find_iter(text) {
        if embedded_in_number(text, m.start(), m.end()) {
            continue;
        }
        let digits: Vec<u8> = m
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        if p::tax_id_ok(&digits) || p::TAX_CONTEXT.is_match(line_before(text, m.start(), 45)) {
            push(out, PiiKind::TaxId, m.start(), m.end());
        }
    }
    for c in p::STEUERNUMMER.captures_iter(text) {
        if let Some(g) = c.get(1) {
            push(out, PiiKind::TaxId, g.start(), g.end());
        }
    }
}

fn detect_id_card(text: &str, out: &mut Vec<Finding>) {
    let cue = |start| p::ID_CONTEXT.is_match(line_before(text, start, 40));
    for m in p::ID_STRICT.find_iter(text) {
        let s = m.as_str();
        let mixed =
            s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_uppercase());
        let other_scheme = p::ID_NEGATIVE_CONTEXT.is_match(line_before(text, m.start(), 30));
        if cue(m.start()) || (mixed && !other_scheme) {
            push(out, PiiKind::IdCard, m.start(), m.end());
        }
    }
    for m in p::ID_LOOSE.find_iter(text) {
        if cue(m.start()) {
            push(out, PiiKind::IdCard, m.start(), m.end());
        }
    }
}

fn detect_plate(text: &str, out: &mut Vec<Finding>) {
    for c in p::PLATE.captures_iter(text) {
        if let (Some(all), Some(district)) = (c.get(0), c.get(1))
            && !p::PLATE_STOP.contains(&district.as_str())
        {
            push(out, PiiKind::LicencePlate, all.start(), all.end());
        }
    }
}

fn detect_phone(text: &str, out: &mut Vec<Finding>) {
    for m in p::PHONE.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let before = line_before(text, start, 40);
        let cue = p::PHONE_CONTEXT_WORD.is_match(before);
        if phone_shape_ok(text, start, end, cue)
            && (cue || !p::PHONE_NEGATIVE_CONTEXT.is_match(before))
        {
            push(out, PiiKind::Phone, start, end);
        }
    }
    for c in p::PHONE_BY_CONTEXT.captures_iter(text) {
        let Some(g) = c.get(1) else { continue };
        let n = g.as_str().bytes().filter(u8::is_ascii_digit).count();
        if (5..=15).contains(&n)
            && !p::SLASH_DATE.is_match(g.as_str())
            && !embedded_in_number(text, g.start(), g.end())
        {
            push(out, PiiKind::Phone, g.start(), g.end());
        }
    }
}

fn detect_birth_date(text: &str, out: &mut Vec<Finding>) {
    for re in [&*p::BIRTH_BEFORE, &*p::BIRTH_AFTER] {
        for c in re.captures_iter(text) {
            if let Some(g) = c.get(1) {
                push(out, PiiKind::DateOfBirth, g.start(), g.end());
            }
        }
    }
}

fn detect_address(text: &str, out: &mut Vec<Finding>) {
    // A rejected match may hide a real street inside it ("Vor dem Haus
    // Thiemstraße 5"), so the scan resumes one character after its start.
    let mut pos = 0;
    while let Some(c) = p::ADDRESS.captures_at(text, pos) {
        let (Some(all), Some(num)) = (c.get(0), c.name("num")) else {
            break;
        };
        if address_plausible(text, &c, all.start(), num.end()) {
            push(out, PiiKind::Address, all.start(), all.end());
            pos = all.end();
        } else {
            pos = all.start() + char_at(text, all.start()).map_or(1, char::len_utf8);
        }
    }
}

fn address_plausible(text: &str, c: &regex::Captures, start: usize, num_end: usize) -> bool {
    if c.name("city").is_none() && p::NOT_HOUSE_NUMBER.is_match(&text[num_end..]) {
        return false;
    }
    // An "-er" place adjective turns a common noun into a name ("Sielower
    // Landstraße"), so the common-noun check only applies to bare compounds.
    if c.name("place")
        .is_some_and(|w| p::is_not_place_adjective(w.as_str()))
        || c.name("compound")
            .is_some_and(|s| p::is_common_street_noun(s.as_str()))
    {
        return false;
    }
    let Some(noun) = c.name("noun") else {
        return true;
    };
    if noun.as_str().split(' ').any(p::is_prep_noun_stop) {
        return false;
    }
    // "Zum Sportplatz 4" mid-sentence is capitalised because it is a name;
    // at the start of a sentence the capital proves nothing.
    let sentence_start = line_before(text, start, 3)
        .trim_end()
        .chars()
        .next_back()
        .is_none_or(|ch| ".!?".contains(ch));
    !(sentence_start && p::is_common_street_noun(noun.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact(s).text
    }

    #[test]
    fn each_kind_is_replaced() {
        assert_eq!(r("Mail an a.b@web.de bitte"), "Mail an [EMAIL] bitte");
        assert_eq!(r("Tel. 0170 1234567"), "Tel. [PHONE]");
        assert_eq!(r("IBAN DE89 3704 0044 0532 0130 00"), "IBAN [IBAN]");
        assert_eq!(r("Steuer-ID 86095742719"), "Steuer-ID [TAX_ID]");
        assert_eq!(r("Ausweisnummer L01X00T47"), "Ausweisnummer [ID_NUMBER]");
        assert_eq!(r("Kennzeichen CB-HJ 432E"), "Kennzeichen [PLATE]");
        assert_eq!(r("geboren am 1.2.80"), "geboren am [BIRTHDATE]");
        assert_eq!(r("wohne Thiemstraße 5-7"), "wohne [ADDRESS]");
        assert_eq!(r("Sehr geehrter Herr Meier,"), "Sehr geehrter Herr [NAME],");
    }

    #[test]
    fn findings_point_into_the_original_text() {
        let text = "Grüße von Frau Ölschläger, Tel. 030/12345678";
        let red = redact(text);
        let kinds: Vec<_> = red
            .findings
            .iter()
            .map(|f| (f.kind, &text[f.start..f.end]))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (PiiKind::Name, "Ölschläger"),
                (PiiKind::Phone, "030/12345678")
            ]
        );
    }

    #[test]
    fn look_alikes_stay() {
        for s in [
            "Aktenzeichen 2026-000123",
            "LeiKa 99050012104000",
            "seit dem 03.05.2024",
            "in der Thiemstraße liegen Scherben",
            "vor Hausnummer 7",
            "Bus Linie 12, Tempo 30, Lampe Nr. 7",
            "Betrag 1.250,00 € im Jahr 2025",
            "PLZ 03046",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn checksums_gate_uncued_numbers() {
        let same = "Konto DE89370400440532013001 alt";
        assert_eq!(r(same), same);
        assert_eq!(r("IBAN DE89370400440532013001"), "IBAN [IBAN]");
        assert_eq!(r("Nummer 86095742718 falsch"), "Nummer 86095742718 falsch");
        assert_eq!(r("Nummer 86095742719 richtig"), "Nummer [TAX_ID] richtig");
    }

    #[test]
    fn adjacent_ibans_are_both_found() {
        let text = "DE89 3704 0044 0532 0130 00 DE02 1203 0000 0000 2020 51";
        assert_eq!(r(text), "[IBAN] [IBAN]");
    }

    #[test]
    fn overlaps_keep_the_longest() {
        let f = |kind, start, end| Finding { kind, start, end };
        let cands = vec![
            f(PiiKind::Phone, 5, 12),
            f(PiiKind::Iban, 0, 22),
            f(PiiKind::Name, 22, 25),
            f(PiiKind::TaxId, 30, 41),
            f(PiiKind::Phone, 30, 41),
        ];
        let kept: Vec<_> = resolve_overlaps(cands).iter().map(|f| f.kind).collect();
        assert_eq!(kept, [PiiKind::Iban, PiiKind::Name, PiiKind::TaxId]);
    }

    #[test]
    fn never_panics_and_keeps_utf8() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet: Vec<char> = "aZ09 .,-/+()@*–\n\tßäöüÄÖÜ😀🇩🇪€ḀIBANDEHerrFrau"
            .chars()
            .collect();
        for _ in 0..300 {
            let len = (seed % 200) as usize;
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let red = redact(&s);
            for f in &red.findings {
                assert!(s.is_char_boundary(f.start) && s.is_char_boundary(f.end));
            }
        }
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        redact(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn large_input_is_handled() {
        let unit = "Herr Müller, Hauptstraße 12, Tel. 0170 1234567, 😀 Az. 2026-000123. ";
        let big = unit.repeat(1_000_000 / unit.len() + 1);
        let start = std::time::Instant::now();
        let red = redact(&big);
        assert_eq!(red.findings.len(), 3 * (1_000_000 / unit.len() + 1));
        // Generous bound: guards against accidental quadratic behaviour, not speed.
        assert!(start.elapsed().as_secs() < 60);
    }
}
