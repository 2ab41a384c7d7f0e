//! Mail records and the outbox. Every inbound mail is recorded with its outcome, in the same
//! transaction as the inquiry it opens, keyed by its dedup key: committing the same mail
//! twice returns the first record instead of a second inquiry.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

use super::{NewInquiry, Store, StoreError};
use crate::domain::CaseNumber;

/// An inbound mail as it is recorded (the parsed facts, not the raw bytes).
#[derive(Debug, Clone)]
pub struct InboundMail {
    pub dedup_key: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub subject: Option<String>,
    pub from_address: Option<String>,
    /// `inquiry`, `reply` (attached to a case), or the parser's non-inquiry outcome.
    pub outcome: String,
    pub reason: Option<String>,
    pub size: i64,
    pub attachments_json: String,
    pub body_original: String,
    pub body_clean: String,
}

/// Where an inbound mail goes.
pub enum Target {
    NewInquiry(NewInquiry),
    Case(i64),
    RecordOnly,
}

/// What committing an inbound mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    NewCase(CaseNumber),
    Attached(CaseNumber),
    Recorded,
    /// Seen before (same dedup key): nothing new was written.
    Duplicate(Option<CaseNumber>),
}

/// The thread facts of a case's inbound mail, for replies.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub subject: Option<String>,
}

/// One row of the mail log (no bodies), for status pages and tests.
#[derive(Debug, Clone, Serialize)]
pub struct MailLogEntry {
    pub direction: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub case_number: Option<String>,
    pub message_id: Option<String>,
}

impl Store {
    /// Records an inbound mail and, depending on `target`, opens a new inquiry or attaches
    /// it to a case — all in one transaction. A mail whose dedup key is already recorded
    /// writes nothing and returns `Duplicate`, also when a concurrent commit won the race.
    pub async fn commit_inbound(
        &self,
        mail: &InboundMail,
        target: Target,
    ) -> Result<Committed, StoreError> {
        if let Some(case) = self.recorded(&mail.dedup_key).await? {
            return Ok(Committed::Duplicate(case));
        }
        match self.insert_inbound(mail, target).await {
            Ok(done) => Ok(done),
            // The UNIQUE dedup key stops a concurrent second commit; report it as such.
            Err(e) => match self.recorded(&mail.dedup_key).await? {
                Some(case) => Ok(Committed::Duplicate(case)),
                None => Err(e),
            },
        }
    }

    /// Whether a mail with this dedup key is recorded, and with which case.
    pub async fn recorded(
        &self,
        dedup_key: &str,
    ) -> Result<Option<Option<CaseNumber>>, StoreError> {
        let row = sqlx::query(
            "SELECT i.case_number FROM mail_messages m LEFT JOIN inquiries i ON i.id = m.inquiry_id
             WHERE m.dedup_key = $1",
        )
        .bind(dedup_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let case: Option<String> = r.try_get("case_number")?;
            case.map(|c| c.parse().map_err(|_| corrupt("case number")))
                .transpose()
        })
        .transpose()
    }

    async fn insert_inbound(
        &self,
        mail: &InboundMail,
        target: Target,
    ) -> Result<Committed, StoreError> {
        let mut tx = self.begin_write().await?;
        let (inquiry_id, committed) = match target {
            Target::NewInquiry(new) => {
                let stored = super::insert_inquiry_tx(&mut tx, new, self).await?;
                (Some(stored.id), Committed::NewCase(stored.case_number))
            }
            Target::Case(id) => {
                let case: String =
                    sqlx::query_scalar("SELECT case_number FROM inquiries WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                let case = case.parse().map_err(|_| corrupt("case number"))?;
                (Some(id), Committed::Attached(case))
            }
            Target::RecordOnly => (None, Committed::Recorded),
        };
        insert_mail_row(&mut tx, mail, inquiry_id).await?;
        tx.commit().await?;
        Ok(committed)
    }

    /// The case a mail with these referenced message ids belongs to: any inbound mail of
    /// the case or any mail anliegen sent for it. The newest case wins.
    pub async fn case_by_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(None);
        }
        let ids = &ids[ids.len().saturating_sub(100)..];
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let list = list.join(",");
        let sql = format!(
            "SELECT MAX(inquiry_id) FROM (
               SELECT inquiry_id FROM mail_messages WHERE inquiry_id IS NOT NULL AND message_id IN ({list})
               UNION SELECT inquiry_id FROM outbox WHERE message_id IN ({list})) t"
        );
        let mut q = sqlx::query_scalar::<_, Option<i64>>(&sql);
        for id in ids {
            q = q.bind(id);
        }
        Ok(q.fetch_one(&self.pool).await?)
    }

    /// The first (`newest = false`) or last inbound mail of a case.
    pub async fn thread_message(
        &self,
        inquiry_id: i64,
        newest: bool,
    ) -> Result<Option<ThreadMessage>, StoreError> {
        let order = if newest { "DESC" } else { "ASC" };
        let row = sqlx::query(&format!(
            r#"SELECT message_id, "references", subject FROM mail_messages
               WHERE inquiry_id = $1 AND direction = 'in' ORDER BY id {order} LIMIT 1"#
        ))
        .bind(inquiry_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let refs: Option<String> = r.try_get("references")?;
            Ok(ThreadMessage {
                message_id: r.try_get("message_id")?,
                references: refs
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
                subject: r.try_get("subject")?,
            })
        })
        .transpose()
    }

    /// The mail log, oldest first.
    pub async fn mail_log(&self) -> Result<Vec<MailLogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.direction, m.outcome, m.reason, m.message_id, i.case_number
             FROM mail_messages m LEFT JOIN inquiries i ON i.id = m.inquiry_id ORDER BY m.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MailLogEntry {
                    direction: r.try_get("direction")?,
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    case_number: r.try_get("case_number")?,
                    message_id: r.try_get("message_id")?,
                })
            })
            .collect()
    }
}

/// Writes the `mail_messages` row of an inbound mail within `tx`.
pub(super) async fn insert_mail_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    mail: &InboundMail,
    inquiry_id: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO mail_messages (inquiry_id, direction, dedup_key, message_id, in_reply_to,
             "references", subject, from_address, outcome, reason, size, attachments,
             body_original, body_clean, received_at)
         VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"#,
    )
    .bind(inquiry_id)
    .bind(&mail.dedup_key)
    .bind(&mail.message_id)
    .bind(&mail.in_reply_to)
    .bind(mail.references.join(" "))
    .bind(&mail.subject)
    .bind(&mail.from_address)
    .bind(&mail.outcome)
    .bind(&mail.reason)
    .bind(mail.size)
    .bind(&mail.attachments_json)
    .bind(&mail.body_original)
    .bind(&mail.body_clean)
    .bind(Utc::now().to_rfc3339())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
