//! Inbound mail the parser crashed on. Each crash is counted per message (dedup key);
//! the one that reaches the limit quarantines the message in the same transaction that
//! records it in `mail_messages` as `unreadable`, so it counts as processed from then on
//! and is never parsed again. The raw message stays here for admins.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

use super::{InboundMail, Store, StoreError, mail::insert_mail_row};

/// One parser crash on a message, as the caller saw it.
pub struct ParseFailure<'a> {
    /// Header facts of the message (outcome `unreadable`; `reason` is set here).
    pub mail: &'a InboundMail,
    pub raw: &'a [u8],
    /// `ingest` or `imap:<mailbox>`.
    pub source: &'a str,
    /// How the parser ended; never message content.
    pub error: &'a str,
}

/// What recording a crash did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub attempts: i64,
    /// This crash quarantined the message (it is now recorded and counts as processed).
    pub quarantined: bool,
}

/// A message in the quarantine table, as admins see it: counters, times and how the parser
/// ended, no content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarantinedMail {
    pub id: i64,
    pub source: String,
    pub message_id: Option<String>,
    pub size: i64,
    pub attempts: i64,
    pub last_error: String,
    pub first_failed_at: String,
    pub last_failed_at: String,
    /// `None` while the message is still retried.
    pub quarantined_at: Option<String>,
}

impl Store {
    /// Counts one parser crash on a message; at `quarantine_after` crashes the message is
    /// quarantined and recorded as `unreadable` with the reason.
    pub async fn record_parse_failure(
        &self,
        failure: &ParseFailure<'_>,
        quarantine_after: i64,
    ) -> Result<FailureCount, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        let mail = failure.mail;
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM mail_quarantine WHERE dedup_key = $1")
                .bind(&mail.dedup_key)
                .fetch_optional(&mut *tx)
                .await?;
        let attempts = match attempts {
            None => {
                sqlx::query(
                    "INSERT INTO mail_quarantine (dedup_key, source, message_id, size, attempts,
                       last_error, raw, first_failed_at, last_failed_at)
                     VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7)",
                )
                .bind(&mail.dedup_key)
                .bind(failure.source)
                .bind(&mail.message_id)
                .bind(mail.size)
                .bind(failure.error)
                .bind(failure.raw.to_vec())
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                1
            }
            Some(n) => {
                sqlx::query(
                    "UPDATE mail_quarantine SET attempts = attempts + 1, last_error = $2,
                       last_failed_at = $3 WHERE dedup_key = $1",
                )
                .bind(&mail.dedup_key)
                .bind(failure.error)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                n + 1
            }
        };
        let quarantined = attempts >= quarantine_after.max(1);
        if quarantined {
            sqlx::query("UPDATE mail_quarantine SET quarantined_at = $2 WHERE dedup_key = $1")
                .bind(&mail.dedup_key)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            let mut record = mail.clone();
            record.outcome = "unreadable".into();
            record.reason = Some(format!(
                "quarantined after {attempts} failed parses: {}",
                failure.error
            ));
            insert_mail_row(&mut tx, &record, None).await?;
        }
        tx.commit().await?;
        Ok(FailureCount {
            attempts,
            quarantined,
        })
    }

    /// Messages the parser crashed on, newest first: quarantined ones and those still retried.
    pub async fn quarantine(&self, limit: i64) -> Result<Vec<QuarantinedMail>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, message_id, size, attempts, last_error, first_failed_at,
               last_failed_at, quarantined_at FROM mail_quarantine ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QuarantinedMail {
                    id: r.try_get("id")?,
                    source: r.try_get("source")?,
                    message_id: r.try_get("message_id")?,
                    size: r.try_get("size")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    first_failed_at: r.try_get("first_failed_at")?,
                    last_failed_at: r.try_get("last_failed_at")?,
                    quarantined_at: r.try_get("quarantined_at")?,
                })
            })
            .collect()
    }

    /// The raw bytes of a message in the quarantine table.
    pub async fn quarantined_raw(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT raw FROM mail_quarantine WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// Erases the mail recorded from `address` (lower case, trimmed) that opened no case —
/// quarantined messages with their raw bytes, and other mail recorded only — for a
/// data-subject erasure; mail of the sender's cases goes with the cases.
pub(super) async fn erase_mail_from(
    conn: &mut sqlx::AnyConnection,
    address: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM mail_quarantine WHERE dedup_key IN (SELECT dedup_key FROM mail_messages
           WHERE inquiry_id IS NULL AND LOWER(TRIM(from_address)) = $1)",
    )
    .bind(address)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM mail_messages WHERE inquiry_id IS NULL AND direction = 'in'
           AND LOWER(TRIM(from_address)) = $1",
    )
    .bind(address)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
