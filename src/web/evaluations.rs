//! `POST /api/v1/admin/evaluations`: the figures of `anliegen eval` for uploaded labelled
//! rows — a new model trained from scratch on `train` only and measured on `test`. The
//! active version is untouched. Uploads have their own, larger body limit.

use axum::{Json, extract::State, http::Method, response::IntoResponse};
use serde::Deserialize;

use super::{ApiError, AppState, Route, extract::ApiJson};
use crate::triage::{dataset::Dataset, eval::EvalError};

pub fn routes(upload_limit: usize) -> Vec<Route> {
    vec![Route::admin(Method::POST, "/api/v1/admin/evaluations", evaluate).body_limit(upload_limit)]
}

/// A labelled row of an evaluation upload; rows without text or label are skipped and
/// counted, as in the files `anliegen eval` reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRow {
    text: String,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
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

async fn evaluate(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EvaluationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let result = state
        .ready()?
        .evaluator
        .evaluate(dataset(body.train), dataset(body.test))
        .await
        .map_err(|e| match e {
            EvalError::Empty(m) => ApiError::InvalidField(m),
            EvalError::Triage(t) => t.into(),
            EvalError::Dataset(d) => ApiError::InvalidField(d.to_string()),
        })?;
    Ok(Json(result))
}
