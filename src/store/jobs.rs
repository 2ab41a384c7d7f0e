//! The job queue behind the durable pipeline (table `jobs`). A job is claimed with a lease
//! (`locked_until`); a worker that dies leaves its lease to expire and the job is claimed
//! again, which is how a killed process's work is recovered. Failures go back to the queue
//! with exponential backoff until `max_attempts`, then to `dead`, where an admin can see and
//! retry them. PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so several processes share
//! the queue; SQLite claims in one write statement, which its single writer serialises.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Redact, route and record the decision of one inquiry.
    Triage,
    /// Apply the GDPR retention rules (scheduled, no inquiry).
    Retention,
    /// Deliver one event of an inquiry to one webhook subscription (`webhooks`).
    Webhook,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Retention => "retention",
            Self::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        [Self::Triage, Self::Retention, Self::Webhook]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job kind '{s}'")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Dead]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A row of the job queue: ids, counters and times, no personal data.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub inquiry_id: Option<i64>,
    pub state: JobState,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Milliseconds since the epoch.
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    /// What a webhook job delivers (`store::webhooks::EventPayload` as JSON).
    pub payload: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Queues a job inside the caller's transaction, so it commits with what it refers to.
pub(crate) async fn enqueue_in(
    conn: &mut AnyConnection,
    kind: JobKind,
    inquiry_id: Option<i64>,
    max_attempts: i64,
    run_at: i64,
) -> Result<(), StoreError> {
    let now = Utc::now().to_rfc3339();
    // A scheduled job that is already pending (unique index) is not queued twice.
    sqlx::query(
        "INSERT INTO jobs (kind, inquiry_id, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(inquiry_id)
    .bind(max_attempts)
    .bind(run_at)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Delay before attempt `attempts + 1`: `base · 2^(attempts-1)`, at most `cap`. Shared by
/// the job queue and the outbox.
pub fn backoff(base: Duration, attempts: i64, cap: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.pow(exp)).min(cap)
}

/// Longest wait between two attempts of a pipeline job.
pub const MAX_JOB_BACKOFF: Duration = Duration::from_secs(3600);

impl Store {
    /// Triage jobs waiting (also in backoff) or running: the backlog `pipeline.max_queued`
    /// bounds.
    pub async fn triage_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND kind = 'triage'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Queues a scheduled job (no inquiry) unless one of that kind is already pending.
    pub async fn schedule_job(&self, kind: JobKind, run_at: i64) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        enqueue_in(&mut conn, kind, None, self.max_attempts, run_at).await
    }

    /// Takes the next due job (or one whose lease expired) for `worker` until `lease` ends.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let now = self.clock.now_ms();
        let until = now + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let lock = self.backend.skip_locked();
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1,
                 locked_until = $2, updated_at = $3
             WHERE id = (SELECT id FROM jobs
                         WHERE (state = 'queued' AND run_at <= $4)
                            OR (state = 'running' AND locked_until < $4)
                         ORDER BY run_at, id LIMIT 1 {lock})
             RETURNING *"
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(until)
            .bind(self.clock.now().to_rfc3339())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| job_from_row(&r)).transpose()
    }

    /// Extends the lease of a running job that `job.locked_by` still holds; false when it
    /// no longer does (its lease expired and another worker took it).
    pub async fn renew_job(&self, job: &Job, lease: Duration) -> Result<bool, StoreError> {
        let until = self.clock.now_ms() + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let renewed = sqlx::query(
            "UPDATE jobs SET locked_until = $1
             WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(until)
        .bind(job.id)
        .bind(&job.locked_by)
        .bind(job.attempts)
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Runs `step` for a claimed `job`, renewing its lease every third of `lease` (by the
    /// store's clock) until the step ends, so a slow step (a busy model, a long retention
    /// run) is not taken over by another worker while its own worker is alive. A worker that
    /// dies stops renewing and the job is claimed again once the lease runs out.
    pub async fn holding_lease<T>(
        &self,
        job: &Job,
        lease: Duration,
        step: impl std::future::Future<Output = T>,
    ) -> T {
        let period = i64::try_from((lease / 3).as_millis()).unwrap_or(i64::MAX / 4);
        // Read before `step` first runs: the first renewal is due a third of the lease after
        // the step starts, however late the renewal below is first polled.
        let mut next = self.clock.now_ms().saturating_add(period);
        let renew = async {
            loop {
                self.clock.sleep_until(next).await;
                next = self.clock.now_ms().saturating_add(period);
                match self.renew_job(job, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job.id, "lost the lease of a running job");
                        break;
                    }
                    Err(e) => tracing::warn!(job = job.id, error = %e, "renewing a lease failed"),
                }
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            out = step => out,
            _ = renew => unreachable!("renewal never ends by itself"),
        }
    }

    /// Marks a job done inside the caller's transaction. False when `worker` no longer holds
    /// it (its lease expired and another worker took it): the caller must roll back.
    pub(crate) async fn complete_job_in(
        conn: &mut AnyConnection,
        job: &Job,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_until = NULL, last_error = NULL, updated_at = $1
             WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(job.id)
        .bind(&job.locked_by)
        .bind(job.attempts)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn complete_job(&self, job: &Job) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Self::complete_job_in(&mut conn, job).await
    }

    /// Records a failed attempt: back to the queue after `backoff`, or `dead` once the job
    /// has used its attempts. `error` must not contain personal data.
    pub async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        backoff: Duration,
    ) -> Result<JobState, StoreError> {
        let state = if job.attempts >= job.max_attempts {
            JobState::Dead
        } else {
            JobState::Queued
        };
        let run_at =
            self.clock.now_ms() + i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX / 2);
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, locked_until = NULL, last_error = $3,
                 updated_at = $4
             WHERE id = $5 AND state = 'running' AND locked_by = $6 AND attempts = $7",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(error.chars().take(500).collect::<String>())
        .bind(self.clock.now().to_rfc3339())
        .bind(job.id)
        .bind(&job.locked_by)
        .bind(job.attempts)
        .execute(&self.pool)
        .await?;
        Ok(state)
    }

    /// Jobs in `state` (all when `None`), newest first.
    pub async fn jobs(&self, state: Option<JobState>, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM jobs WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(state.map(JobState::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Puts a dead job back into the queue with fresh attempts; `None` if there is no such
    /// job, `Some(false)` if it is not dead.
    pub async fn retry_job(&self, id: i64) -> Result<Option<bool>, StoreError> {
        let retried = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $2
             WHERE id = $3 AND state = 'dead'",
        )
        .bind(self.clock.now_ms())
        .bind(self.clock.now().to_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.retried_or_missing("jobs", id, retried.rows_affected())
            .await
    }

    /// What a retry of row `id` of `table` (jobs or outbox) came to, given the rows it
    /// changed: `Some(true)` retried, `Some(false)` there but not dead, `None` no such row.
    pub(super) async fn retried_or_missing(
        &self,
        table: &str,
        id: i64,
        changed: u64,
    ) -> Result<Option<bool>, StoreError> {
        if changed == 1 {
            return Ok(Some(true));
        }
        let exists: Option<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(exists.map(|_| false))
    }
}

fn job_from_row(r: &AnyRow) -> Result<Job, StoreError> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: JobKind::parse(&kind)?,
        inquiry_id: r.try_get("inquiry_id")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state '{state}'")))?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: r.try_get("run_at")?,
        locked_until: r.try_get("locked_until")?,
        locked_by: r.try_get("locked_by")?,
        last_error: r.try_get("last_error")?,
        payload: r.try_get("payload")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}
