//! HTML → readable plain text for HTML-only mails and HTML attachments.
//!
//! A small, linear, allocation-light converter rather than a browser-grade parser: mail
//! HTML is mostly `<p>`/`<div>`/`<br>` soup, and what matters is that (a) the citizen's
//! words survive with sensible line breaks and (b) nothing executable or hidden reaches the
//! model or a UI: scripts, styles, comments and `display:none` content are dropped and the
//! output never contains anything that parses as a tag.

use super::entities::decode_entity;
use crate::text;

/// Converts an HTML document or fragment to text. Block elements become line breaks,
/// list items `- `, `<blockquote>` content `> `-prefixed (so that the quote stripper treats
/// quoted history in HTML mails like quoted plain text), links keep their text.
pub fn html_to_text(html: &str) -> String {
    let normalized = text::normalize(html);
    let (out, hiding_failed) = convert(&normalized, true);
    // Hiding `display:none` protects against invisible text (preheaders, prompt injection),
    // but a malformed page that never closes its hidden element would lose the rest of the
    // mail; then showing too much beats losing the citizen's words.
    if hiding_failed {
        convert(&normalized, false).0
    } else {
        out
    }
}

/// Quote prefixes and list indentation stop growing beyond this nesting depth.
const MAX_MARKUP_DEPTH: usize = 8;

// Element lists as space-separated names (see `is_in`): compact and easy to extend.
/// Elements whose content is never readable text; skipped up to their closing tag.
const RAW_SKIP: &str = "script style title template svg math xml object iframe";
const VOID: &str = "area base br col embed hr img input link meta param source track wbr";
/// Blocks separated by a blank line.
const PARAGRAPH: &str = "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl hr";
/// Blocks separated by a single line break.
const LINE: &str = "div tr li dt dd section article header footer address center form fieldset \
    main nav aside figure figcaption caption details summary body";

fn is_in(list: &str, name: &str) -> bool {
    list.split_ascii_whitespace().any(|n| n == name)
}

/// Returns the text and whether hiding failed: a hidden element was never closed, or
/// everything visible turned out to be hidden.
fn convert(html: &str, hide_hidden: bool) -> (String, bool) {
    let bytes = html.as_bytes();
    let mut w = Writer::default();
    // Open hidden element: its name and nesting depth of same-named elements.
    let mut hidden: Option<(String, usize)> = None;
    let mut skipped_hidden = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                if html[i..].starts_with("<!--") {
                    i = html[i + 4..]
                        .find("-->")
                        .map_or(bytes.len(), |p| i + 4 + p + 3);
                    continue;
                }
                let is_end = bytes.get(i + 1) == Some(&b'/');
                let name_start = i + 1 + usize::from(is_end);
                match bytes.get(i + 1) {
                    // Doctype, CDATA, Outlook's `<![if …]>`, processing instructions.
                    Some(b'!') | Some(b'?') => {
                        i = html[i..].find('>').map_or(bytes.len(), |p| i + p + 1);
                        continue;
                    }
                    _ if bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) => {}
                    _ => {
                        // A '<' that cannot start a tag ("a < b") is ordinary text.
                        if hidden.is_none() {
                            w.char('<');
                        }
                        i += 1;
                        continue;
                    }
                }
                let name_end = html[name_start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
                    .map_or(bytes.len(), |p| name_start + p);
                let Some(tag_end) = find_tag_end(html, name_end) else {
                    break; // unterminated tag: the rest is markup debris, never text
                };
                let name = html[name_start..name_end].to_ascii_lowercase();
                let attrs = &html[name_end..tag_end];
                i = tag_end + 1;
                if !is_end && is_in(RAW_SKIP, &name) {
                    let close = format!("</{name}");
                    i = find_ci(html, i, &close).map_or(bytes.len(), |p| {
                        html[p..].find('>').map_or(bytes.len(), |q| p + q + 1)
                    });
                    continue;
                }
                let self_closing = is_in(VOID, &name) || attrs.trim_end().ends_with('/');
                if let Some((hidden_name, depth)) = hidden.as_mut() {
                    if *hidden_name == name && !self_closing {
                        if is_end {
                            *depth -= 1;
                        } else {
                            *depth += 1;
                        }
                        if *depth == 0 {
                            hidden = None;
                        }
                    }
                    continue;
                }
                if is_end {
                    w.end_tag(&name);
                } else if hide_hidden && !self_closing && is_hidden(attrs) {
                    skipped_hidden = true;
                    hidden = Some((name, 1));
                } else {
                    w.start_tag(&name);
                }
            }
            b'&' => {
                let (decoded, used) = decode_entity(&html[i..]);
                if hidden.is_none() {
                    decoded.chars().for_each(|c| w.char(c));
                }
                i += used;
            }
            _ => {
                let c = html[i..].chars().next().unwrap_or(' ');
                if hidden.is_none() {
                    w.char(c);
                }
                i += c.len_utf8();
            }
        }
    }
    let out = neutralize_tags(&text::tidy(&w.out));
    let hiding_failed = hidden.is_some() || (skipped_hidden && out.is_empty());
    (out, hiding_failed)
}

