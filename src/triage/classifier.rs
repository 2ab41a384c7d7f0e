//! The learned, calibrated classifier: a linear model over embedding + lexical features and
//! a k-nearest-neighbour vote over labelled past inquiries, mixed and then temperature
//! scaled. Training runs k-fold cross-validation first; the out-of-fold predictions choose
//! the mixing weight, fit the temperature, the auto-routing threshold for the risk budget
//! and the conformal floor for candidate sets, and give honest quality figures. The final
//! model is then trained on all examples. Closed set by construction: it can only answer
//! with the labels it was trained on.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    calibration::{self, apply_temperature},
    features::{self, Idf, Sparse},
    linear::{Example, Linear, TrainParams, softmax},
    metrics::Report,
};

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

/// A labelled text with its embedding; `label` indexes the label list.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub text: String,
    pub embedding: Vec<f32>,
    pub label: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    pub labels: Vec<String>,
    idf: Idf,
    linear: Linear,
    dim: usize,
    memory: Vec<f32>,
    memory_labels: Vec<u32>,
    /// Weight of the linear model in the mixture (the rest is kNN).
    pub mix: f32,
    pub temperature: f32,
    /// Confidence at or above which an inquiry is auto-routed; `None`: never.
    pub auto_threshold: Option<f32>,
    /// Probability floor of the conformal candidate set.
    pub set_floor: f32,
    pub params: ClassifierParams,
    /// Figures from the out-of-fold predictions of the training data.
    pub cross_validation: Report,
}

fn fit(
    train: &[&Labelled],
    sparse: &[Sparse],
    classes: usize,
    dim: usize,
    p: &TrainParams,
) -> Linear {
    let examples: Vec<Example> = train
        .iter()
        .zip(sparse)
        .map(|(l, s)| Example {
            dense: &l.embedding,
            sparse: s,
            label: l.label,
        })
        .collect();
    Linear::train(&examples, classes, dim, p)
}

/// kNN class distribution from neighbours in `memory` (flat, `dim` per row).
fn knn(
    query: &[f32],
    memory: &[f32],
    labels: &[u32],
    dim: usize,
    classes: usize,
    k: usize,
    t: f32,
) -> Vec<f32> {
    let sims: Vec<f32> = memory
        .chunks_exact(dim)
        .map(|v| v.iter().zip(query).map(|(a, b)| a * b).sum())
        .collect();
    knn_from_similarities(&sims, labels, classes, k, t)
}

/// kNN distributions for many queries at once: one matrix product (candle's gemm) instead
/// of a dot product per pair, which otherwise dominates cross-validation.
fn knn_batch(
    queries: &[f32],
    memory: &[f32],
    labels: &[u32],
    dim: usize,
    classes: usize,
    k: usize,
    t: f32,
) -> Vec<Vec<f32>> {
    use candle_core::{Device, Tensor};
    let (nq, nm) = (queries.len() / dim.max(1), labels.len());
    let product = Tensor::from_slice(queries, (nq, dim), &Device::Cpu)
        .and_then(|q| q.matmul(&Tensor::from_slice(memory, (nm, dim), &Device::Cpu)?.t()?))
        .and_then(|m| m.to_vec2::<f32>());
    match product {
        Ok(rows) => rows
            .iter()
            .map(|sims| knn_from_similarities(sims, labels, classes, k, t))
            .collect(),
        // Shapes are consistent by construction; the scalar path is the safe fallback.
        Err(_) => queries
            .chunks_exact(dim)
            .map(|q| knn(q, memory, labels, dim, classes, k, t))
            .collect(),
    }
}

fn knn_from_similarities(
    sims: &[f32],
    labels: &[u32],
    classes: usize,
    k: usize,
    t: f32,
) -> Vec<f32> {
    let mut sims: Vec<(f32, u32)> = sims.iter().copied().zip(labels.iter().copied()).collect();
    let k = k.min(sims.len());
    let mut p = vec![1e-3f32; classes];
    if k > 0 {
        sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        for &(s, l) in &sims[..k] {
            p[l as usize] += ((s - 1.0) / t).exp();
        }
    }
    let sum: f32 = p.iter().sum();
    p.iter().map(|x| x / sum).collect()
}

/// An example's index with its out-of-fold linear and kNN distributions.
type OutOfFold = (usize, Vec<f32>, Vec<f32>);

