//! `POST /api/v1/inquiries/{case}/review`: a clerk accepts or re-routes a decision. The
//! clerk's word becomes the current decision and a training example; retraining is
//! scheduled in the background. The audit log names the authenticated caller; an `actor`
//! in the body is accepted for old clients and ignored.

use axum::{Json, extract::State, response::IntoResponse};
use serde_json::json;

use crate::{
    domain::Decision,
    store::StoredInquiry,
    triage::review::{self, Review, ReviewError},
    web::{
        ApiError, AppState,
        auth::{Caller, Identity},
        extract::{ApiJson, ApiPath},
    },
};

pub(super) async fn review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(case): ApiPath<String>,
    ApiJson(body): ApiJson<Review>,
) -> Result<impl IntoResponse, ApiError> {
    let (case, inquiry) = state.inquiry_for(&caller, &case).await?;
    let decision = apply(&state, &caller, &inquiry, &body).await?;
    Ok(Json(
        json!({"case_number": case, "status": "routed", "decision": decision, "retraining": "scheduled"}),
    ))
}

/// Applies a clerk's review and schedules retraining. The review endpoint and the case
/// page share it.
pub(in crate::web) async fn apply(
    state: &AppState,
    caller: &Identity,
    inquiry: &StoredInquiry,
    body: &Review,
) -> Result<Decision, ApiError> {
    let ready = state.ready()?;
    let decision = review::apply(&state.store, &ready.catalogue, inquiry, body, &caller.actor)
        .await
        .map_err(|e| match e {
            ReviewError::NotDecided => ApiError::Conflict(e.to_string()),
            ReviewError::MissingService | ReviewError::UnknownService(_) => {
                ApiError::InvalidField(e.to_string())
            }
            ReviewError::Store(s) => s.into(),
        })?;
    ready.models.schedule_retrain();
    Ok(decision)
}