/// Finds the `>` closing a tag whose attributes start at `from`, honouring quoted
/// attribute values; falls back to the first `>` when a quote is never closed.
fn find_tag_end(html: &str, from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (off, &b) in html.as_bytes()[from..].iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(from + off),
            _ => {}
        }
    }
    html[from..].find('>').map(|p| from + p)
}

/// ASCII-case-insensitive search for `needle` in `hay[from..]`.
fn find_ci(hay: &str, from: usize, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (from..=h.len().checked_sub(n.len())?).find(|&p| h[p..p + n.len()].eq_ignore_ascii_case(n))
}

/// `hidden` attribute or an inline style with `display:none`.
fn is_hidden(attrs: &str) -> bool {
    let compact: String = attrs
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    compact.contains("display:none")
        || attrs
            .split(|c: char| c.is_whitespace() || c == '/')
            .any(|a| {
                a.eq_ignore_ascii_case("hidden") || a.to_ascii_lowercase().starts_with("hidden=")
            })
}

/// Makes sure no `<` in the output can start a tag when the text is later rendered as
/// HTML (decoded `&lt;script&gt;` or an address like `<max@example.org>`): a space after
/// `<` keeps the text readable and inert.
fn neutralize_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
        {
            out.push(' ');
        }
    }
    out
}

/// Accumulates output text with whitespace collapsing and block/quote bookkeeping.
#[derive(Default)]
struct Writer {
    out: String,
    pending_space: bool,
    /// Trailing newlines currently at the end of `out`.
    newlines: usize,
    quote_depth: usize,
    list_depth: usize,
    pre_depth: usize,
}

