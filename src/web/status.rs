//! The citizen's view of their own case, opened by the case number and the secret from the
//! acknowledgement (`GET /api/v1/status/{case}?token=…`): status, responsible department
//! and the clerks' answers — never the text, the sender, other cases or the evidence. The
//! confirmation link from the confirmation request lives beside it. An unknown case and a
//! wrong secret answer the same 404 after the same work; both routes are rate limited per
//! client.

use axum::{Json, extract::State, http::Method, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    ApiError, AppState, Route,
    auth::Limit,
    extract::{ApiPath, ApiQuery},
};
use crate::{
    domain::{CaseNumber, InquiryStatus},
    store::{CaseReply, SecretPurpose, StoredInquiry},
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::GET, "/api/v1/status/{case}", status).limited(Limit::Status),
        Route::public(Method::GET, "/api/v1/status/{case}/confirm", confirm).limited(Limit::Status),
    ]
}

/// A department as citizens see it.
#[derive(Serialize)]
pub(super) struct PublicDepartment<'a> {
    id: &'a str,
    name: &'a str,
}

/// The department an inquiry is with, once decided.
pub(super) fn department(i: &StoredInquiry) -> Option<PublicDepartment<'_>> {
    i.decision.as_ref().map(|d| PublicDepartment {
        id: &d.department.id,
        name: &d.department.name,
    })
}

#[derive(Serialize)]
struct CaseStatus<'a> {
    case_number: CaseNumber,
    status: InquiryStatus,
    received_at: DateTime<Utc>,
    department: Option<PublicDepartment<'a>>,
    replies: Vec<CaseReply>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Secret {
    #[serde(default)]
    token: String,
}

/// The inquiry `case` and `token` open for `purpose`, or the one 404 for every failure.
pub(in crate::web) async fn open(
    state: &AppState,
    case: &str,
    purpose: SecretPurpose,
    token: &str,
) -> Result<StoredInquiry, ApiError> {
    let not_found = || ApiError::NotFound("no case with this number and secret".into());
    let case: CaseNumber = case.parse().map_err(|_| not_found())?;
    state
        .store
        .case_opened_by(&case, purpose, token)
        .await?
        .ok_or_else(not_found)
}

async fn status(
    State(state): State<AppState>,
    ApiPath(case): ApiPath<String>,
    ApiQuery(secret): ApiQuery<Secret>,
) -> Result<impl IntoResponse, ApiError> {
    let inquiry = open(&state, &case, SecretPurpose::Status, &secret.token).await?;
    let replies = state.store.case_replies(inquiry.id).await?;
    Ok(Json(CaseStatus {
        case_number: inquiry.case_number,
        status: inquiry.status,
        received_at: inquiry.received_at,
        department: department(&inquiry),
        replies,
    })
    .into_response())
}

/// The link of the confirmation request: mail may go to the case's address from now on.
async fn confirm(
    State(state): State<AppState>,
    ApiPath(case): ApiPath<String>,
    ApiQuery(secret): ApiQuery<Secret>,
) -> Result<impl IntoResponse, ApiError> {
    let inquiry = open(&state, &case, SecretPurpose::Confirm, &secret.token).await?;
    if !inquiry.contact_confirmed {
        state.store.confirm_contact(inquiry.id).await?;
        let subject = inquiry.case_number.to_string();
        state
            .store
            .append_audit("citizen", "contact.confirm", &subject, &json!({}))
            .await?;
    }
    Ok(Json(
        json!({"case_number": inquiry.case_number, "contact_confirmed": true}),
    ))
}
