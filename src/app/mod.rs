//! Assembly of the process from a `Config`, in one place: the model thread, the vector
//! index, the routing engine (`Engine`), and for `anliegen serve` the HTTP server with its
//! pipeline workers, IMAP pollers and outbox worker (`serve`). The CLI commands build the
//! same engine, so every entry point runs the same pipeline.

mod serve;

use std::sync::Arc;

use crate::{
    config::{Config, IndexBackend},
    domain::{Catalogue, CatalogueError},
    embed::{CandleEncoder, Embedder, ModelError},
    index::{EmbeddedIndex, IndexError, QdrantIndex, VectorIndex},
    store::{Store, StoreError},
    triage::{
        CatalogueSimilarity, Learner, Router, Scorer, TriageError, catalogue_index,
        learning::starting_scorer,
    },
};
pub use serve::{MailStartError, ModelSource, ServeError, serve, spawn_engine, spawn_mail};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    CatalogueVersion(#[from] crate::catalogue::versions::VersionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("building the catalogue index failed: {0}")]
    Triage(#[from] TriageError),
}

/// Loads the encoder on a blocking thread (it takes seconds) and starts the model thread.
pub async fn start_embedder(config: &Config) -> Result<Embedder, ModelError> {
    let model = config.model.clone();
    // `model.threads` is applied by the binary's `main` before any thread exists.
    let encoder = tokio::task::spawn_blocking(move || CandleEncoder::load(&model))
        .await
        .expect("model loading thread")?;
    Ok(Embedder::spawn(
        Box::new(encoder),
        config.model.queue_capacity,
    ))
}

/// Opens the configured vector index: the embedded one under `data.dir`, or a Qdrant
/// connection (checked here, so a wrong URL fails the start instead of the first inquiry).
pub async fn open_index(config: &Config) -> Result<Arc<dyn VectorIndex>, IndexError> {
    let c = &config.index;
    Ok(match c.backend {
        IndexBackend::Embedded => Arc::new(EmbeddedIndex::open(&config.data.dir.join("index"))?),
        IndexBackend::Qdrant => {
            let index = QdrantIndex::connect(&c.qdrant_url, c.api_key(), &c.collection_prefix);
            Arc::new(index.await?)
        }
    })
}

/// Everything needed to route and learn: available once the model is loaded and the
/// catalogue indexed.
pub struct Engine {
    pub router: Arc<Router>,
    /// Training and switching model versions.
    pub learner: Learner,
    pub catalogue: Arc<Catalogue>,
    pub embedder: Embedder,
    /// The vector index the router searches; GDPR erasure removes case points from it.
    pub index: Arc<dyn VectorIndex>,
}

impl Engine {
    pub async fn start(
        config: &Config,
        store: &Store,
        index: Arc<dyn VectorIndex>,
        embedder: Embedder,
    ) -> Result<Self, StartError> {
        let (version, catalogue) =
            crate::catalogue::versions::current(store, &config.catalogue.path).await?;
        let catalogue = Arc::new(catalogue);
        let vectors = catalogue_index::sync(&catalogue, &embedder, index.as_ref(), store).await?;
        tracing::info!(
            version,
            services = catalogue.services.len(),
            departments = catalogue.departments.len(),
            rebuilt = vectors.rebuilt,
            "catalogue index ready"
        );
        let fallback: Arc<dyn Scorer> = Arc::new(CatalogueSimilarity {
            temperature: config.triage.temperature,
            centroids: vectors.centroids,
            min_confidence: config.triage.min_confidence,
            candidates: config.triage.candidates,
        });
        let scorer = starting_scorer(store, &catalogue, &fallback)
            .await
            .map_err(|e| match e {
                // A database failure stays a storage error at start.
                TriageError::Store(e) => StartError::Store(e),
                e => StartError::Triage(e),
            })?;
        tracing::info!(router = %scorer.name(), "scorer chosen");
        let router = Arc::new(Router::new(
            catalogue.clone(),
            embedder.clone(),
            index.clone(),
            scorer,
            config.triage.clone(),
        ));
        let learner = Learner::new(router.clone(), store.clone(), fallback, &config.triage);
        Ok(Self {
            router,
            learner,
            catalogue,
            embedder,
            index,
        })
    }
}