fn mixture(lin: &[f32], knn: &[f32], mix: f32) -> Vec<f32> {
    lin.iter()
        .zip(knn)
        .map(|(a, b)| mix * a + (1.0 - mix) * b)
        .collect()
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

        // Out-of-fold predictions of both experts; folds and the final model train in parallel.
        let done = std::sync::atomic::AtomicUsize::new(0);
        let idf = Idf::fit(counts.iter());
        let sparse: Vec<Sparse> = counts.iter().map(|c| idf.transform(c)).collect();
        let (oof, linear): (Vec<OutOfFold>, Linear) = std::thread::scope(|s| {
            // The final model does not depend on the folds: it trains beside them.
            let final_model = s.spawn(|| {
                let refs: Vec<&Labelled> = examples.iter().collect();
                fit(&refs, &sparse, classes, dim, &params.linear)
            });
            let handles: Vec<_> = (0..folds)
                .map(|f| {
                    let (counts, fold_of, done) = (&counts, &fold_of, &done);
                    s.spawn(move || {
                        let held: Vec<usize> =
                            (0..examples.len()).filter(|&i| fold_of[i] == f).collect();
                        let train: Vec<usize> =
                            (0..examples.len()).filter(|&i| fold_of[i] != f).collect();
                        let idf = Idf::fit(train.iter().map(|&i| &counts[i]));
                        let sparse: Vec<Sparse> =
                            train.iter().map(|&i| idf.transform(&counts[i])).collect();
                        let refs: Vec<&Labelled> = train.iter().map(|&i| &examples[i]).collect();
                        let m = fit(&refs, &sparse, classes, dim, &params.linear);
                        let memory: Vec<f32> = train
                            .iter()
                            .flat_map(|&i| examples[i].embedding.iter().copied())
                            .collect();
                        let mem_labels: Vec<u32> =
                            train.iter().map(|&i| examples[i].label as u32).collect();
                        let queries: Vec<f32> = held
                            .iter()
                            .flat_map(|&i| examples[i].embedding.iter().copied())
                            .collect();
                        let neighbours = knn_batch(
                            &queries,
                            &memory,
                            &mem_labels,
                            dim,
                            classes,
                            params.k,
                            params.knn_temperature,
                        );
                        let out: Vec<_> = held
                            .iter()
                            .zip(neighbours)
                            .map(|(&i, nn)| {
                                let lin = softmax(
                                    &m.logits(&examples[i].embedding, &idf.transform(&counts[i])),
                                );
                                (i, lin, nn)
                            })
                            .collect();
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        on_fold(n, folds);
                        out
                    })
                })
                .collect();
            let oof = handles
                .into_iter()
                .flat_map(|h| h.join().expect("fold thread"))
                .collect();
            (oof, final_model.join().expect("training thread"))
        });
        let mut oof = oof;
        oof.sort_by_key(|(i, _, _)| *i);
        let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();

        // Choose the mixture by out-of-fold log-likelihood after temperature scaling.
        let mut best = (f64::INFINITY, 1.0f32, 1.0f32);
        for mix in [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0] {
            let preds: Vec<Vec<f32>> = oof.iter().map(|(_, l, k)| mixture(l, k, mix)).collect();
            let t = calibration::fit_temperature(&preds, &truth);
            let nll: f64 = preds
                .iter()
                .zip(&truth)
                .map(|(p, &y)| -(apply_temperature(p, t)[y].max(1e-12) as f64).ln())
                .sum();
            if nll < best.0 {
                best = (nll, mix, t);
            }
        }
        let (_, mix, temperature) = best;
        let calibrated: Vec<Vec<f32>> = oof
            .iter()
            .map(|(_, l, k)| apply_temperature(&mixture(l, k, mix), temperature))
            .collect();
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
            memory: examples
                .iter()
                .flat_map(|e| e.embedding.iter().copied())
                .collect(),
            memory_labels: examples.iter().map(|e| e.label as u32).collect(),
            mix,
            temperature,
            auto_threshold,
            set_floor,
            params,
            cross_validation,
        }
    }

    /// Calibrated class probabilities for one text and its embedding.
    pub fn predict(&self, text: &str, embedding: &[f32]) -> Vec<f32> {
        let sparse = self.idf.transform(&features::counts(text));
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
        apply_temperature(&mixture(&lin, &nn, self.mix), self.temperature)
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

/// Deterministic shuffled fold numbers, so every fold sees every class mix.
fn fold_assignment(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed.max(1) ^ 0x9e3779b97f4a7c15;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut fold = vec![0; n];
    for (rank, &i) in order.iter().enumerate() {
        fold[i] = rank % folds;
    }
    fold
}
