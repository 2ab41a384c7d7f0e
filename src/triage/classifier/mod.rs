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
    /// Age in days at which an example counts half as much as the newest one when the
    /// auto-routing thresholds are fitted (0: all count alike).
    pub recency_half_life_days: f32,
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
            recency_half_life_days: 180.0,
        }
    }
}

/// A labelled text with its embedding and the place it is about, if known; `label` indexes
/// the label list. `age_days` is how much older the label is than the newest example
/// (`None`: as new as it; catalogue texts, undated rows).
#[derive(Debug, Clone)]
pub struct Labelled {
    pub text: String,
    pub embedding: Vec<f32>,
    pub label: usize,
    pub place: Option<GeoPoint>,
    pub age_days: Option<f32>,
}

/// The labels a classifier answers with, and the group each belongs to for its
/// auto-routing threshold (the department of a service, or the family of a category):
/// every group keeps the misroute budget on its own, so an easy group auto-routes even
/// where a hard one cannot, and a shift of volume between groups does not break it.
#[derive(Debug, Clone)]
pub struct LabelSet {
    pub names: Vec<String>,
    /// Group name per label (same length as `names`).
    pub groups: Vec<String>,
}

impl LabelSet {
    /// All labels in one group: one threshold for everything.
    pub fn ungrouped(names: Vec<String>) -> Self {
        let groups = vec![String::new(); names.len()];
        Self { names, groups }
    }

    /// Each label in the group its name starts with: the part before " > " of a
    /// hierarchical category ("Beleuchtung > Straßenlaternen defekt"), the whole name for
    /// a flat one.
    pub fn by_family(names: Vec<String>) -> Self {
        let groups = names.iter().map(|n| family(n).to_string()).collect();
        Self { names, groups }
    }
}

/// The family of a hierarchical label: its part before the first " > ".
pub fn family(label: &str) -> &str {
    label.split(" > ").next().unwrap_or(label).trim()
}

/// The auto-routing threshold of one group of labels, fitted on the out-of-fold predictions
/// whose top label is in the group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupThreshold {
    pub group: String,
    /// Confidence at or above which the group's inquiries are auto-routed; `None`: never.
    pub threshold: Option<f32>,
    /// Out-of-fold predictions the threshold rests on.
    pub predictions: usize,
    /// Too few predictions to bound the group's own misroute rate: its threshold is the
    /// one fitted on all such small groups together.
    pub pooled: bool,
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
    /// One threshold for all labels together (reported beside the groups'; routing uses
    /// the group's): confidence at or above which an inquiry would be auto-routed.
    pub auto_threshold: Option<f32>,
    /// Group index per label.
    label_group: Vec<usize>,
    /// Per group: its threshold.
    pub thresholds: Vec<GroupThreshold>,
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
        labels: LabelSet,
        params: ClassifierParams,
        on_fold: &(dyn Fn(usize, usize) + Sync),
    ) -> Self {
        let LabelSet {
            names: labels,
            groups,
        } = labels;
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
        let weight: Vec<f32> = examples
            .iter()
            .map(|e| recency_weight(e.age_days, params.recency_half_life_days))
            .collect();
        let auto_threshold = calibration::risk_threshold_weighted(
            &confidence,
            &correct,
            &weight,
            params.max_misroute_rate,
        );
        let (names, label_group) = group_index(&groups, classes);
        let predicted_group: Vec<usize> =
            calibrated.iter().map(|p| label_group[argmax(p)]).collect();
        let thresholds = group_thresholds(
            &names,
            &predicted_group,
            &confidence,
            &correct,
            &weight,
            params.max_misroute_rate,
        );
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
            label_group,
            thresholds,
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

    /// The auto-routing threshold for inquiries whose top label is `label`.
    pub fn threshold(&self, label: usize) -> Option<f32> {
        let g = *self.label_group.get(label)?;
        self.thresholds.get(g)?.threshold
    }

    /// The group `label` belongs to ("" when ungrouped).
    pub fn group(&self, label: usize) -> &str {
        self.label_group
            .get(label)
            .and_then(|&g| self.thresholds.get(g))
            .map_or("", |t| t.group.as_str())
    }

    /// Whether an inquiry with these probabilities is auto-routed: its top label's
    /// group threshold is reached.
    pub fn auto_routes(&self, p: &[f32]) -> bool {
        let top = argmax(p);
        self.threshold(top)
            .is_some_and(|t| p.get(top).is_some_and(|&x| x >= t))
    }
}

/// An example's weight in the threshold fit: halved every `half_life` days of age.
fn recency_weight(age_days: Option<f32>, half_life: f32) -> f32 {
    match age_days {
        Some(age) if half_life > 0.0 => 0.5f32.powf(age.max(0.0) / half_life),
        _ => 1.0,
    }
}

/// Distinct group names (first-seen order) and each label's index among them.
fn group_index(groups: &[String], classes: usize) -> (Vec<String>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    let label_group = (0..classes)
        .map(|l| {
            let g = groups.get(l).map_or("", String::as_str);
            names.iter().position(|n| n == g).unwrap_or_else(|| {
                names.push(g.to_string());
                names.len() - 1
            })
        })
        .collect();
    (names, label_group)
}

