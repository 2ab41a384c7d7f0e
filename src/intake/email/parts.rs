//! Walks the MIME tree that mail-parser produced: picks the readable body (text/plain
//! preferred, HTML converted when it is the only body), records every attachment with the
//! text that can be extracted from it, follows attached messages (message/rfc822) and
//! enforces the part, text and inflation limits.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use super::{Attachment, Limits, office, pdf, text};

/// Attached messages nested deeper than this are recorded but not opened.
const MAX_NESTING: usize = 3;

#[derive(Default)]
pub(super) struct Extracted {
    /// Readable body of the top-level message (tidied, not yet truncated).
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// Body text of the first attached message that has one (forward as attachment).
    pub nested_body: Option<String>,
    pub has_attached_message: bool,
    /// MIME parts (across all nesting levels) ignored because of `max_parts`.
    pub skipped_parts: usize,
    /// Some attachment text was cut at `max_text_chars`.
    pub text_truncated: bool,
    /// What compressed attachments may still inflate to within `max_inflated_bytes`.
    pub inflate_left: usize,
    /// Attachments whose text was not read because their content inflates beyond the
    /// cap that applied (name, cap in bytes).
    pub oversized: Vec<(String, usize)>,
}

pub(super) fn extract(msg: &Message, limits: &Limits) -> Extracted {
    let mut ex = Extracted {
        inflate_left: limits.max_inflated_bytes,
        ..Extracted::default()
    };
    let mut budget = limits.max_parts;
    ex.body = walk(msg, limits, &mut budget, 0, &mut ex);
    ex
}

/// Processes one (possibly nested) message within the remaining part budget and returns
/// its body text; attachments are appended to `ex`.
fn walk(
    msg: &Message,
    limits: &Limits,
    budget: &mut usize,
    depth: usize,
    ex: &mut Extracted,
) -> String {
    let allowed = msg.parts.len().min(*budget);
    *budget -= allowed;
    ex.skipped_parts += msg.parts.len() - allowed;
    let body = body_text(msg, allowed);
    for &id in &msg.attachments {
        if let Some(part) = msg
            .parts
            .get(id as usize)
            .filter(|_| (id as usize) < allowed)
        {
            attachment(msg, part, limits, budget, depth, ex);
        }
    }
    body
}

/// mail-parser already resolved multipart/alternative: `text_body` holds the plain part
/// where there is one and the HTML part otherwise. `html_body` is the fallback for
/// senders whose plain alternative is empty.
fn body_text(msg: &Message, allowed: usize) -> String {
    let pick = |ids: &[u32]| {
        let texts: Vec<String> = ids
            .iter()
            .filter(|&&id| (id as usize) < allowed)
            .filter_map(|&id| msg.parts.get(id as usize))
            .filter_map(|part| match &part.body {
                PartType::Text(t) => Some(plain_text(msg, part, t)),
                PartType::Html(h) => Some(text::html_to_text(h)),
                _ => None,
            })
            .map(|t| text::tidy(&t))
            .filter(|t| !t.is_empty())
            .collect();
        texts.join("\n\n")
    };
    let body = pick(&msg.text_body);
    if body.is_empty() {
        pick(&msg.html_body)
    } else {
        body
    }
}

fn attachment(
    msg: &Message,
    part: &MessagePart,
    limits: &Limits,
    budget: &mut usize,
    depth: usize,
    ex: &mut Extracted,
) {
    let content_type = content_type_of(part);
    let filename = part
        .attachment_name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let (size, extracted) = match &part.body {
        // mail-parser turns a part it cannot decode (say, a cut-off base64 image) into raw
        // text; that text is only worth reading if the part claimed to be text.
        PartType::Text(t) if part.is_encoding_problem && !is_textual(&content_type) => {
            (t.len(), None)
        }
        PartType::Text(t) => (t.len(), Some(plain_text(msg, part, t))),
        PartType::Html(h) => (h.len(), Some(text::html_to_text(h))),
        PartType::Binary(b) | PartType::InlineBinary(b) => (
            b.len(),
            binary_text(&content_type, filename.as_deref(), b, limits, ex),
        ),
        PartType::Message(nested) => {
            ex.has_attached_message = true;
            // Record the message itself before whatever it contains.
            let index = ex.attachments.len();
            ex.attachments.push(Attachment {
                filename,
                content_type,
                size: nested.raw_message.len(),
                extracted_text: None,
            });
            if depth < MAX_NESTING {
                // An attached message is mail text, bounded by the message size like the
                // body: tidied, never cut.
                let body = text::tidy(&walk(nested, limits, budget, depth + 1, ex));
                let body = (!body.is_empty()).then_some(body);
                if ex.nested_body.is_none() {
                    ex.nested_body.clone_from(&body);
                }
                ex.attachments[index].extracted_text = body;
            }
            return;
        }
        PartType::Multipart(_) => return,
    };
    let extracted_text = finish_text(extracted, limits, ex);
    ex.attachments.push(Attachment {
        filename,
        content_type,
        size,
        extracted_text,
    });
}

