//! `/healthz` (liveness: the process answers) and `/readyz` (readiness: the model is loaded
//! and the catalogue indexed), for load balancers and orchestrators.

use axum::{Json, Router, extract::State, response::IntoResponse, routing::get};
use serde_json::json;

use super::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let ready = state.ready()?;
    Ok(Json(json!({
        "status": "ready",
        "model": ready.model_id,
        "services": ready.catalogue.services.len(),
    })))
}
