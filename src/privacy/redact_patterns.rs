//! Pattern tables, word lists, shape validators and checksums used by
//! `redact` for every kind except names (see `redact_names.rs`).
//!
//! Kept apart from the detection flow so the tables can grow without pushing
//! the engine past a readable size. Included by `redact.rs` via `#[path]`, so
//! it is private to that module.

use regex::Regex;
use std::sync::LazyLock;

pub(super) fn re(pattern: &str) -> Regex {
    // Patterns are compile-time constants; a failure is a programming error
    // that the unit tests catch, never a property of user input.
    Regex::new(pattern).expect("static redaction pattern must compile")
}

macro_rules! pattern {
    ($(#[$doc:meta])* $name:ident, $src:expr) => {
        $(#[$doc])*
        pub(super) static $name: LazyLock<Regex> = LazyLock::new(|| re(&$src));
    };
}

/// Same-line horizontal whitespace, including the no-break space that
/// copy-pasted form data often contains.
const SP: &str = r"[ \t\u{a0}]";

pattern!(
    EMAIL,
    r"[\p{L}\p{N}_%+\-][\p{L}\p{N}._%+\-]*@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}"
);

// The body is deliberately greedy and unterminated: the real length comes from
// the per-country table, so trailing words such as "BIC" do not matter.
pattern!(IBAN, r"\b[A-Z]{2}\d{2}(?:[ \u{a0}]?[A-Z0-9]){11,30}");
pattern!(IBAN_CONTEXT, r"(?i)\biban\b");

pattern!(
    TAX_ID,
    r"\b(?:[1-9]\d{10}|[1-9]\d[ \u{a0}]\d{3}[ \u{a0}]\d{3}[ \u{a0}]\d{3}|[1-9]\d{2}[ \u{a0}]\d{3}[ \u{a0}]\d{3}[ \u{a0}]\d{2})\b"
);
pattern!(
    TAX_CONTEXT,
    r"(?i)(?:\bsteuer-?id|steuer-?identifikations-?n(?:umme)?r|\bidnr\b|identifikationsnummer|\btax[- ]?id\b|\btin\b)"
);
pattern!(
    STEUERNUMMER,
    r"(?i)\b(?:steuernummer|steuer-nr\.?|st\.?-?nr\.?)[:\s]*(?:(?:lautet|ist)\s+)?(\d{2,5}/\d{3,5}(?:/\d{4,5})?|\d{3} \d{3} \d{5}|\d{10,13})\b"
);

pattern!(ID_STRICT, r"\b[CFGHJKLMNPRTVWXYZ0-9]{9}\b");
// Foreign passports follow other alphabets; only accepted next to a context word.
pattern!(ID_LOOSE, r"\b[A-Z]{1,2}\d{6,8}\b");
pattern!(
    ID_CONTEXT,
    r"(?i)(?:ausweis|reisepass|\bpass\b|passnummer|pass-nr|dokumentennummer|\bid[- ]card|passport|identity card)"
);

pattern!(
    /// Numbering schemes of shops and utilities that share the ID-card alphabet.
    ID_NEGATIVE_CONTEXT,
    r"(?i)(?:bestell|kunden|rechnungs|artikel|auftrags|sendungs|vertrags|tracking|order|invoice|zähler)"
);

pattern!(
    PLATE,
    r"\b([A-ZÄÖÜ]{1,3})(?:[-–][ \u{a0}]?|[ \u{a0}])([A-Z]{1,2})[ \-]?([1-9]\d{0,3})[EH]?\b"
);
/// Upper-case tokens that look like a district code but introduce standards or abbreviations.
pub(super) const PLATE_STOP: &[&str] = &[
    "DIN", "ISO", "EN", "VDE", "VDI", "TÜV", "DAS", "NR", "TOP", "EU", "SGB", "BGB", "GG", "AO",
    "KAG", "ZPO",
];

pattern!(
    PHONE,
    r"(?:\+\d|\([ ]?0|\b0)\d*(?:(?:[ \u{a0}]?[-/–][ \u{a0}]?|[ \u{a0}]|[ \u{a0}]?\((?:0\))?[ \u{a0}]?|\)[ \u{a0}]?)\d+)*"
);
pattern!(
    PHONE_CONTEXT_WORD,
    r"(?i)\b(?:tel|telefon|telefonnummer|telefon-?nr|tel\.-?nr|rufnummer|festnetz|festnetznummer|handy|handynummer|mobil|mobilnummer|mobiltelefon|fax|phone|mobile|cell|whatsapp)\b"
);
pattern!(
    /// Numbers introduced directly by a phone word; allows local numbers without area code.
    PHONE_BY_CONTEXT,
    format!(
        r"(?i)\b(?:tel|telefon|telefonnummer|rufnummer|festnetznummer|handy|handynummer|mobil|mobilnummer|fax|phone)\b\.?{SP}*:?{SP}*(?:(?:ist|lautet|unter|is){SP}+)?(\+?\d(?:\d|{SP}?[-/]{SP}?\d|{SP}\d)*)"
    )
);
pattern!(
    /// Identifiers that share the shape of phone numbers.
    PHONE_NEGATIVE_CONTEXT,
    r"(?i)(?:aktenzeichen|\baz\b|vorgang|kundennummer|kunden-nr|rechnungs|kassenzeichen|vertragsnummer|zähler|mitglieds|versicherungsnummer|steuer|leika|schlüssel|\biban\b|\bbic\b|\bblz\b|konto|personalnummer)"
);
pattern!(SLASH_DATE, r"^\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{2}|\d{4})$");

const MONTH: &str = r"(?:Januar|Jänner|Februar|März|Maerz|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|January|February|March|May|June|July|October|December|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sept|Sep|Okt|Oct|Nov|Dez|Dec)\.?";

fn date() -> String {
    format!(
        r"(?:\d{{1,2}}\.{SP}?\d{{1,2}}\.{SP}?(?:19|20)?\d{{2}}\b|\d{{1,2}}\.?{SP}{MONTH}{SP}(?:19|20)\d{{2}}\b|{MONTH}{SP}\d{{1,2}}(?:st|nd|rd|th)?,?{SP}(?:19|20)\d{{2}}\b|\d{{1,2}}/\d{{1,2}}/(?:19|20)?\d{{2}}\b|(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}\b)"
    )
}

// The gap between the cue and the date is limited to a few function words so
// that "geboren und wohne seit dem 03.05.2024" does not leak into a later date.
pattern!(
    BIRTH_BEFORE,
    format!(
        r"(?i)(?:\bgeb\.-datum|\bgeboren\b|\bgeb\.|\bgeburtsdatum\b|\bgeburtstag\b|\bborn\b|\bdate of birth\b|\bdob\b|\bd\.o\.b\.|\*)(?:[\s:,(]+|\b(?:am|den|der|des|dem|ist|lautet|on|is|of|meiner|meines|meinem|unserer|unseres|von|vom|wurde|wurden|ich|bin|er|sie|was|i|kindes|sohnes|mannes|vaters|antragstellers|antragstellerin|the|child)\b){{0,8}}({})",
        date()
    )
);
pattern!(
    BIRTH_AFTER,
    format!(
        r"(?i)({}),?(?:{SP}+in{SP}+\p{{Lu}}[\p{{L}}\-]+)?{SP}+(?:geboren|born)\b",
        date()
    )
);

const STREET_SUFFIX: &str = r"(?:[sS]tra(?:ß|ss)e\b|[sS]tr\.|[wW]eg\b|[aA]llee\b|[pP]latz\b|[gG]asse\b|[rR]ing\b|[dD]amm\b|[uU]fer\b|[cC]haussee\b|[sS]teig\b|[pP]fad\b|[mM]arkt\b|[hH]of\b|[pP]romenade\b)";
const STREET_WORD: &str = r"(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee|Steig|Pfad|Markt|Hof|Promenade)";
const STREET_PREP: &str = r"(?:Am|An der|An den|An dem|Auf der|Auf dem|Auf den|Im|In der|In den|Zum|Zur|Unter den|Hinter der|Hinter dem|Vor dem|Beim)";
const CAP: &str = r"\p{Lu}[\p{L}\-]+";

pattern!(
    ADDRESS,
    format!(
        r"\b(?P<street>(?P<place>\p{{Lu}}\p{{L}}+er) \p{{Lu}}\p{{L}}*?{STREET_SUFFIX}|(?P<compound>\p{{Lu}}[\p{{L}}\-]*?{STREET_SUFFIX})|(?P<adj>\p{{Lu}}\p{{L}}+(?:er|e|es|en)) {STREET_WORD}|{STREET_WORD} (?:der|des|am|an der|zum|zur) (?:{CAP} )?{CAP}|\b(?P<prep>{STREET_PREP}) (?P<noun>(?:{CAP} )?{CAP})){SP}*(?:Nr\.{SP}?)?(?P<num>[1-9]\d{{0,2}}(?:{SP}?[a-hA-H]\b)?(?:{SP}?[-–/]{SP}?(?:[1-9]\d{{0,2}}[a-h]?|[a-h]))?\b)(?P<city>,?[ \t]*(?:\r?\n[ \t]*)?(?:D-)?\d{{5}}{SP}+{CAP}(?:/{CAP})?(?:{SP}\({CAP}\))?(?:{SP}(?:an der|am|im|in der|ob der){SP}{CAP})?)?"
    )
);
pattern!(
    /// What follows a number that makes it a quantity, time or amount rather than a house number.
    NOT_HOUSE_NUMBER,
    r"^(?:[.,]\d|\s*(?:%|€|EUR\b|Euro\b|Uhr\b|km\b|m\b|cm\b|Meter\b|Minuten\b|Min\b|Stunden\b|Jahre\b|Jahren\b|Tage\b|Tagen\b|Wochen\b|Monate\b|Mal\b|Personen\b|Kinder\b|Stück\b))"
);
/// Compound nouns with a street suffix that name places, not postal addresses.
const COMMON_STREET_NOUNS: &str = "\
    bahnhof friedhof bauhof wertstoffhof schulhof hinterhof innenhof spielplatz parkplatz \
    sportplatz stellplatz arbeitsplatz bolzplatz radweg gehweg fußweg fussweg feldweg waldweg \
    schulweg heimweg umweg rückweg wanderweg supermarkt wochenmarkt flohmarkt weihnachtsmarkt \
    bundesstraße landstraße kreisstraße staatsstraße einbahnstraße nebenstraße seitenstraße \
    spielstraße hauptverkehrsstraße durchgangsstraße zufahrtsstraße baustraße wohnstraße \
    ortsdurchfahrt fahrradstraße";
/// Nouns after "Am/Im/Zum …" that mark a time or a thing, not a street.
const PREP_NOUN_STOP: &str = "\
    montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag januar februar märz \
    april mai juni juli august september oktober november dezember jahr jahre monat tag \
    wochenende ende anfang bus zug raum zimmer haus gebäude termin abend morgen mittag \
    vormittag nachmittag schnitt durchschnitt moment rahmen auftrag landkreis kreis ort \
    ortsteil amt kreishaus alter jahrgang";

// ---- text helpers and shape validators ---

/// Up to `max` bytes of the same line before `pos` — where cue words live.
pub(super) fn line_before(text: &str, pos: usize, max: usize) -> &str {
    let mut from = pos.saturating_sub(max);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..pos];
    window.rfind('\n').map_or(window, |i| &window[i + 1..])
}

fn char_before(text: &str, pos: usize) -> Option<char> {
    text[..pos].chars().next_back()
}

pub(super) fn char_at(text: &str, pos: usize) -> Option<char> {
    text[pos..].chars().next()
}

/// True when a digit run continues across a single separator, i.e. the
/// match is only a fragment of a longer number.
pub(super) fn embedded_in_number(text: &str, start: usize, end: usize) -> bool {
    let before = line_before(text, start, 2);
    let after: String = text[end..].chars().take(2).collect();
    let mut b = before.chars().rev();
    let b0 = b.next();
    let b1 = b.next();
    let mut a = after.chars();
    let a0 = a.next();
    let a1 = a.next();
    let joins = |c: Option<char>| matches!(c, Some(' ' | '-' | '/' | '.' | ',' | '\u{a0}'));
    b0.is_some_and(|c| c.is_ascii_digit() || c == '+')
        || (joins(b0) && b1.is_some_and(|c| c.is_ascii_digit()))
        || a0.is_some_and(|c| c.is_ascii_digit())
        || (joins(a0) && a1.is_some_and(|c| c.is_ascii_digit()))
}

/// Length and neighbourhood rules that separate phone numbers from file
/// numbers, dates and LeiKa keys sharing the same digits-and-separators shape.
pub(super) fn phone_shape_ok(text: &str, start: usize, end: usize, cue: bool) -> bool {
    let s = &text[start..end];
    if char_before(text, start).is_some_and(|c| c.is_alphanumeric() || c == '_')
        || char_at(text, end).is_some_and(|c| c.is_alphanumeric())
        || embedded_in_number(text, start, end)
        || SLASH_DATE.is_match(s)
    {
        return false;
    }
    let n = s.bytes().filter(u8::is_ascii_digit).count();
    let separated = s.bytes().any(|b| !b.is_ascii_digit() && b != b'+');
    if s.starts_with('+') {
        (7..=15).contains(&n)
    } else if s.starts_with("00") {
        (9..=16).contains(&n)
    } else if !separated && n >= 14 {
        // Long unbroken runs are usually LeiKa keys or file numbers.
        cue && n <= 15
    } else if cue {
        (6..=14).contains(&n)
    } else {
        (7..=13).contains(&n)
    }
}

// ---- checksums ---------------------------------------------------------

/// Expected IBAN length per country (SEPA area plus frequent origins of residents).
pub(super) fn iban_length(country: &str) -> Option<usize> {
    if country.len() != 2 {
        return None;
    }
    const TABLE: &str = "AD24 AL28 AT20 BA20 BE16 BG22 CH21 CY28 CZ24 DE22 DK18 EE20 ES24 FI18 FR27 GB22 GR27 HR21 HU28 IE22 IS26 \
        IT27 LI21 LT20 LU20 LV21 MC27 ME22 MT31 NL18 NO15 PL28 PT25 RO24 RS22 SE24 SI19 SK24 SM27 TR26 UA29 XK20";
    TABLE
        .split_whitespace()
        .find(|entry| entry.starts_with(country))
        .and_then(|entry| entry[2..].parse().ok())
}

/// ISO 13616 mod-97 check over an IBAN without spaces.
pub(super) fn iban_checksum_ok(compact: &str) -> bool {
    if compact.len() < 5 || !compact.is_ascii() {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for ch in tail.chars().chain(head.chars()) {
        let Some(v) = ch.to_digit(36) else {
            return false;
        };
        // Letters expand to two digits; fold each digit separately to stay in u32.
        let digits = if v >= 10 {
            [v / 10, v % 10]
        } else {
            [v, u32::MAX]
        };
        for d in digits.into_iter().filter(|d| *d != u32::MAX) {
            rem = (rem * 10 + d) % 97;
        }
    }
    rem == 1
}

/// ISO 7064 MOD 11,10 check digit plus the structural rule of the
/// Steuer-IdNr (in the first ten digits exactly one digit repeats).
pub(super) fn tax_id_ok(digits: &[u8]) -> bool {
    if digits.len() != 11 || digits[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &d in &digits[..10] {
        counts[usize::from(d)] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c >= 2).count();
    if repeated != 1 || counts.iter().any(|&c| c > 3) {
        return false;
    }
    let mut product: u32 = 10;
    for &d in &digits[..10] {
        let mut sum = (u32::from(d) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(digits[10])
}

fn in_list(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// True for compound nouns such as "Parkplatz" that end like a street but name a place.
pub(super) fn is_common_street_noun(word: &str) -> bool {
    let lower = word.to_lowercase();
    COMMON_STREET_NOUNS
        .split_whitespace()
        .any(|n| lower.ends_with(n))
}

/// Capitalised words ending in "-er" that are not place adjectives like
/// "Sielower" in "Sielower Landstraße".
pub(super) fn is_not_place_adjective(word: &str) -> bool {
    const WORDS: &str = "unser euer oder aber über jeder immer wieder hier leider später dieser jener \
        welcher ihrer unserer eurer mehr sehr weiter außer hinter unter oberer unterer";
    in_list(WORDS, &word.to_lowercase())
}

/// True when a word after "Am/Im/Zum …" marks a time or a thing, not a street.
pub(super) fn is_prep_noun_stop(word: &str) -> bool {
    in_list(PREP_NOUN_STOP, &word.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_checksum() {
        assert!(iban_checksum_ok("DE89370400440532013000"));
        assert!(iban_checksum_ok("GB29NWBK60161331926819"));
        assert!(!iban_checksum_ok("DE89370400440532013001"));
        assert!(!iban_checksum_ok("DE8"));
        assert_eq!(iban_length("DE"), Some(22));
        assert_eq!(iban_length("D"), None);
    }

    #[test]
    fn tax_id_check_digit_and_structure() {
        assert!(tax_id_ok(&[8, 6, 0, 9, 5, 7, 4, 2, 7, 1, 9]));
        assert!(!tax_id_ok(&[8, 6, 0, 9, 5, 7, 4, 2, 7, 1, 8]));
        // All ten leading digits distinct violates the repetition rule.
        assert!(!tax_id_ok(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]));
    }
}
