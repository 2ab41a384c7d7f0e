//! The tamper-evident audit log (tables `audit_log`, `audit_head`): every automatic
//! decision and every human action, appended with a SHA-256 hash chain. Entries carry ids,
//! versions, scores, the actor and the action — never message text or addresses. The head
//! (count and last hash) is updated in the same transaction as each append, so `verify`
//! detects a changed entry, a deleted one in the middle and a truncated end.

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: Value,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact { entries: i64 },
    Broken { seq: i64, problem: String },
}

fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> String {
    let mut h = Sha256::new();
    // Length prefixes keep field boundaries unambiguous.
    for field in [prev, &seq.to_string(), at, actor, action, subject, details] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends one entry inside the caller's transaction. Updating the head first takes the
/// write lock (SQLite) or row lock (PostgreSQL), so concurrent appends form one chain.
pub(crate) async fn append_in(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    details: &Value,
) -> Result<i64, StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev: String = head.try_get("hash")?;
    let at = Utc::now().to_rfc3339();
    let details = details.to_string();
    let hash = entry_hash(&prev, seq, &at, actor, action, subject, &details);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(&at)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(&details)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

impl Store {
    /// Appends an entry for a human action or an automatic step, e.g.
    /// `append_audit("clerk:mueller", "review.accept", "inquiry:42", &json!({...}))`.
    /// `details` holds ids, versions and scores only.
    pub async fn append_audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: &Value,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let seq = append_in(&mut tx, actor, action, subject, details).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries whose subject is one of `subjects`, oldest first.
    pub async fn audit_entries_for(
        &self,
        subjects: &[String],
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        for subject in subjects {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, subject, details FROM audit_log
                 WHERE subject = $1 ORDER BY seq",
            )
            .bind(subject)
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                let details: String = r.try_get("details")?;
                entries.push(AuditEntry {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    details: serde_json::from_str(&details)
                        .map_err(|_| StoreError::Corrupt("audit details".into()))?,
                });
            }
        }
        entries.sort_by_key(|e| e.seq);
        Ok(entries)
    }

    /// Recomputes the chain from the first entry and compares its end with the head.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let mut prev = "0".repeat(64);
        let mut expected_seq = 1;
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let broken = |problem: String| Ok(AuditVerdict::Broken { seq, problem });
            if seq != expected_seq {
                return broken(format!("entry {expected_seq} is missing"));
            }
            let prev_hash: String = r.try_get("prev_hash")?;
            if prev_hash != prev {
                return broken("does not link to the previous entry".into());
            }
            let hash: String = r.try_get("hash")?;
            let recomputed = entry_hash(
                &prev,
                seq,
                &r.try_get::<String, _>("at")?,
                &r.try_get::<String, _>("actor")?,
                &r.try_get::<String, _>("action")?,
                &r.try_get::<String, _>("subject")?,
                &r.try_get::<String, _>("details")?,
            );
            if recomputed != hash {
                return broken("content was modified (hash mismatch)".into());
            }
            prev = hash;
            expected_seq += 1;
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let count = expected_seq - 1;
        if head_seq != count || head_hash != prev {
            return Ok(AuditVerdict::Broken {
                seq: head_seq,
                problem: format!(
                    "the log ends at entry {count} but {head_seq} entries were written \
                     (entries at the end were deleted or the head was changed)"
                ),
            });
        }
        Ok(AuditVerdict::Intact { entries: count })
    }
}
