//! Recognises machine-generated mail that must not become a case: delivery-failure bounces
//! and auto-replies (out-of-office notices, vacation responders, read receipts, bulk mail).
//! Answering such mail would at best waste a clerk's time and at worst start a mail loop.

use mail_parser::{Message, MimeHeaders};

use super::Outcome;

/// Returns the non-inquiry outcome and a human-readable reason, or `None` for mail that
/// looks human-written. Bounces are checked first because delivery reports also carry
/// `Auto-Submitted: auto-replied` (RFC 3464), and "bounce" is the more useful verdict.
pub(super) fn classify(msg: &Message) -> Option<(Outcome, String)> {
    let subject = msg.subject().unwrap_or("").trim();
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    bounce(msg, subject, &from)
        .map(|r| (Outcome::Bounce, r))
        .or_else(|| auto_reply(msg, subject).map(|r| (Outcome::AutoReply, r)))
}

fn bounce(msg: &Message, subject: &str, from: &str) -> Option<String> {
    if let Some(report_type) = report_type(msg)
        && report_type == "delivery-status"
    {
        return Some("bounce: multipart/report delivery status notification".into());
    }
    let local = from.split('@').next().unwrap_or("");
    if from.contains('@') && matches!(local, "mailer-daemon" | "postmaster") {
        return Some(format!("bounce: sender {from}"));
    }
    if msg.header_raw("X-Failed-Recipients").is_some() {
        return Some("bounce: X-Failed-Recipients header".into());
    }
    const SUBJECTS: &[&str] = &[
        "undelivered mail returned to sender",
        "delivery status notification",
        "unzustellbar",
        "nicht zustellbar",
        "undeliverable",
        "mail delivery failed",
        "returned mail",
        "failure notice",
        "delivery failure",
        "mail system error",
        "benachrichtigung zum übermittlungsstatus",
    ];
    subject_prefix(subject, SUBJECTS).map(|p| format!("bounce: subject starts with \"{p}\""))
}

fn auto_reply(msg: &Message, subject: &str) -> Option<String> {
    if report_type(msg).as_deref() == Some("disposition-notification") {
        return Some("auto-reply: read receipt (message disposition notification)".into());
    }
    if let Some(value) = header(msg, "Auto-Submitted") {
        // RFC 3834: "no" marks mail written by a person; every other value is automatic.
        let kind = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !kind.is_empty() && kind != "no" {
            return Some(format!("auto-reply: Auto-Submitted: {kind}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(value) = header(msg, name)
            && !value.eq_ignore_ascii_case("no")
        {
            return Some(format!("auto-reply: {name} header"));
        }
    }
    if let Some(value) = header(msg, "Precedence") {
        let value = value.to_ascii_lowercase();
        if matches!(value.as_str(), "auto_reply" | "bulk" | "junk") {
            return Some(format!("auto-reply: Precedence: {value}"));
        }
    }
    // `X-Auto-Response-Suppress` is deliberately ignored: Outlook sets it on ordinary mail
    // (it asks *others* not to auto-reply), so it says nothing about this message.
    const SUBJECTS: &[&str] = &[
        "abwesenheitsnotiz",
        "automatische antwort",
        "automatic reply",
        "out of office",
        "autoreply",
        "auto-reply",
        "abwesend",
    ];
    subject_prefix(subject, SUBJECTS).map(|p| format!("auto-reply: subject starts with \"{p}\""))
}

fn header(msg: &Message, name: &str) -> Option<String> {
    msg.header_raw(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the message is a `multipart/report` (delivery status or read receipt).
pub(super) fn is_report(msg: &Message) -> bool {
    report_type(msg).is_some()
}

/// `report-type` of a top-level `multipart/report`, lowercased.
fn report_type(msg: &Message) -> Option<String> {
    let ct = msg.root_part().content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    is_report.then(|| {
        ct.attribute("report-type")
            .unwrap_or("")
            .to_ascii_lowercase()
    })
}

/// The first of `prefixes` the subject starts with (case-insensitively) as a whole word:
/// "Unzustellbar: …" matches, a citizen's "Unzustellbarer Bescheid" does not.
fn subject_prefix(subject: &str, prefixes: &[&'static str]) -> Option<&'static str> {
    let lower = subject.to_lowercase();
    prefixes.iter().copied().find(|p| {
        lower.starts_with(p)
            && lower[p.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn verdict(raw: &str) -> Option<Outcome> {
        let msg = MessageParser::new().parse(raw.as_bytes()).expect("parses");
        classify(&msg).map(|(o, _)| o)
    }

    #[test]
    fn auto_reply_signals() {
        assert_eq!(
            verdict("Subject: Hallo\nAuto-Submitted: auto-replied\n\nx"),
            Some(Outcome::AutoReply)
        );
        assert_eq!(verdict("Subject: Hallo\nAuto-Submitted: no\n\nx"), None);
        assert_eq!(
            verdict("Subject: Re: Antrag\nX-Autoreply: yes\n\nx"),
            Some(Outcome::AutoReply)
        );
        assert_eq!(
            verdict("Subject: News\nPrecedence: bulk\n\nx"),
            Some(Outcome::AutoReply)
        );
        assert_eq!(verdict("Subject: Frage\nPrecedence: list\n\nx"), None);
        assert_eq!(
            verdict("Subject: Frage\nX-Auto-Response-Suppress: All\n\nx"),
            None
        );
        assert_eq!(
            verdict("Subject: Automatische Antwort: Antrag\n\nx"),
            Some(Outcome::AutoReply)
        );
        assert_eq!(
            verdict("Subject: OUT OF OFFICE\n\nx"),
            Some(Outcome::AutoReply)
        );
        assert_eq!(verdict("Subject: Abwesenheit meines Kindes\n\nx"), None);
    }

    #[test]
    fn bounce_signals() {
        let dsn = "From: MAILER-DAEMON@mx.example\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\nx\n--b--\n";
        assert_eq!(verdict(dsn), Some(Outcome::Bounce));
        assert_eq!(
            verdict("From: postmaster@kreis.example\nSubject: x\n\nx"),
            Some(Outcome::Bounce)
        );
        assert_eq!(
            verdict("From: a@b.example\nSubject: Unzustellbar: Antrag\n\nx"),
            Some(Outcome::Bounce)
        );
        assert_eq!(
            verdict("From: a@b.example\nSubject: Unzustellbarer Bescheid\n\nx"),
            None
        );
        let mdn = "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n--b\n\nx\n--b--\n";
        assert_eq!(verdict(mdn), Some(Outcome::AutoReply));
    }
}
