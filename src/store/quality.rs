//! What the quality page measures from real work: per inquiry received since a date, its
//! first decision (auto-routed or sent to review), whether a clerk later re-routed it, and
//! the department it is with now. Ids and service ids only; no text leaves the store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::Decision;

/// The router name of a clerk's decision (see `triage::review`).
const CLERK: &str = "clerk";

/// One inquiry as the quality figures see it.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRecord {
    pub received_at: DateTime<Utc>,
    /// The current department (id, name), once decided.
    pub department: Option<(String, String)>,
    /// The first decision routed it without a clerk.
    pub auto_routed: bool,
    /// The service of the first decision, once decided.
    pub first_service: Option<String>,
    /// The service a clerk re-routed it to, when one did (the latest clerk's word).
    pub rerouted_to: Option<String>,
}

impl Store {
    /// The inquiries received since `since`, oldest first.
    pub async fn quality_records(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<QualityRecord>, StoreError> {
        let since = since.to_rfc3339();
        let rows = sqlx::query(
            "SELECT id, received_at, decision FROM inquiries WHERE received_at >= $1 ORDER BY id",
        )
        .bind(&since)
        .fetch_all(&self.pool)
        .await?;
        let decisions = sqlx::query(
            "SELECT d.inquiry_id, d.router, d.service_id, d.status FROM decisions d
             JOIN inquiries i ON i.id = d.inquiry_id
             WHERE i.received_at >= $1 ORDER BY d.id",
        )
        .bind(&since)
        .fetch_all(&self.pool)
        .await?;
        // (first router, first service, first status, latest clerk service)
        let mut history: HashMap<i64, (String, String, String, Option<String>)> = HashMap::new();
        for d in decisions {
            let id: i64 = d.try_get("inquiry_id")?;
            let router: String = d.try_get("router")?;
            let service: String = d.try_get("service_id")?;
            let status: String = d.try_get("status")?;
            let entry = history
                .entry(id)
                .or_insert_with(|| (router.clone(), service.clone(), status, None));
            if router == CLERK {
                entry.3 = Some(service);
            }
        }
        let corrupt = |what: &str| StoreError::Corrupt(what.to_string());
        let mut records = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let received: String = r.try_get("received_at")?;
            let decision: Option<String> = r.try_get("decision")?;
            let decision: Option<Decision> = decision
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(|_| corrupt("decision"))?;
            let first = history.get(&id);
            let auto_routed =
                first.is_some_and(|(router, _, status, _)| router != CLERK && status == "routed");
            let first_service = first.map(|f| f.1.clone());
            let rerouted_to =
                first.and_then(|(_, service, _, clerk)| clerk.clone().filter(|c| c != service));
            records.push(QualityRecord {
                received_at: DateTime::parse_from_rfc3339(&received)
                    .map_err(|_| corrupt("received_at"))?
                    .with_timezone(&Utc),
                department: decision.map(|d| (d.department.id, d.department.name)),
                auto_routed,
                first_service,
                rerouted_to,
            });
        }
        Ok(records)
    }
}
