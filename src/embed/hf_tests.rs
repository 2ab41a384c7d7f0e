//! Hugging Face model directories (BERT and XLM-RoBERTa) load and embed through the same
//! code an operator's full-precision model takes: tiny random models written as real
//! `config.json` + `model.safetensors`, with the default model's `tokenizer.json`.

use std::{collections::HashMap, path::Path};

use candle_core::{Device, Tensor};

use super::{CandleEncoder, Encoder};
use crate::config::{Config, ModelFormat};

const HIDDEN: usize = 8;
const FFN: usize = 16;
const POSITIONS: usize = 64;

fn weights(vocab: usize) -> HashMap<String, Tensor> {
    let dev = &Device::Cpu;
    let random = |shape: &[usize]| Tensor::randn(0f32, 0.2, shape, dev).unwrap();
    let mut t = HashMap::new();
    let mut add = |name: String, tensor: Tensor| {
        t.insert(name, tensor);
    };
    add(
        "embeddings.word_embeddings.weight".into(),
        random(&[vocab, HIDDEN]),
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        random(&[POSITIONS, HIDDEN]),
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        random(&[1, HIDDEN]),
    );
    let norm = |prefix: &str, add: &mut dyn FnMut(String, Tensor)| {
        add(
            format!("{prefix}.LayerNorm.weight"),
            Tensor::ones(HIDDEN, candle_core::DType::F32, dev).unwrap(),
        );
        add(
            format!("{prefix}.LayerNorm.bias"),
            Tensor::zeros(HIDDEN, candle_core::DType::F32, dev).unwrap(),
        );
    };
    norm("embeddings", &mut add);
    let l = "encoder.layer.0";
    for (name, out, inp) in [
        ("attention.self.query", HIDDEN, HIDDEN),
        ("attention.self.key", HIDDEN, HIDDEN),
        ("attention.self.value", HIDDEN, HIDDEN),
        ("attention.output.dense", HIDDEN, HIDDEN),
        ("intermediate.dense", FFN, HIDDEN),
        ("output.dense", HIDDEN, FFN),
    ] {
        add(format!("{l}.{name}.weight"), random(&[out, inp]));
        add(format!("{l}.{name}.bias"), random(&[out]));
    }
    norm(&format!("{l}.attention.output"), &mut add);
    norm(&format!("{l}.output"), &mut add);
    t
}

fn write_model(dir: &Path, model_type: &str, tokenizer: &Path, vocab: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(tokenizer, dir.join("tokenizer.json")).unwrap();
    candle_core::safetensors::save(&weights(vocab), dir.join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "model_type": model_type, "vocab_size": vocab, "hidden_size": HIDDEN,
        "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": FFN,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": POSITIONS, "type_vocab_size": 1, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 1, "position_embedding_type": "absolute",
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

#[test]
fn bert_and_xlm_roberta_directories_load_truncate_and_embed() {
    let tokenizer =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/multilingual-e5-small/tokenizer.json");
    if !tokenizer.exists() {
        crate::skip_missing_input(
            "models/multilingual-e5-small/tokenizer.json not found (run `make model`)",
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    for (model_type, max_tokens) in [("bert", POSITIONS), ("xlm-roberta", POSITIONS - 2)] {
        let dir = root.path().join(model_type);
        write_model(&dir, model_type, &tokenizer, 250_002);
        let mut cfg = Config::defaults().model;
        cfg.dir = dir;
        cfg.format = ModelFormat::Hf;
        cfg.query_prefix = String::new();
        let mut encoder = CandleEncoder::load(&cfg).unwrap_or_else(|e| panic!("{model_type}: {e}"));
        let info = encoder.info();
        assert_eq!(
            (info.architecture.as_str(), info.dimension, info.max_tokens),
            (model_type, HIDDEN, max_tokens)
        );
        let long = "Die Straßenlaterne ist kaputt. ".repeat(100);
        let texts = vec![
            "Laterne kaputt".to_string(),
            "Sperrmüll abholen".to_string(),
            long.clone(),
        ];
        let vectors = encoder.encode(&texts).unwrap();
        for v in &vectors {
            assert_eq!(v.len(), HIDDEN);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{model_type}: norm {norm}");
        }
        assert_ne!(vectors[0], vectors[1]);
        assert_eq!(
            encoder.token_ids(&long).unwrap().len(),
            max_tokens,
            "{model_type}: truncation"
        );
    }

    // A vocabulary smaller than the tokenizer's is refused with the file named.
    let dir = root.path().join("small");
    write_model(&dir, "bert", &tokenizer, 1000);
    let mut cfg = Config::defaults().model;
    cfg.dir = dir;
    cfg.format = ModelFormat::Hf;
    let err = CandleEncoder::load(&cfg).err().unwrap().to_string();
    assert!(
        err.contains("tokenizer.json is unusable") && err.contains("only 1000"),
        "{err}"
    );
}
