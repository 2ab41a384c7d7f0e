//! Multinomial logistic regression over the frozen embedding (dense) and the lexical
//! features (sparse), trained with AdaGrad and L2 regularisation. Written directly over
//! slices: the model is small, training must take seconds on two cores, and the same code
//! scores single inquiries on the request path without a tensor runtime.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::features::Sparse;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TrainParams {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Multiplies the dense embedding, balancing it against the sparse features.
    pub dense_scale: f32,
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 8,
            learning_rate: 0.5,
            l2: 1e-5,
            dense_scale: 2.0,
            seed: 7,
        }
    }
}

/// One training example: embedding, lexical features, class index.
pub struct Example<'a> {
    pub dense: &'a [f32],
    pub sparse: &'a Sparse,
    pub label: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Linear {
    classes: usize,
    dense_dim: usize,
    dense_scale: f32,
    /// classes × dense_dim, row per class.
    dense: Vec<f32>,
    /// Sparse weights for the buckets seen in training: bucket → classes weights.
    sparse: HashMap<u32, Vec<f32>>,
    bias: Vec<f32>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Linear {
    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn logits(&self, dense: &[f32], sparse: &Sparse) -> Vec<f32> {
        let mut z = self.bias.clone();
        for (c, zc) in z.iter_mut().enumerate() {
            *zc += self.dense_scale
                * dot(
                    &self.dense[c * self.dense_dim..(c + 1) * self.dense_dim],
                    dense,
                );
        }
        for (b, x) in sparse {
            if let Some(w) = self.sparse.get(b) {
                z.iter_mut().zip(w).for_each(|(zc, wc)| *zc += wc * x);
            }
        }
        z
    }

    pub fn train(examples: &[Example], classes: usize, dense_dim: usize, p: &TrainParams) -> Self {
        // Buckets seen in training get consecutive rows of one flat weight matrix, so the
        // inner loops index arrays instead of hashing every feature of every example.
        let mut row_of: HashMap<u32, usize> = HashMap::new();
        let rows: Vec<Vec<(usize, f32)>> = examples
            .iter()
            .map(|e| {
                e.sparse
                    .iter()
                    .map(|(b, x)| {
                        let next = row_of.len();
                        (*row_of.entry(*b).or_insert(next), *x)
                    })
                    .collect()
            })
            .collect();
        let mut sparse = vec![0f32; row_of.len() * classes];
        let mut dense = vec![0f32; classes * dense_dim];
        let mut bias = vec![0f32; classes];
        // AdaGrad accumulators mirror the weights.
        let mut g_sparse = vec![1e-6f32; sparse.len()];
        let mut g_dense = vec![1e-6f32; dense.len()];
        let mut g_bias = vec![1e-6f32; classes];
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = p.seed.max(1);
        let mut z = vec![0f32; classes];
        let mut grad = vec![0f32; classes];
        for _ in 0..p.epochs {
            shuffle(&mut order, &mut rng);
            for &i in &order {
                let e = &examples[i];
                for c in 0..classes {
                    z[c] = bias[c]
                        + p.dense_scale * dot(&dense[c * dense_dim..(c + 1) * dense_dim], e.dense);
                }
                for &(r, x) in &rows[i] {
                    z.iter_mut()
                        .zip(&sparse[r * classes..(r + 1) * classes])
                        .for_each(|(zc, w)| *zc += w * x);
                }
                softmax_into(&z, &mut grad);
                grad[e.label] -= 1.0;
                for c in 0..classes {
                    let g = grad[c];
                    g_bias[c] += g * g;
                    bias[c] -= p.learning_rate * g / g_bias[c].sqrt();
                    let range = c * dense_dim..(c + 1) * dense_dim;
                    for ((w, acc), x) in dense[range.clone()]
                        .iter_mut()
                        .zip(&mut g_dense[range])
                        .zip(e.dense)
                    {
                        let gw = g * x * p.dense_scale + p.l2 * *w;
                        *acc += gw * gw;
                        *w -= p.learning_rate * gw / acc.sqrt();
                    }
                }
                for &(r, x) in &rows[i] {
                    let range = r * classes..(r + 1) * classes;
                    for ((w, acc), g) in sparse[range.clone()]
                        .iter_mut()
                        .zip(&mut g_sparse[range])
                        .zip(&grad)
                    {
                        let gw = g * x + p.l2 * *w;
                        *acc += gw * gw;
                        *w -= p.learning_rate * gw / acc.sqrt();
                    }
                }
            }
        }
        let sparse = row_of
            .into_iter()
            .map(|(b, r)| (b, sparse[r * classes..(r + 1) * classes].to_vec()))
            .collect();
        Self {
            classes,
            dense_dim,
            dense_scale: p.dense_scale,
            dense,
            sparse,
            bias,
        }
    }
}

pub fn softmax_into(z: &[f32], out: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &x) in out.iter_mut().zip(z) {
        *o = (x - max).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}

pub fn softmax(z: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; z.len()];
    softmax_into(z, &mut out);
    out
}

/// Deterministic Fisher–Yates with xorshift, so a retrain on the same data gives the same
/// model.
fn shuffle(v: &mut [usize], state: &mut u64) {
    for i in (1..v.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        v.swap(i, (*state % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_problem_from_dense_and_sparse_features() {
        let dense: Vec<Vec<f32>> = (0..60)
            .map(|i| vec![if i % 3 == 0 { 1.0 } else { 0.0 }, 0.5])
            .collect();
        let sparse: Vec<Sparse> = (0..60).map(|i| vec![((i % 3) as u32 + 10, 1.0)]).collect();
        let examples: Vec<Example> = (0..60)
            .map(|i| Example {
                dense: &dense[i],
                sparse: &sparse[i],
                label: i % 3,
            })
            .collect();
        let m = Linear::train(&examples, 3, 2, &TrainParams::default());
        for i in 0..3 {
            let p = softmax(&m.logits(&dense[i], &sparse[i]));
            assert!(p[i] > 0.9, "class {i}: {p:?}");
        }
        let again = Linear::train(&examples, 3, 2, &TrainParams::default());
        assert_eq!(
            again.logits(&dense[0], &sparse[0]),
            m.logits(&dense[0], &sparse[0]),
            "deterministic"
        );
    }

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && p[2] == 0.0);
    }
}
