//! `anliegen eval`: train from scratch on labelled files, evaluate on a held-out file and
//! report the quality figures, including how much could be auto-routed within the risk
//! budget. Uses no state of a running service besides the embedding cache (vectors depend
//! only on model and text).

use std::path::PathBuf;

use serde::Serialize;

use super::{
    TriageError,
    cache::embed_cached,
    classifier::{Classifier, ClassifierParams, GroupThreshold, LabelSet, Labelled, argmax},
    dataset::{self, Columns, Dataset, DatasetError},
    metrics::Report,
};
use crate::{embed::Embedder, store::Store};

#[derive(Debug, Clone)]
pub struct EvalRequest {
    pub train: Vec<PathBuf>,
    pub test: PathBuf,
    /// Text and label columns, and the place's coordinate columns if any.
    pub columns: Columns,
    pub params: ClassifierParams,
    /// Redact the texts first, as the service does (`--raw-text` turns it off).
    pub redact: bool,
}

#[derive(Debug, Serialize)]
pub struct EvalResult {
    #[serde(flatten)]
    pub report: Report,
    pub n_test: usize,
    pub n_train: usize,
    pub classes: usize,
    pub skipped_train: usize,
    pub skipped_test: usize,
    /// Test rows whose label never occurs in the training files.
    pub unseen_test_labels: usize,
    /// One confidence threshold for all classes, fitted on training folds for
    /// `max_misroute_rate` (for comparison; routing uses the groups').
    pub auto_threshold: Option<f32>,
    /// The threshold of each group of labels (the part before " > " of a hierarchical
    /// label, else the label), and how the test rows predicted into it fared.
    pub groups: Vec<GroupResult>,
    /// Share of test inquiries at or above their group's threshold, and their misroute
    /// rate.
    pub auto_routed: f32,
    pub auto_misroute_rate: f32,
    /// The same with the one threshold for all classes instead of the groups'.
    pub one_threshold_auto_routed: f32,
    pub one_threshold_misroute_rate: f32,
    pub max_misroute_rate: f32,
    /// Training and test rows with a place.
    pub placed_train: usize,
    pub placed_test: usize,
    /// Weight of the places' grid cells chosen by cross-validation (0: places unused).
    pub place_weight: f32,
    pub mix: f32,
    pub balance: f32,
    pub temperature: f32,
    pub train_seconds: f32,
    /// Whether the texts were redacted first, as the service does.
    pub redacted: bool,
    /// The same figures from the out-of-fold predictions on the training rows.
    pub cross_validation: Report,
}

