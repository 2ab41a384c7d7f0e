//! Files a citizen attaches to an inquiry through the form: photos and PDFs only, told
//! apart by their first bytes (never by the name or the browser's claim), each within a
//! size limit, at most a few per inquiry.

use std::fmt;

/// The kinds of file the form takes, with the content type they are stored and served as.
const KINDS: &[(&str, &[&[u8]], usize)] = &[
    ("image/jpeg", &[b"\xFF\xD8\xFF"], 0),
    ("image/png", &[b"\x89PNG\r\n\x1A\n"], 0),
    ("application/pdf", &[b"%PDF-"], 0),
    // RIFF....WEBP
    ("image/webp", &[b"WEBP"], 8),
    // ....ftypheic / heix / mif1: the photos of most phones.
    ("image/heic", &[b"ftypheic", b"ftypheix", b"ftypmif1"], 4),
];

/// An attachment that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name as the citizen's device gave it, without any path, at most 200
    /// characters; shown as text and sent only in a `filename*` header parameter.
    pub name: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidAttachment {
    /// Neither a photo (JPEG, PNG, WebP, HEIC) nor a PDF.
    Kind {
        name: String,
    },
    TooLarge {
        name: String,
        max_bytes: usize,
    },
    TooMany {
        max: usize,
    },
}

impl fmt::Display for InvalidAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kind { name } => write!(
                f,
                "{name}: only photos (JPEG, PNG, WebP, HEIC) and PDF files"
            ),
            Self::TooLarge { name, max_bytes } => {
                write!(f, "{name}: larger than {} MB", max_bytes / (1024 * 1024))
            }
            Self::TooMany { max } => write!(f, "at most {max} files"),
        }
    }
}

impl Attachment {
    /// Checks one file: its kind from its first bytes and its size. An empty file (an
    /// empty file field) is `None`.
    pub fn check(
        name: &str,
        data: Vec<u8>,
        max_bytes: usize,
    ) -> Result<Option<Self>, InvalidAttachment> {
        if data.is_empty() {
            return Ok(None);
        }
        let name = clean_name(name);
        if data.len() > max_bytes {
            return Err(InvalidAttachment::TooLarge { name, max_bytes });
        }
        let Some(content_type) = kind(&data) else {
            return Err(InvalidAttachment::Kind { name });
        };
        Ok(Some(Self {
            name,
            content_type,
            data,
        }))
    }
}

fn kind(data: &[u8]) -> Option<&'static str> {
    KINDS.iter().find_map(|(ty, magics, at)| {
        magics
            .iter()
            .any(|m| data.get(*at..*at + m.len()) == Some(m))
            .then_some(*ty)
    })
}

/// The last path component, without control or bidi-override characters, at most 200
/// characters; `Datei` when nothing is left.
fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .take(200)
        .collect();
    let name = name.trim();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        "Datei".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1024 * 1024;

    #[test]
    fn kinds_come_from_the_first_bytes() {
        let jpeg = b"\xFF\xD8\xFF\xE0rest".to_vec();
        let a = Attachment::check("Foto.jpg", jpeg, MB).unwrap().unwrap();
        assert_eq!(a.content_type, "image/jpeg");
        let pdf = Attachment::check("x", b"%PDF-1.7\n".to_vec(), MB)
            .unwrap()
            .unwrap();
        assert_eq!(pdf.content_type, "application/pdf");
        let webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
        assert_eq!(
            Attachment::check("a", webp, MB)
                .unwrap()
                .unwrap()
                .content_type,
            "image/webp"
        );
        let heic = b"\0\0\0\x18ftypheic\0\0".to_vec();
        assert_eq!(
            Attachment::check("a", heic, MB)
                .unwrap()
                .unwrap()
                .content_type,
            "image/heic"
        );
        // A script named like a photo, an SVG (script inside), HTML: refused.
        for (name, data) in [
            ("bild.jpg", b"<script>alert(1)</script>".to_vec()),
            ("bild.svg", b"<svg onload=alert(1)>".to_vec()),
            ("x.pdf", b"MZ\x90\0".to_vec()),
        ] {
            assert_eq!(
                Attachment::check(name, data, MB),
                Err(InvalidAttachment::Kind { name: name.into() })
            );
        }
    }

    #[test]
    fn size_emptiness_and_names_are_checked() {
        let big = [b"%PDF-".as_slice(), &vec![0; MB]].concat();
        assert!(matches!(
            Attachment::check("gross.pdf", big, MB),
            Err(InvalidAttachment::TooLarge { .. })
        ));
        assert_eq!(Attachment::check("leer.pdf", Vec::new(), MB), Ok(None));
        let named = |n: &str| {
            Attachment::check(n, b"%PDF-".to_vec(), MB)
                .unwrap()
                .unwrap()
                .name
        };
        assert_eq!(named("C:\\Users\\erika\\Brief.pdf"), "Brief.pdf");
        assert_eq!(named("../../etc/passwd"), "passwd");
        assert_eq!(named("\u{202E}fdp.exe"), "fdp.exe");
        assert_eq!(named(".."), "Datei");
        assert_eq!(named(&"a".repeat(500)).chars().count(), 200);
    }
}
