//! `/healthz` (liveness: the process answers) and `/readyz` (readiness: the model is loaded
//! and the catalogue indexed), for load balancers and orchestrators.

use axum::{Json, extract::State, http::Method, response::IntoResponse};
use serde_json::json;

use super::{ApiError, AppState, Route};

pub fn routes() -> Vec<Route> {
    vec![
        Route::public(Method::GET, "/healthz", healthz).uncounted(),
        Route::public(Method::GET, "/readyz", readyz).uncounted(),
    ]
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
