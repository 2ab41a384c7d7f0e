//! Turns raw RFC 5322 message bytes into what triage needs: header facts, the readable and
//! the cleaned body text, attachment metadata and text, and an [`Outcome`] that separates
//! citizens' inquiries from auto-replies, bounces and unusable input.
//!
//! Pure logic without I/O or global state. [`parse`] never panics and never fails: whatever
//! it cannot use becomes a non-inquiry outcome with a `reason`.
//!
//! Sub-modules: `headers` (header facts, case numbers), `parts` (MIME walk, attachments,
//! limits), `quotes` + `signature` (quoted replies, forwards, signatures, footers,
//! disclaimers), `classify` (auto-reply/bounce), `pdf` (PDF text); HTML and plain-text
//! handling comes from [`crate::text`].

// Shared with the integration tests and the benchmark; the unit tests use a part of it.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../tests/api/bombs.rs"]
pub(crate) mod bombs;
mod classify;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod fuzz;
mod headers;
mod office;
mod parts;
mod pdf;
mod quotes;
mod signature;

use crate::text;
pub use crate::text::html_to_text;
pub use headers::case_number_in_subject;

use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Resource limits for one message (README, "Email": limits).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Larger messages are not parsed beyond their headers (`Outcome::TooLarge`).
    pub max_bytes: usize,
    /// MIME parts beyond this count (across nesting levels) are skipped.
    pub max_parts: usize,
    /// Text extracted from one attachment (PDF, text file) is cut to this many
    /// characters. The body is never cut: it is bounded by `max_bytes`.
    pub max_attachment_chars: usize,
    /// What the compressed content of one attachment (PDF streams, the text of a DOCX or
    /// ODT archive) may inflate to; beyond it the attachment's text is not read.
    pub max_attachment_inflated_bytes: usize,
    /// The same for all attachments of a message together.
    pub max_inflated_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 25 * 1024 * 1024,
            max_parts: 200,
            max_attachment_chars: 100_000,
            max_attachment_inflated_bytes: 4 * 1024 * 1024,
            max_inflated_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Inquiry,
    AutoReply,
    Bounce,
    Empty,
    Unreadable,
    TooLarge,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
    pub extracted_text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedEmail {
    pub outcome: Outcome,
    /// Why, for every outcome other than `Inquiry`; for inquiries, notes on truncation or
    /// on where the text came from when the body was empty.
    pub reason: Option<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// `mid:<message-id>`, or `sha256:<hex of the raw bytes>` without a Message-ID.
    pub dedup_key: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Decoded (RFC 2047).
    pub subject: Option<String>,
    pub from_name: Option<String>,
    /// Lowercased.
    pub from_address: Option<String>,
    pub reply_to_address: Option<String>,
    /// RFC 3339 if the Date header is parseable.
    pub date: Option<String>,
    /// Content-Language header, if any.
    pub language_hint: Option<String>,
    /// Full readable text (plain part, or HTML converted) before cleaning.
    pub body_original: String,
    /// What the model sees: quotes, signatures, forward headers and disclaimers removed.
    /// The subject is kept separate (see `subject`), except for subject-only mail.
    pub body_clean: String,
    /// A forwarded message was detected (inline forward block or attached message).
    pub forwarded: bool,
    pub attachments: Vec<Attachment>,
    pub truncated: bool,
}

/// Reason given when the parser panicked (only ever expected from a library bug).
const INTERNAL_ERROR: &str = "internal error while parsing this message";

/// Oversized messages have their headers read from this prefix only.
const HEADER_WINDOW: usize = 64 * 1024;

/// Parses one raw message. Never panics; bad input yields `Unreadable`/`Empty` with a reason.
pub fn parse(raw: &[u8], limits: &Limits) -> ParsedEmail {
    // Defence in depth: mail-parser has debug assertions and offset arithmetic that hostile
    // input might trip, and one bad mail must not take an intake worker down. Tests call
    // `parse_unguarded` directly so that a panic still fails them instead of hiding here.
    std::panic::catch_unwind(|| parse_unguarded(raw, limits)).unwrap_or_else(|_| {
        let mut parsed = ParsedEmail::new(raw, Outcome::Unreadable);
        parsed.reason = Some(INTERNAL_ERROR.into());
        parsed
    })
}

