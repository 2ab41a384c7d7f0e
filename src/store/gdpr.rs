//! What the GDPR asks of storage: everything about one sender (Art. 15), erasing it
//! (Art. 17) and the retention rules for closed cases. Every operation appends an audit
//! entry naming the sender only by the SHA-256 of their address. Vector index points are
//! removed by the caller (`pipeline::gdpr`), which holds the index.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Column, Row, any::AnyRow};

use super::{Backend, Store, StoreError, audit};
use crate::domain::CaseNumber;

/// A table other modules may add (training data); handled when present.
const TRAINING_TABLE: &str = "training_examples";

/// The inquiries an operation touched: their ids and case numbers name their vector points.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    pub ids: Vec<i64>,
    pub cases: Vec<CaseNumber>,
}

#[derive(Debug, Clone, Default)]
pub struct RetentionReport {
    pub anonymised: Touched,
    pub deleted: Touched,
}

/// How an address is named in the audit log: normalised, then hashed.
pub fn subject_hash(email: &str) -> String {
    hex::encode(Sha256::digest(normalise(email).as_bytes()))
}

fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One row as JSON, whatever its columns: text, integers, floats, bytes (hex) or null.
fn row_json(r: &AnyRow) -> Value {
    let mut out = Map::new();
    for (i, c) in r.columns().iter().enumerate() {
        let v = if let Ok(v) = r.try_get::<Option<String>, _>(i) {
            json!(v)
        } else if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
            json!(v)
        } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
            json!(v)
        } else if let Ok(v) = r.try_get::<Option<Vec<u8>>, _>(i) {
            json!(v.map(hex::encode))
        } else {
            Value::Null
        };
        out.insert(c.name().to_string(), v);
    }
    Value::Object(out)
}

