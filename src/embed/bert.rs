//! The BERT encoder forward for the E5S1 container and Hugging Face BERT directories. It
//! reads the same tensor names and configuration as candle-transformers' `BertModel` and
//! computes the same function, with CPU kernels that model lacks:
//! - the exact (erf) GELU through a branch-free rational erf that the compiler vectorises
//!   (candle evaluates a scalar `erf` per element), fused with the FFN's bias add;
//! - one attention kernel over the fused query/key/value projection: per sequence and head,
//!   scores, softmax (a vectorised `exp`) and the weighted values in one pass over the
//!   sequence's own tokens, so padding costs no attention work and no score tensor, mask,
//!   head split or transpose is materialised.

use candle_core::utils::barrier_pool;
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

/// The CPU has what the `_avx2` kernels are compiled for.
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The values of a custom op's input, which must be contiguous f32.
fn contiguous_f32<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: f32 only")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: contiguous input only")
    };
    Ok(&data[start..end])
}

/// Exact GELU, 0.5·x·(1 + erf(x/√2)), over a slice.
pub fn gelu(src: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
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
        let src = contiguous_f32("gelu", storage, layout)?;
        Ok((CpuStorage::F32(gelu(src)), layout.shape().clone()))
    }
}

/// GELU of `x + bias` (bias broadcast over the rows), in one pass: the FFN's bias add and
/// activation without an intermediate tensor.
struct GeluBias<'a> {
    bias: &'a [f32],
}

#[inline(always)]
fn gelu_bias_rows(src: &[f32], bias: &[f32], dst: &mut [f32]) {
    for (s, d) in src
        .chunks_exact(bias.len())
        .zip(dst.chunks_exact_mut(bias.len()))
    {
        for ((d, &x), &b) in d.iter_mut().zip(s).zip(bias) {
            let x = x + b;
            *d = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_bias_rows_avx2(src: &[f32], bias: &[f32], dst: &mut [f32]) {
    gelu_bias_rows(src, bias, dst)
}

impl CustomOp1 for GeluBias<'_> {
    fn name(&self) -> &'static str {
        "gelu-erf-bias"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = contiguous_f32("gelu", storage, layout)?;
        let width = self.bias.len();
        if width == 0 || !src.len().is_multiple_of(width) {
            candle_core::bail!("gelu: {} values are not rows of {width}", src.len())
        }
        let mut out = vec![0f32; src.len()];
        let rows = src.len() / width;
        let chunk = rows.div_ceil(4 * (barrier_pool().n_workers() + 1)).max(1) * width;
        let dst = SharedOut(out.as_mut_ptr());
        run_parts(src.len().div_ceil(chunk), rows >= PARALLEL_ROWS, |range| {
            for part in range {
                let (from, to) = (part * chunk, ((part + 1) * chunk).min(src.len()));
                // SAFETY: every part writes its own range of `out`, which outlives the call.
                let dst = unsafe { std::slice::from_raw_parts_mut(dst.at(from), to - from) };
                #[cfg(target_arch = "x86_64")]
                if avx2_fma() {
                    // SAFETY: the CPU supports the features the function was compiled for.
                    unsafe { gelu_bias_rows_avx2(&src[from..to], self.bias, dst) };
                    continue;
                }
                gelu_bias_rows(&src[from..to], self.bias, dst);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Rows (tokens) from which the kernels below split their work over candle's thread pool.
/// Below it (a single query) they run on the calling thread: waking the pool's workers
/// costs more than it saves there, and on a machine with as many busy threads as cores a
/// woken worker may wait for a time slice while the caller spins for it.
const PARALLEL_ROWS: usize = 256;

/// Calls `f` on ranges covering `0..parts`, on candle's thread pool when `parallel`.
fn run_parts(parts: usize, parallel: bool, f: impl Fn(std::ops::Range<usize>) + Sync) {
    if parallel {
        barrier_pool().execute_chunked(parts, f);
    } else {
        f(0..parts);
    }
}

/// A pointer into an output buffer that parallel parts write in disjoint places.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the parts that share it write disjoint elements, and the buffer outlives them.
unsafe impl Send for SharedOut {}
// SAFETY: as for Send: no two parts write the same element, none reads another's.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: callers stay inside the buffer.
        unsafe { self.0.add(offset) }
    }
}

/// e^x for x ≤ 0 (softmax after the maximum is subtracted): 2^n · p(r) with x = n·ln2 + r,
/// |r| ≤ ln2/2 and p the degree-6 Taylor polynomial (relative error below 2e-7). Branch-free,
/// so the compiler vectorises it.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = x - n * 0.693_145_751_953_125 - n * 1.428_606_765_330_187_045e-6;
    let mut p = 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    f32::from_bits(((n as i32 + 127) as u32) << 23) * p
}

/// Queries per block of the score and context loops.
const QUERY_BLOCK: usize = 4;
/// Keys per block of the score loop; value columns per block of the context loop.
const KEY_BLOCK: usize = 8;
const COLUMN_BLOCK: usize = 16;

/// Largest of `xs` and their sum, each in eight lanes so the compiler vectorises them.
#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    for block in xs.chunks(8) {
        for (l, &x) in lanes.iter_mut().zip(block) {
            *l = l.max(x);
        }
    }
    lanes.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l))
}

