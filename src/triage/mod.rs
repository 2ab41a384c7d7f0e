//! Routing an inquiry to a service and its department. The catalogue is embedded into the
//! vector index (`catalogue_index`); a `Scorer` turns the nearest catalogue entries into
//! per-service scores; the `Router` turns scores into a `Decision` with candidates and
//! evidence. The learned, calibrated scorer plugs in at the `Scorer` seam.

pub mod cache;
pub mod calibration;
pub mod catalogue_index;
pub mod classifier;
pub mod dataset;
pub mod eval;
pub mod features;
pub mod learned;
pub mod learning;
pub mod linear;
pub mod metrics;
pub mod places;
pub mod replay;
pub mod review;
pub mod scoring;
pub mod training;
pub mod zero_shot;

use std::sync::{Arc, RwLock};

use crate::{
    config::TriageConfig,
    domain::{Candidate, Catalogue, Decision, Evidence, GeoPoint, RouteStatus},
    embed::{EmbedError, Embedder},
    index::{Filter, IndexError, VectorIndex},
    store::StoreError,
};

pub use catalogue_index::CATALOGUE_COLLECTION;
pub use learning::{Evaluator, Learner, ModelAdmin};
pub use scoring::{CatalogueSimilarity, Query, Scorer, ServiceScore, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the catalogue index is empty")]
    EmptyIndex,
    #[error("{0}")]
    Model(String),
    /// A model version trained for services the catalogue no longer has.
    #[error("{0}")]
    ModelDoesNotFit(String),
}

/// Evidence entries listed per candidate service.
const EVIDENCE_PER_SERVICE: usize = 3;
/// Candidate services whose evidence is shown.
const EVIDENCE_SERVICES: usize = 3;

pub struct Router {
    catalogue: Arc<Catalogue>,
    embedder: Embedder,
    index: Arc<dyn VectorIndex>,
    /// Swapped when a model version is trained or activated; requests in flight keep the
    /// scorer they started with.
    scorer: RwLock<Arc<dyn Scorer>>,
    config: TriageConfig,
}

impl Router {
    /// The vector index the router searches (GDPR erasure removes points from it).
    pub fn index(&self) -> &dyn VectorIndex {
        self.index.as_ref()
    }

    pub fn new(
        catalogue: Arc<Catalogue>,
        embedder: Embedder,
        index: Arc<dyn VectorIndex>,
        scorer: Arc<dyn Scorer>,
        config: TriageConfig,
    ) -> Self {
        Self {
            catalogue,
            embedder,
            index,
            scorer: RwLock::new(scorer),
            config,
        }
    }

    pub fn set_scorer(&self, scorer: Arc<dyn Scorer>) {
        *self.scorer.write().expect("scorer lock") = scorer;
    }

    pub fn scorer(&self) -> Arc<dyn Scorer> {
        self.scorer.read().expect("scorer lock").clone()
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub async fn route(&self, text: &str) -> Result<Decision, TriageError> {
        self.route_at(text, None).await
    }

    /// Routes `text` (redacted) about `place`: the trained model may use the place's coarse
    /// cells, and a service several departments handle goes to the one whose area holds it.
    pub async fn route_at(
        &self,
        text: &str,
        place: Option<GeoPoint>,
    ) -> Result<Decision, TriageError> {
        let vector = self.embedder.embed_one(text).await?;
        let hits = self
            .index
            .search(
                CATALOGUE_COLLECTION,
                &vector,
                self.config.neighbours,
                &Filter::default(),
            )
            .await?;
        if hits.is_empty() {
            return Err(TriageError::EmptyIndex);
        }
        let scorer = self.scorer();
        let scores = scorer.score(
            &self.catalogue,
            &Query {
                text,
                vector: &vector,
                hits: &hits,
                place,
            },
        );
        let best = scores.first().ok_or(TriageError::EmptyIndex)?;
        let service = self
            .catalogue
            .service(&best.service_id)
            .ok_or(TriageError::EmptyIndex)?;
        let department = self
            .catalogue
            .department(places::responsible_department(
                &self.catalogue,
                service,
                place,
            ))
            .expect("validated catalogue: every service and office has its department");
        let verdict = scorer.verdict(&scores);
        let (status, reason) = match verdict.status {
            RouteStatus::Routed if !service.auto_route => (
                RouteStatus::Review,
                format!(
                    "{}; the catalogue lets a clerk confirm every inquiry for this service (auto_route = false)",
                    verdict.reason
                ),
            ),
            status => (status, verdict.reason),
        };
        let candidates = scores
            .iter()
            .take(verdict.candidates)
            .filter_map(|s| {
                let svc = self.catalogue.service(&s.service_id)?;
                Some(Candidate {
                    service_id: svc.id.clone(),
                    service_name: svc.name.clone(),
                    department_id: places::responsible_department(&self.catalogue, svc, place)
                        .to_string(),
                    score: round3(s.probability),
                })
            })
            .collect();
        let evidence = scores
            .iter()
            .take(EVIDENCE_SERVICES)
            .flat_map(|s| {
                hits.iter()
                    .filter(|h| h.payload.service_id == s.service_id)
                    .take(EVIDENCE_PER_SERVICE)
                    .map(|h| Evidence {
                        service_id: h.payload.service_id.clone(),
                        kind: catalogue_index::evidence_kind(&h.payload.kind),
                        text: h.payload.text.clone(),
                        similarity: round3(h.score),
                    })
            })
            .collect();
        Ok(Decision {
            status,
            service: service.into(),
            department: department.into(),
            confidence: round3(best.probability),
            reason,
            candidates,
            evidence,
            router: scorer.name(),
            calibrated: verdict.calibrated,
            model: self.embedder.info().id.clone(),
        })
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}
