//! Turning scores into probabilities that mean what they say, and decisions that respect a
//! risk budget. All fitted on out-of-fold predictions, never on the data a model was
//! trained on:
//! - temperature scaling (one parameter, minimises the negative log-likelihood);
//! - the auto-routing threshold: the lowest confidence at which the expected misroute rate
//!   of everything at or above it stays within `max_misroute_rate`;
//! - confidence per predicted class: Platt scaling of the top probability, one pair of
//!   parameters per class, shrunk towards the pair shared by all classes, so a confident
//!   "street lamp" and an equally confident "general notice" can mean different things;
//! - split-conformal candidate sets: every class whose probability is at least
//!   `1 − q̂`, with q̂ the conformal quantile of `1 − p(true class)`.

use serde::{Deserialize, Serialize};

/// Applies temperature `t` to a probability vector: p_i^(1/t), renormalised.
pub fn apply_temperature(p: &[f32], t: f32) -> Vec<f32> {
    let logs: Vec<f32> = p.iter().map(|x| x.max(1e-12).ln() / t).collect();
    super::linear::softmax(&logs)
}

/// Mean negative log-likelihood at temperature `t`, from precomputed log-probabilities:
/// logsumexp(ln p / t) − ln p_y / t, without allocating per example.
fn nll(logs: &[Vec<f32>], labels: &[usize], t: f32) -> f64 {
    let total: f64 = logs
        .iter()
        .zip(labels)
        .map(|(l, &y)| {
            let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) / t;
            let sum: f32 = l.iter().map(|x| (x / t - max).exp()).sum();
            (max + sum.ln() - l[y] / t) as f64
        })
        .sum();
    total / logs.len().max(1) as f64
}

/// The temperature minimising NLL, by golden-section search over log t in [0.05, 20].
pub fn fit_temperature(preds: &[Vec<f32>], labels: &[usize]) -> f32 {
    let logs: Vec<Vec<f32>> = preds
        .iter()
        .map(|p| p.iter().map(|x| x.max(1e-12).ln()).collect())
        .collect();
    let (mut lo, mut hi) = (0.05f64.ln(), 20f64.ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let f = |x: f64| nll(&logs, labels, x.exp() as f32);
    let (mut a, mut b) = (hi - phi * (hi - lo), lo + phi * (hi - lo));
    let (mut fa, mut fb) = (f(a), f(b));
    for _ in 0..40 {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - phi * (hi - lo);
            fa = f(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + phi * (hi - lo);
            fb = f(b);
        }
    }
    ((lo + hi) / 2.0).exp() as f32
}

/// Platt parameters (slope, intercept) on the log-odds of the top probability.
type Platt = (f32, f32);

/// How strongly a class's own Platt pair is pulled towards the shared one: as many
/// pseudo-examples as this, labelled by the shared pair, join the class's own examples. A
/// class predicted a handful of times keeps close to the shared pair.
const CLASS_SHRINKAGE: f64 = 5.0;

/// Confidence recalibration per predicted class (see the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassConfidence {
    shared: Platt,
    per_class: Vec<Platt>,
}

fn log_odds(p: f32) -> f64 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A point of a Platt fit: log-odds, target probability (1/0 for observed outcomes) and
/// weight.
type PlattPoint = (f64, f64, f64);

