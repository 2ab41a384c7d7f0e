//! `CandleEncoder`: the multilingual encoder run with candle on the CPU. Loads either the
//! E5S1 container (dequantised into `BertModel`) or a Hugging Face directory (BERT or
//! XLM-RoBERTa), tokenises with `tokenizers`, batches by a token budget, and pools with the
//! attention mask.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{bert, xlm_roberta};
use tokenizers::{Tokenizer, TruncationParams};

use super::{EmbedError, Encoder, ModelError, ModelInfo, e5s1, fetch};
use crate::config::{ModelConfig, ModelFormat};

enum Network {
    Bert(super::bert::BertModel),
    XlmRoberta(xlm_roberta::XLMRobertaModel),
}

pub struct CandleEncoder {
    tokenizer: Tokenizer,
    network: Network,
    device: Device,
    pad_id: u32,
    prefix: String,
    batch_tokens: usize,
    info: ModelInfo,
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn require(path: PathBuf) -> Result<PathBuf, ModelError> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::Missing {
            path: display(&path),
        })
    }
}

impl CandleEncoder {
    pub fn load(cfg: &ModelConfig) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let tokenizer_path = require(cfg.dir.join("tokenizer.json"))?;
        let (network, mut info) = match cfg.format {
            ModelFormat::E5s1 => load_e5s1(cfg, &device)?,
            ModelFormat::Hf => load_hf(cfg, &device)?,
        };
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| ModelError::Corrupt {
                path: display(&tokenizer_path),
                problem: e.to_string(),
            })?;
        let max_tokens = cfg.max_tokens.min(info.max_tokens);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| ModelError::Unusable {
                path: display(&tokenizer_path),
                problem: e.to_string(),
            })?;
        // Some exported tokenizers pad every input to a fixed length; batches are padded to
        // their longest member instead.
        tokenizer.with_padding(None);
        let tokenizer_vocab = tokenizer.get_vocab_size(true);
        if tokenizer_vocab > info.vocab {
            return Err(ModelError::Unusable {
                path: display(&tokenizer_path),
                problem: format!(
                    "tokenizer has {tokenizer_vocab} tokens but the model only {}",
                    info.vocab
                ),
            });
        }
        let pad_id = ["<pad>", "[PAD]"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .unwrap_or(0);
        info.max_tokens = max_tokens;
        info.query_prefix = cfg.query_prefix.clone();
        Ok(Self {
            tokenizer,
            network,
            device,
            pad_id,
            prefix: cfg.query_prefix.clone(),
            batch_tokens: cfg.batch_tokens.max(max_tokens),
            info,
        })
    }

    fn tokenize(&self, texts: &[String]) -> Result<Vec<Vec<u32>>, EmbedError> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", self.prefix))
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut mask = Vec::with_capacity(batch.len() * len);
        for seq in batch {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(self.pad_id, len - seq.len()));
            mask.extend(std::iter::repeat_n(1u32, seq.len()));
            mask.extend(std::iter::repeat_n(0u32, len - seq.len()));
        }
        let shape = (batch.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = match &self.network {
            Network::Bert(m) => {
                let lengths: Vec<usize> = batch.iter().map(|seq| seq.len()).collect();
                m.forward(&ids, &types, &lengths)?
            }
            Network::XlmRoberta(m) => m.forward(&ids, &mask, &types, None, None, None)?,
        };
        mean_pool_normalise(&hidden, &mask)?.to_vec2()
    }
}

/// Masked mean over the sequence, then L2 normalisation.
pub fn mean_pool_normalise(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1f32, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norm)
}

/// Splits length-sorted sequences into batches whose padded size stays within `budget`.
pub fn plan_batches(sorted_lengths: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    for (i, &longest) in sorted_lengths.iter().enumerate() {
        if i > start && longest * (i - start + 1) > budget {
            batches.push(start..i);
            start = i;
        }
    }
    if start < sorted_lengths.len() {
        batches.push(start..sorted_lengths.len());
    }
    batches
}

