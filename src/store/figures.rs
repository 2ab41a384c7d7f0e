//! Counts the monitoring reads from the store at each scrape (`/metrics`): jobs and outbox
//! mails by state, inquiries by status, the automatic decisions and how many of them clerks
//! re-routed, the active model and catalogue versions. Counts and labels only, never a case.

use sqlx::Row;

use super::{Store, StoreError};

/// One count with its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub labels: Vec<String>,
    pub count: i64,
}

/// What the store holds, as the gauges of `/metrics` show it.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// `[kind, state]` of the job queue.
    pub jobs: Vec<Count>,
    /// `[state]` of the outbox.
    pub outbox: Vec<Count>,
    /// `[status]` of the inquiries.
    pub inquiries: Vec<Count>,
    /// `[status]` (`routed` or `review`) of the automatic decisions.
    pub automatic_decisions: Vec<Count>,
    /// Inquiries the pipeline routed on its own.
    pub auto_routed: i64,
    /// Of those, the ones a clerk then re-routed to another service: the live misroutes.
    pub auto_routed_rerouted: i64,
    pub active_model_version: Option<i64>,
    pub catalogue_version: Option<i64>,
}

impl Store {
    pub async fn figures(&self) -> Result<Figures, StoreError> {
        Ok(Figures {
            jobs: self
                .counts(
                    "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state",
                    2,
                )
                .await?,
            outbox: self
                .counts("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state", 1)
                .await?,
            inquiries: self
                .counts(
                    "SELECT status, COUNT(*) AS n FROM inquiries GROUP BY status",
                    1,
                )
                .await?,
            automatic_decisions: self
                .counts(
                    "SELECT status, COUNT(*) AS n FROM decisions WHERE router <> 'clerk'
                     GROUP BY status",
                    1,
                )
                .await?,
            auto_routed: sqlx::query_scalar(
                "SELECT COUNT(DISTINCT inquiry_id) FROM decisions
                 WHERE router <> 'clerk' AND status = 'routed'",
            )
            .fetch_one(&self.pool)
            .await?,
            auto_routed_rerouted: sqlx::query_scalar(
                "SELECT COUNT(DISTINCT a.inquiry_id) FROM decisions a
                 JOIN decisions c ON c.inquiry_id = a.inquiry_id AND c.id > a.id
                 WHERE a.router <> 'clerk' AND a.status = 'routed'
                   AND c.router = 'clerk' AND c.service_id <> a.service_id",
            )
            .fetch_one(&self.pool)
            .await?,
            active_model_version: self.active_model_version().await?,
            catalogue_version: self.latest_catalogue_version().await?,
        })
    }

    /// Rows of `labels` text columns followed by the count `n`.
    async fn counts(&self, sql: &str, labels: usize) -> Result<Vec<Count>, StoreError> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Count {
                    labels: (0..labels)
                        .map(|i| r.try_get::<String, _>(i))
                        .collect::<Result<_, _>>()?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }
}
