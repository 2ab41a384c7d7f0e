//! Clerk review and model administration: `POST /api/v1/inquiries/{case}/review` records a
//! clerk's decision and schedules retraining; `/api/v1/admin/models` lists, trains,
//! activates and rolls back the numbered model versions and shows their quality figures.

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, Path, State},
    response::IntoResponse,
    routing::{get, post},
};
use serde_json::json;

use super::{
    ApiError, AppState,
    json::{ApiJson, BodyLimit},
};
use crate::{
    app::Engine,
    store::{ModelVersion, Rollback},
    triage::{
        dataset::Dataset,
        eval::{self, EvalError},
        review::{self, Review, ReviewError},
    },
};

/// A labelled row of an evaluation upload; rows without text or label are skipped and
/// counted, as in the files `anliegen eval` reads.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRow {
    text: String,
    #[serde(default)]
    label: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluationRequest {
    train: Vec<UploadRow>,
    test: Vec<UploadRow>,
}

fn dataset(rows: Vec<UploadRow>) -> Dataset {
    let mut d = Dataset::default();
    for r in rows {
        d.push(&r.text, r.label.as_deref().unwrap_or(""));
    }
    d
}

/// `POST /api/v1/admin/evaluations`: the figures of `anliegen eval` for uploaded labelled
/// rows — a new model trained from scratch on `train` only, measured on `test`. Uses no
/// state of the running service besides the embedding cache; the active version is
/// untouched.
async fn evaluate(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EvaluationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let engine = engine(&state)?;
    let result = eval::evaluate_rows(
        dataset(body.train),
        dataset(body.test),
        state.config.triage.classifier_params(),
        true,
        &engine.embedder,
        &state.store,
        &|_, _, _| {},
    )
    .await
    .map_err(|e| match e {
        EvalError::Empty(m) => ApiError::InvalidField(m),
        EvalError::Triage(t) => t.into(),
        EvalError::Dataset(d) => ApiError::InvalidField(d.to_string()),
    })?;
    Ok(Json(result))
}

pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/inquiries/{case}/review", post(review))
        .route(
            "/admin/evaluations",
            post(evaluate)
                .layer::<_, std::convert::Infallible>(Extension(BodyLimit(upload_limit)))
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(upload_limit)),
        )
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
    let (case, inquiry) = state.inquiry(&case).await?;
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

/// A model version as the API shows it, with its cross-validation figures.
#[derive(serde::Serialize)]
struct VersionView {
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
    Path(version): Path<i64>,
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