/// Tidies, drops empty results and applies `max_attachment_chars`.
fn finish_text(text: Option<String>, limits: &Limits, ex: &mut Extracted) -> Option<String> {
    let mut t = text::tidy(&text?);
    if t.is_empty() {
        return None;
    }
    if text::truncate_chars(&mut t, limits.max_attachment_chars) {
        ex.text_truncated = true;
    }
    Some(t)
}

fn content_type_of(part: &MessagePart) -> String {
    match part.content_type() {
        Some(ct) => {
            let ctype = ct.ctype().to_ascii_lowercase();
            let subtype = ct.subtype().map(str::to_ascii_lowercase);
            let subtype = subtype.unwrap_or_else(|| {
                if ctype == "text" {
                    "plain"
                } else {
                    "octet-stream"
                }
                .into()
            });
            format!("{ctype}/{subtype}")
        }
        None => match part.body {
            PartType::Message(_) => "message/rfc822",
            PartType::Text(_) => "text/plain",
            PartType::Html(_) => "text/html",
            _ => "application/octet-stream",
        }
        .to_string(),
    }
}

fn is_textual(content_type: &str) -> bool {
    ["text/", "multipart/", "message/"]
        .iter()
        .any(|p| content_type.starts_with(p))
}

fn has_extension(filename: Option<&str>, exts: &[&str]) -> bool {
    filename
        .and_then(|f| f.rsplit_once('.'))
        .is_some_and(|(_, ext)| exts.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

const OFFICE_TYPES: [&str; 2] = [
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
];

/// Text of binary attachments: PDFs via pdf-extract, Word and OpenDocument files, and text
/// files sent as application/octet-stream (common from Windows clients) decoded as UTF-8
/// or Windows-1252. Compressed formats are read only when what they inflate to fits the
/// attachment's cap and what is left of the message's.
fn binary_text(
    content_type: &str,
    filename: Option<&str>,
    bytes: &[u8],
    limits: &Limits,
    ex: &mut Extracted,
) -> Option<String> {
    let cap = limits.max_attachment_inflated_bytes.min(ex.inflate_left);
    let oversized = |ex: &mut Extracted| {
        let name = filename.unwrap_or(content_type).to_string();
        ex.oversized.push((name, cap));
        None
    };
    if content_type == "application/pdf"
        || has_extension(filename, &["pdf"])
        || bytes.starts_with(b"%PDF-")
    {
        return match pdf::inflated_size(bytes, cap) {
            Ok(inflated) => {
                ex.inflate_left -= inflated;
                pdf::extract_text(bytes).map(|t| text::normalize(&t))
            }
            Err(()) => oversized(ex),
        };
    }
    if OFFICE_TYPES.contains(&content_type) || has_extension(filename, &["docx", "odt"]) {
        return match office::extract_text(bytes, cap) {
            Ok(t) => {
                ex.inflate_left -= t.len().min(ex.inflate_left);
                Some(text::normalize(&t))
            }
            Err(office::OfficeError::TooLarge) => oversized(ex),
            Err(office::OfficeError::Unreadable) => None,
        };
    }
    if has_extension(filename, &["txt", "csv"]) {
        return Some(text::normalize(&decode_8bit(bytes)));
    }
    None
}

/// UTF-8 if valid, otherwise Windows-1252 (the superset of ISO-8859-1 that German
/// Windows clients actually send when they mislabel or omit the charset).
fn decode_8bit(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => match charset_decoder(b"windows-1252") {
            Some(decode) => Cow::Owned(decode(bytes)),
            None => String::from_utf8_lossy(bytes),
        },
    }
}

/// Decoded text/plain content, normalised, with charset repair and format=flowed undone.
fn plain_text(msg: &Message, part: &MessagePart, decoded: &str) -> String {
    let ct = part.content_type();
    let attr = |name: &str| {
        ct.and_then(|c| c.attribute(name))
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let repaired = repair_charset(msg, part, decoded, attr("charset").as_deref());
    let normalized = text::normalize(&repaired);
    if attr("format").as_deref() == Some("flowed") {
        text::unflow(&normalized, attr("delsp").as_deref() == Some("yes"))
    } else {
        normalized
    }
}

/// mail-parser decodes unknown, missing or wrong charsets as lossy UTF-8, which turns every
/// umlaut of a Latin-1 mail into U+FFFD. For those cases only (a declared and supported
/// non-UTF-8 charset is trusted), re-decode the part's raw bytes as UTF-8/Windows-1252.
fn repair_charset<'a>(
    msg: &Message,
    part: &MessagePart,
    decoded: &'a str,
    charset: Option<&str>,
) -> Cow<'a, str> {
    let trusted = charset.is_some_and(|c| {
        charset_decoder(c.as_bytes()).is_some()
            && !matches!(c, "us-ascii" | "ascii" | "utf-8" | "utf8")
    });
    if trusted || !decoded.contains('\u{fffd}') {
        return Cow::Borrowed(decoded);
    }
    let Some(raw) = msg
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)
    else {
        return Cow::Borrowed(decoded);
    };
    let bytes = match part.encoding {
        Encoding::Base64 => base64_decode(raw),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::None => Some(raw.to_vec()),
    };
    match bytes {
        Some(bytes) if std::str::from_utf8(&bytes).is_err() => {
            Cow::Owned(decode_8bit(&bytes).into_owned())
        }
        _ => Cow::Borrowed(decoded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn run(raw: &[u8], limits: &Limits) -> Extracted {
        extract(&MessageParser::new().parse(raw).expect("parses"), limits)
    }

    #[test]
    fn latin1_without_charset_is_repaired() {
        let ex = run(
            b"Subject: x\nContent-Type: text/plain\n\nStra\xdfe, M\xfcll, \x80 5\n",
            &Limits::default(),
        );
        assert_eq!(ex.body, "Straße, Müll, € 5");
        let ex = run(
            b"Subject: x\nContent-Type: text/plain; charset=x-unknown\nContent-Transfer-Encoding: quoted-printable\n\nStra=DFe\n",
            &Limits::default(),
        );
        assert_eq!(ex.body, "Straße");
    }

    #[test]
    fn parts_beyond_the_limit_are_skipped() {
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nHallo\n");
        for k in 0..6 {
            raw.push_str(&format!(
                "--b\nContent-Type: text/plain; name=\"{k}.txt\"\n\nAnhang {k}\n"
            ));
        }
        raw.push_str("--b--\n");
        let limits = Limits {
            max_parts: 4,
            ..Limits::default()
        };
        let ex = run(raw.as_bytes(), &limits);
        // Container, body and the first two attachments fit into four parts.
        assert_eq!(ex.body, "Hallo");
        assert_eq!(ex.attachments.len(), 2);
        assert_eq!(ex.skipped_parts, 4);
        assert_eq!(
            ex.attachments[0].extracted_text.as_deref(),
            Some("Anhang 0")
        );
    }

    #[test]
    fn octet_stream_text_file_and_truncation() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nHallo\n--b\n\
            Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"Liste.TXT\"\n\n\
            Sch\xe4den: 1234567890\n--b--\n";
        let limits = Limits {
            max_attachment_chars: 10,
            ..Limits::default()
        };
        let ex = run(raw, &limits);
        assert_eq!(ex.body, "Hallo");
        assert_eq!(ex.attachments[0].filename.as_deref(), Some("Liste.TXT"));
        assert_eq!(
            ex.attachments[0].extracted_text.as_deref(),
            Some("Schäden: 1")
        );
        assert!(ex.text_truncated);
    }
}
