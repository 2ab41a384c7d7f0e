//! Training data and model versions: labelled examples (imported or from clerk reviews,
//! always redacted text) and the numbered trained models, one of them active.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::{GeoPoint, location::coarse};

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingExample {
    pub text: String,
    pub service_id: String,
    /// The example's coarse place (a cell centre), if it had one.
    pub place: Option<GeoPoint>,
    /// When the label was given.
    pub labelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewExample<'a> {
    pub text: &'a str,
    pub service_id: &'a str,
    pub source: &'a str,
    pub inquiry_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The place the example is about; only its coarse cell is stored.
    pub place: Option<GeoPoint>,
    /// When the label was given, if not now (an import of dated history).
    pub at: Option<DateTime<Utc>>,
}

/// What a rollback did, or why there was nothing to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    RolledBack { from: i64, to: i64 },
    NoActiveVersion,
    ActiveIsOldest(i64),
}

impl Rollback {
    /// Why nothing was rolled back, for the caller to report.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Self::RolledBack { .. } => None,
            Self::NoActiveVersion => Some("no model version is active".into()),
            Self::ActiveIsOldest(v) => Some(format!("version {v} is the oldest")),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelVersion {
    pub version: i64,
    pub created_at: String,
    pub examples: i64,
    pub embedder: String,
    pub active: bool,
    pub metrics: serde_json::Value,
}

/// A decided inquiry as a new model version is compared on.
#[derive(Debug, Clone)]
pub struct RecentDecision {
    pub redacted_text: String,
    pub service_id: String,
    pub place: Option<GeoPoint>,
}

/// The source of examples from clerks' reviews.
const REVIEW: &str = "review";

impl Store {
    /// Stores labelled examples. A clerk's review replaces the earlier reviews of the same
    /// inquiry: a case teaches the model once, with its latest word, however often it is
    /// reviewed.
    pub async fn add_training_examples(
        &self,
        examples: &[NewExample<'_>],
    ) -> Result<(), StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        for e in examples {
            let cell = e.place.map(coarse);
            if let (REVIEW, Some(inquiry)) = (e.source, e.inquiry_id) {
                sqlx::query("DELETE FROM training_examples WHERE source = $1 AND inquiry_id = $2")
                    .bind(REVIEW)
                    .bind(inquiry)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO training_examples
                     (text, service_id, source, inquiry_id, actor, reason, created_at, cell_lat, cell_lon)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(e.text)
            .bind(e.service_id)
            .bind(e.source)
            .bind(e.inquiry_id)
            .bind(e.actor)
            .bind(e.reason)
            .bind(e.at.map_or_else(|| now.clone(), |at| at.to_rfc3339()))
            .bind(cell.map(|c| c.lat))
            .bind(cell.map(|c| c.lon))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` decided inquiries with their redacted text, current service and
    /// coarse place: what a new model version is compared on before it activates itself.
    pub async fn recent_decided(&self, limit: i64) -> Result<Vec<RecentDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT redacted_text, decision, location_lat, location_lon FROM inquiries
             WHERE decision IS NOT NULL AND redacted_text IS NOT NULL
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut recent = Vec::with_capacity(rows.len());
        for r in rows {
            let decision: String = r.try_get("decision")?;
            let decision: serde_json::Value = serde_json::from_str(&decision)
                .map_err(|_| StoreError::Corrupt("decision".into()))?;
            let Some(service_id) = decision["service"]["id"].as_str() else {
                continue;
            };
            let place = match (r.try_get("location_lat")?, r.try_get("location_lon")?) {
                (Some(lat), Some(lon)) => Some(coarse(GeoPoint { lat, lon })),
                _ => None,
            };
            recent.push(RecentDecision {
                redacted_text: r.try_get("redacted_text")?,
                service_id: service_id.to_string(),
                place,
            });
        }
        Ok(recent)
    }

    /// Deletes old inactive model versions: the active one, the one before it (the rollback
    /// target) and the newest `keep` stay. Returns how many were deleted.
    pub async fn prune_model_versions(&self, keep: usize) -> Result<usize, StoreError> {
        let versions = self.model_versions().await?;
        let active = versions.iter().find(|v| v.active).map(|v| v.version);
        let previous = active.and_then(|a| {
            versions
                .iter()
                .rev()
                .find(|v| v.version < a)
                .map(|v| v.version)
        });
        let newest: Vec<i64> = versions
            .iter()
            .rev()
            .take(keep)
            .map(|v| v.version)
            .collect();
        let mut removed = 0;
        for v in &versions {
            let kept = Some(v.version) == active
                || Some(v.version) == previous
                || newest.contains(&v.version);
            if !kept {
                removed += sqlx::query("DELETE FROM model_versions WHERE version = $1")
                    .bind(v.version)
                    .execute(&self.pool)
                    .await?
                    .rows_affected() as usize;
            }
        }
        Ok(removed)
    }

    pub async fn training_examples(&self) -> Result<Vec<TrainingExample>, StoreError> {
        let rows = sqlx::query(
            "SELECT text, service_id, cell_lat, cell_lon, created_at FROM training_examples ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TrainingExample {
                    text: r.try_get("text")?,
                    service_id: r.try_get("service_id")?,
                    place: match (r.try_get("cell_lat")?, r.try_get("cell_lon")?) {
                        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
                        _ => None,
                    },
                    labelled_at: r
                        .try_get::<String, _>("created_at")
                        .ok()
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc)),
                })
            })
            .collect()
    }

    /// Stores a trained model as the next version; activates it when asked.
    pub async fn save_model_version(
        &self,
        examples: usize,
        embedder: &str,
        metrics: &serde_json::Value,
        model: &[u8],
        activate: bool,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions")
                .fetch_one(&mut *tx)
                .await?;
        if activate {
            sqlx::query("UPDATE model_versions SET active = 0 WHERE active = 1")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO model_versions (version, created_at, examples, embedder, metrics, model, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(version)
        .bind(Utc::now().to_rfc3339())
        .bind(examples as i64)
        .bind(embedder)
        .bind(metrics.to_string())
        .bind(model)
        .bind(i32::from(activate))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn model_versions(&self) -> Result<Vec<ModelVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, created_at, examples, embedder, metrics, active FROM model_versions ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let metrics: String = r.try_get("metrics")?;
                let active: i32 = r.try_get("active")?;
                Ok(ModelVersion {
                    version: r.try_get("version")?,
                    created_at: r.try_get("created_at")?,
                    examples: r.try_get("examples")?,
                    embedder: r.try_get("embedder")?,
                    active: active == 1,
                    metrics: serde_json::from_str(&metrics)
                        .map_err(|_| StoreError::Corrupt("model metrics".into()))?,
                })
            })
            .collect()
    }

    /// The active version and its serialised model, if any.
    pub async fn active_model(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT version, model FROM model_versions WHERE active = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("model")?)))
            .transpose()
    }

    /// The number of the active version, without loading it.
    pub async fn active_model_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM model_versions WHERE active = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Activates the version before the active one.
    pub async fn rollback_model(&self) -> Result<Rollback, StoreError> {
        let versions = self.model_versions().await?;
        let Some(active) = versions.iter().find(|v| v.active) else {
            return Ok(Rollback::NoActiveVersion);
        };
        let Some(previous) = versions.iter().rev().find(|v| v.version < active.version) else {
            return Ok(Rollback::ActiveIsOldest(active.version));
        };
        self.activate_model(previous.version).await?;
        Ok(Rollback::RolledBack {
            from: active.version,
            to: previous.version,
        })
    }

    /// Makes `version` the active one; false when it does not exist.
    pub async fn activate_model(&self, version: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT version FROM model_versions WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE model_versions SET active = CASE WHEN version = $1 THEN 1 ELSE 0 END")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
