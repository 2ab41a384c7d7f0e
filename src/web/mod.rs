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
mod models;
pub mod open311;
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
        pages::routes(config.server.max_upload_bytes),
        quarantine::routes(),
        open311::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn router(state: AppState) -> Router {
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
        // Request lines carry method, path and status only, never bodies nor query strings
        // (the citizen's status secret travels in one). Expected 503s (readiness polling)
        // are not errors; real 5xx are logged by `ApiError`.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                ),
        )
        .with_state(state)
}