/// Each group's threshold from the predictions that fall in it. Groups with too few
/// predictions to bound their own misroute rate share the threshold fitted on all of them
/// together, so every part of the traffic keeps the budget.
fn group_thresholds(
    names: &[String],
    predicted_group: &[usize],
    confidence: &[f32],
    correct: &[bool],
    weight: &[f32],
    budget: f32,
) -> Vec<GroupThreshold> {
    let fit = |members: &dyn Fn(usize) -> bool| {
        let idx: Vec<usize> = (0..confidence.len()).filter(|&i| members(i)).collect();
        let pick = |v: &[f32]| -> Vec<f32> { idx.iter().map(|&i| v[i]).collect() };
        let ok: Vec<bool> = idx.iter().map(|&i| correct[i]).collect();
        calibration::risk_threshold_weighted(&pick(confidence), &ok, &pick(weight), budget)
    };
    let effective = |g: usize| {
        let (sum, squares) = (0..confidence.len())
            .filter(|&i| predicted_group[i] == g)
            .fold((0f64, 0f64), |(s, q), i| {
                let w = f64::from(weight[i]);
                (s + w, q + w * w)
            });
        if squares > 0.0 {
            sum * sum / squares
        } else {
            0.0
        }
    };
    let small: Vec<bool> = (0..names.len())
        .map(|g| !calibration::enough_to_bound(effective(g), budget))
        .collect();
    let pooled = fit(&|i| small[predicted_group[i]]);
    names
        .iter()
        .enumerate()
        .map(|(g, name)| GroupThreshold {
            group: name.clone(),
            threshold: if small[g] {
                pooled
            } else {
                fit(&|i| predicted_group[i] == g)
            },
            predictions: predicted_group.iter().filter(|&&p| p == g).count(),
            pooled: small[g],
        })
        .collect()
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
    pub(crate) fn catch_all_data() -> (Vec<Labelled>, LabelSet) {
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
                age_days: None,
            });
        }
        let labels = ["general", "lamp", "bin"].map(String::from).to_vec();
        (examples, LabelSet::ungrouped(labels))
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

    #[test]
    fn every_group_keeps_the_budget_on_its_own() {
        // Group 0 is right above 0.7 and a coin toss below; group 1 is wrong 30 % of the
        // time at any confidence; group 2 is always right but has only 20 predictions.
        let (mut group, mut conf, mut correct) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..300 {
            let c = 0.5 + i as f32 / 600.0;
            group.extend([0, 1]);
            conf.extend([c, c]);
            correct.extend([c > 0.7 || i % 2 == 0, i % 10 >= 3]);
        }
        for i in 0..20 {
            group.push(2);
            conf.push(0.99 - i as f32 / 1000.0);
            correct.push(true);
        }
        let weight = vec![1.0; conf.len()];
        let names = ["lamps", "roads", "rare"].map(String::from);
        let t = group_thresholds(&names, &group, &conf, &correct, &weight, 0.05);
        assert_eq!(calibration::risk_threshold(&conf, &correct, 0.05), None);
        let lamps = t[0].threshold.expect("the easy group auto-routes");
        assert!((0.65..0.8).contains(&lamps), "{lamps}");
        let accepted: Vec<usize> = (0..conf.len())
            .filter(|&i| group[i] == 0 && conf[i] >= lamps)
            .collect();
        let wrong = accepted.iter().filter(|&&i| !correct[i]).count();
        assert!(wrong as f32 / accepted.len() as f32 <= 0.05);
        assert_eq!((t[1].threshold, t[1].pooled), (None, false));
        assert_eq!(
            (t[2].threshold, t[2].pooled, t[2].predictions),
            (None, true, 20)
        );
    }

    #[test]
    fn a_trained_classifier_routes_by_the_threshold_of_the_top_labels_group() {
        let (examples, labels) = catch_all_data();
        let grouped = LabelSet {
            names: labels.names.clone(),
            groups: ["catch-all", "narrow", "narrow"].map(String::from).to_vec(),
        };
        let c = Classifier::train(&examples, grouped, ClassifierParams::default(), &|_, _| {});
        assert_eq!(c.thresholds.len(), 2);
        assert_eq!(
            (c.group(0), c.group(1), c.group(2)),
            ("catch-all", "narrow", "narrow")
        );
        assert_eq!(c.threshold(1), c.threshold(2));
        for e in &examples {
            let p = c.predict(&e.text, &e.embedding, None);
            let top = argmax(&p);
            assert_eq!(
                c.auto_routes(&p),
                c.threshold(top).is_some_and(|t| p[top] >= t)
            );
        }
        assert_eq!(
            family("Beleuchtung > Straßenlaternen defekt"),
            "Beleuchtung"
        );
        assert_eq!(family("Hinweise"), "Hinweise");
        assert_eq!(
            LabelSet::by_family(vec!["A > x".into(), "A > y".into(), "B".into()]).groups,
            ["A", "A", "B"]
        );
    }
}
