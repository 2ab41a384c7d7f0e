//! Mail texts from `prompts/` (embedded at build time, so the binary needs no files at run
//! time), filled by `{{name}}` substitution. No logic in templates: what differs between
//! cases is decided in code and passed as values.

use crate::config::MailLanguage;

/// Which text to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Received, with the case number, the department and the status link.
    Ack,
    /// To an address given through the web or the API: confirm it to receive mail.
    Confirm,
    Forward,
    Reply,
}

fn source(template: Template, language: MailLanguage) -> &'static str {
    match (template, language) {
        (Template::Ack, MailLanguage::De) => include_str!("../../prompts/ack.de.txt"),
        (Template::Ack, MailLanguage::En) => include_str!("../../prompts/ack.en.txt"),
        (Template::Confirm, MailLanguage::De) => include_str!("../../prompts/confirm.de.txt"),
        (Template::Confirm, MailLanguage::En) => include_str!("../../prompts/confirm.en.txt"),
        // Forwards go to staff, who read German.
        (Template::Forward, _) => include_str!("../../prompts/forward.de.txt"),
        (Template::Reply, MailLanguage::De) => include_str!("../../prompts/reply.de.txt"),
        (Template::Reply, MailLanguage::En) => include_str!("../../prompts/reply.en.txt"),
    }
}

/// Fills every `{{name}}` with its value; placeholders without a value stay visible, so a
/// template error shows in the mail instead of silently dropping text.
pub fn render(template: Template, language: MailLanguage, values: &[(&str, &str)]) -> String {
    let mut text = source(template, language).to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    text
}

/// `[Anliegen 2026-000123] original subject`, without stacking a second tag on replies.
pub fn subject(case: &str, original: Option<&str>) -> String {
    let tag = format!("[Anliegen {case}]");
    match original.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.contains(&tag) => s.to_string(),
        Some(s) => format!("{tag} {s}"),
        None => tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_in_both_languages() {
        for lang in [MailLanguage::De, MailLanguage::En] {
            let t = render(
                Template::Ack,
                lang,
                &[
                    ("case_number", "2026-000007"),
                    ("department", "Tiefbau"),
                    ("status_url", "https://x/s"),
                ],
            );
            assert!(t.contains("2026-000007") && t.contains("Tiefbau"), "{t}");
            assert!(t.contains("https://x/s") && !t.contains("{{"), "{t}");
            let t = render(
                Template::Confirm,
                lang,
                &[
                    ("case_number", "2026-000007"),
                    ("confirm_url", "https://x/c"),
                ],
            );
            assert!(t.contains("https://x/c") && !t.contains("{{"), "{t}");
        }
    }

    /// Automatic mail to a citizen never carries the text someone typed in: an attacker
    /// could otherwise send anything to anyone with the authority's name on it.
    #[test]
    fn automatic_mail_to_citizens_never_repeats_their_text() {
        for template in [Template::Ack, Template::Confirm] {
            for lang in [MailLanguage::De, MailLanguage::En] {
                let source = source(template, lang);
                assert!(!source.contains("{{text}}"), "{template:?} {lang:?}");
                assert!(!source.contains("{{service}}"), "{template:?} {lang:?}");
            }
        }
    }

    #[test]
    fn subject_is_tagged_once() {
        assert_eq!(
            subject("2026-000001", Some("Laterne")),
            "[Anliegen 2026-000001] Laterne"
        );
        assert_eq!(
            subject("2026-000001", Some("AW: [Anliegen 2026-000001] Laterne")),
            "AW: [Anliegen 2026-000001] Laterne"
        );
        assert_eq!(subject("2026-000001", None), "[Anliegen 2026-000001]");
    }
}