#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    for block in xs.chunks(8) {
        for (l, &x) in lanes.iter_mut().zip(block) {
            *l += x;
        }
    }
    lanes.iter().sum()
}

/// Scaled dot-product attention of one sequence and head over its first `len` tokens;
/// `qkv` holds the sequence's rows of the fused projection (query | key | value, each
/// `hidden` wide), `out` the start of the sequence's context rows (`hidden` apart). Scores
/// and context are computed in register blocks (4 queries × 8 keys, 4 queries × 16 value
/// columns) over zero-padded copies of the head's queries, keys (transposed) and values.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // The kernel's sizes, spelled out.
fn attend(
    qkv: &[f32],
    head: usize,
    len: usize,
    hidden: usize,
    head_size: usize,
    out: SharedOut,
    simd: bool,
) {
    let row = 3 * hidden;
    let scale = 1.0 / (head_size as f32).sqrt();
    let column = head * head_size;
    let rows = len.next_multiple_of(QUERY_BLOCK);
    let keys = len.next_multiple_of(KEY_BLOCK);
    let width = head_size.next_multiple_of(COLUMN_BLOCK);
    let mut q = vec![0f32; rows * head_size];
    let mut kt = vec![0f32; head_size * keys];
    let mut v = vec![0f32; keys * width];
    for j in 0..len {
        let r = &qkv[j * row..(j + 1) * row];
        for (dst, &x) in q[j * head_size..(j + 1) * head_size]
            .iter_mut()
            .zip(&r[column..column + head_size])
        {
            *dst = x * scale;
        }
        for (d, &k) in r[hidden + column..hidden + column + head_size]
            .iter()
            .enumerate()
        {
            kt[d * keys + j] = k;
        }
        v[j * width..j * width + head_size]
            .copy_from_slice(&r[2 * hidden + column..2 * hidden + column + head_size]);
    }
    let mut p = vec![0f32; rows * keys];
    for i in (0..rows).step_by(QUERY_BLOCK) {
        for j in (0..keys).step_by(KEY_BLOCK) {
            #[cfg(target_arch = "x86_64")]
            if simd {
                // SAFETY: only called with `simd` when the CPU has AVX2 and FMA.
                unsafe { score_block_avx2(&q, &kt, head_size, keys, i, j, &mut p) };
                continue;
            }
            score_block(&q, &kt, head_size, keys, i, j, &mut p);
        }
    }
    for i in 0..len {
        let (real, padding) = p[i * keys..(i + 1) * keys].split_at_mut(len);
        padding.fill(0.0);
        let max = lane_max(real);
        for x in real.iter_mut() {
            *x = exp_nonpositive(*x - max);
        }
        let inverse = 1.0 / lane_sum(real);
        for x in real.iter_mut() {
            *x *= inverse;
        }
    }
    for i in (0..rows).step_by(QUERY_BLOCK) {
        for c in (0..width).step_by(COLUMN_BLOCK) {
            #[cfg(target_arch = "x86_64")]
            let acc = if simd {
                // SAFETY: only called with `simd` when the CPU has AVX2 and FMA.
                unsafe { context_block_avx2(&p, &v, keys, width, len, i, c) }
            } else {
                context_block(&p, &v, keys, width, len, i, c)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let acc = context_block(&p, &v, keys, width, len, i, c);
            for (r, a) in acc.iter().enumerate().take(len.saturating_sub(i)) {
                let n = COLUMN_BLOCK.min(head_size - c);
                // SAFETY: row i + r < len, this head's columns: written by this call only.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(out.at((i + r) * hidden + column + c), n)
                };
                dst.copy_from_slice(&a[..n]);
            }
        }
    }
}

