//! The BERT encoder forward for the E5S1 container and Hugging Face BERT directories. It
//! reads the same tensor names and configuration as candle-transformers' `BertModel` and
//! computes the same function, with two CPU kernels that model lacks: the exact (erf) GELU
//! through a branch-free rational erf that the compiler vectorises (candle evaluates a
//! scalar `erf` per element, about a third of a layer's time), and candle's fused
//! last-dimension softmax instead of one composed of separate tensor operations.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use candle_transformers::models::bert::{Config, HiddenAct};

/// erf for |x| ≤ 4 as x·P(x²)/Q(x²), the single-precision rational approximation of Eigen
/// and XLA (beyond ±4 erf is ±1 in f32). The GELU built on it stays within 2e-6 of candle's
/// exact one (tested below).
#[inline(always)]
#[allow(clippy::excessive_precision)] // The coefficients as published.
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_2e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    x * p / q
}

#[inline(always)]
fn gelu_into(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_into_avx2(src: &[f32], dst: &mut [f32]) {
    gelu_into(src, dst)
}

/// Exact GELU, 0.5·x·(1 + erf(x/√2)), over a slice.
pub fn gelu(src: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function was compiled for.
        unsafe { gelu_into_avx2(src, &mut out) };
        return out;
    }
    gelu_into(src, &mut out);
    out
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf-vectorised"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("gelu: f32 only")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu: contiguous input only")
        };
        Ok((
            CpuStorage::F32(gelu(&data[start..end])),
            layout.shape().clone(),
        ))
    }
}

fn activation(act: HiddenAct, xs: &Tensor) -> Result<Tensor> {
    match act {
        HiddenAct::Gelu if xs.dtype() == DType::F32 && xs.device().is_cpu() => {
            xs.contiguous()?.apply_op1_no_bwd(&GeluErf)
        }
        HiddenAct::Gelu => xs.gelu_erf(),
        HiddenAct::GeluApproximate => xs.gelu(),
        HiddenAct::Relu => xs.relu(),
    }
}

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        Ok(Self {
            word: embedding(c.vocab_size, c.hidden_size, vb.pp("word_embeddings"))?,
            position: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_type: embedding(
                c.type_vocab_size,
                c.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, ids: &Tensor, types: &Tensor) -> Result<Tensor> {
        let len = ids.dim(1)?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = (self.word.forward(ids)? + self.token_type.forward(types)?)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        self.norm.forward(&x)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    heads: usize,
    head_size: usize,
    act: HiddenAct,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let h = c.hidden_size;
        let attention = vb.pp("attention");
        Ok(Self {
            query: linear(h, h, attention.pp("self").pp("query"))?,
            key: linear(h, h, attention.pp("self").pp("key"))?,
            value: linear(h, h, attention.pp("self").pp("value"))?,
            attention_out: linear(h, h, attention.pp("output").pp("dense"))?,
            attention_norm: layer_norm(
                h,
                c.layer_norm_eps,
                attention.pp("output").pp("LayerNorm"),
            )?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output").pp("dense"))?,
            output_norm: layer_norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: c.num_attention_heads,
            head_size: h / c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, len, _) = x.dims3()?;
        x.reshape((batch, len, self.heads, self.head_size))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let q = self.split_heads(&self.query.forward(x)?)?;
        let k = self.split_heads(&self.key.forward(x)?)?;
        let v = self.split_heads(&self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_size as f64).sqrt())?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .flatten_from(2)?;
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = activation(self.act, &self.intermediate.forward(&attended)?)?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }
}

pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertModel {
    /// Loads from the Hugging Face names, at the root or under `bert.` / `{model_type}.`.
    pub fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let mut prefixes = vec![None, Some("bert".to_string())];
        prefixes.extend(c.model_type.clone().map(Some));
        let mut first_error = None;
        for prefix in prefixes {
            let vb = match &prefix {
                Some(p) => vb.pp(p),
                None => vb.clone(),
            };
            let loaded = Embeddings::load(vb.pp("embeddings"), c).and_then(|embeddings| {
                let layers = (0..c.num_hidden_layers)
                    .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), c))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Self { embeddings, layers })
            });
            match loaded {
                Ok(model) => return Ok(model),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.expect("at least one prefix was tried"))
    }

    /// Last hidden state (batch, tokens, hidden); `mask` is 1 for real tokens, 0 for padding.
    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let mut x = self.embeddings.forward(ids, types)?;
        // Padding gets a large negative score before the softmax.
        let mask = mask.to_dtype(x.dtype())?;
        let mask = ((mask.ones_like()? - &mask)? * f32::MIN as f64)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        for layer in &self.layers {
            x = layer.forward(&x, &mask)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_gelu_matches_candles_exact_gelu() {
        let xs: Vec<f32> = (0..20_001)
            .map(|i| (i as f32 - 10_000.0) / 1_000.0)
            .collect();
        let t = Tensor::from_slice(&xs, xs.len(), &candle_core::Device::Cpu).unwrap();
        let exact: Vec<f32> = t.gelu_erf().unwrap().to_vec1().unwrap();
        let fast = gelu(&xs);
        for ((x, a), b) in xs.iter().zip(&exact).zip(&fast) {
            assert!((a - b).abs() <= 2e-6 * (1.0 + x.abs()), "x {x}: {a} vs {b}");
        }
        let via_op: Vec<f32> = activation(HiddenAct::Gelu, &t).unwrap().to_vec1().unwrap();
        assert_eq!(via_op, fast);
    }
}
