//! `anliegen serve`: binds the listener, serves the HTTP router at once (answering `503
//! not_ready` until the model is loaded), loads the engine in the background, then runs the
//! pipeline workers, and starts the IMAP pollers and the outbox worker when mail is on.

use std::{net::SocketAddr, sync::Arc};

use secrecy::ExposeSecret;
use tokio::task::JoinHandle;

use super::{Engine, StartError, open_index, start_embedder};
use crate::{
    config::Config,
    embed::Embedder,
    intake::{IntakeError, TriageQueue, imap},
    outbound::{Mailer, OutboundError, SmtpMailer, worker},
    pipeline::Pipeline,
    store::{Store, StoreError},
    web::{self, AppState, Ready},
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Mail(#[from] MailStartError),
    #[error("the engine task failed: {0}")]
    EngineTask(#[from] tokio::task::JoinError),
}

#[derive(Debug, thiserror::Error)]
pub enum MailStartError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Outbound(#[from] OutboundError),
}

/// Where the engine's model comes from.
pub enum ModelSource {
    /// Load the configured model (production).
    Load,
    /// Use an already running model thread (tests share one across servers).
    Shared(Embedder),
}

/// Binds, starts loading the model, and serves until interrupted. A model or catalogue
/// that cannot be loaded ends the process with that error.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let store = Store::open(config.database.url.expose_secret()).await?;
    let addr = config.server.bind;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    if let Ok(local) = listener.local_addr() {
        tracing::info!(addr = %local, "listening");
    }
    warn_without_admin(&store, addr).await?;
    let state = AppState::new(config, store);
    let engine = spawn_engine(state.clone(), ModelSource::Load);
    let _mail = spawn_mail(&state.config, &state.store, &state.pipeline)?;
    if let Some(addr) = state.config.metrics.bind {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        tracing::info!(%addr, "metrics listening");
        let app = web::metrics::standalone(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let limits = web::server::Limits::from_config(&state.config);
    let server = web::server::serve(listener, web::router(state), limits, async {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::select! {
        () = server => Ok(()),
        started = engine => Ok(started??),
    }
}

/// Says how to create the first admin when there is none; louder when the service listens
/// beyond loopback, where it is exposed before anyone could manage it.
async fn warn_without_admin(store: &Store, addr: SocketAddr) -> Result<(), StoreError> {
    if store.enabled_admins().await? > 0 {
        return Ok(());
    }
    let how = "create one with `anliegen user add NAME --role admin`";
    if addr.ip().is_loopback() {
        tracing::warn!("no admin account yet: {how}");
    } else {
        tracing::warn!(
            %addr,
            "listening beyond loopback without any admin account: {how}, and expose the \
             service only behind a TLS reverse proxy (README, \"Security\")"
        );
    }
    Ok(())
}

/// Loads the engine in the background, hands the HTTP handlers its capabilities, then runs
/// the pipeline's workers. The task only ends if the engine cannot start; its error says
/// why.
pub fn spawn_engine(state: AppState, source: ModelSource) -> JoinHandle<Result<(), StartError>> {
    tokio::spawn(async move {
        let config = state.config.clone();
        let index = open_index(&config).await?;
        let embedder = match source {
            ModelSource::Load => start_embedder(&config).await?,
            ModelSource::Shared(e) => e,
        };
        let engine = Engine::start(&config, &state.store, index, embedder).await?;
        state.set_ready(Ready {
            catalogue: engine.catalogue.clone(),
            models: Arc::new(engine.learner.clone()),
            evaluator: Arc::new(engine.learner.clone()),
            router: engine.router.clone(),
            model_id: engine.embedder.info().id.clone(),
        });
        tracing::info!("ready");
        tokio::spawn(engine.learner.follow_active_version());
        state
            .pipeline
            .run(state.store.clone(), engine.router, engine.index)
            .await;
        Ok(())
    })
}

/// Starts the IMAP pollers and the outbox worker when `mail.enabled`; nothing otherwise.
pub fn spawn_mail(
    config: &Arc<Config>,
    store: &Store,
    pipeline: &Pipeline,
) -> Result<Vec<JoinHandle<()>>, MailStartError> {
    let mail = &config.mail;
    if !mail.enabled {
        return Ok(Vec::new());
    }
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(&mail.smtp)?);
    // The pollers reach the triage stage only through this capability.
    let triage: Arc<dyn TriageQueue> = Arc::new(pipeline.clone());
    let mut tasks = imap::spawn_pollers(config, store, &triage)?;
    tasks.push(worker::spawn_worker(
        mail.outbox.clone(),
        store.clone(),
        mailer,
    ));
    Ok(tasks)
}