/// Platt fit minimising the weighted log-loss of `target` given `a·x + b`, with a small
/// ridge towards `prior` that only matters when the points cannot tell `a` from `b`;
/// Newton's method (two parameters, convex).
fn fit_platt(points: &[PlattPoint], prior: (f64, f64)) -> (f64, f64) {
    const RIDGE: f64 = 1e-3;
    let (mut a, mut b) = prior;
    for _ in 0..50 {
        let (mut ga, mut gb) = (RIDGE * (a - prior.0), RIDGE * (b - prior.1));
        let (mut haa, mut hab, mut hbb) = (RIDGE, 0.0, RIDGE);
        for &(x, target, weight) in points {
            let s = sigmoid(a * x + b);
            let r = weight * (s - target);
            let w = weight * (s * (1.0 - s)).max(1e-9);
            ga += r * x;
            gb += r;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

impl ClassConfidence {
    /// Fits on out-of-fold probability vectors and their true classes.
    pub fn fit(preds: &[Vec<f32>], labels: &[usize], classes: usize) -> Self {
        let top: Vec<(usize, f64)> = preds
            .iter()
            .map(|p| {
                let c = super::classifier::argmax(p);
                (c, log_odds(p[c]))
            })
            .collect();
        let x: Vec<f64> = top.iter().map(|t| t.1).collect();
        let correct: Vec<bool> = top.iter().zip(labels).map(|(t, &y)| t.0 == y).collect();
        let observed: Vec<PlattPoint> = x
            .iter()
            .zip(&correct)
            .map(|(&x, &c)| (x, c as u8 as f64, 1.0))
            .collect();
        let shared = fit_platt(&observed, (1.0, 0.0));
        let per_class = (0..classes)
            .map(|c| {
                let own: Vec<PlattPoint> = (0..top.len())
                    .filter(|&i| top[i].0 == c)
                    .map(|i| observed[i])
                    .collect();
                let pseudo_weight = CLASS_SHRINKAGE / own.len().max(1) as f64;
                let pseudo = own
                    .iter()
                    .map(|&(x, _, _)| (x, sigmoid(shared.0 * x + shared.1), pseudo_weight));
                let points: Vec<PlattPoint> = own.iter().copied().chain(pseudo).collect();
                let (a, b) = fit_platt(&points, shared);
                (a as f32, b as f32)
            })
            .collect();
        Self {
            shared: (shared.0 as f32, shared.1 as f32),
            per_class,
        }
    }

    /// Replaces the top probability by its calibrated confidence and rescales the others
    /// to fill the rest; the top class stays the top class.
    pub fn apply(&self, p: &[f32]) -> Vec<f32> {
        let top = super::classifier::argmax(p);
        let (a, b) = self.per_class.get(top).copied().unwrap_or(self.shared);
        let mut confidence = sigmoid(a as f64 * log_odds(p[top]) + b as f64) as f32;
        let rest = 1.0 - p[top];
        if rest <= 0.0 {
            return p.to_vec();
        }
        let second = p
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != top)
            .map(|(_, &x)| x)
            .fold(0.0, f32::max);
        // At r/(1+r) the top class would tie with the runner-up; stay just above it.
        let r = second / rest;
        confidence = confidence.max((r / (1.0 + r) + 1e-5).min(1.0));
        p.iter()
            .enumerate()
            .map(|(i, &x)| {
                if i == top {
                    confidence
                } else {
                    x * (1.0 - confidence) / rest
                }
            })
            .collect()
    }
}

/// One bin of a reliability diagram: the examples whose confidence lies in `(lo, hi]`,
/// their mean stated confidence and their observed accuracy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReliabilityBin {
    pub lo: f32,
    pub hi: f32,
    pub n: usize,
    pub confidence: f32,
    pub accuracy: f32,
}

/// The non-empty bins of `bins` equal-width confidence bins (the reliability diagram).
pub fn reliability(confidence: &[f32], correct: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    (0..bins)
        .filter_map(|b| {
            let (lo, hi) = (b as f32 / bins as f32, (b + 1) as f32 / bins as f32);
            let idx: Vec<usize> = (0..confidence.len())
                .filter(|&i| {
                    confidence[i] > lo && confidence[i] <= hi || (b == 0 && confidence[i] == 0.0)
                })
                .collect();
            if idx.is_empty() {
                return None;
            }
            Some(ReliabilityBin {
                lo,
                hi,
                n: idx.len(),
                confidence: idx.iter().map(|&i| confidence[i]).sum::<f32>() / idx.len() as f32,
                accuracy: idx.iter().filter(|&&i| correct[i]).count() as f32 / idx.len() as f32,
            })
        })
        .collect()
}

/// Expected calibration error over `bins` equal-width confidence bins.
pub fn ece(confidence: &[f32], correct: &[bool], bins: usize) -> f32 {
    let n = confidence.len().max(1) as f32;
    reliability(confidence, correct, bins)
        .iter()
        .map(|b| b.n as f32 / n * (b.confidence - b.accuracy).abs())
        .sum()
}

/// One point of the coverage/misroute curve: auto-routing everything at or above
/// `threshold` covers `coverage` of the inquiries with `misroute_rate` of them wrong.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RiskPoint {
    pub threshold: f32,
    pub coverage: f32,
    pub misroute_rate: f32,
}

