//! `anliegen eval --catalogue FILE --test FILE`: how well the untrained router routes
//! labelled inquiries from the catalogue's own texts alone (no training rows). Uses the
//! documents, centroids and scorer of the service (`CatalogueSimilarity`) with an exact
//! nearest-neighbour search in memory, and reports top-1, top-3 and top-k (the candidates a
//! clerk sees) for services and for departments, with the eval's report figures.

use serde::Serialize;

use super::{
    CatalogueSimilarity, Query, Scorer, cache::embed_cached, catalogue_index, dataset::Dataset,
    eval::EvalError, metrics::Report,
};
use crate::{
    domain::Catalogue,
    embed::Embedder,
    index::{Hit, Payload},
    store::Store,
};

#[derive(Debug, Clone, Copy)]
pub struct ZeroShotParams {
    pub neighbours: usize,
    pub temperature: f32,
    pub candidates: usize,
    pub redact: bool,
}

#[derive(Debug, Serialize)]
pub struct ZeroShotResult {
    /// Figures for services (the labels).
    #[serde(flatten)]
    pub report: Report,
    /// Share of inquiries whose service is among the `candidates` shown to a clerk.
    pub top_k_accuracy: f32,
    pub candidates: usize,
    /// The same figures for the departments of predicted and true services.
    pub departments: Report,
    pub n_test: usize,
    pub skipped_test: usize,
    /// Test rows labelled with a service the catalogue does not have (always wrong).
    pub unseen_test_labels: usize,
    pub services: usize,
    pub documents: usize,
    pub router: String,
    pub redacted: bool,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub async fn evaluate(
    catalogue: &Catalogue,
    test: Dataset,
    params: ZeroShotParams,
    embedder: &Embedder,
    store: &Store,
    progress: super::eval::Progress<'_>,
) -> Result<ZeroShotResult, EvalError> {
    if test.rows.is_empty() {
        return Err(EvalError::Empty("no labelled rows in the test data".into()));
    }
    let (docs, doc_vectors) =
        catalogue_index::embedded_documents(catalogue, embedder, store).await?;
    let scorer = CatalogueSimilarity {
        temperature: params.temperature,
        centroids: catalogue_index::centroids(&docs, &doc_vectors),
        min_confidence: 0.0,
        candidates: params.candidates,
    };
    let texts: Vec<String> = test
        .rows
        .iter()
        .map(|r| {
            if params.redact {
                crate::privacy::redact::redact(&r.text).text
            } else {
                r.text.clone()
            }
        })
        .collect();
    let vectors =
        embed_cached(embedder, store, &texts, &|d, t| progress("embedding", d, t)).await?;
    let services: Vec<String> = catalogue.services.iter().map(|s| s.id.clone()).collect();
    let departments: Vec<String> = catalogue.departments.iter().map(|d| d.id.clone()).collect();
    let mut sorted_departments = departments;
    sorted_departments.sort();
    let department_index = |service: usize| {
        sorted_departments
            .binary_search(&catalogue.services[service].department)
            .expect("validated catalogue")
    };
    let (mut preds, mut dep_preds) = (Vec::new(), Vec::new());
    for (text, vector) in texts.iter().zip(&vectors) {
        let mut ranked: Vec<(f32, usize)> = doc_vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (dot(v, vector), i))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits: Vec<Hit> = ranked
            .iter()
            .take(params.neighbours)
            .map(|&(score, i)| Hit {
                id: docs[i].id.clone(),
                score,
                payload: Payload {
                    service_id: docs[i].service_id.clone(),
                    department_id: docs[i].department_id.clone(),
                    kind: String::new(),
                    text: String::new(),
                    status: None,
                },
            })
            .collect();
        let scores = scorer.score(
            catalogue,
            &Query {
                text,
                vector,
                hits: &hits,
                place: None,
            },
        );
        let mut p = vec![0.0; services.len()];
        let mut d = vec![0.0; sorted_departments.len()];
        for s in scores {
            if let Some(i) = catalogue.service_index(&s.service_id) {
                p[i] = s.probability;
                d[department_index(i)] += s.probability;
            }
        }
        preds.push(p);
        dep_preds.push(d);
    }
    let truth: Vec<Option<usize>> = test
        .rows
        .iter()
        .map(|r| catalogue.service_index(&r.label))
        .collect();
    let dep_truth: Vec<Option<usize>> = truth.iter().map(|t| t.map(department_index)).collect();
    let top_k = preds
        .iter()
        .zip(&truth)
        .filter(|(p, t)| {
            t.is_some_and(|t| p.iter().filter(|&&x| x > p[t]).count() < params.candidates)
        })
        .count();
    // Candidate-set figures of the report are the top service only (floor 1.0); the clerk's
    // list is `top_k_accuracy`.
    Ok(ZeroShotResult {
        report: Report::compute(&preds, &truth, &services, 1.0),
        departments: Report::compute(&dep_preds, &dep_truth, &sorted_departments, 1.0),
        top_k_accuracy: top_k as f32 / preds.len() as f32,
        candidates: params.candidates,
        n_test: test.rows.len(),
        skipped_test: test.skipped,
        unseen_test_labels: truth.iter().filter(|t| t.is_none()).count(),
        services: services.len(),
        documents: docs.len(),
        router: scorer.name(),
        redacted: params.redact,
    })
}

impl ZeroShotResult {
    /// The human-readable report printed by `anliegen eval --catalogue`.
    pub fn table(&self) -> String {
        let pct = |x: f32| format!("{:.1} %", x * 100.0);
        let mut s = format!(
            "zero-shot ({}): {} services, {} catalogue documents, no training rows; tested on {} rows ({} skipped, {} labelled with a service not in the catalogue); {}\n\n",
            self.router,
            self.services,
            self.documents,
            self.n_test,
            self.skipped_test,
            self.unseen_test_labels,
            super::metrics::texts_note(self.redacted)
        );
        s += &format!("{:<34}{:>10}   {:>10}\n", "", "service", "department");
        let (r, d) = (&self.report, &self.departments);
        for (name, a, b) in [
            ("top-1 accuracy", pct(r.accuracy), pct(d.accuracy)),
            ("top-3 accuracy", pct(r.top3_accuracy), pct(d.top3_accuracy)),
            (
                &format!("top-{} (candidates shown)", self.candidates),
                pct(self.top_k_accuracy),
                String::new(),
            ),
            (
                "macro-F1",
                format!("{:.3}", r.macro_f1),
                format!("{:.3}", d.macro_f1),
            ),
            (
                "expected calibration error",
                format!("{:.3}", r.ece),
                format!("{:.3}", d.ece),
            ),
            (
                "coverage at 95 % precision",
                pct(r.coverage_at_95_precision),
                pct(d.coverage_at_95_precision),
            ),
        ] {
            s += &format!("{name:<34}{a:>10}   {b:>10}\n");
        }
        s += "\n";
        s += &r.class_table();
        s
    }
}
