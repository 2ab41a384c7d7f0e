//! The outbox: outbound mail with its Message-ID fixed at enqueue time, claimed by one
//! worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a single UPDATE on SQLite),
//! marked sent together with its entry in the mail log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::{Outbound, OutboundKind};

/// A queued mail claimed for sending.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub mail: Outbound,
    /// Including the current one.
    pub attempts: i64,
}

/// One outbox row's state (no bodies, no addresses).
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub message_id: String,
    pub case_number: String,
    pub last_error: Option<String>,
}

impl Store {
    /// Queues a mail. An acknowledgement or forward already queued for the inquiry is not
    /// queued again (returns false).
    pub async fn enqueue_outbound(&self, mail: &Outbound) -> Result<bool, StoreError> {
        let now = Utc::now().to_rfc3339();
        let done = sqlx::query(
            r#"INSERT INTO outbox (inquiry_id, kind, to_address, subject, body, message_id,
                 in_reply_to, "references", auto_submitted, state, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10)
             ON CONFLICT DO NOTHING"#,
        )
        .bind(mail.inquiry_id)
        .bind(mail.kind.as_str())
        .bind(&mail.to_address)
        .bind(&mail.subject)
        .bind(&mail.body)
        .bind(&mail.message_id)
        .bind(&mail.in_reply_to)
        .bind(&mail.references)
        .bind(&mail.auto_submitted)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims the oldest due mail: queued and due, or `sending` whose lease ran out (the
    /// process died mid-send). The claim sets `sending` and a new lease atomically.
    pub async fn claim_outbound(
        &self,
        lease: std::time::Duration,
    ) -> Result<Option<QueuedMail>, StoreError> {
        let now = Utc::now();
        let lease_end = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let lock = self.backend.skip_locked();
        let row = sqlx::query(&format!(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = $1
             WHERE id = (SELECT id FROM outbox WHERE state IN ('queued', 'sending')
                           AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT 1 {lock})
             RETURNING *"
        ))
        .bind(lease_end.to_rfc3339())
        .bind(now.to_rfc3339())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(QueuedMail {
                id: r.try_get("id")?,
                attempts: r.try_get("attempts")?,
                mail: Outbound {
                    inquiry_id: r.try_get("inquiry_id")?,
                    kind: OutboundKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown outbox kind '{kind}'"))
                    })?,
                    to_address: r.try_get("to_address")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    message_id: r.try_get("message_id")?,
                    in_reply_to: r.try_get("in_reply_to")?,
                    references: r.try_get("references")?,
                    auto_submitted: r.try_get("auto_submitted")?,
                },
            })
        })
        .transpose()
    }

    /// Marks a claimed mail sent and logs it as outbound mail of its case.
    pub async fn outbound_sent(&self, queued: &QueuedMail) -> Result<(), StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = NULL WHERE id = $2",
        )
        .bind(&now)
        .bind(queued.id)
        .execute(&mut *tx)
        .await?;
        let m = &queued.mail;
        sqlx::query(
            r#"INSERT INTO mail_messages (inquiry_id, direction, message_id, in_reply_to, "references",
                 subject, outcome, size, received_at)
             VALUES ($1, 'out', $2, $3, $4, $5, $6, $7, $8)"#,
        )
        .bind(m.inquiry_id)
        .bind(&m.message_id)
        .bind(&m.in_reply_to)
        .bind(&m.references)
        .bind(&m.subject)
        .bind(m.kind.as_str())
        .bind(i64::try_from(m.body.len()).unwrap_or(i64::MAX))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: retry at `retry_at`, or give up (`dead`) when `None`.
    /// `error` must not carry personal data.
    pub async fn outbound_failed(
        &self,
        id: i64,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> Result<(), StoreError> {
        let (state, at) = match retry_at {
            Some(at) => ("queued", at),
            None => ("dead", Utc::now()),
        };
        sqlx::query(
            "UPDATE outbox SET state = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(at.to_rfc3339())
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The outbox, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.kind, o.state, o.attempts, o.message_id, o.last_error, i.case_number
             FROM outbox o JOIN inquiries i ON i.id = o.inquiry_id ORDER BY o.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    message_id: r.try_get("message_id")?,
                    case_number: r.try_get("case_number")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Queues a dead mail again for sending now, with a fresh count of attempts. `None`
    /// when there is no such mail, `Some(false)` when it is not dead.
    pub async fn retry_outbound(&self, id: i64) -> Result<Option<bool>, StoreError> {
        let retried = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.retried_or_missing("outbox", id, retried.rows_affected())
            .await
    }
}
