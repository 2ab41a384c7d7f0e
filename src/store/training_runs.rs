//! Trainings started from the admin console, so its status line knows whether one is
//! running (on any node) and how the last one ended. A run not finished within
//! [`STALE_AFTER_MINUTES`] counts as ended (its process went away).

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Store, StoreError};

/// A run older than this without an end is taken as abandoned.
pub const STALE_AFTER_MINUTES: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRun {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub actor: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub version: Option<i64>,
    pub seconds: Option<f64>,
    /// What went wrong, without personal data.
    pub error: Option<String>,
}

impl TrainingRun {
    pub fn running(&self, now: DateTime<Utc>) -> bool {
        self.finished_at.is_none() && now - self.started_at < Duration::minutes(STALE_AFTER_MINUTES)
    }
}

fn time(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| StoreError::Corrupt("training run time".into()))
    })
    .transpose()
}

impl Store {
    /// Records the start of a training; `None` when one is still running.
    pub async fn start_training_run(&self, actor: &str) -> Result<Option<i64>, StoreError> {
        if self
            .latest_training_run()
            .await?
            .is_some_and(|r| r.running(Utc::now()))
        {
            return Ok(None);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO training_runs (started_at, actor) VALUES ($1, $2) RETURNING id",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(actor)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(id))
    }

    /// Records how a training ended: its version and duration, or the error.
    pub async fn finish_training_run(
        &self,
        id: i64,
        outcome: Result<(i64, f64), String>,
    ) -> Result<(), StoreError> {
        let (version, seconds, error) = match outcome {
            Ok((v, s)) => (Some(v), Some(s), None),
            Err(e) => (None, None, Some(e)),
        };
        sqlx::query(
            "UPDATE training_runs SET finished_at = $1, version = $2, seconds = $3, error = $4
             WHERE id = $5",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(version)
        .bind(seconds)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recently started training.
    pub async fn latest_training_run(&self) -> Result<Option<TrainingRun>, StoreError> {
        let row = sqlx::query(
            "SELECT id, started_at, actor, finished_at, version, seconds, error
             FROM training_runs ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(TrainingRun {
                id: r.try_get("id")?,
                started_at: time(Some(r.try_get("started_at")?))?
                    .ok_or_else(|| StoreError::Corrupt("training run start".into()))?,
                actor: r.try_get("actor")?,
                finished_at: time(r.try_get("finished_at")?)?,
                version: r.try_get("version")?,
                seconds: r.try_get("seconds")?,
                error: r.try_get("error")?,
            })
        })
        .transpose()
    }
}
