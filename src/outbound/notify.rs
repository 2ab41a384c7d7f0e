//! What anliegen writes when something happens to a case: the acknowledgement to the
//! citizen and the forward to the department after a decision ([`on_decided`]), and a
//! clerk's approved reply ([`queue_reply`]). Everything is queued in the outbox; the
//! worker delivers it.
//!
//! No open relay: mail goes to a citizen's address only when the authority received a mail
//! from it, or the citizen confirmed it, or `mail.ack_unconfirmed` accepts the risk
//! ([`may_mail_contact`]). An address given through the web or the API gets one fixed
//! confirmation request instead of the acknowledgement — a few per day at most — and no
//! automatic mail ever repeats the citizen's text.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;

use super::templates::{self, Template};
use crate::{
    config::{AckLanguage, MailConfig, MailLanguage},
    domain::{Channel, Decision, Outbound, OutboundKind, RouteStatus},
    reply::ReplyLanguage,
    store::{SecretPurpose, SentReplyRecord, Store, StoreError, StoredInquiry, ThreadMessage},
};

/// Whether mail may go to the inquiry's contact address: it wrote to the authority (the
/// mail channel), the citizen confirmed it, or `mail.ack_unconfirmed` accepts the risk.
pub fn may_mail_contact(inquiry: &StoredInquiry, mail: &MailConfig) -> bool {
    inquiry.channel == Channel::Email || inquiry.contact_confirmed || mail.ack_unconfirmed
}

/// Where the citizen reads the case's status with its secret (under `server.public_url`).
pub fn status_url(public_url: &str, case: &str, secret: &str) -> String {
    format!("{public_url}/api/v1/status/{case}?token={secret}")
}

/// Where the citizen confirms the contact address.
pub fn confirm_url(public_url: &str, case: &str, secret: &str) -> String {
    format!("{public_url}/api/v1/status/{case}/confirm?token={secret}")
}

/// Queues the acknowledgement (or, for an unconfirmed address, the confirmation request)
/// and, for a confident routing of a mailed inquiry to a department with forwarding on, the
/// forward. Deciding a case again queues neither twice.
pub async fn on_decided(
    store: &Store,
    mail: &MailConfig,
    public_url: &str,
    inquiry: &StoredInquiry,
    decision: &Decision,
) -> Result<(), StoreError> {
    if !mail.enabled {
        return Ok(());
    }
    let first = store.thread_message(inquiry.id, false).await?;
    let case = inquiry.case_number.to_string();
    let subject = templates::subject(&case, first.as_ref().and_then(|m| m.subject.as_deref()));
    if let Some(citizen) = inquiry.sender.as_deref().filter(|s| s.contains('@')) {
        let body = if may_mail_contact(inquiry, mail) {
            let secret = store
                .issue_case_secret(inquiry.id, SecretPurpose::Status)
                .await?;
            templates::render(
                Template::Ack,
                ack_language(mail.ack_language, &inquiry.text),
                &[
                    ("case_number", &case),
                    ("department", &decision.department.name),
                    (
                        "status_url",
                        &status_url(public_url, &case, secret.as_str()),
                    ),
                ],
            )
        } else {
            let day = Utc::now() - chrono::Duration::days(1);
            let sent = store.confirmation_requests_to(citizen, day).await?;
            if sent >= i64::from(mail.confirmations_per_address_per_day) {
                tracing::info!(case = %case, "no confirmation request: the address had its share today");
                return Ok(());
            }
            let secret = store
                .issue_case_secret(inquiry.id, SecretPurpose::Confirm)
                .await?;
            templates::render(
                Template::Confirm,
                ack_language(mail.ack_language, &inquiry.text),
                &[
                    ("case_number", &case),
                    (
                        "confirm_url",
                        &confirm_url(public_url, &case, secret.as_str()),
                    ),
                ],
            )
        };
        let (in_reply_to, references) = thread(first.as_ref());
        store
            .enqueue_outbound(&Outbound {
                inquiry_id: inquiry.id,
                kind: OutboundKind::Ack,
                to_address: citizen.to_string(),
                subject: subject.clone(),
                body,
                message_id: new_message_id(mail, &case, "ack"),
                in_reply_to,
                references,
                auto_submitted: Some("auto-replied".into()),
            })
            .await?;
    }
    // Only what the authority received by mail is forwarded: text typed into the web or the
    // API reaches the department through the inbox, not through its mailbox.
    let forward = inquiry.channel == Channel::Email
        && decision.status == RouteStatus::Routed
        && mail.forward_departments.contains(&decision.department.id)
        && !decision.department.mailbox.is_empty();
    if forward {
        let confidence = format!("{:.0}", decision.confidence * 100.0);
        let body = templates::render(
            Template::Forward,
            MailLanguage::De,
            &[
                ("case_number", &case),
                ("department", &decision.department.name),
                ("service", &decision.service.name),
                ("confidence", &confidence),
                ("text", &inquiry.text),
            ],
        );
        store
            .enqueue_outbound(&Outbound {
                inquiry_id: inquiry.id,
                kind: OutboundKind::Forward,
                to_address: decision.department.mailbox.clone(),
                subject,
                body,
                message_id: new_message_id(mail, &case, "fwd"),
                in_reply_to: None,
                references: None,
                auto_submitted: Some("auto-generated".into()),
            })
            .await?;
    }
    Ok(())
}

/// The acknowledgement's language: with `auto`, English when the citizen wrote English
/// (`reply::language`), German otherwise — also for languages without templates.
pub fn ack_language(setting: AckLanguage, text: &str) -> MailLanguage {
    match setting {
        AckLanguage::De => MailLanguage::De,
        AckLanguage::En => MailLanguage::En,
        AckLanguage::Auto if crate::reply::language::detect(text).is_english() => MailLanguage::En,
        AckLanguage::Auto => MailLanguage::De,
    }
}

