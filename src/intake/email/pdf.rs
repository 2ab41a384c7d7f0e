//! Text extraction from PDF attachments (typed applications and letters usually carry a
//! text layer; scans do not and yield `None`). Isolated here so that the `pdf-extract`
//! dependency has exactly one call site.

/// Extracts the text layer of a PDF, or `None` if the file is unreadable or has no text.
pub(super) fn extract_text(bytes: &[u8]) -> Option<String> {
    // pdf-extract and lopdf panic on some malformed or exotic PDFs; a broken attachment
    // must only lose its own text, not the whole mail.
    match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)) {
        Ok(Ok(text)) if !text.trim().is_empty() => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(
            extract_text(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\ntrailer\n%%EOF"),
            None
        );
        assert_eq!(extract_text(b"not a pdf"), None);
        assert_eq!(extract_text(b""), None);
    }
}