/// Scores of queries i..i+4 against keys j..j+8 into `p` (rows `keys` wide).
fn score_block(
    q: &[f32],
    kt: &[f32],
    head_size: usize,
    keys: usize,
    i: usize,
    j: usize,
    p: &mut [f32],
) {
    for r in 0..QUERY_BLOCK {
        for l in 0..KEY_BLOCK {
            p[(i + r) * keys + j + l] = (0..head_size)
                .map(|d| q[(i + r) * head_size + d] * kt[d * keys + j + l])
                .sum();
        }
    }
}

/// Context of queries i..i+4, value columns c..c+16, over the first `len` keys.
fn context_block(
    p: &[f32],
    v: &[f32],
    keys: usize,
    width: usize,
    len: usize,
    i: usize,
    c: usize,
) -> [[f32; COLUMN_BLOCK]; QUERY_BLOCK] {
    let mut acc = [[0f32; COLUMN_BLOCK]; QUERY_BLOCK];
    for (r, a) in acc.iter_mut().enumerate() {
        for j in 0..len {
            let x = p[(i + r) * keys + j];
            for (a, &y) in a
                .iter_mut()
                .zip(&v[j * width + c..j * width + c + COLUMN_BLOCK])
            {
                *a += x * y;
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn score_block_avx2(
    q: &[f32],
    kt: &[f32],
    head_size: usize,
    keys: usize,
    i: usize,
    j: usize,
    p: &mut [f32],
) {
    use std::arch::x86_64::*;
    const { assert!(KEY_BLOCK == 8 && QUERY_BLOCK == 4) };
    assert!(head_size > 0);
    assert!((i + QUERY_BLOCK) * head_size <= q.len());
    assert!((head_size - 1) * keys + j + KEY_BLOCK <= kt.len());
    assert!((i + QUERY_BLOCK - 1) * keys + j + KEY_BLOCK <= p.len());
    // SAFETY: the asserts above keep every load and store inside the slices.
    unsafe {
        let (qp, kp, pp) = (q.as_ptr(), kt.as_ptr(), p.as_mut_ptr());
        let mut acc = [_mm256_setzero_ps(); QUERY_BLOCK];
        for d in 0..head_size {
            let k = _mm256_loadu_ps(kp.add(d * keys + j));
            for (r, a) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*qp.add((i + r) * head_size + d));
                *a = _mm256_fmadd_ps(x, k, *a);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(pp.add((i + r) * keys + j), *a);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn context_block_avx2(
    p: &[f32],
    v: &[f32],
    keys: usize,
    width: usize,
    len: usize,
    i: usize,
    c: usize,
) -> [[f32; COLUMN_BLOCK]; QUERY_BLOCK] {
    use std::arch::x86_64::*;
    const { assert!(COLUMN_BLOCK == 16 && QUERY_BLOCK == 4) };
    assert!(len == 0 || (i + QUERY_BLOCK - 1) * keys + len <= p.len());
    assert!(len == 0 || (len - 1) * width + c + COLUMN_BLOCK <= v.len());
    let mut out = [[0f32; COLUMN_BLOCK]; QUERY_BLOCK];
    // SAFETY: the asserts above keep every load inside the slices; stores go to `out`.
    unsafe {
        let (pp, vp) = (p.as_ptr(), v.as_ptr());
        let mut acc = [[_mm256_setzero_ps(); 2]; QUERY_BLOCK];
        for j in 0..len {
            let v0 = _mm256_loadu_ps(vp.add(j * width + c));
            let v1 = _mm256_loadu_ps(vp.add(j * width + c + 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*pp.add((i + r) * keys + j));
                a[0] = _mm256_fmadd_ps(x, v0, a[0]);
                a[1] = _mm256_fmadd_ps(x, v1, a[1]);
            }
        }
        for (o, a) in out.iter_mut().zip(&acc) {
            _mm256_storeu_ps(o.as_mut_ptr(), a[0]);
            _mm256_storeu_ps(o.as_mut_ptr().add(8), a[1]);
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_avx2(
    qkv: &[f32],
    head: usize,
    len: usize,
    hidden: usize,
    head_size: usize,
    out: SharedOut,
) {
    attend(qkv, head, len, hidden, head_size, out, true)
}

/// Attention over the fused projection (batch, tokens, 3·hidden) → context (batch, tokens,
/// hidden). Sequence b is `lengths[b]` tokens long, padded at the end; padded rows get a
/// zero context (they are never pooled, and no real token attends to them).
struct Attention<'a> {
    heads: usize,
    lengths: &'a [usize],
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "attention-varlen"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = contiguous_f32("attention", storage, layout)?;
        let (batch, tokens, width) = layout.shape().dims3()?;
        let hidden = width / 3;
        if width != 3 * hidden || !hidden.is_multiple_of(self.heads) || self.lengths.len() != batch
        {
            candle_core::bail!(
                "attention: shape {:?} for {} heads",
                layout.shape(),
                self.heads
            )
        }
        if self.lengths.iter().any(|&l| l > tokens) {
            candle_core::bail!("attention: a length beyond {tokens} tokens")
        }
        let head_size = hidden / self.heads;
        let mut out = vec![0f32; batch * tokens * hidden];
        let dst = SharedOut(out.as_mut_ptr());
        let parallel = batch * tokens >= PARALLEL_ROWS;
        run_parts(batch * self.heads, parallel, |range| {
            for item in range {
                let (b, head) = (item / self.heads, item % self.heads);
                let rows = &qkv[b * tokens * width..(b + 1) * tokens * width];
                let out = SharedOut(dst.at(b * tokens * hidden));
                let len = self.lengths[b];
                #[cfg(target_arch = "x86_64")]
                if avx2_fma() {
                    // SAFETY: the CPU supports the features the function was compiled for.
                    unsafe { attend_avx2(rows, head, len, hidden, head_size, out) };
                    continue;
                }
                attend(rows, head, len, hidden, head_size, out, false);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((batch, tokens, hidden))))
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
    /// Query, key and value projections in one (3·hidden × hidden) matrix.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    /// The intermediate projection without its bias, and the bias, for the fused GELU.
    intermediate_weight: Linear,
    intermediate_bias: Vec<f32>,
    output: Linear,
    output_norm: LayerNorm,
    heads: usize,
    act: HiddenAct,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let h = c.hidden_size;
        let attention = vb.pp("attention");
        let projections =
            ["query", "key", "value"].map(|name| linear(h, h, attention.pp("self").pp(name)));
        let [query, key, value] = projections;
        let (query, key, value) = (query?, key?, value?);
        let bias = |l: &Linear| l.bias().cloned().expect("linear() loads a bias");
        let qkv = Linear::new(
            Tensor::cat(&[query.weight(), key.weight(), value.weight()], 0)?,
            Some(Tensor::cat(&[bias(&query), bias(&key), bias(&value)], 0)?),
        );
        let intermediate = linear(h, c.intermediate_size, vb.pp("intermediate").pp("dense"))?;
        Ok(Self {
            qkv,
            attention_out: linear(h, h, attention.pp("output").pp("dense"))?,
            attention_norm: layer_norm(
                h,
                c.layer_norm_eps,
                attention.pp("output").pp("LayerNorm"),
            )?,
            intermediate_weight: Linear::new(intermediate.weight().clone(), None),
            intermediate_bias: bias(&intermediate).to_dtype(DType::F32)?.to_vec1()?,
            intermediate,
            output: linear(c.intermediate_size, h, vb.pp("output").pp("dense"))?,
            output_norm: layer_norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    fn feed_forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.act == HiddenAct::Gelu && x.dtype() == DType::F32 && x.device().is_cpu() {
            let inner = self.intermediate_weight.forward(x)?.contiguous()?;
            return inner.apply_op1_no_bwd(&GeluBias {
                bias: &self.intermediate_bias,
            });
        }
        activation(self.act, &self.intermediate.forward(x)?)
    }

    /// `lengths`: the real tokens of each sequence, padding after them.
    fn forward(&self, x: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let qkv = self.qkv.forward(x)?.contiguous()?;
        let context = qkv.apply_op1_no_bwd(&Attention {
            heads: self.heads,
            lengths,
        })?;
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = self.feed_forward(&attended)?;
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

    /// Last hidden state (batch, tokens, hidden) on the CPU in f32; `lengths[b]` is the
    /// number of real tokens of sequence b, which is padded at the end.
    pub fn forward(&self, ids: &Tensor, types: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let mut x = self.embeddings.forward(ids, types)?;
        for layer in &self.layers {
            x = layer.forward(&x, lengths)?;
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