/// Queues a clerk's reply to the citizen, threaded onto the case's latest inbound mail.
/// Returns the queued mail, or `None` when the case has no address mail may go to.
pub async fn queue_reply(
    store: &Store,
    mail: &MailConfig,
    inquiry: &StoredInquiry,
    text: &str,
    language: MailLanguage,
) -> Result<Option<Outbound>, StoreError> {
    let Some(citizen) = inquiry.sender.clone().filter(|s| s.contains('@')) else {
        return Ok(None);
    };
    if !may_mail_contact(inquiry, mail) {
        return Ok(None);
    }
    let last = store.thread_message(inquiry.id, true).await?;
    let case = inquiry.case_number.to_string();
    let (in_reply_to, references) = thread(last.as_ref());
    let out = Outbound {
        inquiry_id: inquiry.id,
        kind: OutboundKind::Reply,
        to_address: citizen,
        subject: templates::subject(&case, last.as_ref().and_then(|m| m.subject.as_deref())),
        body: templates::render(
            Template::Reply,
            language,
            &[("text", text), ("case_number", &case)],
        ),
        message_id: new_message_id(mail, &case, "re"),
        in_reply_to,
        references,
        auto_submitted: None,
    };
    store.enqueue_outbound(&out).await?;
    Ok(Some(out))
}

/// A reply about to go to the citizen.
pub struct ReplyToSend<'a> {
    pub text: &'a str,
    pub language: ReplyLanguage,
    /// The German copy for the file when `language` is not German.
    pub german_copy: Option<&'a str>,
    /// Who sends it, for the audit log (`user:12`, or `anliegen` for an automatic reply).
    pub actor: &'a str,
    /// Extra audit details (e.g. the checker's flags a clerk overrode).
    pub audit: serde_json::Value,
}

/// Sends a reply: queued as mail when mail may go to the case's address, kept for the
/// status page (with its redacted text for later drafts of the same service and the German
/// copy), and audited. Returns the queued mail, if any.
pub async fn send_reply(
    store: &Store,
    mail: &MailConfig,
    inquiry: &StoredInquiry,
    reply: &ReplyToSend<'_>,
) -> Result<Option<Outbound>, StoreError> {
    let frame = match reply.language {
        ReplyLanguage::English => MailLanguage::En,
        ReplyLanguage::German | ReplyLanguage::Plain => MailLanguage::De,
    };
    let queued = queue_reply(store, mail, inquiry, reply.text, frame).await?;
    let mailed = queued.is_some();
    let redacted = crate::privacy::redact::redact(reply.text).text;
    store
        .record_sent_reply(&SentReplyRecord {
            inquiry_id: inquiry.id,
            text: reply.text,
            actor: reply.actor,
            mailed,
            service_id: inquiry.decision.as_ref().map(|d| d.service.id.as_str()),
            language: reply.language.as_str(),
            redacted_text: &redacted,
            german_copy: reply.german_copy,
        })
        .await?;
    let mut details = serde_json::json!({
        "mailed": mailed,
        "language": reply.language.as_str(),
        "german_copy": reply.german_copy.is_some(),
    });
    if let (Some(d), Some(extra)) = (details.as_object_mut(), reply.audit.as_object()) {
        d.extend(extra.clone());
    }
    store
        .append_audit(
            reply.actor,
            "reply",
            &inquiry.case_number.to_string(),
            &details,
        )
        .await?;
    Ok(queued)
}

/// In-Reply-To and References for an answer to `msg`.
fn thread(msg: Option<&ThreadMessage>) -> (Option<String>, Option<String>) {
    let Some(msg) = msg else {
        return (None, None);
    };
    let mut refs = msg.references.clone();
    refs.extend(msg.message_id.clone());
    let refs = (!refs.is_empty()).then(|| refs.join(" "));
    (msg.message_id.clone(), refs)
}

/// A globally unique Message-ID fixed at enqueue time, so a resend after a crash carries
/// the same id and receivers can drop the duplicate.
fn new_message_id(mail: &MailConfig, case: &str, kind: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let domain = mail
        .smtp
        .from_address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "anliegen.{case}.{kind}.{now:x}.{n:x}.{}@{domain}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_answers_english_mail_in_english_and_everything_else_in_german() {
        let auto = |t| ack_language(AckLanguage::Auto, t);
        assert_eq!(
            auto("Hello, the street lamp in front of my house has been broken for a week."),
            MailLanguage::En
        );
        assert_eq!(
            auto(
                "Sehr geehrte Damen und Herren, die Laterne vor meinem Haus ist seit einer Woche defekt."
            ),
            MailLanguage::De
        );
        assert_eq!(auto("Strassenlaterne Nr. 7 kaputt"), MailLanguage::De);
        assert_eq!(
            auto("Laterne Nr. 7"),
            MailLanguage::De,
            "no evidence: German"
        );
        assert_eq!(
            auto("Sokak lambası bir haftadır yanmıyor"),
            MailLanguage::De
        );
        // A German report quoting an English phrase stays German.
        assert_eq!(
            auto(
                "Am Spielplatz steht ein Schild \"Keep off the grass\", das ist seit Wochen umgefallen und liegt im Weg."
            ),
            MailLanguage::De
        );
        assert_eq!(
            ack_language(AckLanguage::De, "Hello, the lamp is broken"),
            MailLanguage::De
        );
        assert_eq!(
            ack_language(AckLanguage::En, "Die Laterne"),
            MailLanguage::En
        );
    }
}
