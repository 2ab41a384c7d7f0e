//! HTML character references: numeric ones and the named entities that occur in mail
//! (German umlauts, typographic quotes and dashes, currency, spaces).

/// Decodes the entity at the start of `s` (which begins with '&'). Returns the text and the
/// number of bytes consumed; an unknown entity is kept literally.
pub(super) fn decode_entity(s: &str) -> (String, usize) {
    let body_end = s[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
        .map_or(s.len(), |p| p + 1);
    let name = &s[1..body_end];
    let has_semicolon = s[body_end..].starts_with(';');
    let used = body_end + usize::from(has_semicolon);
    if let Some(num) = name.strip_prefix('#') {
        let value = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        if !num.is_empty() {
            let c = value
                .and_then(char::from_u32)
                .filter(|&c| c != '\0')
                .unwrap_or('\u{fffd}');
            return (c.to_string(), used);
        }
    } else if let Some(text) = named_entity(name) {
        // Sloppy mail HTML often omits ';' after the most common entities.
        if has_semicolon || matches!(name, "amp" | "lt" | "gt" | "quot" | "nbsp") {
            return (text.to_string(), used);
        }
    }
    ("&".to_string(), 1)
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" | "ensp" | "emsp" | "thinsp" => "\u{a0}",
        "shy" | "zwnj" | "zwj" | "lrm" | "rlm" => "",
        "auml" => "ä",
        "ouml" => "ö",
        "uuml" => "ü",
        "Auml" => "Ä",
        "Ouml" => "Ö",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "euro" => "€",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "laquo" => "«",
        "raquo" => "»",
        "bdquo" => "„",
        "ldquo" => "“",
        "rdquo" => "”",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "middot" => "·",
        "bull" => "•",
        "deg" => "°",
        "sect" => "§",
        "para" => "¶",
        "times" => "×",
        "divide" => "÷",
        "plusmn" => "±",
        "frac12" => "½",
        "cent" => "¢",
        "pound" => "£",
        "yen" => "¥",
        "iexcl" => "¡",
        "iquest" => "¿",
        "eacute" => "é",
        "egrave" => "è",
        "ecirc" => "ê",
        "Eacute" => "É",
        "agrave" => "à",
        "aacute" => "á",
        "acirc" => "â",
        "ccedil" => "ç",
        "Ccedil" => "Ç",
        "iacute" => "í",
        "oacute" => "ó",
        "ocirc" => "ô",
        "uacute" => "ú",
        "ntilde" => "ñ",
        "oslash" => "ø",
        "Oslash" => "Ø",
        "aring" => "å",
        "Aring" => "Å",
        "aelig" => "æ",
        "AElig" => "Æ",
        "scaron" => "š",
        "Scaron" => "Š",
        "zcaron" => "ž",
        "Zcaron" => "Ž",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_numeric_and_unknown() {
        assert_eq!(decode_entity("&auml;x"), ("ä".to_string(), 6));
        assert_eq!(decode_entity("&amp rest"), ("&".to_string(), 4));
        assert_eq!(decode_entity("&#x20AC;"), ("€".to_string(), 8));
        assert_eq!(decode_entity("&#8364"), ("€".to_string(), 6));
        assert_eq!(decode_entity("&#0;"), ("\u{fffd}".to_string(), 4));
        assert_eq!(decode_entity("&auml"), ("&".to_string(), 1));
        assert_eq!(decode_entity("&bogus;"), ("&".to_string(), 1));
        assert_eq!(decode_entity("&"), ("&".to_string(), 1));
    }
}
