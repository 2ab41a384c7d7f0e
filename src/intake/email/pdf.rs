//! Text extraction from PDF attachments (typed applications and letters usually carry a
//! text layer; scans do not and yield `None`). Isolated here so that the `pdf-extract`
//! dependency has exactly one call site.
//!
//! A PDF is a container of compressed streams, so a small file can inflate to gigabytes
//! (a decompression bomb), and pdf-extract holds far more memory than the inflated content.
//! [`inflated_size`] measures what the streams the text layer is read from inflate to,
//! with bounded memory and stopping at a cap, before pdf-extract is allowed near the file.

use std::io::Read;

use flate2::bufread::ZlibDecoder;

/// Extracts the text layer of a PDF, or `None` if the file is unreadable or has no text.
pub(super) fn extract_text(bytes: &[u8]) -> Option<String> {
    // pdf-extract and lopdf panic on some malformed or exotic PDFs; a broken attachment
    // must only lose its own text, not the whole mail.
    match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)) {
        Ok(Ok(text)) if !text.trim().is_empty() => Some(text),
        _ => None,
    }
}

/// The stream dictionary is searched this far back from its `stream` keyword.
const DICT_WINDOW: usize = 4096;

/// What the Flate-compressed streams of a PDF inflate to, images excepted (their pixels are
/// never decoded for text): `Ok(total)`, or `Err(())` as soon as the total passes `cap`.
/// Every `stream` keyword is tried, so a wrong `/Length` or a broken cross-reference table
/// cannot hide a stream; memory stays at one 64 KiB buffer.
pub(super) fn inflated_size(bytes: &[u8], cap: usize) -> Result<usize, ()> {
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"stream") {
        let keyword = at + found;
        at = keyword + b"stream".len();
        if bytes[..keyword].ends_with(b"end") {
            continue;
        }
        let data = match &bytes[at..] {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n' | b'\r', ..] => at + 1,
            _ => continue,
        };
        let dict = &bytes[keyword.saturating_sub(DICT_WINDOW)..keyword];
        let dict = find_last(dict, b"obj").map_or(dict, |i| &dict[i..]);
        if find(dict, b"/Image").is_some() {
            continue;
        }
        let mut decoder = ZlibDecoder::new(&bytes[data..]);
        loop {
            match decoder.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n;
                    if total > cap {
                        return Err(());
                    }
                }
            }
        }
    }
    Ok(total)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::email::bombs::pdf as sample;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(
            extract_text(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\ntrailer\n%%EOF"),
            None
        );
        assert_eq!(extract_text(b"not a pdf"), None);
        assert_eq!(extract_text(b""), None);
    }

    #[test]
    fn a_small_pdf_is_read_and_measured() {
        let pdf = sample("Antrag auf Wohngeld", 0);
        let text = extract_text(&pdf).unwrap();
        assert!(text.contains("Antrag auf Wohngeld"), "{text}");
        let size = inflated_size(&pdf, 1 << 20).unwrap();
        assert!((30..100).contains(&size), "{size}");
    }

    #[test]
    fn a_bomb_is_stopped_at_the_cap() {
        let pdf = sample("x", 64 << 20);
        assert!(pdf.len() < 200 << 10, "{} bytes", pdf.len());
        assert_eq!(inflated_size(&pdf, 4 << 20), Err(()));
        assert_eq!(
            inflated_size(&pdf, 65 << 20).map(|n| n > 64 << 20),
            Ok(true)
        );
    }

    #[test]
    fn images_are_not_counted() {
        let pdf = sample("x", 1 << 20);
        let mut raw = pdf.clone();
        let at = find(&raw, b"/Filter").unwrap();
        raw.splice(at..at, b"/Subtype /Image ".iter().copied());
        assert_eq!(inflated_size(&raw, 1 << 10), Ok(0));
    }
}
