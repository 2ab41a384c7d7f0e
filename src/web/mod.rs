//! The HTTP API (axum): `router(state)` builds the whole application from one module per
//! resource, each with its own `router()`. Errors share one JSON contract (`error`); the
//! process around it (listener, engine, workers) is assembled in `app`.

pub mod error;
mod evaluations;
mod health;
mod inquiries;
mod jobs;
pub mod json;
mod models;
mod state;

use axum::{Router, extract::DefaultBodyLimit};

pub use error::ApiError;
pub use state::{AppState, Ready};

pub fn router(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    Router::new()
        .merge(health::router())
        .nest(
            "/api/v1",
            inquiries::router()
                .merge(jobs::router())
                .merge(models::router())
                .merge(evaluations::router(state.config.server.max_upload_bytes)),
        )
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        // Request lines carry method, path and status only, never bodies. Expected 503s
        // (readiness polling, overload) are not errors; real 5xx are logged by `ApiError`.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().on_failure(
                tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
            ),
        )
        .with_state(state)
}
