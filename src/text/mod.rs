//! Plain text from what people and systems send: newline and control-character
//! normalisation, blank-line collapsing, char-boundary-safe truncation, RFC 3676
//! `format=flowed` unwrapping, and HTML → readable text (`html` + `entities`). Used by the
//! mail parser and by the catalogue importers, whose descriptions are HTML.

mod entities;
mod html;

pub use html::html_to_text;

/// Normalises decoded text so that every later stage can work line by line:
/// CRLF/CR become LF, NUL and other C0/C1 control characters (except tab) are dropped,
/// zero-width characters and the BOM are dropped (they only confuse matching), and
/// no-break spaces become plain spaces.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{a0}' | '\u{202f}' => out.push(' '),
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Trims trailing whitespace on every line, collapses runs of blank lines into a single
/// blank line and trims the whole text. Used as the last step of every text producer so
/// that emptiness checks and fixtures see a canonical form.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Whether `text` shows nothing: only whitespace and invisible characters.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || crate::domain::inquiry::is_invisible(c))
}

/// Cuts `text` to at most `max_chars` characters (never inside a UTF-8 sequence).
/// Returns whether anything was cut.
pub fn truncate_chars(text: &mut String, max_chars: usize) -> bool {
    match text.char_indices().nth(max_chars) {
        Some((byte_idx, _)) => {
            text.truncate(byte_idx);
            true
        }
        None => false,
    }
}

/// Undoes RFC 3676 `format=flowed` soft line breaks (Thunderbird, Apple Mail and several
/// webmailers send this): a line ending in a space continues on the next line of the same
/// quote depth. Space-stuffing is removed; with `delsp=yes` the trailing space is deleted.
/// Quoted lines are rebuilt as `> ` prefixes so that the quote stripper still sees them.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth and the content collected so far.
    let mut current: Option<(usize, String)> = None;
    for line in text.lines() {
        let depth = line.chars().take_while(|&c| c == '>').count();
        let mut content = &line[depth..];
        if let Some(stripped) = content.strip_prefix(' ') {
            content = stripped;
        }
        // The signature separator "-- " is the one line whose trailing space is not a soft break.
        let flowed = content.ends_with(' ') && content != "-- ";
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match current.as_mut() {
            Some((d, buf)) if *d == depth => buf.push_str(piece),
            _ => {
                if let Some((d, buf)) = current.take() {
                    push_line(&mut out, d, &buf);
                }
                current = Some((depth, piece.to_string()));
            }
        }
        if !flowed && let Some((d, buf)) = current.take() {
            push_line(&mut out, d, &buf);
        }
    }
    if let Some((d, buf)) = current.take() {
        push_line(&mut out, d, &buf);
    }
    out
}

fn push_line(out: &mut String, depth: usize, content: &str) {
    if depth > 0 {
        out.push_str(&">".repeat(depth));
        out.push(' ');
    }
    out.push_str(content);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_line_endings_and_controls() {
        assert_eq!(normalize("a\r\nb\rc\u{0}d\u{feff}e\u{a0}f"), "a\nb\ncde f");
    }

    #[test]
    fn tidy_collapses_blank_lines() {
        assert_eq!(tidy("\n\n a  \n\n\n\nb\t\n \n"), " a\n\nb");
        assert_eq!(tidy(" \n\t\n"), "");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "Grüße".to_string();
        assert!(truncate_chars(&mut s, 3));
        assert_eq!(s, "Grü");
        let mut s = "abc".to_string();
        assert!(!truncate_chars(&mut s, 3));
        assert_eq!(s, "abc");
    }

    #[test]
    fn unflow_joins_soft_breaks_per_quote_depth() {
        let text = "Sehr geehrte Damen und \nHerren,\n-- \nsig\n> zitiert \n> weiter\n>> tief\n";
        assert_eq!(
            unflow(text, false),
            "Sehr geehrte Damen und Herren,\n-- \nsig\n> zitiert weiter\n>> tief\n"
        );
        assert_eq!(unflow("Stra \nße\n", true), "Straße\n");
        assert_eq!(unflow(" From me\n", false), "From me\n");
    }
}
