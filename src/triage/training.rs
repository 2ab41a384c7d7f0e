//! Training a new model version for the catalogue: the catalogue's own example inquiries
//! plus every labelled example in the store (imports and clerk decisions), embedded through
//! the cache (only new texts reach the model), trained off the async runtime, stored as the
//! next numbered version. A version becomes active by itself only once enough real labelled
//! inquiries exist: trained on the catalogue's few texts per service alone it routes worse
//! than the untrained catalogue scorer, and its calibration rests on too little data.

use std::sync::Arc;

use super::{
    TriageError,
    cache::embed_cached,
    catalogue_index,
    classifier::{Classifier, ClassifierParams, Labelled},
    learned::LearnedScorer,
};
use crate::{
    domain::{Catalogue, GeoPoint},
    embed::Embedder,
    store::Store,
};

pub struct Trained {
    pub version: i64,
    pub scorer: Arc<LearnedScorer>,
    pub seconds: f32,
    /// Labelled inquiries beyond the catalogue's own texts.
    pub labelled: usize,
    pub active: bool,
}

pub async fn train_version(
    catalogue: &Catalogue,
    embedder: &Embedder,
    store: &Store,
    params: ClassifierParams,
    min_labelled: usize,
) -> Result<Trained, TriageError> {
    let started = std::time::Instant::now();
    let labels: Vec<String> = catalogue.services.iter().map(|s| s.id.clone()).collect();
    // Every catalogue text is labelled data: name, description and keywords carry the
    // service's vocabulary, the examples its everyday wording.
    let mut rows: Vec<(String, usize, Option<GeoPoint>)> = catalogue_index::documents(catalogue)
        .into_iter()
        .filter_map(|d| Some((d.text, catalogue.service_index(&d.service_id)?, None)))
        .collect();
    let mut labelled = 0;
    for e in store.training_examples().await? {
        // Examples for services removed from the catalogue are kept but not learned.
        if let Some(i) = catalogue.service_index(&e.service_id) {
            labelled += 1;
            rows.push((e.text, i, e.place));
        }
    }
    let texts: Vec<String> = rows.iter().map(|(t, _, _)| t.clone()).collect();
    let vectors = embed_cached(embedder, store, &texts, &|_, _| {}).await?;
    let examples: Vec<Labelled> = rows
        .into_iter()
        .zip(vectors)
        .map(|((text, label, place), embedding)| Labelled {
            text,
            embedding,
            label,
            place,
        })
        .collect();
    let n = examples.len();
    let classifier = tokio::task::spawn_blocking(move || {
        Classifier::train(&examples, labels, params, &|_, _| {})
    })
    .await
    .expect("training thread");
    let metrics = serde_json::json!({
        "cross_validation": classifier.cross_validation,
        "auto_threshold": classifier.auto_threshold,
        "set_floor": classifier.set_floor,
        "temperature": classifier.temperature,
        "mix": classifier.mix,
        "balance": classifier.balance,
        "max_misroute_rate": params.max_misroute_rate,
        "coverage": params.coverage,
        "reliability": classifier.curves.reliability,
        "risk_curve": classifier.curves.risk_curve,
    });
    let bytes = LearnedScorer::to_bytes(&classifier);
    let version = store
        .save_model_version(
            n,
            &embedder.info().id,
            &metrics,
            &bytes,
            labelled >= min_labelled,
        )
        .await?;
    tracing::info!(
        version,
        examples = n,
        seconds = started.elapsed().as_secs_f32(),
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
        active: labelled >= min_labelled,
    })
}