impl Writer {
    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.newlines > 0
    }

    fn char(&mut self, c: char) {
        if self.pre_depth > 0 && c == '\n' {
            self.out.push('\n');
            self.newlines += 1;
            self.pending_space = false;
        } else if c == '\u{a0}' && self.pre_depth == 0 {
            // `<div>&nbsp;</div>` is how mail editors write an empty line: start the line so
            // that the next block break leaves a blank line; inside text it is a space.
            if self.at_line_start() {
                self.write("");
            } else {
                self.pending_space = true;
            }
        } else if c.is_whitespace() && self.pre_depth == 0 {
            self.pending_space = !self.at_line_start();
        } else {
            self.write(&c.to_string());
        }
    }

    fn write(&mut self, s: &str) {
        if self.at_line_start() {
            if self.quote_depth > 0 {
                // Capped: hostile nesting must not multiply the output size.
                self.out
                    .push_str(&">".repeat(self.quote_depth.min(MAX_MARKUP_DEPTH)));
                self.out.push(' ');
            }
        } else if self.pending_space && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
        self.out.push_str(s);
        self.newlines = 0;
        self.pending_space = false;
    }

    fn newline(&mut self, min: usize) {
        if self.out.is_empty() {
            return;
        }
        while self.newlines < min {
            self.out.push('\n');
            self.newlines += 1;
        }
        self.pending_space = false;
    }

    fn start_tag(&mut self, name: &str) {
        match name {
            "br" => {
                self.out.push('\n');
                self.newlines += 1;
                self.pending_space = false;
            }
            "td" | "th" => self.pending_space = !self.at_line_start(),
            "li" => {
                self.newline(1);
                let indent = "  ".repeat(self.list_depth.clamp(1, MAX_MARKUP_DEPTH) - 1);
                self.write(&format!("{indent}- "));
            }
            _ => {
                if is_in(PARAGRAPH, name) {
                    self.newline(2);
                } else if is_in(LINE, name) {
                    self.newline(1);
                }
                match name {
                    "blockquote" => self.quote_depth += 1,
                    "ul" | "ol" => self.list_depth += 1,
                    "pre" => self.pre_depth += 1,
                    _ => {}
                }
            }
        }
    }

    fn end_tag(&mut self, name: &str) {
        if is_in(PARAGRAPH, name) {
            self.newline(2);
        } else if is_in(LINE, name) {
            self.newline(1);
        }
        match name {
            "blockquote" => self.quote_depth = self.quote_depth.saturating_sub(1),
            "ul" | "ol" => self.list_depth = self.list_depth.saturating_sub(1),
            "pre" => self.pre_depth = self.pre_depth.saturating_sub(1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_lists_links_and_entities() {
        let html = "<html><head><title>Untitled</title><style>p{color:red}</style></head><body>\
            <p>Sehr geehrte Damen und Herren,</p><div>das Schlagloch in der Hauptstra&szlig;e&nbsp;12 \
            ist <b>gef&auml;hrlich</b>.<br>Bitte pr&uuml;fen Sie:</div><ul><li>Tiefe ca. 10&#160;cm</li>\
            <li>Siehe <a href=\"javascript:alert(1)\">Foto</a></li></ul><p>Gr&#xFC;&szlig;e &amp; Dank</p></body></html>";
        assert_eq!(
            html_to_text(html),
            "Sehr geehrte Damen und Herren,\n\ndas Schlagloch in der Hauptstraße 12 ist gefährlich.\n\
             Bitte prüfen Sie:\n\n- Tiefe ca. 10 cm\n- Siehe Foto\n\nGrüße & Dank"
        );
    }

    #[test]
    fn hostile_markup_never_survives() {
        let html = "<scr<script>ipt>alert(1)</script><SCRIPT>evil()</SCRIPT >Text<!-- <p>comment</p> -->\
            <img src=x onerror=alert(1)>&lt;script&gt;x&lt;/script&gt;<div style=\"display: none\">versteckt\
            <div>tief</div></div><span hidden>auch</span> sichtbar <style>body{}";
        let out = html_to_text(html);
        assert_eq!(out, "ipt>alert(1)Text< script>x< /script> sichtbar");
        assert!(!out.contains("evil") && !out.contains("versteckt") && !out.contains("auch"));
    }

    #[test]
    fn blockquotes_become_quoted_lines() {
        let html = "<div>Danke!</div><div class=\"gmail_quote\">Am Mo. schrieb A:<br><blockquote>\
            <div>Alte Nachricht</div><div>Zeile 2</div></blockquote></div>";
        assert_eq!(
            html_to_text(html),
            "Danke!\nAm Mo. schrieb A:\n\n> Alte Nachricht\n> Zeile 2"
        );
    }

    /// Random tag soup: whatever the input, no `<` in the output may start a tag.
    #[test]
    fn output_never_contains_a_tag() {
        let pieces = [
            "<", ">", "/", "!", "?", "--", "script", "div", "a", " ", "\"", "'", "=", "&lt;",
            "&#60;", "&#x3c;", "<!--", "-->", "style", "x", "\n", "hidden",
        ];
        let mut state: u32 = 7;
        for _ in 0..4000 {
            let mut html = String::new();
            for _ in 0..24 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                html.push_str(pieces[(state >> 16) as usize % pieces.len()]);
            }
            let out = html_to_text(&html);
            let tag = out.as_bytes().windows(2).any(|w| {
                w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?'))
            });
            assert!(!tag, "{html:?} -> {out:?}");
        }
    }

    #[test]
    fn literal_angle_brackets_and_broken_input() {
        assert_eq!(html_to_text("a < b und c<5"), "a < b und c<5");
        assert_eq!(html_to_text("Text <div class=\"x"), "Text");
        assert_eq!(
            html_to_text("&unknown; &amp &#99999999999; &"),
            "&unknown; & \u{fffd} &"
        );
        assert_eq!(html_to_text("<pre>  a\n   b</pre>"), "  a\n   b");
        let unclosed_hidden = "<p>Hallo</p><span style=display:none>Vorschau<p>Haupttext";
        assert_eq!(
            html_to_text(unclosed_hidden),
            "Hallo\n\nVorschau\n\nHaupttext"
        );
    }
}
