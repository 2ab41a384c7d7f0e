//! Clerk review and model administration: `POST /api/v1/inquiries/{case}/review` records a
//! clerk's decision and schedules retraining; `/api/v1/admin/models` lists, trains,
//! activates and rolls back the numbered model versions and shows their quality figures.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    response::IntoResponse,
    routing::{get, post},
};
use serde_json::json;

use super::{ApiError, AppState, json::ApiJson};
use crate::{
    app::Engine,
    domain::CaseNumber,
    store::Rollback,
    triage::review::{self, Review, ReviewError},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inquiries/{case}/review", post(review))
        .route("/admin/models", get(list))
        .route("/admin/models/train", post(train))
        .route("/admin/models/rollback", post(rollback))
        .route("/admin/models/{version}", get(show))
        .route("/admin/models/{version}/activate", post(activate))
}

fn engine(state: &AppState) -> Result<Arc<Engine>, ApiError> {
    state.engine.get().cloned().ok_or(ApiError::NotReady)
}

async fn review(
    State(state): State<AppState>,
    Path(case): Path<String>,
    ApiJson(body): ApiJson<Review>,
) -> Result<impl IntoResponse, ApiError> {
    let engine = engine(&state)?;
    let case: CaseNumber = case
        .parse()
        .map_err(|e: crate::domain::case::InvalidCaseNumber| ApiError::NotFound(e.to_string()))?;
    let inquiry = state
        .store
        .inquiry(&case)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no inquiry {case}")))?;
    let decision = review::apply(&state.store, engine.router.catalogue(), &inquiry, &body)
        .await
        .map_err(|e| match e {
            ReviewError::NotDecided => ApiError::Conflict(e.to_string()),
            ReviewError::MissingService | ReviewError::UnknownService(_) => {
                ApiError::InvalidField(e.to_string())
            }
            ReviewError::Store(s) => s.into(),
        })?;
    engine.schedule_retrain(state.store.clone());
    Ok(Json(
        json!({"case_number": case, "status": "routed", "decision": decision, "retraining": "scheduled"}),
    ))
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({"versions": state.store.model_versions().await?}),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(version): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let v = state
        .store
        .model_versions()
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ApiError::NotFound(format!("no model version {version}")))?;
    Ok(Json(v))
}

/// Trains a new version now (activated once enough labelled inquiries exist). Training
/// runs on a blocking thread, so the service keeps answering while this request waits.
async fn train(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let engine = engine(&state)?;
    let trained = engine.retrain(&state.store).await?;
    Ok(Json(json!({
        "version": trained.version,
        "seconds": trained.seconds,
        "labelled_examples": trained.labelled,
        "active": trained.active,
    })))
}

async fn activate(
    State(state): State<AppState>,
    Path(version): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let engine = engine(&state)?;
    if !engine.activate(&state.store, version).await? {
        return Err(ApiError::NotFound(format!("no model version {version}")));
    }
    Ok(Json(json!({"version": version, "active": true})))
}

/// Activates the version before the active one.
async fn rollback(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let engine = engine(&state)?;
    match state.store.rollback_model().await? {
        Rollback::RolledBack { from, to } => {
            engine.reload(&state.store).await?;
            Ok(Json(
                json!({"version": to, "active": true, "rolled_back_from": from}),
            ))
        }
        refused => Err(ApiError::Conflict(refused.refusal().unwrap_or_default())),
    }
}