/// The coverage/misroute curve at up to `points` thresholds, cut only between distinct
/// confidences, from the most confident example down.
pub fn risk_curve(confidence: &[f32], correct: &[bool], points: usize) -> Vec<RiskPoint> {
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let n = order.len();
    let step = n.div_ceil(points.max(1)).max(1);
    let mut errors = 0usize;
    let mut curve = Vec::new();
    let mut next = step;
    for (k, &i) in order.iter().enumerate() {
        errors += usize::from(!correct[i]);
        let boundary = order
            .get(k + 1)
            .is_none_or(|&j| confidence[j] < confidence[i]);
        if boundary && (k + 1 >= next || k + 1 == n) {
            curve.push(RiskPoint {
                threshold: confidence[i],
                coverage: (k + 1) as f32 / n as f32,
                misroute_rate: errors as f32 / (k + 1) as f32,
            });
            next = k + 1 + step;
        }
    }
    curve
}

/// One-sided 95 % upper confidence bound (Wilson score) of an error rate seen as
/// `errors` out of `n`.
pub fn error_rate_upper_bound(errors: usize, n: usize) -> f32 {
    wilson_upper(errors as f64, n as f64)
}

/// The Wilson upper bound for `errors` out of `n` observations, both possibly fractional
/// (weighted counts: `n` is then the effective sample size).
fn wilson_upper(errors: f64, n: f64) -> f32 {
    if n <= 0.0 {
        return 1.0;
    }
    let z = 1.645f64;
    let p = errors / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre + spread) / (1.0 + z * z / n)) as f32
}

/// Lowest confidence threshold whose accepted set (confidence ≥ threshold) keeps the
/// misroute rate within `budget` with 95 % confidence (the Wilson upper bound of the
/// observed rate), so a handful of lucky examples never justify auto-routing. `None` when
/// no threshold qualifies.
pub fn risk_threshold(confidence: &[f32], correct: &[bool], budget: f32) -> Option<f32> {
    risk_threshold_weighted(confidence, correct, &vec![1.0; confidence.len()], budget)
}

/// [`risk_threshold`] with a weight per example (recent clerk decisions count more than
/// old ones): the accepted set's misroute rate is the weighted share of errors, and its
/// bound uses the effective sample size (Σw)²/Σw², so down-weighting old examples also
/// widens the bound instead of pretending to more evidence than there is.
pub fn risk_threshold_weighted(
    confidence: &[f32],
    correct: &[bool],
    weight: &[f32],
    budget: f32,
) -> Option<f32> {
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let (mut errors, mut sum, mut squares) = (0f64, 0f64, 0f64);
    let mut best = None;
    for (k, &i) in order.iter().enumerate() {
        let w = f64::from(weight[i]);
        sum += w;
        squares += w * w;
        if !correct[i] {
            errors += w;
        }
        let boundary = order
            .get(k + 1)
            .is_none_or(|&j| confidence[j] < confidence[i]);
        if boundary && sum > 0.0 {
            let n_eff = sum * sum / squares;
            if wilson_upper(errors / sum * n_eff, n_eff) <= budget {
                best = Some(confidence[i]);
            }
        }
    }
    best
}

