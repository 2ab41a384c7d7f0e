//! `/api/v1/admin/models`: the numbered model versions with their quality figures; training
//! a new one, activating one and rolling back to the one before.

use axum::{Json, extract::State, http::Method, response::IntoResponse};
use serde::Serialize;
use serde_json::json;

use super::{
    ApiError, AppState, Route,
    auth::{Caller, Identity},
    extract::ApiPath,
};
use crate::{
    store::{ModelVersion, Rollback},
    triage::training::Trained,
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::admin(Method::GET, "/api/v1/admin/models", list),
        Route::admin(Method::POST, "/api/v1/admin/models/train", train),
        Route::admin(Method::POST, "/api/v1/admin/models/rollback", rollback),
        Route::admin(Method::GET, "/api/v1/admin/models/{version}", show),
        Route::admin(
            Method::POST,
            "/api/v1/admin/models/{version}/activate",
            activate,
        ),
    ]
}

/// A model version as the API shows it, with its cross-validation figures.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct VersionView {
    version: i64,
    created_at: String,
    examples: i64,
    embedder: String,
    active: bool,
    metrics: serde_json::Value,
}

impl From<ModelVersion> for VersionView {
    fn from(v: ModelVersion) -> Self {
        Self {
            version: v.version,
            created_at: v.created_at,
            examples: v.examples,
            embedder: v.embedder,
            active: v.active,
            metrics: v.metrics,
        }
    }
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let versions: Vec<VersionView> = state
        .store
        .model_versions()
        .await?
        .into_iter()
        .map(VersionView::from)
        .collect();
    Ok(Json(json!({ "versions": versions })))
}

async fn show(
    State(state): State<AppState>,
    ApiPath(version): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let v = state
        .store
        .model_versions()
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ApiError::NotFound(format!("no model version {version}")))?;
    Ok(Json(VersionView::from(v)))
}

/// Trains a new version now (activated once enough labelled inquiries exist). Training
/// runs on a blocking thread, so the service keeps answering while this request waits.
async fn train(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let trained = train_now(&state, &caller).await?;
    Ok(Json(json!({
        "version": trained.version,
        "seconds": trained.seconds,
        "labelled_examples": trained.labelled,
        "active": trained.active,
        // Set when the version had enough labelled inquiries but would change too many
        // recent routes: it waits for an admin.
        "held": trained.held,
    })))
}

/// Trains a new version for `caller` and audits it (the API and the admin page).
pub(super) async fn train_now(state: &AppState, caller: &Identity) -> Result<Trained, ApiError> {
    let trained = state.ready()?.models.train().await?;
    let subject = format!("model:{}", trained.version);
    let details = json!({"active": trained.active, "labelled_examples": trained.labelled, "held": trained.held});
    state
        .store
        .append_audit(&caller.actor, "model.train", &subject, &details)
        .await?;
    Ok(trained)
}

async fn activate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(version): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    activate_version(&state, &caller, version).await?;
    Ok(Json(json!({"version": version, "active": true})))
}

/// Routes with `version` from now on; audited (the API and the admin page).
pub(super) async fn activate_version(
    state: &AppState,
    caller: &Identity,
    version: i64,
) -> Result<(), ApiError> {
    if !state.ready()?.models.activate(version).await? {
        return Err(ApiError::NotFound(format!("no model version {version}")));
    }
    let subject = format!("model:{version}");
    state
        .store
        .append_audit(&caller.actor, "model.activate", &subject, &json!({}))
        .await?;
    Ok(())
}

/// Activates the version before the active one.
async fn rollback(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let (from, to) = roll_back(&state, &caller).await?;
    Ok(Json(
        json!({"version": to, "active": true, "rolled_back_from": from}),
    ))
}

/// Activates the version before the active one and audits it; the versions (from, to).
pub(super) async fn roll_back(state: &AppState, caller: &Identity) -> Result<(i64, i64), ApiError> {
    let models = state.ready()?.models.clone();
    match state.store.rollback_model().await? {
        Rollback::RolledBack { from, to } => {
            models.reload().await?;
            let subject = format!("model:{to}");
            state
                .store
                .append_audit(
                    &caller.actor,
                    "model.rollback",
                    &subject,
                    &json!({"from": from}),
                )
                .await?;
            Ok((from, to))
        }
        refused => Err(ApiError::Conflict(refused.refusal().unwrap_or_default())),
    }
}
