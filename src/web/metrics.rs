//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4). The admin tree
//! serves it (scrape with an admin API token as bearer); `[metrics] bind` adds a listener
//! of its own without authentication for a monitoring network (`app::serve`).
//!
//! Counters and histograms are recorded where things happen, through the `metrics` facade:
//! HTTP requests by route template (never the raw path: it carries case numbers), method
//! and status; embedding batches and texts (`embed::worker`); decisions and reviews
//! (`pipeline`, `triage::review`); webhook deliveries (`webhooks`). Gauges of what is
//! stored — jobs and outbox by state, inquiries by status, automatic decisions and their
//! re-routes, model and catalogue versions — are read from the store at each scrape, so
//! every replica reports the same database.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{ApiError, AppState, Route};
use crate::{domain::InquiryStatus, store::figures::Count};

/// Upper bounds of the latency histograms, in seconds.
const SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];
/// Upper bounds of the batch-size histogram, in texts.
const TEXTS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

const JOB_KINDS: &[&str] = &["triage", "retention", "webhook"];
const JOB_STATES: &[&str] = &["queued", "running", "done", "dead"];
const OUTBOX_STATES: &[&str] = &["queued", "sending", "sent", "dead"];
const DECISION_STATUSES: &[&str] = &["routed", "review"];

pub fn routes() -> Vec<Route> {
    vec![Route::admin(Method::GET, "/metrics", metrics)]
}

/// The router of `[metrics] bind`: `GET /metrics` without authentication, nothing else.
pub fn standalone(state: AppState) -> axum::Router {
    handle();
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

/// The process's recorder, installed on first use (the first router built).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("anliegen_embedding_batch_texts".into()),
                    TEXTS,
                )
            })
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "anliegen_http_requests_total",
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        "anliegen_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route template, method and status"
    );
    describe_gauge!(
        "anliegen_embedding_queue_depth",
        "Requests waiting for the model thread"
    );
    describe_histogram!(
        "anliegen_embedding_batch_texts",
        Unit::Count,
        "Texts per forward batch of the model"
    );
    describe_counter!(
        "anliegen_embeddings_total",
        "Texts embedded (rate: embeddings per second)"
    );
    describe_histogram!(
        "anliegen_embedding_batch_duration_seconds",
        Unit::Seconds,
        "Time per forward batch of the model"
    );
    describe_counter!(
        "anliegen_decisions_total",
        "Automatic decisions of this process by status (routed or review)"
    );
    describe_counter!(
        "anliegen_reviews_total",
        "Clerk reviews by action and the status of the decision reviewed"
    );
    describe_counter!(
        "anliegen_webhook_deliveries_total",
        "Webhook delivery attempts by subscription and outcome"
    );
    describe_gauge!(
        "anliegen_jobs",
        "Pipeline jobs in the store by kind and state"
    );
    describe_gauge!("anliegen_outbox", "Outbound mails in the store by state");
    describe_gauge!("anliegen_inquiries", "Inquiries in the store by status");
    describe_gauge!(
        "anliegen_automatic_decisions",
        "Automatic decisions in the store by status (routed or review)"
    );
    describe_gauge!(
        "anliegen_auto_routed_inquiries",
        "Inquiries the pipeline routed on its own"
    );
    describe_gauge!(
        "anliegen_auto_routed_rerouted_inquiries",
        "Auto-routed inquiries a clerk re-routed to another service (live misroutes)"
    );
    describe_gauge!(
        "anliegen_model_version",
        "The active trained model version (0: none, the catalogue similarity routes)"
    );
    describe_gauge!(
        "anliegen_catalogue_version",
        "The catalogue version routed with"
    );
    describe_gauge!(
        "anliegen_ready",
        "1 once the model is loaded and the catalogue indexed"
    );
    describe_gauge!(
        "anliegen_embedding_model_info",
        "The embedding model loaded (label `model`), 1"
    );
}

/// Counts every request and its latency by the route it matched, never the raw path.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = known_method(req.method());
    let response = next.run(req).await;
    let labels = [
        ("route", route),
        ("method", method.to_string()),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("anliegen_http_requests_total", &labels).increment(1);
    metrics::histogram!("anliegen_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The method as a label; anything unusual is `other`, so labels stay few.
fn known_method(method: &Method) -> &'static str {
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("other")
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = render(&state).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Reads the store's gauges and renders everything recorded.
pub async fn render(state: &AppState) -> Result<String, ApiError> {
    let handle = handle();
    let figures = state.store.figures().await?;
    set_counts(
        "anliegen_jobs",
        &["kind", "state"],
        &[JOB_KINDS, JOB_STATES],
        &figures.jobs,
    );
    set_counts(
        "anliegen_outbox",
        &["state"],
        &[OUTBOX_STATES],
        &figures.outbox,
    );
    let statuses: Vec<&str> = InquiryStatus::ALL.iter().map(|s| s.as_str()).collect();
    set_counts(
        "anliegen_inquiries",
        &["status"],
        &[&statuses],
        &figures.inquiries,
    );
    set_counts(
        "anliegen_automatic_decisions",
        &["status"],
        &[DECISION_STATUSES],
        &figures.automatic_decisions,
    );
    gauge("anliegen_auto_routed_inquiries", figures.auto_routed);
    gauge(
        "anliegen_auto_routed_rerouted_inquiries",
        figures.auto_routed_rerouted,
    );
    gauge(
        "anliegen_model_version",
        figures.active_model_version.unwrap_or(0),
    );
    gauge(
        "anliegen_catalogue_version",
        figures.catalogue_version.unwrap_or(0),
    );
    let ready = state.ready().ok();
    gauge("anliegen_ready", i64::from(ready.is_some()));
    if let Some(ready) = ready {
        metrics::gauge!("anliegen_embedding_model_info", "model" => ready.model_id.clone())
            .set(1.0);
    }
    handle.run_upkeep();
    Ok(handle.render())
}

fn gauge(name: &'static str, value: i64) {
    metrics::gauge!(name).set(value as f64);
}

/// Sets one gauge per label combination: every known one (zero unless counted), so a state
/// that empties reads 0 instead of its last count, and any unexpected one that is stored.
fn set_counts(name: &'static str, keys: &[&'static str], known: &[&[&str]], counts: &[Count]) {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for values in known {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((*v).to_string());
                    c
                })
            })
            .collect();
    }
    for c in counts {
        if !combos.contains(&c.labels) {
            combos.push(c.labels.clone());
        }
    }
    for combo in combos {
        let value = counts
            .iter()
            .find(|c| c.labels == combo)
            .map_or(0, |c| c.count);
        let labels: Vec<(&'static str, String)> = keys.iter().copied().zip(combo).collect();
        metrics::gauge!(name, &labels).set(value as f64);
    }
}
