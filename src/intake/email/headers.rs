//! Header facts for [`ParsedEmail`]: message ids (for threading and deduplication),
//! decoded subject and addresses, date, language hint, and the case number that replies
//! to the county carry in their subject.

use mail_parser::{HeaderValue, Message, MimeHeaders};

use super::{ParsedEmail, text};

/// Copies the header facts of `msg` into `parsed`; a Message-ID replaces the hash-based
/// deduplication key.
pub(super) fn fill(parsed: &mut ParsedEmail, msg: &Message) {
    parsed.message_id = msg.message_id().and_then(clean_id);
    if let Some(id) = &parsed.message_id {
        parsed.dedup_key = format!("mid:{id}");
    }
    parsed.in_reply_to = ids(msg.in_reply_to());
    parsed.references = ids(msg.references());
    parsed.subject = msg
        .subject()
        .map(|s| text::normalize(s).replace(['\n', '\t'], " "))
        .and_then(non_empty);
    let from = msg.from().and_then(|a| a.first());
    parsed.from_name = from
        .and_then(|a| a.name())
        .map(text::normalize)
        .and_then(non_empty);
    parsed.from_address = from
        .and_then(|a| a.address())
        .and_then(non_empty)
        .map(|a| a.to_lowercase());
    let reply_to = msg
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    parsed.reply_to_address = reply_to.and_then(non_empty).map(|a| a.to_lowercase());
    parsed.date = msg.date().filter(|d| d.is_valid()).map(|d| d.to_rfc3339());
    parsed.language_hint = texts(msg.content_language()).or_else(|| {
        // Some clients put Content-Language on the text part rather than the message.
        let part = msg
            .text_body
            .first()
            .and_then(|&id| msg.parts.get(id as usize))?;
        texts(part.content_language())
    });
}

fn non_empty(s: impl AsRef<str>) -> Option<String> {
    let s = s.as_ref().trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn clean_id(id: &str) -> Option<String> {
    non_empty(id.trim().trim_start_matches('<').trim_end_matches('>'))
}

fn ids(value: &HeaderValue) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => clean_id(id).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn texts(value: &HeaderValue) -> Option<String> {
    match value {
        HeaderValue::Text(t) => non_empty(t),
        HeaderValue::TextList(list) => {
            non_empty(list.iter().map(|t| t.trim()).collect::<Vec<_>>().join(", "))
        }
        _ => None,
    }
}

/// Finds a case number like "[Anliegen 2026-000123]" in a subject (also without brackets,
/// any case, after "AW:", "Re:", "WG:" or with "Nr."), returning "2026-000123".
pub fn case_number_in_subject(subject: &str) -> Option<String> {
    // ASCII lowercasing keeps byte offsets identical to `subject`.
    let lower = subject.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("anliegen") {
        let start = from + pos;
        from = start + "anliegen".len();
        // A word of its own: not the tail of "Bürgeranliegen".
        if lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        let mut i = from;
        let skip_separators = |i: &mut usize| {
            while bytes
                .get(*i)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'#' | b':' | b'-' | b'.'))
            {
                *i += 1;
            }
        };
        skip_separators(&mut i);
        if lower[i..].starts_with("nr") {
            i += 2;
            skip_separators(&mut i);
        }
        let digits = |range: std::ops::Range<usize>| {
            bytes
                .get(range)
                .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
        };
        let complete = digits(i..i + 4)
            && bytes.get(i + 4) == Some(&b'-')
            && digits(i + 5..i + 11)
            && !bytes.get(i + 11).is_some_and(u8::is_ascii_digit);
        if complete {
            return Some(subject[i..i + 11].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers() {
        let found = |s: &str| case_number_in_subject(s);
        assert_eq!(
            found("AW: [Anliegen 2026-000123] Kita-Platz").as_deref(),
            Some("2026-000123")
        );
        assert_eq!(
            found("Re: WG: anliegen 2026-000123").as_deref(),
            Some("2026-000123")
        );
        assert_eq!(
            found("ANLIEGEN Nr. 2026-000042: Rückfrage").as_deref(),
            Some("2026-000042")
        );
        assert_eq!(
            found("Mein Anliegen: 2026-000007 und Anliegen 2026-000008").as_deref(),
            Some("2026-000007")
        );
        assert_eq!(found("Bürgeranliegen 2026-000123"), None);
        assert_eq!(
            found("Frage zu „Anliegen 2026-000321“").as_deref(),
            Some("2026-000321")
        );
        assert_eq!(found("Anliegen 2026-0001234"), None);
        assert_eq!(found("Anliegen 26-000123"), None);
        assert_eq!(found("Mein Anliegen"), None);
        assert_eq!(found("Anliegen 2026-00012"), None);
    }
}
