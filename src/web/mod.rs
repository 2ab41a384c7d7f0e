//! The HTTP API (axum): `router(state)` builds the whole application from the route table
//! (`routes`), to which one module per resource contributes its `routes()`. Each route
//! belongs to one of three trees with one rule each — public, staff (`auth::staff_only`),
//! admin (`auth::admin_only`). Errors share one JSON contract (`error`); the HTML pages
//! (`pages`) live in the same trees, framed by security headers and CSRF protection. The
//! process around it (listener, engine, workers) is assembled in `app`.

pub mod auth;
mod catalogue;
pub mod error;
mod evaluations;
pub mod extract;
mod health;
pub(in crate::web) mod inquiries;
mod jobs;
pub mod metrics;
mod models;
pub mod open311;
pub mod openapi;
mod overload;
pub mod pages;
mod quarantine;
mod replies;
pub mod routes;
pub mod server;
mod state;
pub(in crate::web) mod status;
mod tokens;
mod users;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, middleware::from_fn_with_state};
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use routes::{Audience, Route};
pub use state::{AppState, Ready};

use crate::config::Config;

/// Every route of the API with its audience; the router is built from this list.
pub fn route_table(config: &Config) -> Vec<Route> {
    [
        health::routes(),
        auth::routes(),
        inquiries::routes(),
        status::routes(),
        jobs::routes(),
        models::routes(),
        evaluations::routes(config.server.max_upload_bytes),
        catalogue::routes(config.server.max_upload_bytes),
        users::routes(),
        tokens::routes(),
        replies::routes(),
        pages::routes(config),
        quarantine::routes(),
        open311::routes(),
        metrics::routes(),
        openapi::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn router(state: AppState) -> Router {
    metrics::handle();
    let server = &state.config.server;
    let limit = server.max_body_bytes;
    let permits = Arc::new(Semaphore::new(server.max_concurrent_requests));
    let (mut public, mut staff, mut admin) = (Router::new(), Router::new(), Router::new());
    for route in route_table(&state.config) {
        let (audience, path) = (route.audience, route.path);
        let endpoint = route.into_endpoint(&state, &permits);
        match audience {
            Audience::Public => public = public.route(path, endpoint),
            Audience::Staff => staff = staff.route(path, endpoint),
            Audience::Admin => admin = admin.route(path, endpoint),
        }
    }
    Router::new()
        .merge(public)
        .merge(staff.route_layer(from_fn_with_state(state.clone(), auth::staff_only)))
        .merge(admin.route_layer(from_fn_with_state(state.clone(), auth::admin_only)))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(state.clone(), pages::frame::frame))
        .layer(axum::middleware::from_fn(metrics::track))
        // Request lines carry method, route template, request id and status only — never
        // the raw path (case numbers), bodies nor query strings (the citizen's status secret
        // travels in one). Expected 503s (readiness polling) are not errors; real 5xx are
        // logged by `ApiError`.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("unmatched", |m| m.as_str());
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                )
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                ),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(axum::middleware::map_request(drop_foreign_request_id))
        .with_state(state)
}

/// The header that names a request in its log lines and its answer.
const REQUEST_ID: &str = "x-request-id";

/// Keeps a caller's `x-request-id` (a proxy's trace id) only when it looks like one —
/// at most 64 letters, digits, `-`, `_` or `.` — so nothing personal reaches the logs
/// through it; otherwise a fresh UUID is set.
async fn drop_foreign_request_id(
    mut req: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    let acceptable = req.headers().get(REQUEST_ID).is_none_or(|v| {
        let v = v.as_bytes();
        !v.is_empty()
            && v.len() <= 64
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !acceptable {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}
