//! The learned, calibrated classifier: a linear model over embedding + lexical features and
//! a k-nearest-neighbour vote over labelled past inquiries, mixed and then temperature
//! scaled. Training runs k-fold cross-validation first; the out-of-fold predictions choose
//! the mixing weight, fit the temperature, the auto-routing threshold for the risk budget
//! and the conformal floor for candidate sets, and give honest quality figures. The final
//! model is then trained on all examples. Closed set by construction: it can only answer
//! with the labels it was trained on.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::GeoPoint;

use super::{
    calibration::{self, ClassConfidence, apply_temperature},
    features::{self, Idf, Sparse},
    linear::{Linear, TrainParams, softmax},
    metrics::Report,
};

mod cross_validation;
mod knn;

use cross_validation::{
    OutOfFold, PLACE_GRID, choose_mixture, fit, fold_assignment, mixture, out_of_fold,
    prior_weights, reweight, sparse_of,
};
use knn::knn;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ClassifierParams {
    pub linear: TrainParams,
    /// Neighbours voting in the kNN expert.
    pub k: usize,
    /// Sharpness of the neighbour weights exp((s − 1)/t).
    pub knn_temperature: f32,
    pub folds: usize,
    /// Misroute rate that auto-routing may not exceed.
    pub max_misroute_rate: f32,
    /// Coverage of the candidate sets.
    pub coverage: f32,
}

impl Default for ClassifierParams {
    fn default() -> Self {
        Self {
            linear: TrainParams::default(),
            k: 15,
            knn_temperature: 0.03,
            folds: 4,
            max_misroute_rate: 0.05,
            coverage: 0.95,
        }
    }
}

/// A labelled text with its embedding and the place it is about, if known; `label` indexes
/// the label list.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub text: String,
    pub embedding: Vec<f32>,
    pub label: usize,
    pub place: Option<GeoPoint>,
}

/// Bins of the stored reliability diagram.
const RELIABILITY_BINS: usize = 10;
/// Points of the stored coverage/misroute curve.
const RISK_POINTS: usize = 40;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    pub labels: Vec<String>,
    idf: Idf,
    linear: Linear,
    dim: usize,
    memory: Vec<f32>,
    memory_labels: Vec<u32>,
    /// Weight of the place's grid cells beside the text features (0: places unused), chosen
    /// by cross-validation.
    pub place_weight: f32,
    /// Weight of the linear model in the mixture (the rest is kNN).
    pub mix: f32,
    /// Exponent of the prior correction: each class's probability is divided by its
    /// training share to this power (0: none, 1: as if all classes were equally common).
    pub balance: f32,
    class_weights: Vec<f32>,
    pub temperature: f32,
    class_confidence: ClassConfidence,
    /// Confidence at or above which an inquiry is auto-routed; `None`: never.
    pub auto_threshold: Option<f32>,
    /// Probability floor of the conformal candidate set.
    pub set_floor: f32,
    pub params: ClassifierParams,
    /// Figures from the out-of-fold predictions of the training data.
    pub cross_validation: Report,
    /// The reliability diagram and coverage/misroute curve of the same predictions, kept
    /// with the version's figures (not part of the stored model).
    #[serde(skip)]
    pub curves: QualityCurves,
}

/// Curves of out-of-fold predictions for the quality page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct QualityCurves {
    pub reliability: Vec<calibration::ReliabilityBin>,
    pub risk_curve: Vec<calibration::RiskPoint>,
}

