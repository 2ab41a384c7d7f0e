//! Intake: turning what citizens send (email, later web forms and Open311) into inquiries.
//! [`take_in`] is the one path every mail takes — IMAP poller and `anliegen ingest` alike:
//! parse it in the parser's child process ([`parser`]), record the mail with its outcome,
//! then open a case or thread it onto one ([`commit_email`]); a message the parser crashes
//! on is counted and, after `mail.parse.quarantine_after` crashes, quarantined.

pub mod email;
pub mod imap;
pub mod ingest;
pub mod parser;

use crate::{
    domain::{CaseNumber, Channel, InquiryText, Sender},
    store::{Committed, InboundMail, NewInquiry, ParseFailure, Store, StoreError, Target},
};
use email::{Outcome, ParsedEmail};
use parser::{MailParser, Parse};

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

/// The triage stage as the IMAP pollers see it, handed to them by `app` at assembly:
/// committed mail wakes it, and while its backlog is full new mail stays in the mailbox.
#[async_trait::async_trait]
pub trait TriageQueue: Send + Sync {
    /// Tells the stage that new inquiries were committed.
    fn nudge(&self);

    /// Whether the triage backlog is full (intake then takes nothing new).
    async fn backlog_full(&self, store: &Store) -> Result<bool, StoreError>;
}

/// What committing one mail did, and the outcome recorded for it (`inquiry`, `reply`,
/// `empty`, … — what the mail log says, which the ingest summary repeats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub committed: Committed,
    pub outcome: &'static str,
}

/// What taking in one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Recorded(Recorded),
    /// Recorded before (same dedup key): not parsed again.
    Duplicate(Committed),
    /// The parser crashed on it; `quarantined` when this was the last allowed attempt
    /// (the message is then recorded as `unreadable` and counts as processed). Otherwise
    /// nothing is recorded and the message is tried again on the next run or poll.
    Crashed {
        attempts: i64,
        quarantined: bool,
        error: String,
    },
}

impl Taken {
    /// Whether the message counts as processed (an IMAP poller may mark it).
    pub fn processed(&self) -> bool {
        !matches!(
            self,
            Taken::Crashed {
                quarantined: false,
                ..
            }
        )
    }
}

/// Takes in one raw message of `size` bytes (`raw` may be only its beginning when `size`
/// is larger): skipped when its dedup key is recorded already, otherwise parsed within the
/// limits and committed. `source` names where it came from in the quarantine.
pub async fn take_in(
    store: &Store,
    parser: &MailParser,
    raw: &[u8],
    size: usize,
    source: &str,
) -> Result<Taken, IntakeError> {
    let headers = email::parse_headers(raw, Outcome::Unreadable);
    if size == raw.len()
        && let Some(case) = store.recorded(&headers.dedup_key).await?
    {
        return Ok(Taken::Duplicate(Committed::Duplicate(case)));
    }
    let parsed = if size > raw.len() {
        Parse::Parsed(email::parse_oversized(raw, size, &parser.limits))
    } else {
        parser.parse(raw).await?
    };
    match parsed {
        Parse::Parsed(parsed) => Ok(Taken::Recorded(commit_email(store, &parsed, size).await?)),
        Parse::Crashed { headers, error } => {
            let mail = inbound_mail(&headers, size, &mut Vec::new());
            let failure = ParseFailure {
                mail: &mail,
                raw,
                source,
                error: &error,
            };
            let count = store
                .record_parse_failure(&failure, i64::from(parser.quarantine_after))
                .await?;
            Ok(Taken::Crashed {
                attempts: count.attempts,
                quarantined: count.quarantined,
                error,
            })
        }
    }
}

/// Parses (in this thread) and commits one raw message.
pub async fn commit_raw(
    store: &Store,
    raw: &[u8],
    limits: &email::Limits,
) -> Result<Committed, StoreError> {
    let parsed = email::parse(raw, limits);
    Ok(commit_email(store, &parsed, raw.len()).await?.committed)
}

/// Records `parsed` and, for an inquiry, opens a case or attaches it to the case it
/// answers (In-Reply-To/References naming a mail of that case, or the case number in the
/// subject of a mail from the case's own sender). Other outcomes are recorded only, with
/// their reason. Idempotent by dedup key. The inquiry keeps the whole text of the mail
/// (bounded by `mail.max_message_bytes`); the pipeline decides how much of it the model reads.
pub async fn commit_email(
    store: &Store,
    parsed: &ParsedEmail,
    size: usize,
) -> Result<Recorded, StoreError> {
    let mut notes: Vec<String> = parsed.reason.iter().cloned().collect();
    let mut mail = inbound_mail(parsed, size, &mut notes);
    // Answers go to Reply-To, else From.
    let sender = checked_sender(parsed.reply_to_address.as_deref(), "Reply-To", &mut notes)
        .or_else(|| mail.from_address.clone());
    let (outcome, target) = if parsed.outcome != Outcome::Inquiry {
        (outcome_name(&parsed.outcome), Target::RecordOnly)
    } else if let Some(case) = existing_case(store, parsed, sender.as_deref()).await? {
        ("reply", Target::Case(case))
    } else {
        match InquiryText::parse(&inquiry_text(parsed), usize::MAX) {
            Ok(text) => (
                "inquiry",
                Target::NewInquiry(NewInquiry {
                    channel: Channel::Email,
                    sender,
                    text: text.into_string(),
                    location: None,
                }),
            ),
            Err(e) => {
                notes.insert(0, format!("{e}: only invisible characters"));
                ("empty", Target::RecordOnly)
            }
        }
    };
    mail.outcome = outcome.to_string();
    mail.reason = (!notes.is_empty()).then(|| notes.join("; "));
    let committed = store.commit_inbound(&mail, target).await?;
    Ok(Recorded { committed, outcome })
}

/// The record of `parsed`, its outcome and reason still to be decided; a dropped From
/// address adds a note.
fn inbound_mail(parsed: &ParsedEmail, size: usize, notes: &mut Vec<String>) -> InboundMail {
    InboundMail {
        dedup_key: parsed.dedup_key.clone(),
        message_id: parsed.message_id.clone(),
        in_reply_to: parsed.in_reply_to.first().cloned(),
        references: parsed.references.clone(),
        subject: parsed.subject.clone(),
        from_address: checked_sender(parsed.from_address.as_deref(), "From", notes),
        outcome: outcome_name(&parsed.outcome).to_string(),
        reason: None,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        attachments_json: serde_json::to_string(&parsed.attachments).expect("serialisable"),
        body_original: parsed.body_original.clone(),
        body_clean: parsed.body_clean.clone(),
    }
}

/// A header address as it may be stored: one with a line break or another control
/// character (a header injection attempt) is dropped, with a note.
fn checked_sender(address: Option<&str>, header: &str, notes: &mut Vec<String>) -> Option<String> {
    match Sender::parse(address?) {
        Ok(sender) => sender.map(Sender::into_string),
        Err(e) => {
            notes.push(format!("{header} address dropped: {e}"));
            None
        }
    }
}

async fn existing_case(
    store: &Store,
    parsed: &ParsedEmail,
    sender: Option<&str>,
) -> Result<Option<i64>, StoreError> {
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
    let same_sender = inquiry
        .sender
        .as_deref()
        .zip(sender)
        .is_some_and(|(a, b)| a.trim().eq_ignore_ascii_case(b.trim()));
    Ok(same_sender.then_some(inquiry.id))
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
