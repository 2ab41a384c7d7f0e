//! `GET /api/v1/inquiries`: the inbox query — inquiries newest first, filtered by status
//! and department, paged by case number, and for a clerk only those in reach of their
//! departments (the store's `inquiry_departments`, kept from the same rule as single
//! lookups). Items carry the decision's summary, not the text.

use axum::{Json, extract::State, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    domain::{CaseNumber, Channel, InquiryStatus},
    store::{InquiryQuery, StoredInquiry},
    web::{ApiError, AppState, auth::Caller, extract::ApiQuery},
};

/// Most inquiries listed at once.
const MAX_LISTED: i64 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InboxQuery {
    status: Option<String>,
    department: Option<String>,
    /// The last case number of the previous page.
    before: Option<String>,
    limit: Option<i64>,
}

/// One line of the inbox.
#[derive(Serialize)]
struct InboxItem<'a> {
    case_number: CaseNumber,
    received_at: DateTime<Utc>,
    channel: Channel,
    status: InquiryStatus,
    service: Option<&'a str>,
    department: Option<&'a str>,
    confidence: Option<f32>,
}

impl<'a> From<&'a StoredInquiry> for InboxItem<'a> {
    fn from(i: &'a StoredInquiry) -> Self {
        let d = i.decision.as_ref();
        Self {
            case_number: i.case_number,
            received_at: i.received_at,
            channel: i.channel,
            status: i.status,
            service: d.map(|d| d.service.id.as_str()),
            department: d.map(|d| d.department.id.as_str()),
            confidence: d.map(|d| d.confidence),
        }
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(InquiryStatus::parse(s).ok_or_else(|| {
            ApiError::InvalidField(format!(
                "status '{s}' is unknown; use received, routed, review or failed"
            ))
        })?),
    };
    let before = q
        .before
        .map(|c| c.parse::<CaseNumber>())
        .transpose()
        .map_err(|e| ApiError::InvalidField(e.to_string()))?;
    let query = InquiryQuery {
        reach: (!caller.is_admin()).then(|| caller.departments.clone()),
        department: q.department,
        status,
        before,
        limit: q.limit.unwrap_or(50).clamp(1, MAX_LISTED),
        ..InquiryQuery::default()
    };
    let inquiries = state.store.inquiries(&query).await?;
    let items: Vec<InboxItem> = inquiries.iter().map(InboxItem::from).collect();
    Ok(Json(json!({ "inquiries": items })))
}