impl Classifier {
    /// Trains with cross-validated calibration. `on_fold` reports progress (fold, folds).
    pub fn train(
        examples: &[Labelled],
        labels: Vec<String>,
        params: ClassifierParams,
        on_fold: &(dyn Fn(usize, usize) + Sync),
    ) -> Self {
        let classes = labels.len();
        let dim = examples.first().map_or(0, |e| e.embedding.len());
        let counts: Vec<HashMap<u32, f32>> =
            examples.iter().map(|e| features::counts(&e.text)).collect();
        let folds = params.folds.clamp(2, examples.len().max(2));
        let fold_of: Vec<usize> = fold_assignment(examples.len(), folds, params.linear.seed);
        let place_grid: &[f32] = if examples.iter().any(|e| e.place.is_some()) {
            &PLACE_GRID
        } else {
            &PLACE_GRID[..1]
        };
        let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
        let mut counts_per_class = vec![0usize; classes];
        truth.iter().for_each(|&y| counts_per_class[y] += 1);
        let truth_opt: Vec<Option<usize>> = truth.iter().map(|&y| Some(y)).collect();

        // Every place weight gets its own out-of-fold predictions; the weight, the expert
        // mixture and the prior correction are chosen together by out-of-fold routing
        // quality (accuracy plus macro-F1: right overall, and no service left behind).
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = folds * place_grid.len();
        let mut best: Option<(f32, f32, f32, f32, Vec<OutOfFold>)> = None;
        for &place_weight in place_grid {
            let oof = out_of_fold(
                examples,
                &counts,
                &fold_of,
                folds,
                classes,
                &params,
                place_weight,
                &|| {
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    on_fold(n, total);
                },
            );
            let (quality, mix, balance) =
                choose_mixture(&oof, &truth_opt, &labels, &counts_per_class);
            if best.as_ref().is_none_or(|b| quality > b.0 + 1e-6) {
                best = Some((quality, place_weight, mix, balance, oof));
            }
        }
        let (_, place_weight, mix, balance, oof) = best.expect("at least one place weight");
        let idf = Idf::fit(counts.iter());
        let sparse: Vec<Sparse> = counts
            .iter()
            .zip(examples)
            .map(|(c, e)| sparse_of(&idf, c, e.place, place_weight))
            .collect();
        let refs: Vec<&Labelled> = examples.iter().collect();
        let linear = fit(&refs, &sparse, classes, dim, &params.linear);
        let class_weights = prior_weights(&counts_per_class, balance);
        let mixed: Vec<Vec<f32>> = oof
            .iter()
            .map(|(_, l, k)| reweight(&mixture(l, k, mix), &class_weights))
            .collect();
        let temperature = calibration::fit_temperature(&mixed, &truth);
        let scaled: Vec<Vec<f32>> = mixed
            .iter()
            .map(|p| apply_temperature(p, temperature))
            .collect();
        let class_confidence = ClassConfidence::fit(&scaled, &truth, classes);
        let calibrated: Vec<Vec<f32>> = scaled.iter().map(|p| class_confidence.apply(p)).collect();
        let confidence: Vec<f32> = calibrated
            .iter()
            .map(|p| p.iter().copied().fold(0.0, f32::max))
            .collect();
        let correct: Vec<bool> = calibrated
            .iter()
            .zip(&truth)
            .map(|(p, &y)| argmax(p) == y)
            .collect();
        let auto_threshold =
            calibration::risk_threshold(&confidence, &correct, params.max_misroute_rate);
        let true_prob: Vec<f32> = calibrated.iter().zip(&truth).map(|(p, &y)| p[y]).collect();
        let set_floor = calibration::conformal_floor(&true_prob, params.coverage);
        let cross_validation = Report::compute(
            &calibrated,
            &truth.iter().map(|&y| Some(y)).collect::<Vec<_>>(),
            &labels,
            set_floor,
        );

        Self {
            labels,
            idf,
            linear,
            dim,
            place_weight,
            memory: examples
                .iter()
                .flat_map(|e| e.embedding.iter().copied())
                .collect(),
            memory_labels: examples.iter().map(|e| e.label as u32).collect(),
            mix,
            balance,
            class_weights,
            temperature,
            class_confidence,
            auto_threshold,
            set_floor,
            params,
            cross_validation,
            curves: QualityCurves {
                reliability: calibration::reliability(&confidence, &correct, RELIABILITY_BINS),
                risk_curve: calibration::risk_curve(&confidence, &correct, RISK_POINTS),
            },
        }
    }

    /// Calibrated class probabilities for one text and its embedding.
    pub fn predict(&self, text: &str, embedding: &[f32], place: Option<GeoPoint>) -> Vec<f32> {
        let sparse = sparse_of(&self.idf, &features::counts(text), place, self.place_weight);
        let lin = softmax(&self.linear.logits(embedding, &sparse));
        let nn = knn(
            embedding,
            &self.memory,
            &self.memory_labels,
            self.dim,
            self.labels.len(),
            self.params.k,
            self.params.knn_temperature,
        );
        let mixed = reweight(&mixture(&lin, &nn, self.mix), &self.class_weights);
        self.class_confidence
            .apply(&apply_temperature(&mixed, self.temperature))
    }

    pub fn examples(&self) -> usize {
        self.memory_labels.len()
    }
}

pub fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// A catch-all class spread over the whole space (10× as frequent) beside two narrow
    /// classes, in 8 dimensions; texts carry no signal.
    pub(crate) fn catch_all_data() -> (Vec<Labelled>, Vec<String>) {
        let mut state = 0x2545f4914f6cdd1du64;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f32 / 10_000.0 - 0.5
        };
        let mut examples = Vec::new();
        for i in 0..600 {
            let (label, centre) = match i % 12 {
                0 => (1, 0),
                1 => (2, 1),
                _ => (0, 2 + i % 6),
            };
            // 30 % of the catch-all sits right in the narrow classes' regions: there it
            // outnumbers each narrow class 3:2.
            let centre = if label == 0 && i % 10 < 3 {
                i / 10 % 2
            } else {
                centre
            };
            let mut v: Vec<f32> = (0..8).map(|_| noise() * 0.3).collect();
            v[centre] += 1.0;
            examples.push(Labelled {
                text: format!("meldung {i}"),
                embedding: unit(v),
                label,
                place: None,
            });
        }
        let labels = ["general", "lamp", "bin"].map(String::from).to_vec();
        (examples, labels)
    }

    #[test]
    fn prior_correction_keeps_a_catch_all_from_swallowing_rare_classes() {
        let (examples, labels) = catch_all_data();
        let c = Classifier::train(&examples, labels, ClassifierParams::default(), &|_, _| {});
        assert!(c.balance > 0.0, "balance {}", c.balance);
        let uncorrected = prior_weights(&[500, 50, 50], 0.0);
        assert!(uncorrected.iter().all(|&w| (w - 1.0).abs() < 1e-6));
        let corrected = prior_weights(&[500, 50, 50], 1.0);
        assert!(corrected[1] > 9.0 * corrected[0] && corrected[1] == corrected[2]);
        let p = c.predict("meldung", &examples[0].embedding, None);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        // Out of fold, the narrow classes are found more often than not.
        let r = &c.cross_validation;
        for class in ["lamp", "bin"] {
            let cr = r.per_class.iter().find(|x| x.label == class).unwrap();
            assert!(cr.recall > 0.6, "{class}: {cr:?}, balance {}", c.balance);
        }
        assert!(r.macro_f1 > 0.5 && r.ece < 0.1, "{r:?}");
    }
}
