//! Property tests of the mail parser and HTML-to-text on hostile input: generated MIME
//! trees (nesting, encodings, charsets, boundaries, attachments) and byte soup never panic,
//! every outcome is explained, cleaned text holds no control characters, and HTML text
//! never grows beyond a linear bound nor contains anything that parses as a tag.
//! `make test` runs the default 256 cases per property; `make fuzz` runs many more
//! (`PROPTEST_CASES`).

use proptest::prelude::*;

use super::{Limits, Outcome, html_to_text, parse_unguarded};

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("=?UTF-8?B?w7xiZXI=?=".to_string()),
        Just("=?ISO-8859-1?Q?M=FCller?= <m@example.org>".to_string()),
        "\\PC{0,20}",
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let ctype = prop_oneof![
        Just("text/plain; charset=utf-8"),
        Just("text/plain; charset=iso-8859-1; format=flowed"),
        Just("text/html"),
        Just("application/pdf"),
        Just("application/octet-stream; name=\"a.txt\""),
        Just("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        Just("message/rfc822"),
    ];
    let encoding = prop_oneof![
        Just(""),
        Just("Content-Transfer-Encoding: base64\r\n"),
        Just("Content-Transfer-Encoding: quoted-printable\r\n"),
    ];
    (ctype, encoding, "\\PC{0,120}", any::<Vec<u8>>()).prop_map(|(ctype, enc, text, bytes)| {
        let tail = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        format!("Content-Type: {ctype}\r\n{enc}\r\n{text}<p>{tail}</p>=C3=\r\n")
    })
}

/// A MIME body: a leaf, or a multipart of up to four children, nested.
fn mime() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        (
            prop::collection::vec(inner, 0..4),
            "[a-z]{1,8}",
            any::<bool>(),
        )
            .prop_map(|(parts, boundary, closed)| {
                let mut m =
                    format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n");
                for p in parts {
                    m.push_str(&format!("--{boundary}\r\n{p}\r\n"));
                }
                if closed {
                    m.push_str(&format!("--{boundary}--\r\n"));
                }
                m
            })
    })
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (header_value(), header_value(), header_value(), mime()).prop_map(|(from, subject, id, body)| {
        format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n{body}")
            .into_bytes()
    })
}

fn limits() -> Limits {
    Limits {
        max_parts: 16,
        max_attachment_chars: 2_000,
        ..Limits::default()
    }
}

fn check(raw: &[u8]) {
    let p = parse_unguarded(raw, &limits());
    assert!(p.outcome == Outcome::Inquiry || p.reason.is_some(), "{p:?}");
    if p.outcome == Outcome::Inquiry {
        assert!(!p.body_clean.trim().is_empty(), "{p:?}");
    }
    assert!(
        !p.body_clean
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control character in {:?}",
        p.body_clean
    );
    assert!(p.dedup_key.starts_with("mid:") || p.dedup_key.starts_with("sha256:"));
}

/// Anything that an HTML parser would take for the start of a tag.
fn has_tag(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

fn html_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<br>".to_string()),
        Just("<blockquote>".to_string()),
        Just("</blockquote>".to_string()),
        Just("<ul><li>".to_string()),
        Just("</li></ul>".to_string()),
        Just("<div style=\"display:none\">".to_string()),
        Just("</div>".to_string()),
        Just("<script>".to_string()),
        Just("</script>".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("&lt;script&gt;".to_string()),
        Just("&#60;b&#62;".to_string()),
        Just("&amp;".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        "[a-zäöü ]{0,12}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

proptest! {
    #[test]
    fn generated_mime_never_panics_and_is_explained(raw in message()) {
        check(&raw);
    }

    #[test]
    fn byte_soup_never_panics(raw in any::<Vec<u8>>()) {
        check(&raw);
    }

    #[test]
    fn html_text_is_tag_free_and_linear(html in html_soup()) {
        let text = html_to_text(&html);
        prop_assert!(!has_tag(&text), "{:?} → {:?}", html, text);
        prop_assert!(text.len() <= 8 * html.len() + 64, "{} → {} bytes", html.len(), text.len());
    }

    #[test]
    fn html_of_any_text_never_panics(html in "\\PC{0,400}") {
        let text = html_to_text(&html);
        prop_assert!(text.len() <= 8 * html.len() + 64);
    }
}
