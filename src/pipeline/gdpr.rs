//! GDPR operations that span the database and the vector index: the scheduled retention
//! job and erasure of one sender (Art. 17). Points of past cases live in the `cases`
//! collection, named by inquiry id or case number; the collection may not exist yet.

use chrono::{Duration, Utc};

use super::PipelineError;
use crate::{
    config::RetentionConfig,
    domain::CaseNumber,
    index::{IndexError, VectorIndex},
    store::{Job, Store, gdpr::Touched},
};

/// The vector collection of past cases (similar-cases list).
pub const CASES_COLLECTION: &str = "cases";

/// Applies the retention rules and marks the job done.
pub async fn retention(
    store: &Store,
    index: &dyn VectorIndex,
    rules: &RetentionConfig,
    job: &Job,
) -> Result<(), PipelineError> {
    let now = Utc::now();
    let report = store
        .apply_retention(
            now - Duration::days(i64::from(rules.anonymise_after_days)),
            now - Duration::days(i64::from(rules.delete_after_days)),
        )
        .await?;
    forget_points(index, &report.anonymised).await?;
    forget_points(index, &report.deleted).await?;
    store.complete_job(job).await?;
    tracing::info!(
        anonymised = report.anonymised.ids.len(),
        deleted = report.deleted.ids.len(),
        "retention applied"
    );
    Ok(())
}

/// Erases everything about the sender `email`: vector points first (idempotent, so a
/// failure leaves the database intact for another try), then the database rows.
pub async fn erase(
    store: &Store,
    index: &dyn VectorIndex,
    email: &str,
) -> Result<Touched, PipelineError> {
    forget_points(index, &store.subject_inquiries(email).await?).await?;
    Ok(store.erase_subject(email).await?)
}

/// Erases one case (a case without a sender address): vector points first, then the rows.
pub async fn erase_case(
    store: &Store,
    index: &dyn VectorIndex,
    case: &CaseNumber,
) -> Result<Touched, PipelineError> {
    forget_points(index, &store.case_inquiries(case).await?).await?;
    Ok(store.erase_case(case).await?)
}

async fn forget_points(index: &dyn VectorIndex, touched: &Touched) -> Result<(), IndexError> {
    if touched.ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = touched
        .ids
        .iter()
        .map(ToString::to_string)
        .chain(touched.cases.iter().map(ToString::to_string))
        .collect();
    match index.delete(CASES_COLLECTION, &ids).await {
        Ok(()) | Err(IndexError::NoCollection(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
