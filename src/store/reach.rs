//! Which departments reach an inquiry (table `inquiry_departments`), rewritten in the same
//! transaction as every decision from `Decision::departments_in_reach`, and the inbox
//! queries that list inquiries within a caller's departments.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::{Store, StoreError, StoredInquiry, inquiry_from_row};
use crate::domain::{CaseNumber, Decision, InquiryStatus};

/// Replaces the departments reaching `inquiry_id` with those of `decision`.
pub(super) async fn set_reach_in(
    conn: &mut AnyConnection,
    inquiry_id: i64,
    decision: &Decision,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM inquiry_departments WHERE inquiry_id = $1")
        .bind(inquiry_id)
        .execute(&mut *conn)
        .await?;
    for department in decision.departments_in_reach() {
        sqlx::query("INSERT INTO inquiry_departments (inquiry_id, department) VALUES ($1, $2)")
            .bind(inquiry_id)
            .bind(department)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// An inbox query: newest first, within `reach` (a clerk's departments; `None`: all).
#[derive(Debug, Clone, Default)]
pub struct InquiryQuery {
    pub reach: Option<Vec<String>>,
    pub department: Option<String>,
    pub status: Option<InquiryStatus>,
    /// Only inquiries older than this case (the last one of the previous page).
    pub before: Option<CaseNumber>,
    /// Any of these statuses (empty: any).
    pub statuses: Vec<InquiryStatus>,
    /// Only these cases (empty: any).
    pub cases: Vec<CaseNumber>,
    /// Whose current decision names this service.
    pub service: Option<String>,
    /// Received at or after this time.
    pub received_from: Option<DateTime<Utc>>,
    /// Received at or before this time.
    pub received_until: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// Adds a bound value and returns its placeholder.
fn param(value: String, params: &mut Vec<String>) -> String {
    params.push(value);
    format!("${}", params.len())
}

impl Store {
    pub async fn inquiries(&self, q: &InquiryQuery) -> Result<Vec<StoredInquiry>, StoreError> {
        let mut conditions = Vec::new();
        let mut params: Vec<String> = Vec::new();
        if let Some(reach) = &q.reach {
            if reach.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = reach
                .iter()
                .map(|d| param(d.clone(), &mut params))
                .collect();
            conditions.push(format!(
                "id IN (SELECT inquiry_id FROM inquiry_departments WHERE department IN ({}))",
                list.join(", ")
            ));
        }
        if let Some(d) = &q.department {
            let p = param(d.clone(), &mut params);
            conditions.push(format!(
                "id IN (SELECT inquiry_id FROM inquiry_departments WHERE department = {p})"
            ));
        }
        if let Some(s) = q.status {
            let p = param(s.as_str().to_string(), &mut params);
            conditions.push(format!("status = {p}"));
        }
        if let Some(c) = q.before {
            let p = param(c.to_string(), &mut params);
            conditions.push(format!(
                "id < (SELECT id FROM inquiries WHERE case_number = {p})"
            ));
        }
        if !q.statuses.is_empty() {
            let list: Vec<String> = q
                .statuses
                .iter()
                .map(|s| param(s.as_str().to_string(), &mut params))
                .collect();
            conditions.push(format!("status IN ({})", list.join(", ")));
        }
        if !q.cases.is_empty() {
            let list: Vec<String> = q
                .cases
                .iter()
                .map(|c| param(c.to_string(), &mut params))
                .collect();
            conditions.push(format!("case_number IN ({})", list.join(", ")));
        }
        if let Some(service) = &q.service {
            // The current decision is the newest of the inquiry's history.
            let p = param(service.clone(), &mut params);
            conditions.push(format!(
                "id IN (SELECT d.inquiry_id FROM decisions d WHERE d.service_id = {p} \
                 AND d.id = (SELECT MAX(e.id) FROM decisions e WHERE e.inquiry_id = d.inquiry_id))"
            ));
        }
        // Stored as RFC 3339 in UTC, so text order is time order.
        if let Some(from) = q.received_from {
            let p = param(from.to_rfc3339(), &mut params);
            conditions.push(format!("received_at >= {p}"));
        }
        if let Some(until) = q.received_until {
            let p = param(until.to_rfc3339(), &mut params);
            conditions.push(format!("received_at <= {p}"));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT * FROM inquiries {filter} ORDER BY id DESC LIMIT {}",
            q.limit.max(1)
        );
        let mut query = sqlx::query(&sql);
        for p in &params {
            query = query.bind(p.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(inquiry_from_row)
            .collect()
    }
}
