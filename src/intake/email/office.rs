//! Text of office documents citizens attach: Word (`.docx`) and OpenDocument (`.odt`)
//! files, which are zip archives holding the text as XML. A zip entry can inflate a
//! thousandfold (a zip bomb), so the one entry read is decompressed through a cap and
//! refused beyond it; the rest of the archive is never inflated.

use std::io::{Cursor, Read};

use quick_xml::{Reader, events::Event};

/// Why an office document's text was not read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum OfficeError {
    /// The text entry inflates beyond the cap.
    TooLarge,
    /// Not a zip archive, no text entry, or malformed XML.
    Unreadable,
}

/// The archive entry holding the text, by format.
fn text_entry(archive: &zip::ZipArchive<Cursor<&[u8]>>) -> Option<&'static str> {
    ["word/document.xml", "content.xml"]
        .into_iter()
        .find(|name| archive.index_for_name(name).is_some())
}

/// The text of a DOCX or ODT file whose text entry inflates to at most `cap` bytes.
pub(super) fn extract_text(bytes: &[u8], cap: usize) -> Result<String, OfficeError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| OfficeError::Unreadable)?;
    let name = text_entry(&archive).ok_or(OfficeError::Unreadable)?;
    let entry = archive.by_name(name).map_err(|_| OfficeError::Unreadable)?;
    if entry.size() > cap as u64 {
        return Err(OfficeError::TooLarge);
    }
    // The declared size may lie: read through the cap regardless.
    let mut xml = Vec::new();
    entry
        .take(cap as u64 + 1)
        .read_to_end(&mut xml)
        .map_err(|_| OfficeError::Unreadable)?;
    if xml.len() > cap {
        return Err(OfficeError::TooLarge);
    }
    xml_text(&xml).ok_or(OfficeError::Unreadable)
}

/// Text content of WordprocessingML or ODF XML: paragraphs and headings (`w:p`, `text:p`,
/// `text:h`) end a line, tabs and line breaks are kept.
fn xml_text(xml: &[u8]) -> Option<String> {
    let mut reader = Reader::from_reader(xml);
    let mut out = String::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::End(e) if matches!(e.name().as_ref(), "w:p" | "text:p" | "text:h") => {
                out.push('\n')
            }
            Event::Empty(e) => match e.name().as_ref() {
                "w:tab" | "text:tab" => out.push('\t'),
                "w:br" | "text:line-break" => out.push('\n'),
                "text:s" => out.push(' '),
                _ => {}
            },
            Event::Text(t) => out.push_str(&t.xml10_content()),
            Event::CData(t) => out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().ok()? {
                    Some(c) => c,
                    None => match &*r.xml10_content() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => continue,
                    },
                };
                out.push(c);
            }
            Event::Eof => return Some(out),
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::email::bombs::docx as sample_docx;

    #[test]
    fn docx_and_odt_text() {
        let docx = sample_docx("Antrag auf Wohngeld &amp; Zuschuss", 0);
        assert_eq!(
            extract_text(&docx, 1 << 20).unwrap().trim(),
            "Antrag auf Wohngeld & Zuschuss"
        );
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("content.xml", options).unwrap();
        std::io::Write::write_all(
            &mut zip,
            b"<office:document-content><office:body><office:text><text:h>Betreff</text:h>\
              <text:p>Erste<text:tab/>Zeile<text:line-break/>zweite</text:p></office:text></office:body></office:document-content>",
        )
        .unwrap();
        let odt = zip.finish().unwrap().into_inner();
        assert_eq!(
            extract_text(&odt, 1 << 20).unwrap(),
            "Betreff\nErste\tZeile\nzweite\n"
        );
    }

    #[test]
    fn a_zip_bomb_is_refused_at_the_cap_and_garbage_is_unreadable() {
        let bomb = sample_docx("x", 200 << 20);
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        assert_eq!(extract_text(&bomb, 4 << 20), Err(OfficeError::TooLarge));
        assert_eq!(
            extract_text(b"PK\x03\x04nope", 1 << 20),
            Err(OfficeError::Unreadable)
        );
        assert_eq!(extract_text(b"", 1 << 20), Err(OfficeError::Unreadable));
    }
}