/// [`parse`] without its panic guard: for the parser's child process, where a panic must
/// end the process so that the parent counts it, and for tests.
pub fn parse_unguarded(raw: &[u8], limits: &Limits) -> ParsedEmail {
    if raw.len() > limits.max_bytes {
        return too_large(raw, limits);
    }
    let mut parsed = ParsedEmail::new(raw, Outcome::Inquiry);
    let Some(msg) = MessageParser::new().parse(raw) else {
        parsed.outcome = Outcome::Unreadable;
        parsed.reason = Some("no RFC 5322 header fields found".into());
        return parsed;
    };
    // Any "Word: value" first line parses as a header; a mail has at least one known one.
    if msg.headers().iter().all(|h| h.name.is_other()) {
        parsed.outcome = Outcome::Unreadable;
        parsed.reason = Some("no standard header fields (From, Subject, Date, …) found".into());
        return parsed;
    }
    headers::fill(&mut parsed, &msg);
    let verdict = classify::classify(&msg);
    let is_report = classify::is_report(&msg);
    let ex = parts::extract(&msg, limits);
    let mut notes = Vec::new();
    if ex.skipped_parts > 0 {
        parsed.truncated = true;
        notes.push(format!(
            "{} MIME parts beyond the limit of {} were skipped",
            ex.skipped_parts, limits.max_parts
        ));
    }

    let outer = ex.body;
    let forward_subject = parsed
        .subject
        .as_deref()
        .is_some_and(quotes::subject_is_forward);
    let cleaned = quotes::clean(&outer, forward_subject);
    // A message attached to a delivery or read report is the returned original, not a forward.
    parsed.forwarded = cleaned.forwarded || (ex.has_attached_message && !is_report);
    let (original, mut clean) = match ex
        .nested_body
        .filter(|_| cleaned.text.is_empty() && !is_report)
    {
        // Forwarded as attachment with nothing (or only noise) around it: the attached
        // message is the inquiry.
        Some(nested) => {
            let nested_clean = quotes::clean(&nested, false).text;
            let original = if outer.is_empty() {
                nested.clone()
            } else {
                format!("{outer}\n\n{nested}")
            };
            (
                original,
                if nested_clean.is_empty() {
                    nested
                } else {
                    nested_clean
                },
            )
        }
        // Only a signature or "Sent from my iPhone" around a subject-only mail: the subject
        // (below) is the message, not the footer.
        None if cleaned.text.is_empty() && !cleaned.dropped_history && parsed.subject.is_some() => {
            (outer, String::new())
        }
        // Never lose the message: if everything looked like quoted history, the rules
        // were probably wrong.
        None if cleaned.text.is_empty() => (outer.clone(), outer),
        None => (outer, cleaned.text),
    };
    for (name, cap) in &ex.oversized {
        notes.push(format!(
            "attachment {name}: its compressed content inflates to more than {cap} bytes; its text was not read"
        ));
    }
    if ex.text_truncated {
        parsed.truncated = true;
        notes.push(format!(
            "attachment text cut to {} characters",
            limits.max_attachment_chars
        ));
    }
    if text::is_blank(&clean) {
        clean.clear();
    }
    parsed.attachments = ex.attachments;

    if clean.is_empty() {
        // Citizens do write everything into the subject ("Sperrmüll Musterweg 3 bitte
        // abholen"), so a subject-only mail is an inquiry with the subject as its text.
        if let Some(subject) = parsed.subject.clone() {
            clean = subject;
            notes.push("body empty; subject used as text".into());
        } else if let Some(att) = parsed
            .attachments
            .iter()
            .find(|a| a.extracted_text.is_some())
        {
            clean = att.extracted_text.clone().unwrap_or_default();
            let name = att.filename.as_deref().unwrap_or(&att.content_type);
            notes.push(format!("body empty; text taken from attachment {name}"));
        }
    }
    parsed.body_original = original;
    parsed.body_clean = clean;

    match verdict {
        Some((outcome, reason)) => {
            parsed.outcome = outcome;
            notes.insert(0, reason);
        }
        None if parsed.body_clean.is_empty() && !ex.oversized.is_empty() => {
            parsed.outcome = Outcome::TooLarge;
            notes.insert(0, "no readable text besides oversized attachments".into());
        }
        None if parsed.body_clean.is_empty() => {
            parsed.outcome = Outcome::Empty;
            let mut reason = String::from("no readable text in body, subject or attachments");
            if !parsed.attachments.is_empty() {
                reason.push_str(&format!(
                    "; {} attachment(s) without extractable text",
                    parsed.attachments.len()
                ));
            }
            notes.insert(0, reason);
        }
        None => {}
    }
    parsed.reason = (!notes.is_empty()).then(|| notes.join("; "));
    parsed
}

fn too_large(raw: &[u8], limits: &Limits) -> ParsedEmail {
    parse_oversized(raw, raw.len(), limits)
}

