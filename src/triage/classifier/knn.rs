//! The k-nearest-neighbour expert: a class distribution from the labelled examples most
//! similar to a query, weighted by exp((s − 1)/t).

/// kNN class distribution from neighbours in `memory` (flat, `dim` per row).
pub(super) fn knn(
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
pub(super) fn knn_batch(
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

pub(super) fn knn_from_similarities(
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