impl Encoder for CandleEncoder {
    fn encode(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let lengths: Vec<usize> = order.iter().map(|&i| tokens[i].len()).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for range in plan_batches(&lengths, self.batch_tokens) {
            let batch: Vec<&[u32]> = order[range.clone()]
                .iter()
                .map(|&i| tokens[i].as_slice())
                .collect();
            let vectors = self
                .device
                .with_context(|| self.forward(&batch))
                .map_err(|e| EmbedError::Inference(e.to_string()))?;
            for (&i, v) in order[range].iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        Ok(self.tokenize(&[text.to_string()])?.remove(0))
    }

    fn info(&self) -> ModelInfo {
        self.info.clone()
    }
}

fn load_e5s1(cfg: &ModelConfig, device: &Device) -> Result<(Network, ModelInfo), ModelError> {
    let path = require(cfg.dir.join(&cfg.weights))?;
    let bytes = std::fs::read(&path).map_err(|e| ModelError::Unusable {
        path: display(&path),
        problem: e.to_string(),
    })?;
    let sha = fetch::verify_known(&cfg.weights, &bytes).map_err(|problem| ModelError::Corrupt {
        path: display(&path),
        problem,
    })?;
    let container = e5s1::parse(&bytes, device).map_err(|problem| ModelError::Corrupt {
        path: display(&path),
        problem,
    })?;
    drop(bytes);
    let h = &container.header;
    let config: bert::Config = serde_json::from_value(serde_json::json!({
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.layer_norm_eps,
        "pad_token_id": 1,
        "model_type": "bert",
    }))
    .expect("complete BERT config");
    let info = ModelInfo {
        id: format!("e5s1:{}", &sha[..16]),
        format: "e5s1".into(),
        architecture: "bert".into(),
        dir: display(&cfg.dir),
        dimension: h.hidden,
        layers: h.layers,
        hidden: h.hidden,
        vocab: h.vocab,
        max_tokens: h.max_positions,
        query_prefix: String::new(),
    };
    let vb = VarBuilder::from_tensors(container.tensors, DType::F32, device);
    let model = super::bert::BertModel::load(vb, &config).map_err(|e| ModelError::Corrupt {
        path: display(&path),
        problem: e.to_string(),
    })?;
    Ok((Network::Bert(model), info))
}

fn load_hf(cfg: &ModelConfig, device: &Device) -> Result<(Network, ModelInfo), ModelError> {
    let config_path = require(cfg.dir.join("config.json"))?;
    let weights = require(cfg.dir.join("model.safetensors"))?;
    let unusable = |path: &Path, problem: String| ModelError::Unusable {
        path: display(path),
        problem,
    };
    let text =
        std::fs::read_to_string(&config_path).map_err(|e| unusable(&config_path, e.to_string()))?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unusable(&config_path, e.to_string()))?;
    let model_type = raw["model_type"].as_str().unwrap_or("bert").to_string();
    let field = |k: &str| raw[k].as_u64().unwrap_or(0) as usize;
    let meta = std::fs::metadata(&weights).map_err(|e| unusable(&weights, e.to_string()))?;
    let info = ModelInfo {
        id: format!("hf:{}:{}:{}", model_type, display(&cfg.dir), meta.len()),
        format: "hf".into(),
        architecture: model_type.clone(),
        dir: display(&cfg.dir),
        dimension: field("hidden_size"),
        layers: field("num_hidden_layers"),
        hidden: field("hidden_size"),
        vocab: field("vocab_size"),
        max_tokens: match model_type.as_str() {
            // XLM-RoBERTa positions start after the padding index.
            "xlm-roberta" => field("max_position_embeddings").saturating_sub(2),
            _ => field("max_position_embeddings"),
        },
        query_prefix: String::new(),
    };
    // SAFETY: the file is memory-mapped read-only; the operator must not modify it while the
    // service runs (documented in the README).
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }
        .map_err(|e| ModelError::Corrupt {
            path: display(&weights),
            problem: e.to_string(),
        })?;
    let corrupt = |e: candle_core::Error| ModelError::Corrupt {
        path: display(&weights),
        problem: e.to_string(),
    };
    let network = match model_type.as_str() {
        "bert" => {
            let c: bert::Config =
                serde_json::from_value(raw).map_err(|e| unusable(&config_path, e.to_string()))?;
            Network::Bert(super::bert::BertModel::load(vb, &c).map_err(corrupt)?)
        }
        "xlm-roberta" => {
            let c: xlm_roberta::Config =
                serde_json::from_value(raw).map_err(|e| unusable(&config_path, e.to_string()))?;
            let vb = if vb.contains_tensor("roberta.embeddings.word_embeddings.weight") {
                vb.pp("roberta")
            } else {
                vb
            };
            Network::XlmRoberta(xlm_roberta::XLMRobertaModel::new(&c, vb).map_err(corrupt)?)
        }
        other => {
            return Err(unusable(
                &config_path,
                format!("model_type '{other}' is not supported (bert, xlm-roberta)"),
            ));
        }
    };
    Ok((network, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_token_budget() {
        let lengths = [3, 4, 4, 10, 10, 30];
        let b = plan_batches(&lengths, 20);
        assert_eq!(b, vec![0..3, 3..5, 5..6]);
        // Every text gets a batch even when one alone exceeds the budget.
        assert_eq!(plan_batches(&[50], 20), vec![0..1]);
        assert!(plan_batches(&[], 20).is_empty());
    }

    #[test]
    fn pooling_ignores_padding_and_normalises() {
        let hidden = Tensor::new(&[[[1f32, 0.], [3., 4.], [100., 100.]]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).unwrap();
        let v: Vec<Vec<f32>> = mean_pool_normalise(&hidden, &mask)
            .unwrap()
            .to_vec2()
            .unwrap();
        // mean of (1,0) and (3,4) = (2,2) → normalised (0.7071, 0.7071)
        assert!((v[0][0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((v[0][1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn missing_model_names_file_and_fix() {
        let mut cfg = crate::config::Config::defaults().model;
        cfg.dir = PathBuf::from("/nonexistent/model");
        let err = CandleEncoder::load(&cfg).err().unwrap().to_string();
        assert_eq!(
            err,
            "model file /nonexistent/model/tokenizer.json is missing; run `make model` or `anliegen model fetch`"
        );
    }
}