/// The record of a message of `size` bytes, over `limits.max_bytes`, of which only `head`
/// (its beginning) was read: `TooLarge` with the headers found in the first 64 KiB. Without
/// a Message-ID the dedup key is the hash of `head`.
pub fn parse_oversized(head: &[u8], size: usize, limits: &Limits) -> ParsedEmail {
    let mut parsed = parse_headers(head, Outcome::TooLarge);
    parsed.truncated = true;
    parsed.reason = Some(format!(
        "message is {size} bytes, over the limit of {} bytes; only the headers were read",
        limits.max_bytes
    ));
    parsed
}

/// A record with `outcome` and the header facts found in the first 64 KiB of `raw`, without
/// a body: for messages that are not (or could not be) parsed whole. The dedup key is the
/// same a full parse gives.
pub fn parse_headers(raw: &[u8], outcome: Outcome) -> ParsedEmail {
    let mut parsed = ParsedEmail::new(raw, outcome);
    let window = &raw[..raw.len().min(HEADER_WINDOW)];
    // Parse only up to the blank line (LF or CRLF) that ends the header, so a cut-off body
    // in the window cannot confuse the header parser; without one, the whole window.
    let header_end = (0..window.len())
        .find(|&i| window[i] == b'\n' && matches!(window.get(i + 1), Some(b'\n' | b'\r')))
        .map_or(window.len(), |i| i + 1);
    if let Some(msg) = MessageParser::new().parse_headers(&window[..header_end]) {
        headers::fill(&mut parsed, &msg);
    }
    parsed
}