fn placeholders(from: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", from + i))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    async fn has_table(&self, conn: &mut AnyConnection, name: &str) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let n: i64 = sqlx::query_scalar(sql).bind(name).fetch_one(conn).await?;
        Ok(n > 0)
    }

    /// Rows of `table` whose `column` is one of `ids`, as JSON.
    async fn rows_for(
        &self,
        conn: &mut AnyConnection,
        table: &str,
        column: &str,
        ids: &[i64],
    ) -> Result<Vec<Value>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT * FROM {table} WHERE {column} IN ({}) ORDER BY {column}",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(conn).await?.iter().map(row_json).collect())
    }

    /// Deletes rows of `table` whose `column` is one of `values`.
    async fn delete_where_in<T>(
        conn: &mut AnyConnection,
        table: &str,
        column: &str,
        values: &[T],
    ) -> Result<u64, StoreError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Clone + Send + 'static,
    {
        let mut removed = 0;
        for chunk in values.chunks(500) {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = q.bind(v.clone());
            }
            removed += q.execute(&mut *conn).await?.rows_affected();
        }
        Ok(removed)
    }

    /// The inquiries sent from `email` (case-insensitive), oldest first.
    pub async fn subject_inquiries(&self, email: &str) -> Result<Touched, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_number FROM inquiries WHERE LOWER(TRIM(sender)) = $1 ORDER BY id",
        )
        .bind(normalise(email))
        .fetch_all(&self.pool)
        .await?;
        let mut touched = Touched::default();
        for r in rows {
            let case: String = r.try_get("case_number")?;
            touched.ids.push(r.try_get("id")?);
            touched.cases.push(
                case.parse()
                    .map_err(|_| StoreError::Corrupt("case number".into()))?,
            );
        }
        Ok(touched)
    }

    /// The inquiry of `case`, as the subject of a request about one case.
    pub async fn case_inquiries(&self, case: &CaseNumber) -> Result<Touched, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM inquiries WHERE case_number = $1")
            .bind(case.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map_or_else(Touched::default, |id| Touched {
            ids: vec![id],
            cases: vec![*case],
        }))
    }

    /// Everything stored about the sender `email` (Art. 15), as JSON; audited.
    pub async fn export_subject(&self, email: &str) -> Result<Value, StoreError> {
        let touched = self.subject_inquiries(email).await?;
        let subject = format!("subject:{}", subject_hash(email));
        self.export_touched(&touched, &subject, json!(normalise(email)))
            .await
    }

    /// Everything stored about one case (Art. 15, for a case without a sender address),
    /// as JSON; audited.
    pub async fn export_case(&self, case: &CaseNumber) -> Result<Value, StoreError> {
        let touched = self.case_inquiries(case).await?;
        self.export_touched(
            &touched,
            &format!("inquiry:{case}"),
            json!(case.to_string()),
        )
        .await
    }

    async fn export_touched(
        &self,
        touched: &Touched,
        audit_subject: &str,
        subject: Value,
    ) -> Result<Value, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tables = Map::new();
        tables.insert(
            "inquiries".into(),
            json!(
                self.rows_for(&mut conn, "inquiries", "id", &touched.ids)
                    .await?
            ),
        );
        for table in ["decisions", "jobs", "case_replies", "attachments"] {
            let rows = self
                .rows_for(&mut conn, table, "inquiry_id", &touched.ids)
                .await?;
            tables.insert(table.into(), json!(rows));
        }
        if self.has_table(&mut conn, TRAINING_TABLE).await? {
            let rows = self
                .rows_for(&mut conn, TRAINING_TABLE, "inquiry_id", &touched.ids)
                .await?;
            tables.insert(TRAINING_TABLE.into(), json!(rows));
        }
        drop(conn);
        let subjects: Vec<String> = touched
            .cases
            .iter()
            .flat_map(|c| [format!("inquiry:{c}"), c.to_string()])
            .collect();
        tables.insert(
            "audit_log".into(),
            json!(self.audit_entries_for(&subjects).await?),
        );
        self.append_audit(
            "dpo",
            "gdpr.export",
            audit_subject,
            &json!({"inquiries": touched.ids.len()}),
        )
        .await?;
        Ok(json!({
            "subject": subject,
            "exported_at": Utc::now().to_rfc3339(),
            "tables": tables,
        }))
    }

    /// Deletes one case with everything derived from it (Art. 17, for a case without a
    /// sender address); audited. Returns what was erased so the caller can remove vector
    /// points.
    pub async fn erase_case(&self, case: &CaseNumber) -> Result<Touched, StoreError> {
        let touched = self.case_inquiries(case).await?;
        let mut tx = self.begin_write().await?;
        audit::append_in(
            &mut tx,
            "dpo",
            "gdpr.erase",
            &format!("inquiry:{case}"),
            &json!({"inquiries": touched.ids.len(), "cases": [case.to_string()]}),
        )
        .await?;
        self.remove_inquiries(&mut tx, &touched.ids).await?;
        tx.commit().await?;
        Ok(touched)
    }

    /// Deletes everything stored about the sender `email` (Art. 17): their inquiries with
    /// decisions and jobs (cascade), embedding cache entries of their texts and training
    /// examples; audited. Returns what was erased so the caller can remove vector points.
    pub async fn erase_subject(&self, email: &str) -> Result<Touched, StoreError> {
        let touched = self.subject_inquiries(email).await?;
        let mut tx = self.begin_write().await?;
        // The audit append comes first: it takes the write lock before anything is read.
        audit::append_in(
            &mut tx,
            "dpo",
            "gdpr.erase",
            &format!("subject:{}", subject_hash(email)),
            &json!({
                "inquiries": touched.ids.len(),
                "cases": touched.cases.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
        )
        .await?;
        self.remove_inquiries(&mut tx, &touched.ids).await?;
        super::quarantine::erase_mail_from(&mut tx, &normalise(email)).await?;
        tx.commit().await?;
        Ok(touched)
    }

    /// Deletes inquiries with everything derived from them (cascade, cache, training).
    async fn remove_inquiries(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
    ) -> Result<(), StoreError> {
        self.forget_cached_texts(conn, ids).await?;
        if self.has_table(conn, TRAINING_TABLE).await? {
            Self::delete_where_in(conn, TRAINING_TABLE, "inquiry_id", ids).await?;
        }
        Self::delete_where_in(conn, "inquiries", "id", ids).await?;
        Ok(())
    }

    /// Removes cached embeddings of the original and the redacted texts of `ids`.
    async fn forget_cached_texts(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
    ) -> Result<(), StoreError> {
        let mut hashes = Vec::new();
        for row in self.rows_for(conn, "inquiries", "id", ids).await? {
            for field in ["text", "redacted_text"] {
                if let Some(t) = row[field].as_str() {
                    hashes.push(text_hash(t));
                }
            }
        }
        Self::delete_where_in(conn, "embedding_cache", "text_hash", &hashes).await?;
        Ok(())
    }

    /// Closed cases (routed or review) received before `anonymise_before` lose text, sender,
    /// place and redacted text; those received before `delete_before` are deleted. Audited.
    pub async fn apply_retention(
        &self,
        anonymise_before: DateTime<Utc>,
        delete_before: DateTime<Utc>,
    ) -> Result<RetentionReport, StoreError> {
        let closed = |before: DateTime<Utc>, extra: &'static str| {
            let pool = self.pool.clone();
            async move {
                let sql = format!(
                    "SELECT id, case_number FROM inquiries
                     WHERE status IN ('routed', 'review') AND received_at < $1 {extra} ORDER BY id"
                );
                let rows = sqlx::query(&sql)
                    .bind(before.to_rfc3339())
                    .fetch_all(&pool)
                    .await?;
                let mut t = Touched::default();
                for r in rows {
                    let case: String = r.try_get("case_number")?;
                    t.ids.push(r.try_get("id")?);
                    t.cases.push(
                        case.parse()
                            .map_err(|_| StoreError::Corrupt("case number".into()))?,
                    );
                }
                Ok::<_, StoreError>(t)
            }
        };
        let deleted = closed(delete_before, "").await?;
        let anonymised = closed(anonymise_before, "AND anonymised_at IS NULL").await?;
        let anonymised = Touched {
            ids: anonymised
                .ids
                .iter()
                .copied()
                .filter(|id| !deleted.ids.contains(id))
                .collect(),
            cases: anonymised
                .cases
                .into_iter()
                .filter(|c| !deleted.cases.contains(c))
                .collect(),
        };
        let mut tx = self.begin_write().await?;
        audit::append_in(
            &mut tx,
            "retention",
            "gdpr.retention",
            "inquiries",
            &json!({
                "anonymised": anonymised.cases.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "deleted": deleted.cases.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
        )
        .await?;
        self.remove_inquiries(&mut tx, &deleted.ids).await?;
        self.forget_cached_texts(&mut tx, &anonymised.ids).await?;
        let now = Utc::now().to_rfc3339();
        for id in &anonymised.ids {
            sqlx::query(
                "UPDATE inquiries SET text = '[anonymised]', sender = NULL, redacted_text = NULL,
                     location_lat = NULL, location_lon = NULL, location_address = NULL,
                     anonymised_at = $1 WHERE id = $2",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // Photos and letters show the citizen and their place as much as the text does.
            sqlx::query("DELETE FROM attachments WHERE inquiry_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // A clerk's answer quotes and addresses the citizen as much as their text does.
            sqlx::query("UPDATE case_replies SET text = '[anonymised]' WHERE inquiry_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let ended = super::webhooks::Ended {
                ending: "retention",
                merged_into: None,
            };
            self.enqueue_closed_in(&mut tx, *id, ended).await?;
        }
        tx.commit().await?;
        Ok(RetentionReport {
            anonymised,
            deleted,
        })
    }
}
