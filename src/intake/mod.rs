//! Intake: turning what citizens send (email, later web forms and Open311) into inquiries.
//! [`commit_email`] is the one path every mail takes — IMAP poller and `anliegen ingest`
//! alike: record the mail with its outcome, then open a case or thread it onto one.

pub mod email;
pub mod imap;
pub mod ingest;

use crate::{
    domain::{CaseNumber, Channel, InquiryText},
    store::{Committed, InboundMail, NewInquiry, Store, StoreError, Target},
};
use email::{Outcome, ParsedEmail};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("IMAP mailbox {mailbox}: {message}")]
    Imap { mailbox: String, message: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Parses and commits one raw message. `max_text_chars` bounds the inquiry text.
pub async fn commit_raw(
    store: &Store,
    raw: &[u8],
    limits: &email::Limits,
    max_text_chars: usize,
) -> Result<Committed, StoreError> {
    let parsed = email::parse(raw, limits);
    commit_email(store, &parsed, raw.len(), max_text_chars).await
}

/// Records `parsed` and, for an inquiry, opens a case or attaches it to the case it
/// answers (In-Reply-To/References naming a mail of that case, or the case number in the
/// subject of a mail from the case's own sender). Other outcomes are recorded only, with their reason. Idempotent by dedup key.
pub async fn commit_email(
    store: &Store,
    parsed: &ParsedEmail,
    size: usize,
    max_text_chars: usize,
) -> Result<Committed, StoreError> {
    let mut mail = InboundMail {
        dedup_key: parsed.dedup_key.clone(),
        message_id: parsed.message_id.clone(),
        in_reply_to: parsed.in_reply_to.first().cloned(),
        references: parsed.references.clone(),
        subject: parsed.subject.clone(),
        from_address: parsed.from_address.clone(),
        outcome: outcome_name(&parsed.outcome).to_string(),
        reason: parsed.reason.clone(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        attachments_json: serde_json::to_string(&parsed.attachments).expect("serialisable"),
        body_original: parsed.body_original.clone(),
        body_clean: parsed.body_clean.clone(),
    };
    if parsed.outcome != Outcome::Inquiry {
        return store.commit_inbound(&mail, Target::RecordOnly).await;
    }
    if let Some(case) = existing_case(store, parsed).await? {
        mail.outcome = "reply".into();
        return store.commit_inbound(&mail, Target::Case(case)).await;
    }
    let text = inquiry_text(parsed);
    let Ok(text) = InquiryText::parse(&text, max_text_chars) else {
        // parse() already guarantees text; this only guards against control-only input.
        mail.outcome = "empty".into();
        mail.reason = Some("no usable text after removing control characters".into());
        return store.commit_inbound(&mail, Target::RecordOnly).await;
    };
    let new = NewInquiry {
        channel: Channel::Email,
        sender: sender_address(parsed),
        text: text.into_string(),
    };
    store.commit_inbound(&mail, Target::NewInquiry(new)).await
}

async fn existing_case(store: &Store, parsed: &ParsedEmail) -> Result<Option<i64>, StoreError> {
    let mut ids = parsed.references.clone();
    ids.extend(parsed.in_reply_to.iter().cloned());
    if let Some(id) = store.case_by_message_ids(&ids).await? {
        return Ok(Some(id));
    }
    let Some(case) = parsed
        .subject
        .as_deref()
        .and_then(email::case_number_in_subject)
        .and_then(|c| c.parse::<CaseNumber>().ok())
    else {
        return Ok(None);
    };
    // Case numbers are sequential and easy to guess: a subject alone attaches a mail only
    // when it comes from the address the case was opened from. Anyone else opens a new case.
    let Some(inquiry) = store.inquiry(&case).await? else {
        return Ok(None);
    };
    let sender = sender_address(parsed);
    let same_sender = inquiry
        .sender
        .as_deref()
        .zip(sender.as_deref())
        .is_some_and(|(a, b)| a.trim().eq_ignore_ascii_case(b.trim()));
    Ok(same_sender.then_some(inquiry.id))
}

/// The address answers go to: Reply-To, else From.
fn sender_address(parsed: &ParsedEmail) -> Option<String> {
    parsed
        .reply_to_address
        .clone()
        .or_else(|| parsed.from_address.clone())
}

/// Subject and cleaned body; a subject-only mail already has the subject as its body.
fn inquiry_text(parsed: &ParsedEmail) -> String {
    match parsed.subject.as_deref() {
        Some(s) if s != parsed.body_clean => format!("{s}\n\n{}", parsed.body_clean),
        _ => parsed.body_clean.clone(),
    }
}

pub fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Inquiry => "inquiry",
        Outcome::AutoReply => "auto_reply",
        Outcome::Bounce => "bounce",
        Outcome::Empty => "empty",
        Outcome::Unreadable => "unreadable",
        Outcome::TooLarge => "too_large",
    }
}
