//! Lines that are never the citizen's message although they sit in its body: mobile
//! "sent from" footers and the confidentiality/print disclaimers of corporate gateways.
//! (The "-- " signature block itself is handled in `quotes`, which knows where a forward
//! starts again.)

/// "Von meinem iPhone gesendet", "Sent from my Galaxy", "Von Outlook für Android gesendet" …
/// Only short lines without a comma qualify, so that a sentence like "Von meinem Nachbarn
/// habe ich gehört, …" is never taken for a footer.
pub(super) fn is_mobile_footer(t: &str) -> bool {
    if t.len() > 160 {
        return false;
    }
    let lower = t.trim_end_matches('.').to_lowercase();
    if lower.split_whitespace().count() > 8 || lower.contains(',') {
        return false;
    }
    (lower.starts_with("von meinem ") && lower.ends_with(" gesendet"))
        || (lower.starts_with("gesendet mit der ") && lower.ends_with(" app"))
        || [
            "gesendet von meinem ",
            "sent from my ",
            "von outlook für ",
            "holen sie sich outlook für ",
            "get outlook for ",
            "gesendet von mail für windows",
            "sent from mail for windows",
            "sent from outlook",
            "sent from yahoo mail",
            "gesendet von yahoo mail",
            "sent with proton mail",
            "gesendet mit proton mail",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// Boilerplate paragraphs appended by corporate mail gateways.
pub(super) fn starts_disclaimer(t: &str) -> bool {
    // Only the start matters; lowercasing just that keeps the per-line check cheap.
    let lower = t.chars().take(60).collect::<String>().to_lowercase();
    [
        "diese e-mail enthält vertrauliche",
        "diese e-mail kann vertrauliche",
        "diese nachricht enthält vertrauliche",
        "der inhalt dieser e-mail ist vertraulich",
        "diese e-mail ist ausschließlich für den adressaten",
        "wichtiger hinweis: diese e-mail",
        "hinweis: diese e-mail",
        "this e-mail may contain confidential",
        "this email may contain confidential",
        "this e-mail and any attachments",
        "this email and any attachments",
        "this message contains confidential",
        "confidentiality notice",
        "bitte denken sie an die umwelt",
        "please consider the environment",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footers() {
        for footer in [
            "Von meinem iPhone gesendet",
            "Gesendet von meinem Samsung Galaxy Smartphone.",
            "Sent from my iPhone",
            "Von Outlook für Android gesendet<https://aka.ms/AAb9ysg>",
            "Gesendet mit der WEB.DE Mail App",
        ] {
            assert!(is_mobile_footer(footer), "{footer}");
        }
        for sentence in [
            "Von meinem Nachbarn habe ich gehört, dass der Müll liegen bleibt.",
            "Gesendet von meinem Sohn, weil ich selbst keinen Computer habe",
            "Sent from my office at the hospital because my home internet is down today",
        ] {
            assert!(!is_mobile_footer(sentence), "{sentence}");
        }
    }

    #[test]
    fn disclaimers() {
        assert!(starts_disclaimer(
            "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen."
        ));
        assert!(starts_disclaimer(
            "CONFIDENTIALITY NOTICE: This message ..."
        ));
        assert!(!starts_disclaimer(
            "Diese E-Mail schreibe ich wegen meines Antrags."
        ));
    }
}
