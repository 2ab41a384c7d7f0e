//! The HTTP API (axum): `router(state)` builds the whole application from one module per
//! resource, each with its own `router()`. Errors share one JSON contract (`error`); the
//! process around it (listener, engine, workers) is assembled in `app`.

mod catalogue;
pub mod error;
mod evaluations;
pub mod extract;
mod health;
mod inquiries;
mod jobs;
mod models;
mod overload;
mod state;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, middleware};
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use state::{AppState, Ready};

pub fn router(state: AppState) -> Router {
    let server = &state.config.server;
    let limit = server.max_body_bytes;
    let permits = Arc::new(Semaphore::new(server.max_concurrent_requests));
    let api = inquiries::router()
        .merge(jobs::router())
        .merge(models::router())
        .merge(evaluations::router(server.max_upload_bytes))
        .merge(catalogue::router(server.max_upload_bytes))
        .layer(middleware::from_fn_with_state(permits, overload::admit));
    Router::new()
        .merge(health::router())
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        // Request lines carry method, path and status only, never bodies. Expected 503s
        // (readiness polling) are not errors; real 5xx are logged by `ApiError`.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().on_failure(
                tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
            ),
        )
        .with_state(state)
}
