//! Training a new model version for the catalogue: the catalogue's own example inquiries
//! plus every labelled example in the store (imports and clerk decisions), embedded through
//! the cache (only new texts reach the model), trained off the async runtime, stored as the
//! next numbered version. A version becomes active by itself only once enough real labelled
//! inquiries exist: trained on the catalogue's few texts per service alone it routes worse
//! than the untrained catalogue scorer, and its calibration rests on too little data.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{
    TriageError,
    cache::embed_cached,
    catalogue_index,
    classifier::{Classifier, ClassifierParams, LabelSet, Labelled},
    learned::LearnedScorer,
};
use crate::{
    domain::{Catalogue, GeoPoint},
    embed::Embedder,
    store::Store,
};

/// When a trained version may route by itself, and how many old ones stay.
#[derive(Debug, Clone, Copy)]
pub struct Activation {
    /// Labelled inquiries needed before a version activates itself.
    pub min_labelled: usize,
    /// The largest share of recent decisions a self-activating version may change.
    pub max_change: f32,
    /// Inactive versions kept besides the active one and the one before it.
    pub keep_versions: usize,
}

impl From<&crate::config::TriageConfig> for Activation {
    fn from(c: &crate::config::TriageConfig) -> Self {
        Self {
            min_labelled: c.min_labelled_examples,
            max_change: c.max_activation_change,
            keep_versions: c.keep_versions,
        }
    }
}

/// Recent decided inquiries a new version is compared on, and the fewest that count.
const COMPARED: i64 = 200;
const MIN_COMPARED: usize = 20;

/// A training text: text, label index, coarse place, when it was labelled.
type Row = (String, usize, Option<GeoPoint>, Option<DateTime<Utc>>);

pub struct Trained {
    pub version: i64,
    pub scorer: Arc<LearnedScorer>,
    pub seconds: f32,
    /// Labelled inquiries beyond the catalogue's own texts.
    pub labelled: usize,
    pub active: bool,
    /// Why a version with enough labelled inquiries still waits for an admin: the share
    /// of recent decisions it would change.
    pub held: Option<Change>,
}

/// How differently a new version routes the recent decided inquiries.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Change {
    pub changed: usize,
    pub compared: usize,
    pub share: f32,
}

pub async fn train_version(
    catalogue: &Catalogue,
    embedder: &Embedder,
    store: &Store,
    params: ClassifierParams,
    activation: Activation,
) -> Result<Trained, TriageError> {
    let min_labelled = activation.min_labelled;
    let started = std::time::Instant::now();
    // Each service's auto-routing threshold is fitted with its family (its department
    // unless the catalogue names one).
    let labels = LabelSet {
        names: catalogue.services.iter().map(|s| s.id.clone()).collect(),
        groups: catalogue
            .services
            .iter()
            .map(|s| s.threshold_group().to_string())
            .collect(),
    };
    // Every catalogue text is labelled data: name, description and keywords carry the
    // service's vocabulary, the examples its everyday wording.
    let mut rows: Vec<Row> = catalogue_index::documents(catalogue)
        .into_iter()
        .filter_map(|d| Some((d.text, catalogue.service_index(&d.service_id)?, None, None)))
        .collect();
    let mut labelled = 0;
    for e in store.training_examples().await? {
        // Examples for services removed from the catalogue are kept but not learned.
        if let Some(i) = catalogue.service_index(&e.service_id) {
            labelled += 1;
            rows.push((e.text, i, e.place, e.labelled_at));
        }
    }
    // Ages count from the newest label, so a quiet month does not age everything.
    let newest = rows.iter().filter_map(|r| r.3).max();
    let texts: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let vectors = embed_cached(embedder, store, &texts, &|_, _| {}).await?;
    let examples: Vec<Labelled> = rows
        .into_iter()
        .zip(vectors)
        .map(|((text, label, place, at), embedding)| Labelled {
            text,
            embedding,
            label,
            place,
            age_days: at
                .zip(newest)
                .map(|(at, newest)| (newest - at).num_seconds() as f32 / 86_400.0),
        })
        .collect();
    let n = examples.len();
    let classifier = tokio::task::spawn_blocking(move || {
        Classifier::train(&examples, labels, params, &|_, _| {})
    })
    .await
    .expect("training thread");
    let wants = labelled >= min_labelled;
    let change = if wants {
        change_on_recent(&classifier, embedder, store).await?
    } else {
        None
    };
    let held = change.filter(|c| c.share > activation.max_change);
    let active = wants && held.is_none();
    let metrics = serde_json::json!({
        "cross_validation": classifier.cross_validation,
        "auto_threshold": classifier.auto_threshold,
        "thresholds": classifier.thresholds,
        "recency_half_life_days": params.recency_half_life_days,
        "set_floor": classifier.set_floor,
        "temperature": classifier.temperature,
        "mix": classifier.mix,
        "balance": classifier.balance,
        "max_misroute_rate": params.max_misroute_rate,
        "coverage": params.coverage,
        "reliability": classifier.curves.reliability,
        "risk_curve": classifier.curves.risk_curve,
        "seconds": started.elapsed().as_secs_f32(),
        "labelled": labelled,
        "min_labelled": min_labelled,
        "change_on_recent": change,
        "held_for_admin": held.is_some(),
    });
    let bytes = LearnedScorer::to_bytes(&classifier);
    let version = store
        .save_model_version(n, &embedder.info().id, &metrics, &bytes, active)
        .await?;
    let removed = store.prune_model_versions(activation.keep_versions).await?;
    if let Some(c) = held {
        tracing::warn!(
            version,
            changed = c.changed,
            compared = c.compared,
            "new model version would change too many recent routes: it waits for an admin"
        );
    }
    tracing::info!(
        version,
        examples = n,
        seconds = started.elapsed().as_secs_f32(),
        removed,
        "model version trained"
    );
    Ok(Trained {
        version,
        scorer: Arc::new(LearnedScorer {
            classifier,
            version,
        }),
        seconds: started.elapsed().as_secs_f32(),
        labelled,
        active,
        held,
    })
}

/// How many of the recent decided inquiries `classifier` routes to another service than
/// their current decision; `None` with fewer than [`MIN_COMPARED`] to compare.
async fn change_on_recent(
    classifier: &Classifier,
    embedder: &Embedder,
    store: &Store,
) -> Result<Option<Change>, TriageError> {
    let recent = store.recent_decided(COMPARED).await?;
    if recent.len() < MIN_COMPARED {
        return Ok(None);
    }
    let texts: Vec<String> = recent.iter().map(|r| r.redacted_text.clone()).collect();
    let vectors = embed_cached(embedder, store, &texts, &|_, _| {}).await?;
    let changed = recent
        .iter()
        .zip(&vectors)
        .filter(|(r, v)| {
            let p = classifier.predict(&r.redacted_text, v, r.place);
            classifier.labels.get(super::classifier::argmax(&p)) != Some(&r.service_id)
        })
        .count();
    Ok(Some(Change {
        changed,
        compared: recent.len(),
        share: changed as f32 / recent.len() as f32,
    }))
}
