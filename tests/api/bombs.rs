//! Hostile attachments, generated: a PDF whose content stream is a Flate bomb, a DOCX and a
//! plain zip whose entry is a zip bomb, and multipart mail carrying them. Shared by the
//! mail tests, the parser's unit tests and the bomb benchmark (included by path there).

use std::io::{Cursor, Write};

/// Spaces compress about a thousandfold; written in chunks so generating a bomb stays small.
fn write_spaces(w: &mut impl Write, n: usize) {
    write_repeated(w, b" ", n);
}

fn write_repeated(w: &mut impl Write, pattern: &[u8], n: usize) {
    let chunk: Vec<u8> = pattern.iter().copied().cycle().take(1 << 16).collect();
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        w.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
}

/// A valid one-page PDF whose content stream (Flate) draws `text` after `padding` spaces;
/// with a large padding, a decompression bomb.
pub fn pdf(text: &str, padding: usize) -> Vec<u8> {
    pdf_with(text, b" ", padding)
}

/// A PDF whose content stream inflates to `inflated` bytes of `q ` operators (save the
/// graphics state): a bomb that also costs a PDF reader memory for every two bytes.
pub fn pdf_bomb(inflated: usize) -> Vec<u8> {
    pdf_with("x", b"q ", inflated)
}

fn pdf_with(text: &str, filler: &[u8], padding: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    write_repeated(&mut z, filler, padding);
    write!(z, "BT /F1 12 Tf 72 720 Td ({text}) Tj ET").unwrap();
    let content = z.finish().unwrap();
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        [
            format!(
                "<< /Length {} /Filter /FlateDecode >>\nstream\n",
                content.len()
            )
            .into_bytes(),
            content,
            b"\nendstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    let size = objects.len() + 1;
    out.extend(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").bytes(),
    );
    out
}

/// A zip archive of (name, head, spaces, tail) entries, deflated.
fn zip_of(entries: &[(&str, &[u8], usize, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, head, padding, tail) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(*padding > (u32::MAX / 2) as usize);
        zip.start_file(*name, options).unwrap();
        zip.write_all(head).unwrap();
        write_spaces(&mut zip, *padding);
        zip.write_all(tail).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A minimal DOCX whose paragraph holds `text` after `padding` spaces (a zip bomb when
/// large).
pub fn docx(text: &str, padding: usize) -> Vec<u8> {
    let tail = format!("{text}</w:t></w:r></w:p></w:body></w:document>");
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>", 0, b""),
        (
            "word/document.xml",
            b"<w:document xmlns:w=\"urn:w\"><w:body><w:p><w:r><w:t>",
            padding,
            tail.as_bytes(),
        ),
    ])
}

/// A plain zip archive with one entry of `size` spaces.
pub fn zip_bomb(size: usize) -> Vec<u8> {
    zip_of(&[("daten.txt", b"", size, b"")])
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters, as mail carries it.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 * 2 + 4);
    for line in bytes.chunks(57) {
        for c in line.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// A multipart mail from a citizen with `body` (none when empty) and attachments
/// (file name, content type, bytes).
pub fn mail(
    id: &str,
    subject: Option<&str>,
    body: &str,
    attachments: &[(&str, &str, &[u8])],
) -> Vec<u8> {
    let subject = subject
        .map(|s| format!("Subject: {s}\r\n"))
        .unwrap_or_default();
    let mut m = format!(
        "From: Erika Muster <erika@example.org>\r\nTo: buergerservice@kreis.example\r\n\
         {subject}Message-ID: <{id}>\r\nDate: Mon, 9 Mar 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"grenze\"\r\n\r\n"
    );
    if !body.is_empty() {
        m.push_str(&format!(
            "--grenze\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        ));
    }
    for (name, ctype, bytes) in attachments {
        m.push_str(&format!(
            "--grenze\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}",
            base64(bytes)
        ));
    }
    m.push_str("--grenze--\r\n");
    m.into_bytes()
}
