//! Model versions in a running process: training a new version (now, or in the background
//! after a clerk's review), activating a stored one, following the version another process
//! activated, and evaluating uploaded rows. The [`ModelAdmin`] and [`Evaluator`]
//! capabilities are what the HTTP handlers hold; [`Learner`] implements both over the
//! router, the store and the embedder. Also turns the `[triage]` settings into the
//! classifier's parameters, so `config` needs to know nothing about triage.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use super::{
    Router, Scorer, TriageError,
    classifier::ClassifierParams,
    dataset::Dataset,
    eval::{self, EvalError, EvalResult},
    learned::LearnedScorer,
    training::{Activation, Trained, train_version},
};
use crate::{config::TriageConfig, domain::Catalogue, store::Store};

/// How often a process checks whether another one trained or activated a model version.
const MODEL_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

impl From<&TriageConfig> for ClassifierParams {
    fn from(c: &TriageConfig) -> Self {
        let mut p = Self {
            k: c.knn_neighbours,
            folds: c.folds,
            max_misroute_rate: c.max_misroute_rate,
            recency_half_life_days: c.recency_half_life_days,
            coverage: c.coverage,
            ..Default::default()
        };
        p.linear.epochs = c.epochs;
        p
    }
}

/// Training and switching model versions.
#[async_trait::async_trait]
pub trait ModelAdmin: Send + Sync {
    /// Trains a new version from the catalogue and every stored example; once enough
    /// labelled inquiries exist it is activated and routes from now on.
    async fn train(&self) -> Result<Trained, TriageError>;
    /// Retrains in the background (after a clerk's review).
    fn schedule_retrain(&self);
    /// Routes with a stored version from now on; false if there is no such version.
    async fn activate(&self, version: i64) -> Result<bool, TriageError>;
    /// Re-reads the active version from the store (after a rollback, or another process
    /// changed it).
    async fn reload(&self) -> Result<(), TriageError>;
}

/// Measuring a model trained from scratch on uploaded rows, without touching the active one.
#[async_trait::async_trait]
pub trait Evaluator: Send + Sync {
    async fn evaluate(&self, train: Dataset, test: Dataset) -> Result<EvalResult, EvalError>;
}

/// The model versions of one process. Cheap to clone; clones share one training lock.
#[derive(Clone)]
pub struct Learner {
    inner: Arc<Inner>,
}

struct Inner {
    router: Arc<Router>,
    store: Store,
    /// The untrained scorer, used while no model version is active.
    fallback: Arc<dyn Scorer>,
    params: ClassifierParams,
    /// When a trained version activates itself, and how many old ones stay.
    activation: Activation,
    training: tokio::sync::Mutex<()>,
    /// A retraining is waiting to start; it will include every review made until then.
    retrain_queued: AtomicBool,
}

impl Learner {
    pub fn new(
        router: Arc<Router>,
        store: Store,
        fallback: Arc<dyn Scorer>,
        config: &TriageConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                router,
                store,
                fallback,
                params: config.into(),
                activation: config.into(),
                training: tokio::sync::Mutex::new(()),
                retrain_queued: AtomicBool::new(false),
            }),
        }
    }

    /// Keeps this process on the active model version when another replica, a worker or
    /// the CLI changes it. Runs until the process ends.
    pub async fn follow_active_version(self) {
        let store = &self.inner.store;
        let mut current = store.active_model_version().await.ok().flatten();
        loop {
            tokio::time::sleep(MODEL_CHECK).await;
            let Ok(active) = store.active_model_version().await else {
                continue;
            };
            if active != current {
                match self.reload().await {
                    Ok(()) => {
                        tracing::info!(version = ?active, "switched to the active model version");
                        current = active;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "loading the active model version failed")
                    }
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl ModelAdmin for Learner {
    /// One training at a time; requests keep being answered meanwhile.
    async fn train(&self) -> Result<Trained, TriageError> {
        let i = &self.inner;
        let _one_at_a_time = i.training.lock().await;
        let trained = train_version(
            i.router.catalogue(),
            i.router.embedder(),
            &i.store,
            i.params,
            i.activation,
        )
        .await?;
        if trained.active {
            i.router.set_scorer(trained.scorer.clone());
        }
        Ok(trained)
    }

    /// At most one retraining waits behind the running one, so a burst of reviews costs two
    /// trainings, not one each.
    fn schedule_retrain(&self) {
        if self.inner.retrain_queued.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let one_at_a_time = me.inner.training.lock().await;
            me.inner.retrain_queued.store(false, Ordering::SeqCst);
            drop(one_at_a_time);
            match me.train().await {
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

    /// A version that does not fit the catalogue is refused; the one before stays active.
    async fn activate(&self, version: i64) -> Result<bool, TriageError> {
        let store = &self.inner.store;
        let previous = store.active_model_version().await?;
        if !store.activate_model(version).await? {
            return Ok(false);
        }
        if let Err(e) = self.reload().await {
            if let Some(p) = previous.filter(|&p| p != version) {
                store.activate_model(p).await?;
            }
            return Err(e);
        }
        Ok(true)
    }

    async fn reload(&self) -> Result<(), TriageError> {
        let i = &self.inner;
        i.router
            .set_scorer(active_scorer(&i.store, i.router.catalogue(), &i.fallback).await?);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Evaluator for Learner {
    /// Uses nothing of the running service besides the embedding cache.
    async fn evaluate(&self, train: Dataset, test: Dataset) -> Result<EvalResult, EvalError> {
        let i = &self.inner;
        eval::evaluate_rows(
            train,
            test,
            i.params,
            true,
            i.router.embedder(),
            &i.store,
            &|_, _, _| {},
        )
        .await
    }
}

/// The scorer a process starts with: the active version's, or `fallback` when none is
/// active or the stored version cannot be read (logged; the service keeps routing).
pub async fn starting_scorer(
    store: &Store,
    catalogue: &Catalogue,
    fallback: &Arc<dyn Scorer>,
) -> Result<Arc<dyn Scorer>, TriageError> {
    match active_scorer(store, catalogue, fallback).await {
        Err(TriageError::Model(problem) | TriageError::ModelDoesNotFit(problem)) => {
            tracing::warn!(%problem, "falling back to catalogue similarity");
            Ok(fallback.clone())
        }
        chosen => chosen,
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
            super::catalogue_index::check_classes(&scorer.classifier.labels, catalogue, version)
                .map_err(TriageError::ModelDoesNotFit)?;
            Arc::new(scorer)
        }
        None => fallback.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_params_come_from_the_triage_settings() {
        let config = crate::config::Config::defaults().triage;
        let p = ClassifierParams::from(&config);
        assert_eq!(p.k, config.knn_neighbours);
        assert_eq!(p.folds, config.folds);
        assert_eq!(p.linear.epochs, config.epochs);
        assert_eq!(p.max_misroute_rate, config.max_misroute_rate);
        assert_eq!(p.coverage, config.coverage);
    }
}