/// Whether `n` equally weighted examples could ever bound a misroute rate within
/// `budget`: even with no error at all the Wilson bound needs enough of them.
pub fn enough_to_bound(n_eff: f64, budget: f32) -> bool {
    wilson_upper(0.0, n_eff) <= budget
}

/// Largest share of examples that can be accepted, most confident first, with at least
/// `precision` of them correct (the "coverage at 95 % precision" figure).
pub fn coverage_at_precision(confidence: &[f32], correct: &[bool], precision: f32) -> f32 {
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let mut right = 0usize;
    let mut best = 0usize;
    for (k, &i) in order.iter().enumerate() {
        right += correct[i] as usize;
        // Equal confidences cannot be told apart by a threshold: only cut between values.
        let boundary = order
            .get(k + 1)
            .is_none_or(|&j| confidence[j] < confidence[i]);
        if boundary && right as f32 / (k + 1) as f32 >= precision {
            best = k + 1;
        }
    }
    best as f32 / confidence.len().max(1) as f32
}

/// Split-conformal quantile for coverage `1 − alpha` from the true-class probabilities of
/// calibration examples. Returns the probability floor: classes at or above it form the set.
pub fn conformal_floor(true_class_prob: &[f32], coverage: f32) -> f32 {
    let mut scores: Vec<f32> = true_class_prob.iter().map(|p| 1.0 - p).collect();
    if scores.is_empty() {
        return 0.0;
    }
    scores.sort_by(f32::total_cmp);
    let n = scores.len();
    let rank = ((n as f32 + 1.0) * coverage).ceil() as usize;
    let q = scores[rank.clamp(1, n) - 1];
    (1.0 - q).max(0.0)
}

