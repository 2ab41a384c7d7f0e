//! Reduces a mail body to what the citizen wrote this time: quoted replies, reply header
//! blocks, signatures, mobile "sent from" footers and legal disclaimers are removed.
//! Inline-forwarded content is kept (when a municipality or relative forwards a mail, the
//! forwarded text *is* the inquiry); only the header lines of the forward block go.
//!
//! Everything here is line-based and conservative: a rule fires only on shapes that mail
//! clients generate, because dropping a citizen's sentence is worse than leaving noise in.

use std::borrow::Cow;

use super::signature::{is_mobile_footer, starts_disclaimer};
use crate::text::tidy;

/// Result of [`clean`].
pub(super) struct Cleaned {
    pub text: String,
    /// An inline forward ("---------- Forwarded message ---------" and the like) was found.
    pub forwarded: bool,
    /// Quoted lines or reply history were removed (as opposed to only signatures, footers
    /// and disclaimers, which are never the message).
    pub dropped_history: bool,
}

/// Cleans `body` (already normalised to `\n` line ends). `subject_is_forward` tells whether
/// the subject carries a forward prefix: Outlook uses the same header block for replies and
/// forwards, and only the subject says which one it is. The result may be empty when every
/// line looked like noise; the caller then falls back to the original text.
pub(super) fn clean(body: &str, subject_is_forward: bool) -> Cleaned {
    let mut lines: Vec<Cow<str>> = body.lines().map(Cow::Borrowed).collect();
    let mut out = String::with_capacity(body.len());
    let mut forwarded = false;
    let mut outlook_forward_pending = subject_is_forward;
    let mut in_signature = false;
    let mut dropped_history = false;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if is_forward_marker(t) {
            forwarded = true;
            outlook_forward_pending = false;
            in_signature = false;
            unquote_if_fully_quoted(&mut lines, i + 1);
            i = skip_header_block(&lines, i + 1);
            continue;
        }
        if in_signature {
            i += 1;
            continue;
        }
        if let Some(header_start) = reply_block_at(&lines, i) {
            // Only the first block of a forwarded Outlook mail is the forward header; any
            // later block is the forwarded message's own reply history.
            if outlook_forward_pending {
                outlook_forward_pending = false;
                forwarded = true;
                i = skip_header_block(&lines, header_start);
                continue;
            }
            dropped_history = true;
            break;
        }
        if let Some(used) = attribution_at(&lines, i) {
            // Bottom-posting and interleaved replies put the citizen's words *after* the
            // quote: drop just the attribution and let the '>' rule remove the quote.
            dropped_history = true;
            if next_nonblank_is_quoted(&lines, i + used) {
                i += used;
                continue;
            }
            break;
        }
        if is_signature_start(&lines, i) {
            in_signature = true;
            i += 1;
            continue;
        }
        if t.starts_with('>') {
            dropped_history = true;
            i += 1;
            continue;
        }
        if is_mobile_footer(t) {
            i += 1;
            continue;
        }
        if starts_disclaimer(t) {
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
            continue;
        }
        out.push_str(&lines[i]);
        out.push('\n');
        i += 1;
    }
    Cleaned {
        text: tidy(&out),
        forwarded,
        dropped_history,
    }
}

/// Whether a subject marks the mail as a forward ("WG:", "Fwd:", "FW:" …).
pub(super) fn subject_is_forward(subject: &str) -> bool {
    let lower = subject.trim_start().to_lowercase();
    ["wg:", "fw:", "fwd:", "wtr:", "weitergeleitet:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn lower_core(t: &str) -> String {
    t.trim_matches(|c: char| c == '-' || c == '–' || c == '_' || c.is_whitespace())
        .to_lowercase()
}

fn is_forward_marker(t: &str) -> bool {
    // Markers are short; the guard keeps every per-line check cheap on huge lines.
    if t.len() > 80 {
        return false;
    }
    let core = lower_core(t);
    let dashed = t.starts_with("--") || t.starts_with("––");
    (dashed
        && matches!(
            core.as_str(),
            "forwarded message"
                | "weitergeleitete nachricht"
                | "iletilen ileti"
                | "пересланий лист"
                | "пересылаемое сообщение"
        ))
        || matches!(
            core.as_str(),
            "anfang der weitergeleiteten nachricht:" | "begin forwarded message:"
        )
}

/// A block that starts quoted history (Outlook style, unquoted): returns the index of its
/// first header line.
fn reply_block_at(lines: &[Cow<str>], i: usize) -> Option<usize> {
    let t = lines[i].trim();
    if t.starts_with("--")
        && t.len() < 80
        && matches!(
            lower_core(t).as_str(),
            "ursprüngliche nachricht"
                | "original message"
                | "original-nachricht"
                | "originalnachricht"
        )
    {
        return Some(i + 1);
    }
    if t.len() >= 10 && t.chars().all(|c| c == '_') {
        let next = (i + 1..lines.len()).find(|&k| !lines[k].trim().is_empty())?;
        return matches!(header_label(&lines[next]), Some(Label::From)).then_some(next);
    }
    is_header_block(lines, i).then_some(i)
}

#[derive(PartialEq, Clone, Copy)]
enum Label {
    From,
    Date,
    To,
    Subject,
}

fn header_label(line: &str) -> Option<Label> {
    // Labels are at most a dozen characters; lowercasing only the start keeps this cheap.
    let start = line.trim_start().trim_start_matches('*').trim_start();
    let s = start.chars().take(16).collect::<String>().to_lowercase();
    const LABELS: &[(&str, Label)] = &[
        ("von:", Label::From),
        ("from:", Label::From),
        ("kimden:", Label::From),
        ("від:", Label::From),
        ("gesendet:", Label::Date),
        ("sent:", Label::Date),
        ("datum:", Label::Date),
        ("date:", Label::Date),
        ("gönderildi:", Label::Date),
        ("tarih:", Label::Date),
        ("надіслано:", Label::Date),
        ("an:", Label::To),
        ("to:", Label::To),
        ("cc:", Label::To),
        ("kopie:", Label::To),
        ("antwort an:", Label::To),
        ("reply-to:", Label::To),
        ("kime:", Label::To),
        ("кому:", Label::To),
        ("betreff:", Label::Subject),
        ("subject:", Label::Subject),
        ("konu:", Label::Subject),
        ("тема:", Label::Subject),
    ];
    LABELS
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|&(_, l)| l)
}

