//! Quality figures of a classifier on labelled data: accuracy, macro-F1, top-3 accuracy,
//! expected calibration error, coverage at 95 % precision, candidate-set size and coverage,
//! per-class precision/recall and the most confused pairs.

use serde::{Deserialize, Serialize};

use super::{calibration, classifier::argmax};

/// Confidence bins for the expected calibration error.
pub const ECE_BINS: usize = 15;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassReport {
    pub label: String,
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
    pub support: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Confusion {
    pub truth: String,
    pub predicted: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub n: usize,
    pub accuracy: f32,
    pub macro_f1: f32,
    pub top3_accuracy: f32,
    pub ece: f32,
    pub coverage_at_95_precision: f32,
    pub mean_set_size: f32,
    pub set_coverage: f32,
    pub per_class: Vec<ClassReport>,
    pub confused: Vec<Confusion>,
}

impl Report {
    /// `truth[i]` is `None` when the true label was never seen in training (always wrong).
    pub fn compute(
        preds: &[Vec<f32>],
        truth: &[Option<usize>],
        labels: &[String],
        set_floor: f32,
    ) -> Self {
        let n = preds.len();
        let classes = labels.len();
        let predicted: Vec<usize> = preds.iter().map(|p| argmax(p)).collect();
        let correct: Vec<bool> = predicted
            .iter()
            .zip(truth)
            .map(|(p, t)| Some(*p) == *t)
            .collect();
        let confidence: Vec<f32> = preds
            .iter()
            .map(|p| p.iter().copied().fold(0.0, f32::max))
            .collect();
        let top3 = preds
            .iter()
            .zip(truth)
            .filter(|(p, t)| {
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
                t.is_some_and(|t| order.iter().take(3).any(|&c| c == t))
            })
            .count();
        let sets: Vec<Vec<usize>> = preds
            .iter()
            .map(|p| calibration::candidate_set(p, set_floor))
            .collect();
        let set_hits = sets
            .iter()
            .zip(truth)
            .filter(|(s, t)| t.is_some_and(|t| s.contains(&t)))
            .count();

        let mut tp = vec![0usize; classes];
        let mut fp = vec![0usize; classes];
        let mut support = vec![0usize; classes];
        let mut pairs: std::collections::HashMap<(usize, usize), usize> = Default::default();
        for (&p, t) in predicted.iter().zip(truth) {
            match t {
                Some(t) if *t == p => tp[p] += 1,
                Some(t) => {
                    fp[p] += 1;
                    *pairs.entry((*t, p)).or_default() += 1;
                }
                None => fp[p] += 1,
            }
            if let Some(t) = t {
                support[*t] += 1;
            }
        }
        let per_class: Vec<ClassReport> = (0..classes)
            .filter(|&c| support[c] > 0 || tp[c] + fp[c] > 0)
            .map(|c| {
                let precision = ratio(tp[c], tp[c] + fp[c]);
                let recall = ratio(tp[c], support[c]);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassReport {
                    label: labels[c].clone(),
                    precision,
                    recall,
                    f1,
                    support: support[c],
                }
            })
            .collect();
        let mut confused: Vec<Confusion> = pairs
            .into_iter()
            .map(|((t, p), count)| Confusion {
                truth: labels[t].clone(),
                predicted: labels[p].clone(),
                count,
            })
            .collect();
        confused.sort_by(|a, b| b.count.cmp(&a.count).then(a.truth.cmp(&b.truth)));
        confused.truncate(10);
        Self {
            n,
            accuracy: ratio(correct.iter().filter(|&&c| c).count(), n),
            macro_f1: per_class.iter().map(|c| c.f1).sum::<f32>() / per_class.len().max(1) as f32,
            top3_accuracy: ratio(top3, n),
            ece: calibration::ece(&confidence, &correct, ECE_BINS),
            coverage_at_95_precision: calibration::coverage_at_precision(
                &confidence,
                &correct,
                0.95,
            ),
            mean_set_size: sets.iter().map(Vec::len).sum::<usize>() as f32 / n.max(1) as f32,
            set_coverage: ratio(set_hits, n),
            per_class,
            confused,
        }
    }
}

impl Report {
    /// Per-class precision/recall/F1 and the most confused pairs, as printed by the evals.
    pub fn class_table(&self) -> String {
        let mut s = String::new();
        s += &format!(
            "{:<60} {:>9} {:>7} {:>6} {:>8}\n",
            "class", "precision", "recall", "F1", "support"
        );
        for c in &self.per_class {
            let label: String = c.label.chars().take(60).collect();
            s += &format!(
                "{label:<60} {:>9.3} {:>7.3} {:>6.3} {:>8}\n",
                c.precision, c.recall, c.f1, c.support
            );
        }
        s += "\nmost confused (truth → predicted):\n";
        for c in &self.confused {
            s += &format!("{:>5}  {} → {}\n", c.count, c.truth, c.predicted);
        }
        s
    }
}

/// How the evaluated texts were prepared, for the reports' first line.
pub fn texts_note(redacted: bool) -> &'static str {
    if redacted {
        "texts redacted first, as the service does"
    } else {
        "texts used as they are (--raw-text)"
    }
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 { 0.0 } else { a as f32 / b as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_on_a_small_known_case() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let preds = vec![
            vec![0.8, 0.1, 0.1], // a, right
            vec![0.2, 0.7, 0.1], // b, right
            vec![0.6, 0.3, 0.1], // a, truth b: wrong, b second
            vec![0.1, 0.2, 0.7], // c, truth unseen: wrong
        ];
        let truth = vec![Some(0), Some(1), Some(1), None];
        let r = Report::compute(&preds, &truth, &labels, 0.25);
        assert_eq!(r.n, 4);
        assert_eq!(r.accuracy, 0.5);
        assert_eq!(r.top3_accuracy, 0.75);
        assert_eq!(
            r.confused,
            vec![Confusion {
                truth: "b".into(),
                predicted: "a".into(),
                count: 1
            }]
        );
        let b = r.per_class.iter().find(|c| c.label == "b").unwrap();
        assert_eq!((b.precision, b.recall, b.support), (1.0, 0.5, 2));
        // sets at floor 0.25: {a}, {b}, {a, b}, {c} → hits 3 of 4
        assert_eq!(r.set_coverage, 0.75);
        assert_eq!(r.mean_set_size, 1.25);
        assert_eq!(r.coverage_at_95_precision, 0.25);
    }
}