/// Classes in the conformal set, most probable first; never empty.
pub fn candidate_set(p: &[f32], floor: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut set: Vec<usize> = order.iter().copied().filter(|&c| p[c] >= floor).collect();
    if set.is_empty() {
        set.push(order[0]);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_softens_overconfident_predictions() {
        // Claims 0.99 but is right only 70 % of the time.
        let preds: Vec<Vec<f32>> = (0..100).map(|_| vec![0.99, 0.01]).collect();
        let labels: Vec<usize> = (0..100).map(|i| if i < 70 { 0 } else { 1 }).collect();
        let t = fit_temperature(&preds, &labels);
        let p = apply_temperature(&preds[0], t);
        assert!((p[0] - 0.7).abs() < 0.02, "t {t}, p {p:?}");
    }

    #[test]
    fn class_confidence_tells_reliable_from_unreliable_classes() {
        // Class 0 at 0.6 is right 95 % of the time, class 1 at 0.6 only 40 %.
        let mut preds = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            preds.push(vec![0.6, 0.3, 0.1]);
            labels.push(if i % 20 == 0 { 1 } else { 0 });
            preds.push(vec![0.2, 0.6, 0.2]);
            labels.push(if i % 5 < 2 { 1 } else { 2 });
        }
        let cal = ClassConfidence::fit(&preds, &labels, 3);
        let a = cal.apply(&[0.6, 0.3, 0.1]);
        let b = cal.apply(&[0.2, 0.6, 0.2]);
        assert!((a[0] - 0.95).abs() < 0.02, "{a:?}");
        assert!((b[1] - 0.40).abs() < 0.02, "{b:?}");
        for p in [&a, &b] {
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        // The top class stays on top even when its confidence drops below one half.
        assert_eq!(super::super::classifier::argmax(&b), 1);
        // A class never predicted keeps the shared parameters.
        let c = cal.apply(&[0.1, 0.3, 0.6]);
        assert!(c[2] > 0.0 && c[2] < 1.0);
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        let conf = vec![0.75; 8];
        let correct = [true, true, true, false, true, true, true, false];
        assert!(ece(&conf, &correct, 10) < 1e-6);
        assert!((ece(&[1.0, 1.0], &[false, false], 10) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn risk_threshold_keeps_the_misroute_rate_within_budget() {
        let mut conf = Vec::new();
        let mut correct = Vec::new();
        for i in 0..200 {
            conf.push(1.0 - i as f32 / 200.0);
            correct.push(i < 100 || i % 2 == 0); // top half always right, lower half 50 %
        }
        let t = risk_threshold(&conf, &correct, 0.05).unwrap();
        let accepted: Vec<usize> = (0..200).filter(|&i| conf[i] >= t).collect();
        let errors = accepted.iter().filter(|&&i| !correct[i]).count();
        assert!(errors as f32 / accepted.len() as f32 <= 0.05);
        assert!(accepted.len() >= 100);
        assert_eq!(risk_threshold(&[0.9, 0.8], &[false, false], 0.05), None);
    }

    #[test]
    fn upper_bound_is_conservative_and_tightens_with_evidence() {
        assert!(error_rate_upper_bound(0, 10) > 0.15);
        assert!(error_rate_upper_bound(0, 1000) < 0.005);
        let (small, large) = (
            error_rate_upper_bound(2, 50),
            error_rate_upper_bound(40, 1000),
        );
        assert!(
            small > 0.04 && large > 0.04 && small > large,
            "{small} {large}"
        );
        assert_eq!(error_rate_upper_bound(0, 0), 1.0);
        // Zero errors need about 52 examples before a 5 % bound can hold.
        assert!(!enough_to_bound(50.0, 0.05) && enough_to_bound(55.0, 0.05));
    }

    #[test]
    fn weighted_threshold_follows_recent_examples_and_counts_effective_evidence() {
        // 400 old examples where the band 0.6–0.8 is right only half the time, then 400
        // recent ones where it is always right: weighting the recent ones lowers the
        // threshold; unweighted, the old errors keep it high.
        let (mut conf, mut correct, mut weight) = (Vec::new(), Vec::new(), Vec::new());
        for recent in [false, true] {
            for i in 0..400 {
                let c = 1.0 - i as f32 / 1000.0; // 1.0 down to 0.6
                conf.push(c);
                correct.push(c > 0.8 || recent || i % 2 == 0);
                weight.push(if recent { 1.0 } else { 0.05 });
            }
        }
        let plain = risk_threshold(&conf, &correct, 0.05).unwrap();
        let weighted = risk_threshold_weighted(&conf, &correct, &weight, 0.05).unwrap();
        assert!(plain > 0.74, "{plain}");
        assert!(weighted < 0.65, "{weighted}");
        // Equal weights change nothing; tiny weights on everything change nothing either
        // (the effective sample size does not depend on the scale).
        let ones = vec![1.0; conf.len()];
        let tiny = vec![0.001; conf.len()];
        assert_eq!(
            risk_threshold_weighted(&conf, &correct, &ones, 0.05),
            Some(plain)
        );
        assert_eq!(
            risk_threshold_weighted(&conf, &correct, &tiny, 0.05),
            Some(plain)
        );
    }

    #[test]
    fn coverage_counts_the_confident_correct_prefix() {
        let conf = [0.9, 0.8, 0.7, 0.6];
        assert_eq!(
            coverage_at_precision(&conf, &[true, true, false, false], 0.95),
            0.5
        );
        assert_eq!(
            coverage_at_precision(&conf, &[false, true, true, true], 0.95),
            0.0
        );
    }

    #[test]
    fn conformal_sets_reach_their_coverage() {
        // True-class probabilities spread uniformly: a 90 % set needs a floor near 0.1.
        let probs: Vec<f32> = (1..=100).map(|i| i as f32 / 100.0).collect();
        let floor = conformal_floor(&probs, 0.9);
        let covered = probs.iter().filter(|&&p| p >= floor).count();
        assert!(covered >= 90, "{covered} at floor {floor}");
        assert_eq!(candidate_set(&[0.1, 0.6, 0.3], 0.25), vec![1, 2]);
        assert_eq!(candidate_set(&[0.1, 0.6, 0.3], 0.9), vec![1]);
    }
}