/// A threshold group on the test rows.
#[derive(Debug, Serialize)]
pub struct GroupResult {
    #[serde(flatten)]
    pub fitted: GroupThreshold,
    /// Test rows whose top label is in the group, those auto-routed, and those misrouted.
    pub test_rows: usize,
    pub auto_routed: usize,
    pub misrouted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Triage(#[from] TriageError),
    #[error("{0}")]
    Empty(String),
}

/// Progress callbacks: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

pub async fn evaluate(
    req: &EvalRequest,
    embedder: &Embedder,
    store: &Store,
    progress: Progress<'_>,
) -> Result<EvalResult, EvalError> {
    let mut train = Dataset::default();
    for path in &req.train {
        let d = dataset::load(path, &req.columns)?;
        train.skipped += d.skipped;
        train.rows.extend(d.rows);
    }
    let test = dataset::load(&req.test, &req.columns)?;
    evaluate_rows(
        train, test, req.params, req.redact, embedder, store, progress,
    )
    .await
}

/// Trains from scratch on `train` and evaluates on `test` (the CLI reads them from files,
/// the admin API from the request).
pub async fn evaluate_rows(
    train: Dataset,
    test: Dataset,
    params: ClassifierParams,
    redact: bool,
    embedder: &Embedder,
    store: &Store,
    progress: Progress<'_>,
) -> Result<EvalResult, EvalError> {
    // By default measured as the service works: it learns from and routes redacted text.
    let redacted = |rows: Vec<dataset::Row>| -> Vec<dataset::Row> {
        if !redact {
            return rows;
        }
        rows.into_iter()
            .map(|r| dataset::Row {
                text: crate::privacy::redact::redact(&r.text).text,
                ..r
            })
            .collect()
    };
    let (skipped_train, train) = (train.skipped, redacted(train.rows));
    let test = Dataset {
        skipped: test.skipped,
        rows: redacted(test.rows),
    };
    if train.is_empty() || test.rows.is_empty() {
        return Err(EvalError::Empty(
            "no labelled rows in the training or test data".into(),
        ));
    }
    let mut labels: Vec<String> = train.iter().map(|r| r.label.clone()).collect();
    labels.sort();
    labels.dedup();

    let texts: Vec<String> = train
        .iter()
        .chain(&test.rows)
        .map(|r| r.text.clone())
        .collect();
    let vectors =
        embed_cached(embedder, store, &texts, &|d, t| progress("embedding", d, t)).await?;
    let (train_vectors, test_vectors) = vectors.split_at(train.len());
    let newest = train.iter().filter_map(|r| r.date).max();
    let examples: Vec<Labelled> = train
        .iter()
        .zip(train_vectors)
        .map(|(r, v)| Labelled {
            text: r.text.clone(),
            embedding: v.clone(),
            label: labels
                .binary_search(&r.label)
                .expect("label from this list"),
            place: r.place,
            age_days: r.date.zip(newest).map(|(d, n)| (n - d).num_days() as f32),
        })
        .collect();

    let started = std::time::Instant::now();
    let labels_for_training = LabelSet::by_family(labels.clone());
    // Training runs on a blocking thread; its fold progress comes back over a channel.
    let (tx, mut folds) = tokio::sync::mpsc::unbounded_channel();
    let training = tokio::task::spawn_blocking(move || {
        Classifier::train(&examples, labels_for_training, params, &move |d, t| {
            let _ = tx.send((d, t));
        })
    });
    while let Some((done, total)) = folds.recv().await {
        progress("training", done, total);
    }
    let classifier = training.await.expect("training thread");
    let train_seconds = started.elapsed().as_secs_f32();

    let preds: Vec<Vec<f32>> = test
        .rows
        .iter()
        .zip(test_vectors)
        .map(|(r, v)| classifier.predict(&r.text, v, r.place))
        .collect();
    let truth: Vec<Option<usize>> = test
        .rows
        .iter()
        .map(|r| labels.binary_search(&r.label).ok())
        .collect();
    let report = Report::compute(&preds, &truth, &labels, classifier.set_floor);
    let mut groups: Vec<GroupResult> = classifier
        .thresholds
        .iter()
        .map(|t| GroupResult {
            fitted: t.clone(),
            test_rows: 0,
            auto_routed: 0,
            misrouted: 0,
        })
        .collect();
    for (p, t) in preds.iter().zip(&truth) {
        let top = argmax(p);
        let Some(g) = groups
            .iter_mut()
            .find(|g| g.fitted.group == classifier.group(top))
        else {
            continue;
        };
        g.test_rows += 1;
        if classifier.auto_routes(p) {
            g.auto_routed += 1;
            g.misrouted += usize::from(*t != Some(top));
        }
    }
    let share = |routed: usize, wrong: usize| {
        (
            routed as f32 / preds.len().max(1) as f32,
            if routed == 0 {
                0.0
            } else {
                wrong as f32 / routed as f32
            },
        )
    };
    let (auto_routed, auto_misroute_rate) = share(
        groups.iter().map(|g| g.auto_routed).sum(),
        groups.iter().map(|g| g.misrouted).sum(),
    );
    let routed_one: Vec<bool> = preds
        .iter()
        .zip(&truth)
        .filter(|(p, _)| classifier.auto_threshold.is_some_and(|t| p[argmax(p)] >= t))
        .map(|(p, t)| *t == Some(argmax(p)))
        .collect();
    let (one_threshold_auto_routed, one_threshold_misroute_rate) = share(
        routed_one.len(),
        routed_one.iter().filter(|&&right| !right).count(),
    );
    Ok(EvalResult {
        n_test: test.rows.len(),
        n_train: train.len(),
        classes: labels.len(),
        skipped_train,
        skipped_test: test.skipped,
        unseen_test_labels: truth.iter().filter(|t| t.is_none()).count(),
        auto_threshold: classifier.auto_threshold,
        groups,
        auto_routed,
        auto_misroute_rate,
        one_threshold_auto_routed,
        one_threshold_misroute_rate,
        max_misroute_rate: params.max_misroute_rate,
        placed_train: train.iter().filter(|r| r.place.is_some()).count(),
        placed_test: test.rows.iter().filter(|r| r.place.is_some()).count(),
        place_weight: classifier.place_weight,
        mix: classifier.mix,
        balance: classifier.balance,
        temperature: classifier.temperature,
        train_seconds,
        redacted: redact,
        cross_validation: classifier.cross_validation.clone(),
        report,
    })
}

impl EvalResult {
    /// The human-readable report printed by `anliegen eval`.
    pub fn table(&self) -> String {
        let r = &self.report;
        let mut s = String::new();
        let pct = |x: f32| format!("{:.1} %", x * 100.0);
        s += &format!(
            "trained on {} rows ({} classes, {} skipped without label) in {:.1} s; tested on {} rows ({} skipped, {} with a label unseen in training); {}\n\n",
            self.n_train,
            self.classes,
            self.skipped_train,
            self.train_seconds,
            self.n_test,
            self.skipped_test,
            self.unseen_test_labels,
            super::metrics::texts_note(self.redacted)
        );
        let cv = &self.cross_validation;
        s += &format!(
            "{:<34}{:>10}   {}\n",
            "", "test", "cross-validated on the training rows"
        );
        let rows: [(&str, f32, f32, bool); 5] = [
            ("accuracy", r.accuracy, cv.accuracy, true),
            ("macro-F1", r.macro_f1, cv.macro_f1, false),
            ("top-3 accuracy", r.top3_accuracy, cv.top3_accuracy, true),
            ("expected calibration error", r.ece, cv.ece, false),
            (
                "coverage at 95 % precision",
                r.coverage_at_95_precision,
                cv.coverage_at_95_precision,
                true,
            ),
        ];
        for (name, test, folds, percent) in rows {
            let show = |x: f32| if percent { pct(x) } else { format!("{x:.3}") };
            s += &format!("{name:<34}{:>10}   {}\n", show(test), show(folds));
        }
        s += &format!(
            "{:<34}{:.2} classes, contains the answer {}\n",
            "candidate set (conformal)",
            r.mean_set_size,
            pct(r.set_coverage)
        );
        let with_threshold = self
            .groups
            .iter()
            .filter(|g| g.fitted.threshold.is_some())
            .count();
        s += &format!(
            "{:<34}{} of inquiries, {} of them misrouted (budget {}), by the thresholds of {} of {} groups\n",
            "auto-routed",
            pct(self.auto_routed),
            pct(self.auto_misroute_rate),
            pct(self.max_misroute_rate),
            with_threshold,
            self.groups.len(),
        );
        s += &format!(
            "{:<34}{}\n",
            "  (one threshold for all)",
            match self.auto_threshold {
                Some(t) => format!(
                    "{} of inquiries at confidence ≥ {t:.3}, {} of them misrouted",
                    pct(self.one_threshold_auto_routed),
                    pct(self.one_threshold_misroute_rate)
                ),
                None => "none meets the budget".into(),
            }
        );
        for g in self.groups.iter().filter(|g| g.fitted.threshold.is_some()) {
            s += &format!(
                "{:<34}threshold {:.3}{} ({} training predictions): {} of {} test rows auto-routed, {} misrouted\n",
                format!("  {}", g.fitted.group),
                g.fitted.threshold.unwrap_or_default(),
                if g.fitted.pooled { " pooled" } else { "" },
                g.fitted.predictions,
                g.auto_routed,
                g.test_rows,
                g.misrouted,
            );
        }
        s += &format!(
            "{:<34}linear {:.1} / kNN {:.1}, prior correction {:.2}, temperature {:.2}, place weight {:.1} ({} of {} training rows and {} of {} test rows with a place)\n\n",
            "model",
            self.mix,
            1.0 - self.mix,
            self.balance,
            self.temperature,
            self.place_weight,
            self.placed_train,
            self.n_train,
            self.placed_test,
            self.n_test,
        );
        s += &r.class_table();
        s
    }
}
