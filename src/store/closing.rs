//! A clerk ends a case: spam, not an inquiry, merged into another case, closed. The new
//! status, its audit entry (on the case, and for a merge also on the case it went into)
//! and its `inquiry.closed` webhook events are written in one transaction, so the history
//! never misses a change.

use chrono::Utc;
use serde_json::{Value, json};

use super::{Store, StoreError, StoredInquiry, audit};
use crate::domain::{CaseNumber, InquiryStatus};

/// How a case ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Spam,
    NotInquiry,
    /// Into the case with this number.
    Merged {
        into: CaseNumber,
    },
    Closed {
        reason: Option<String>,
    },
}

impl Ending {
    pub fn status(&self) -> InquiryStatus {
        match self {
            Self::Spam => InquiryStatus::Spam,
            Self::NotInquiry => InquiryStatus::NotInquiry,
            Self::Merged { .. } => InquiryStatus::Merged,
            Self::Closed { .. } => InquiryStatus::Closed,
        }
    }

    /// The audit action on the ended case.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Spam => "case.spam",
            Self::NotInquiry => "case.not_inquiry",
            Self::Merged { .. } => "case.merge",
            Self::Closed { .. } => "case.close",
        }
    }
}

impl Store {
    /// Ends `inquiry` as `ending` says, audited with `actor`.
    pub async fn end_case(
        &self,
        inquiry: &StoredInquiry,
        ending: &Ending,
        actor: &str,
    ) -> Result<(), StoreError> {
        let case = inquiry.case_number.to_string();
        let mut tx = self.begin_write().await?;
        let details: Value = match ending {
            Ending::Merged { into } => json!({
                "from": inquiry.status.as_str(),
                "into": into.to_string(),
            }),
            Ending::Closed { reason: Some(r) } => {
                json!({"from": inquiry.status.as_str(), "reason": r})
            }
            _ => json!({"from": inquiry.status.as_str()}),
        };
        // The audit append comes first: it takes the write lock before anything is read.
        audit::append_in(&mut tx, actor, ending.action(), &case, &details).await?;
        if let Ending::Merged { into } = ending {
            audit::append_in(
                &mut tx,
                actor,
                "case.merged_from",
                &into.to_string(),
                &json!({"from": case}),
            )
            .await?;
        }
        sqlx::query("UPDATE inquiries SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(ending.status().as_str())
            .bind(Utc::now().to_rfc3339())
            .bind(inquiry.id)
            .execute(&mut *tx)
            .await?;
        let into = match ending {
            Ending::Merged { into } => Some(into.to_string()),
            _ => None,
        };
        let ended = super::webhooks::Ended {
            ending: ending.status().as_str(),
            merged_into: into.as_deref(),
        };
        self.enqueue_closed_in(&mut tx, inquiry.id, ended).await?;
        tx.commit().await?;
        Ok(())
    }
}