impl ParsedEmail {
    fn new(raw: &[u8], outcome: Outcome) -> Self {
        ParsedEmail {
            outcome,
            reason: None,
            message_id: None,
            dedup_key: format!("sha256:{}", hex::encode(Sha256::digest(raw))),
            in_reply_to: Vec::new(),
            references: Vec::new(),
            subject: None,
            from_name: None,
            from_address: None,
            reply_to_address: None,
            date: None,
            language_hint: None,
            body_original: String::new(),
            body_clean: String::new(),
            forwarded: false,
            attachments: Vec::new(),
            truncated: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_ids_and_dedup() {
        let raw = b"Message-ID: <abc@example.org>\nIn-Reply-To: <x@kreis.example>\nReferences: <a@k> <x@kreis.example>\n\
            From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <Juergen.Mueller@Example.ORG>\nReply-To: j@example.org\n\
            Date: Mon, 9 Mar 2026 10:14:00 +0100\nContent-Language: de-DE\nSubject: Frage\n\nText\n";
        let p = parse_unguarded(raw, &Limits::default());
        assert_eq!(p.outcome, Outcome::Inquiry);
        assert_eq!(p.dedup_key, "mid:abc@example.org");
        assert_eq!(p.in_reply_to, ["x@kreis.example"]);
        assert_eq!(p.references, ["a@k", "x@kreis.example"]);
        assert_eq!(p.from_name.as_deref(), Some("Jürgen Müller"));
        assert_eq!(
            p.from_address.as_deref(),
            Some("juergen.mueller@example.org")
        );
        assert_eq!(p.date.as_deref(), Some("2026-03-09T10:14:00+01:00"));
        assert_eq!(p.language_hint.as_deref(), Some("de-DE"));
        let anonymous = parse_unguarded(b"Subject: a\n\nb", &Limits::default());
        assert_eq!(anonymous.dedup_key.len(), "sha256:".len() + 64);
    }

    #[test]
    fn too_large_keeps_headers() {
        let limits = Limits {
            max_bytes: 1000,
            ..Limits::default()
        };
        for eol in ["\n", "\r\n"] {
            // The body's "Subject:" line must not be taken for a header.
            let head = format!(
                "Subject: Bauantrag mit Plänen{eol}From: A@B.example{eol}{eol}Subject: im Text{eol}"
            );
            let mut raw = head.into_bytes();
            raw.extend(std::iter::repeat_n(b'x', 5000));
            let p = parse_unguarded(&raw, &limits);
            assert_eq!(p.outcome, Outcome::TooLarge);
            assert_eq!(p.subject.as_deref(), Some("Bauantrag mit Plänen"));
            assert_eq!(p.from_address.as_deref(), Some("a@b.example"));
            assert!(p.body_clean.is_empty() && p.truncated);
            let reason = p.reason.unwrap_or_default();
            assert!(reason.contains(&format!("message is {} bytes", raw.len())));
        }
    }

    #[test]
    fn unreadable_and_empty() {
        for raw in [
            &b""[..],
            b"Hallo Welt\n",
            b"Hallo: Welt\n\nbody",
            &[0xff, 0, 0x13, b':', 0x99, b'\n'],
        ] {
            let p = parse_unguarded(raw, &Limits::default());
            assert_eq!(p.outcome, Outcome::Unreadable, "{raw:?}");
            assert!(p.reason.is_some());
        }
        let p = parse_unguarded(b"From: a@b.example\n\n \n", &Limits::default());
        assert_eq!(p.outcome, Outcome::Empty);
    }

    #[test]
    fn attachments_that_inflate_beyond_the_caps_are_not_read() {
        let limits = Limits::default();
        let bomb = bombs::pdf("x", 64 << 20);
        let good = bombs::pdf("Wohngeldantrag Seite eins", 0);
        let raw = bombs::mail(
            "pdf-bomb@example.org",
            Some("Antrag"),
            "Anbei mein Antrag.",
            &[
                ("antrag.pdf", "application/pdf", &bomb),
                ("seite.pdf", "application/pdf", &good),
            ],
        );
        let p = parse_unguarded(&raw, &limits);
        assert_eq!(p.outcome, Outcome::Inquiry);
        assert_eq!(p.body_clean, "Anbei mein Antrag.");
        let reason = p.reason.unwrap();
        assert!(
            reason.contains(
                "attachment antrag.pdf: its compressed content inflates to more than 4194304 bytes"
            ),
            "{reason}"
        );
        assert_eq!(p.attachments[0].extracted_text, None);
        let text = p.attachments[1].extracted_text.as_deref().unwrap();
        assert!(text.contains("Wohngeldantrag"), "{text}");

        // Only an oversized attachment: nothing readable, too large.
        let docx = bombs::docx("x", 64 << 20);
        let docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let raw = bombs::mail(
            "docx-bomb@example.org",
            None,
            "",
            &[("antrag.docx", docx_type, &docx)],
        );
        let p = parse_unguarded(&raw, &limits);
        assert_eq!(p.outcome, Outcome::TooLarge, "{:?}", p.reason);
        assert!(p.reason.unwrap().contains("antrag.docx"));

        // The message's budget: two attachments of 1 MiB each fit one by one, not together.
        let limits = Limits {
            max_inflated_bytes: 3 << 19,
            ..Limits::default()
        };
        let part = bombs::pdf("Seite", 1 << 20);
        let raw = bombs::mail(
            "budget@example.org",
            Some("Antrag"),
            "Zwei Seiten.",
            &[
                ("a.pdf", "application/pdf", &part),
                ("b.pdf", "application/pdf", &part),
            ],
        );
        let p = parse_unguarded(&raw, &limits);
        assert!(p.attachments[0].extracted_text.is_some());
        assert_eq!(p.attachments[1].extracted_text, None);
        assert!(p.reason.unwrap().contains("attachment b.pdf"));
    }

    /// Random bytes, mutated and cut-off messages: nothing may panic (called without the
    /// catch_unwind guard) and every outcome must be explained.
    #[test]
    fn never_panics_on_garbage() {
        let seeds: Vec<&[u8]> = vec![
            b"From: a@b\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: message/rfc822\n\n\
              Content-Type: multipart/alternative; boundary=c\n\n--c\nContent-Type: text/html\n\n<p>x<blockquote>y\n--b--",
            b"Subject: =?UTF-8?B?w7w=?=\nContent-Type: text/plain; format=flowed; charset=x\nContent-Transfer-Encoding: base64\n\n////",
            b"From: x\nContent-Type: multipart/report; report-type=delivery-status; boundary=z\n\n--z\nContent-Type: message/rfc822\n\n--z",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let limits = Limits {
            max_parts: 8,
            max_attachment_chars: 500,
            ..Limits::default()
        };
        for round in 0..3000 {
            let input: Vec<u8> = if round % 3 == 0 {
                (0..next() % 400).map(|_| next() as u8).collect()
            } else {
                let mut v = seeds[round % seeds.len()].to_vec();
                for _ in 0..(next() % 6) {
                    let at = (next() as usize) % v.len();
                    match next() % 3 {
                        0 => v[at] = next() as u8,
                        1 => v.truncate(at),
                        _ => v.insert(
                            at,
                            [b'\n', b'<', b'>', b'-', b'=', b':'][(next() % 6) as usize],
                        ),
                    }
                    if v.is_empty() {
                        break;
                    }
                }
                v
            };
            let p = parse_unguarded(&input, &limits);
            assert!(
                p.outcome == Outcome::Inquiry && !p.body_clean.is_empty()
                    || p.outcome != Outcome::Inquiry
            );
            assert!(p.outcome == Outcome::Inquiry || p.reason.is_some());
        }
    }
}
