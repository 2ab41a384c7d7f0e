//! Cross-validation of the two experts: fold assignment, out-of-fold predictions (folds
//! trained in parallel), and the choice of the mixing weight, the prior correction and the
//! place features' weight by out-of-fold quality.

use std::collections::HashMap;

use super::{ClassifierParams, GeoPoint, Idf, Labelled, Report, Sparse, knn::knn_batch};
use crate::triage::{
    features::{place_features, with_place},
    linear::{Example, Linear, TrainParams, softmax},
};

pub(super) fn fit(
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

/// The linear model's sparse input: text features, plus the place's cells when known.
pub(super) fn sparse_of(
    idf: &Idf,
    counts: &HashMap<u32, f32>,
    place: Option<GeoPoint>,
    w: f32,
) -> Sparse {
    let text = idf.transform(counts);
    match place {
        Some(p) => with_place(text, place_features(p, w)),
        None => text,
    }
}

/// Candidate weights of the place features, tried when the training data has places.
pub(super) const PLACE_GRID: [f32; 3] = [0.0, 0.5, 1.0];

/// An example's index with its out-of-fold linear and kNN distributions.
pub(super) type OutOfFold = (usize, Vec<f32>, Vec<f32>);

/// Candidate mixing weights of the linear expert.
pub(super) const MIX_GRID: [f32; 7] = [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0];
/// Candidate prior-correction exponents.
pub(super) const BALANCE_GRID: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Per-class factors share^(−balance), with add-one smoothed training shares. Frequent
/// classes in the training data (a catch-all "general notice", say) otherwise swallow the
/// uncertain inquiries of rarer services.
pub(super) fn prior_weights(counts: &[usize], balance: f32) -> Vec<f32> {
    let total = counts.iter().sum::<usize>() + counts.len();
    counts
        .iter()
        .map(|&n| ((n + 1) as f32 / total.max(1) as f32).powf(-balance))
        .collect()
}

pub(super) fn reweight(p: &[f32], weights: &[f32]) -> Vec<f32> {
    let mut out: Vec<f32> = p.iter().zip(weights).map(|(a, w)| a * w).collect();
    let sum: f32 = out.iter().sum();
    if sum > 0.0 {
        out.iter_mut().for_each(|x| *x /= sum);
    }
    out
}

pub(super) fn mixture(lin: &[f32], knn: &[f32], mix: f32) -> Vec<f32> {
    lin.iter()
        .zip(knn)
        .map(|(a, b)| mix * a + (1.0 - mix) * b)
        .collect()
}

/// Out-of-fold predictions of both experts, the folds trained in parallel; `tick` after
/// each fold.
#[allow(clippy::too_many_arguments)]
pub(super) fn out_of_fold(
    examples: &[Labelled],
    counts: &[HashMap<u32, f32>],
    fold_of: &[usize],
    folds: usize,
    classes: usize,
    params: &ClassifierParams,
    place_weight: f32,
    tick: &(dyn Fn() + Sync),
) -> Vec<OutOfFold> {
    let dim = examples.first().map_or(0, |e| e.embedding.len());
    let mut oof: Vec<OutOfFold> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..folds)
            .map(|f| {
                s.spawn(move || {
                    let held: Vec<usize> =
                        (0..examples.len()).filter(|&i| fold_of[i] == f).collect();
                    let train: Vec<usize> =
                        (0..examples.len()).filter(|&i| fold_of[i] != f).collect();
                    let idf = Idf::fit(train.iter().map(|&i| &counts[i]));
                    let sparse_at =
                        |i: usize| sparse_of(&idf, &counts[i], examples[i].place, place_weight);
                    let sparse: Vec<Sparse> = train.iter().map(|&i| sparse_at(i)).collect();
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
                            (
                                i,
                                softmax(&m.logits(&examples[i].embedding, &sparse_at(i))),
                                nn,
                            )
                        })
                        .collect();
                    tick();
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("fold thread"))
            .collect()
    });
    oof.sort_by_key(|(i, _, _)| *i);
    oof
}

/// The expert mixture and prior correction with the best out-of-fold accuracy plus
/// macro-F1: (quality, mix, balance).
pub(super) fn choose_mixture(
    oof: &[OutOfFold],
    truth: &[Option<usize>],
    labels: &[String],
    counts: &[usize],
) -> (f32, f32, f32) {
    let mut best = (f32::NEG_INFINITY, 1.0f32, 0.0f32);
    for balance in BALANCE_GRID {
        let weights = prior_weights(counts, balance);
        for mix in MIX_GRID {
            let preds: Vec<Vec<f32>> = oof
                .iter()
                .map(|(_, l, k)| reweight(&mixture(l, k, mix), &weights))
                .collect();
            let r = Report::compute(&preds, truth, labels, 1.0);
            let quality = r.accuracy + r.macro_f1;
            if quality > best.0 + 1e-6 {
                best = (quality, mix, balance);
            }
        }
    }
    best
}

/// Deterministic shuffled fold numbers, so every fold sees every class mix.
pub(super) fn fold_assignment(n: usize, folds: usize, seed: u64) -> Vec<usize> {
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
