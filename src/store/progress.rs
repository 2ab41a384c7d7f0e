//! An inquiry's way through the pipeline as stored facts: its redacted text, and the
//! decision recorded together with its audit entry and the job's completion in one
//! transaction, so a job that is run twice (after a crash) decides the inquiry once.

use chrono::Utc;
use serde_json::json;

use super::{Job, Store, StoreError, StoredInquiry, audit, inquiry_from_row, insert_decision_in};
use crate::domain::{Decision, InquiryStatus};

/// What recording a triage result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageOutcome {
    /// The decision was recorded; the inquiry now has this status.
    Decided(InquiryStatus),
    /// An earlier run had decided it already; the job is done without a second decision.
    AlreadyDecided,
    /// The job's lease had expired and another worker holds it; nothing was written.
    LostLease,
}

impl Store {
    pub async fn inquiry_by_id(&self, id: i64) -> Result<Option<StoredInquiry>, StoreError> {
        let row = sqlx::query("SELECT * FROM inquiries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| inquiry_from_row(&r)).transpose()
    }

    /// The text the pipeline works on from here on; set before anything is embedded.
    pub async fn set_redacted_text(&self, inquiry_id: i64, text: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE inquiries SET redacted_text = $1 WHERE id = $2")
            .bind(text)
            .bind(inquiry_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the automatic decision of `inquiry` unless it is decided already, appends its
    /// audit entry and marks `job` done, all in one transaction. The status check and the
    /// update are one statement, so two workers cannot both decide.
    pub async fn finish_triage(
        &self,
        job: &Job,
        inquiry: &StoredInquiry,
        decision: &Decision,
    ) -> Result<TriageOutcome, StoreError> {
        let now = Utc::now().to_rfc3339();
        let status = InquiryStatus::from(decision.status);
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE inquiries SET status = $1, decision = $2, updated_at = $3
             WHERE id = $4 AND status = 'received'",
        )
        .bind(status.as_str())
        .bind(serde_json::to_string(decision).expect("decision serialises"))
        .bind(&now)
        .bind(inquiry.id)
        .execute(&mut *tx)
        .await?;
        let decided = updated.rows_affected() == 1;
        if decided {
            insert_decision_in(&mut tx, inquiry.id, decision, &now).await?;
            super::reach::set_reach_in(&mut tx, inquiry.id, decision).await?;
            let details = json!({
                "inquiry_id": inquiry.id,
                "job_id": job.id,
                "attempt": job.attempts,
                "service_id": decision.service.id,
                "department_id": decision.department.id,
                "confidence": decision.confidence,
                "status": status.as_str(),
                "router": decision.router,
                "model": decision.model,
            });
            audit::append_in(
                &mut tx,
                "pipeline",
                "decision.automatic",
                &format!("inquiry:{}", inquiry.case_number),
                &details,
            )
            .await?;
            self.enqueue_event_in(
                &mut tx,
                inquiry.id,
                super::webhooks::Event::Routed,
                Some(decision),
            )
            .await?;
        }
        if !Self::complete_job_in(&mut tx, job).await? {
            tx.rollback().await?;
            return Ok(TriageOutcome::LostLease);
        }
        tx.commit().await?;
        Ok(if decided {
            TriageOutcome::Decided(status)
        } else {
            TriageOutcome::AlreadyDecided
        })
    }
}