/// "Von: … Gesendet: … An: … Betreff: …" (Outlook) or "Gesendet: … Von: …" (GMX/WEB.DE):
/// consecutive lines with a sender, a date and a subject label.
fn is_header_block(lines: &[Cow<str>], i: usize) -> bool {
    if !matches!(header_label(&lines[i]), Some(Label::From | Label::Date)) {
        return false;
    }
    let labels: Vec<Label> = lines[i..]
        .iter()
        .take(8)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| header_label(l))
        .collect();
    [Label::From, Label::Date, Label::Subject]
        .iter()
        .all(|l| labels.contains(l))
}

/// Skips blank lines, then header lines (and their indented continuations) of a forward or
/// reply header block starting at `start`. Returns the index of the first content line.
fn skip_header_block(lines: &[Cow<str>], start: usize) -> usize {
    let mut i = start;
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let mut seen = false;
    while i < lines.len() && i < start + 16 {
        let line = &lines[i];
        if header_label(line).is_some()
            || (seen && line.starts_with([' ', '\t']) && !line.trim().is_empty())
        {
            seen = true;
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Apple Mail (iOS) quotes forwarded content with "> "; when everything after the marker
/// is quoted, remove one quote level so the forwarded text survives the '>' rule.
fn unquote_if_fully_quoted(lines: &mut [Cow<str>], from: usize) {
    let Some(rest) = lines.get_mut(from..) else {
        return;
    };
    let mut non_blank = rest.iter().filter(|l| !l.trim().is_empty()).peekable();
    if non_blank.peek().is_none() || !non_blank.all(|l| l.trim_start().starts_with('>')) {
        return;
    }
    for line in rest.iter_mut() {
        if let Some(q) = line.trim_start().strip_prefix('>') {
            *line = Cow::Owned(q.strip_prefix(' ').unwrap_or(q).to_string());
        }
    }
}

/// "Am 12.03.2026 um 10:14 schrieb …:", "On … wrote:" and the Gmail variants in other
/// languages, possibly wrapped over two lines. Returns the number of lines it spans.
fn attribution_at(lines: &[Cow<str>], i: usize) -> Option<usize> {
    let t = lines[i].trim();
    if is_attribution(t) {
        return Some(1);
    }
    let next = lines.get(i + 1)?.trim();
    (!t.ends_with(':') && t.len() < 200 && is_attribution(&format!("{t} {next}"))).then_some(2)
}

fn is_attribution(t: &str) -> bool {
    if t.len() > 400 || !t.ends_with(':') || !t.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let lower = t.to_lowercase();
    (lower.starts_with("am ") && lower.contains("schrieb") && has_clock_time(&lower))
        || (lower.starts_with("am ") && lower.ends_with("geschrieben:"))
        || (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || ["yazdı:", "пише:", "пишет:", "a écrit :", "a écrit:"]
            .iter()
            .any(|s| lower.ends_with(s))
}

/// Contains something like "10:14" (attributions always carry a time, citizens' sentences
/// that happen to start with "Am" and end with ':' rarely do).
fn has_clock_time(s: &str) -> bool {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(2)).any(|k| {
        b[k] == b':'
            && b[k - 1].is_ascii_digit()
            && b[k + 1].is_ascii_digit()
            && b[k + 2].is_ascii_digit()
    })
}

fn next_nonblank_is_quoted(lines: &[Cow<str>], from: usize) -> bool {
    lines[from.min(lines.len())..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_none_or(|l| l.trim_start().starts_with('>'))
}

/// The RFC 3676 delimiter "-- " always starts a signature. A bare "--" (clients that strip
/// trailing spaces) only counts when what follows is signature-sized, so that a citizen
/// using "--" as a separator keeps the rest of the text.
fn is_signature_start(lines: &[Cow<str>], i: usize) -> bool {
    match lines[i].as_ref() {
        "-- " => true,
        l if l.trim_end() == "--" => {
            let rest = lines[i + 1..]
                .iter()
                .take_while(|l| !is_forward_marker(l.trim()));
            // `take` bounds the look-ahead, so many "--" lines stay linear.
            rest.filter(|l| !l.trim().is_empty()).take(26).count() <= 25
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(body: &str) -> String {
        clean(body, false).text
    }

    #[test]
    fn thunderbird_top_and_bottom_posting() {
        let top = "Vielen Dank, ich komme am Montag.\n\nAm 12.03.2026 um 10:14 schrieb Bürgerservice:\n> Bitte bringen Sie mit\n> den Ausweis.\n";
        assert_eq!(c(top), "Vielen Dank, ich komme am Montag.");
        let bottom = "Am 12.03.2026 um 10:14 schrieb Bürgerservice:\n> Welche Hausnummer?\n\nHausnummer 12.\n\n> Seit wann?\n\nSeit Januar.";
        assert_eq!(c(bottom), "Hausnummer 12.\n\nSeit Januar.");
    }

    #[test]
    fn gmail_wrapped_attribution_and_outlook_block() {
        let gmail = "Danke!\n\nAm Mo., 9. März 2026 um 10:14 Uhr schrieb Landratsamt Musterkreis <\nbuergerservice@kreis.example>:\n\n> alt\n";
        assert_eq!(c(gmail), "Danke!");
        let outlook = "Anbei die Unterlagen.\n\nVon: Bürgerservice <b@kreis.example>\nGesendet: Montag, 9. März 2026 10:14\nAn: Max <m@example.org>\nBetreff: Antrag\n\nSehr geehrter Herr M., alt";
        assert_eq!(c(outlook), "Anbei die Unterlagen.");
        let separator = "Ok.\n________________________________\nFrom: A <a@b>\nSent: Monday\nTo: B\nSubject: x\n\nold";
        assert_eq!(c(separator), "Ok.");
        assert_eq!(
            c("Neu\n-----Ursprüngliche Nachricht-----\nVon: x\nalt"),
            "Neu"
        );
    }

    #[test]
    fn signatures_footers_disclaimers() {
        let body = "Bitte um Rückruf.\n\nMit freundlichen Grüßen\nMax Mustermann\n\nVon meinem iPhone gesendet\n-- \nMax Mustermann\nTel. 0123\n";
        assert_eq!(
            c(body),
            "Bitte um Rückruf.\n\nMit freundlichen Grüßen\nMax Mustermann"
        );
        let disclaimer = "Frage zur Baugenehmigung.\n\nDiese E-Mail enthält vertrauliche Informationen.\nWenn Sie nicht der Adressat sind …\n\nGruß";
        assert_eq!(c(disclaimer), "Frage zur Baugenehmigung.\n\nGruß");
        let sentence = "Von meinem Nachbarn habe ich gehört, dass der Müll liegen bleibt.";
        assert_eq!(c(sentence), sentence);
        let separator = "Teil 1\n--\n".to_string() + &"Zeile\n".repeat(30);
        assert!(c(&separator).contains("Zeile"));
    }

    #[test]
    fn forwards_keep_content_and_drop_headers() {
        let gmail = "Bitte bearbeiten.\n\n---------- Forwarded message ---------\nVon: Erika <e@example.org>\nDate: Mo., 9. März 2026\nSubject: Sperrmüll\nTo: <info@gemeinde.example>\n\n\nWann wird der Sperrmüll abgeholt?\n";
        let cleaned = clean(gmail, true);
        assert!(cleaned.forwarded);
        assert_eq!(
            cleaned.text,
            "Bitte bearbeiten.\n\nWann wird der Sperrmüll abgeholt?"
        );
        let ios = "Von meinem iPhone gesendet\n\nAnfang der weitergeleiteten Nachricht:\n\n> Von: Erika <e@x>\n> Datum: 9. März 2026\n> Betreff: Kita\n> \n> Frage zum Kita-Platz\n> Am 1.3.2026 um 10:00 schrieb A:\n>> alt\n";
        let cleaned = clean(ios, false);
        assert_eq!(cleaned.text, "Frage zum Kita-Platz");
        let outlook = "Zur Kenntnis.\n\nVon: Erika <e@x>\nGesendet: Montag\nAn: Gemeinde\nBetreff: Hund\n\nIch möchte meinen Hund anmelden.\n\nVon: Gemeinde\nGesendet: Sonntag\nBetreff: Re\n\nalt";
        let cleaned = clean(outlook, subject_is_forward("WG: Hund"));
        assert!(cleaned.forwarded);
        assert_eq!(
            cleaned.text,
            "Zur Kenntnis.\n\nIch möchte meinen Hund anmelden."
        );
    }

    #[test]
    fn only_noise_yields_empty_text() {
        let quoted = clean("> nur zitiert\n\nVon meinem iPhone gesendet", false);
        assert!(quoted.text.is_empty() && quoted.dropped_history);
        let footer = clean("\nVon meinem iPhone gesendet\n-- \nMax", false);
        assert!(footer.text.is_empty() && !footer.dropped_history);
    }
}
