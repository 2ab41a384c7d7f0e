//! The HTTP API (axum): state, router assembly and server start. Each sub-module owns its
//! routes; errors share one JSON contract (`error`).

pub mod admin;
pub mod error;
pub mod inquiries;
pub mod json;
pub mod mail;
pub mod models;

use std::sync::{Arc, OnceLock};

use axum::{
    Json, Router, extract::DefaultBodyLimit, extract::State, http::StatusCode,
    response::IntoResponse, routing::get,
};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::{
    app::{Engine, StartError},
    config::Config,
    embed::Embedder,
    pipeline::Pipeline,
    store::Store,
};
pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// Set once the model is loaded and the catalogue indexed.
    pub engine: Arc<OnceLock<Arc<Engine>>>,
    /// The job queue's workers in this process: intake nudges them and awaits decisions.
    pub pipeline: Pipeline,
}

impl AppState {
    /// The inquiry behind a case number from a URL; a malformed or unknown number is a 404.
    pub(crate) async fn inquiry(
        &self,
        case: &str,
    ) -> Result<(crate::domain::CaseNumber, crate::store::StoredInquiry), ApiError> {
        let case: crate::domain::CaseNumber =
            case.parse()
                .map_err(|e: crate::domain::case::InvalidCaseNumber| {
                    ApiError::NotFound(e.to_string())
                })?;
        let inquiry = self
            .store
            .inquiry(&case)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no inquiry {case}")))?;
        Ok((case, inquiry))
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest(
            "/api/v1",
            inquiries::router()
                .merge(mail::router())
                .merge(admin::router())
                .merge(models::router(state.config.server.max_upload_bytes)),
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

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let engine = state.engine.get().ok_or(ApiError::NotReady)?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "status": "ready",
            "model": engine.embedder.info().id,
            "services": engine.router.catalogue().services.len(),
        })),
    ))
}

/// Where the engine's model comes from.
pub enum ModelSource {
    /// Load the configured model (production).
    Load,
    /// Use an already running model thread (tests share one across servers).
    Shared(Embedder),
}

/// Loads the engine in the background, then runs the pipeline's workers. The task only
/// ends if the engine cannot start; its error says why.
pub fn spawn_engine(state: AppState, source: ModelSource) -> JoinHandle<Result<(), StartError>> {
    tokio::spawn(async move {
        let config = state.config.clone();
        let index = crate::app::open_index(&config).await?;
        let embedder = match source {
            ModelSource::Load => crate::app::start_embedder(&config).await?,
            ModelSource::Shared(e) => e,
        };
        let engine = Arc::new(Engine::start(&config, &state.store, index, embedder).await?);
        let engine = state.engine.get_or_init(|| engine).clone();
        tracing::info!("ready");
        tokio::spawn(follow_active_model(state.store.clone(), engine.clone()));
        state.pipeline.run(state.store.clone(), engine).await;
        Ok(())
    })
}

impl AppState {
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            pipeline: Pipeline::new(&config),
            store: store.with_max_attempts(config.pipeline.max_attempts),
            config: Arc::new(config),
            engine: Arc::new(OnceLock::new()),
        }
    }
}

/// How often a server checks whether another process trained or activated a model version.
const MODEL_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// Keeps this process on the active model version when another replica, a worker or the
/// CLI changes it.
async fn follow_active_model(store: Store, engine: Arc<Engine>) {
    let mut current = store.active_model_version().await.ok().flatten();
    loop {
        tokio::time::sleep(MODEL_CHECK).await;
        let Ok(active) = store.active_model_version().await else {
            continue;
        };
        if active != current {
            match engine.reload(&store).await {
                Ok(()) => {
                    tracing::info!(version = ?active, "switched to the active model version");
                    current = active;
                }
                Err(e) => tracing::warn!(error = %e, "loading the active model version failed"),
            }
        }
    }
}

/// Binds, starts loading the model, and serves until interrupted. A model or catalogue
/// that cannot be loaded ends the process with that error.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database.url).await?;
    let listener = tokio::net::TcpListener::bind(config.server.bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let state = AppState::new(config, store);
    let engine = spawn_engine(state.clone(), ModelSource::Load);
    let _mail = mail::spawn_mail(&state)?;
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::select! {
        served = server => Ok(served?),
        started = engine => match started {
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(())) => Ok(()),
            Err(panicked) => Err(anyhow::anyhow!("engine task failed: {panicked}")),
        },
    }
}
