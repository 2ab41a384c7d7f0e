//! Assembly of the running parts from a `Config`: storage, vector index, model thread,
//! catalogue index and router. Shared by the CLI commands and the server so both run the
//! same pipeline.

use std::sync::Arc;

use crate::{
    config::{Config, IndexBackend},
    domain::{Catalogue, CatalogueError},
    embed::{CandleEncoder, Embedder, ModelError},
    index::{EmbeddedIndex, IndexError, QdrantIndex, VectorIndex},
    store::{Store, StoreError},
    triage::{
        CatalogueSimilarity, Router, Scorer, TriageError, catalogue_index,
        classifier::ClassifierParams,
        learned::LearnedScorer,
        training::{Trained, train_version},
    },
};

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
    let threads = model.threads;
    let encoder = tokio::task::spawn_blocking(move || {
        if threads > 0 {
            // candle sizes its CPU thread pool from this variable at first use.
            // SAFETY: set before the pool exists and before other threads read it.
            unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
        }
        CandleEncoder::load(&model)
    })
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
            let api_key = std::env::var(&c.api_key_env).ok().filter(|k| !k.is_empty());
            Arc::new(QdrantIndex::connect(&c.qdrant_url, api_key, &c.collection_prefix).await?)
        }
    })
}

/// Everything needed to route: available once the model is loaded and the catalogue
/// indexed.
pub struct Engine {
    pub embedder: Embedder,
    pub router: Router,
    pub mail: crate::config::MailConfig,
    /// The vector index the router searches; GDPR erasure removes case points from it.
    pub index: Arc<dyn VectorIndex>,
    /// The untrained scorer, used until a model version exists.
    fallback: Arc<dyn Scorer>,
    params: ClassifierParams,
    /// Labelled inquiries needed before a trained version activates itself.
    min_labelled: usize,
    training: tokio::sync::Mutex<()>,
    /// A retraining is waiting to start; it will include every review made until then.
    retrain_queued: std::sync::atomic::AtomicBool,
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
        let scorer = match active_scorer(store, &catalogue, &fallback).await {
            Ok(scorer) => scorer,
            Err(TriageError::Model(problem)) => {
                tracing::warn!(%problem, "falling back to catalogue similarity");
                fallback.clone()
            }
            // A database failure stays a storage error at start, as before.
            Err(TriageError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(e.into()),
        };
        tracing::info!(router = %scorer.name(), "scorer chosen");
        let router = Router::new(
            catalogue,
            embedder.clone(),
            index.clone(),
            scorer,
            config.triage.clone(),
        );
        Ok(Self {
            embedder,
            router,
            mail: config.mail.clone(),
            index,
            fallback,
            params: config.triage.classifier_params(),
            min_labelled: config.triage.min_labelled_examples,
            training: tokio::sync::Mutex::new(()),
            retrain_queued: Default::default(),
        })
    }

    /// Trains a new version from the catalogue and all stored examples; once enough
    /// labelled inquiries exist it is activated and routes from now on. One training at a
    /// time; requests keep being answered.
    pub async fn retrain(&self, store: &Store) -> Result<Trained, TriageError> {
        let _one_at_a_time = self.training.lock().await;
        let trained = train_version(
            self.router.catalogue(),
            &self.embedder,
            store,
            self.params,
            self.min_labelled,
        )
        .await?;
        if trained.active {
            self.router.set_scorer(trained.scorer.clone());
        }
        Ok(trained)
    }

    /// Retrains in the background after a clerk's review. At most one retraining waits
    /// behind the running one, so a burst of reviews costs two trainings, not one each.
    pub fn schedule_retrain(self: Arc<Self>, store: Store) {
        use std::sync::atomic::Ordering;
        if self.retrain_queued.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(async move {
            let _one_at_a_time = self.training.lock().await;
            self.retrain_queued.store(false, Ordering::SeqCst);
            drop(_one_at_a_time);
            match self.retrain(&store).await {
                Ok(t) => tracing::info!(
                    version = t.version,
                    seconds = t.seconds,
                    active = t.active,
                    "retrained after review"
                ),
                Err(e) => tracing::warn!(error = %e, "retraining after review failed"),
            }
        });
    }

    /// Routes with a stored version from now on (roll back or forward); false if unknown.
    /// A version that does not fit the catalogue is refused and the one before stays active.
    pub async fn activate(&self, store: &Store, version: i64) -> Result<bool, TriageError> {
        let previous = store.active_model_version().await?;
        if !store.activate_model(version).await? {
            return Ok(false);
        }
        if let Err(e) = self.reload(store).await {
            if let Some(p) = previous.filter(|&p| p != version) {
                store.activate_model(p).await?;
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Re-reads the active version from the store (another process may have changed it).
    pub async fn reload(&self, store: &Store) -> Result<(), TriageError> {
        self.router
            .set_scorer(active_scorer(store, self.router.catalogue(), &self.fallback).await?);
        Ok(())
    }
}

/// The active trained version's scorer, or `fallback` when no version is active. A version
/// trained for services the catalogue no longer has is refused.
async fn active_scorer(
    store: &Store,
    catalogue: &Catalogue,
    fallback: &Arc<dyn Scorer>,
) -> Result<Arc<dyn Scorer>, TriageError> {
    Ok(match store.active_model().await? {
        Some((version, bytes)) => {
            let scorer = LearnedScorer::from_bytes(&bytes, version).map_err(TriageError::Model)?;
            catalogue_index::check_classes(&scorer.classifier.labels, catalogue, version)
                .map_err(TriageError::Model)?;
            Arc::new(scorer)
        }
        None => fallback.clone(),
    })
}
