//! Text embedding: the `Encoder` capability (one implementation per runtime), the candle
//! implementation for the E5S1 container and Hugging Face directories, the dedicated model
//! thread behind a bounded queue (`Embedder`), and fetching the default model.

pub mod bert;
pub mod candle;
pub mod e5s1;
pub mod fetch;
#[cfg(test)]
mod hf_tests;
pub mod worker;

pub use candle::CandleEncoder;
pub use worker::Embedder;

use serde::Serialize;

/// Turns texts into L2-normalised vectors. Runs on the model thread only, so it may be
/// slow and blocking; implementations batch internally.
pub trait Encoder: Send {
    fn encode(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Token ids exactly as the model sees them (prefix, special tokens, truncation).
    fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError>;
    fn info(&self) -> ModelInfo;
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelInfo {
    /// Stable identifier of the weights, used to invalidate cached vectors.
    pub id: String,
    pub format: String,
    pub architecture: String,
    pub dir: String,
    pub dimension: usize,
    pub layers: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub max_tokens: usize,
    pub query_prefix: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EmbedError {
    #[error("the embedding queue is full; try again shortly")]
    Overloaded,
    #[error("the model thread has stopped")]
    Stopped,
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    #[error("model inference failed: {0}")]
    Inference(String),
}

/// Loading errors carry the file and the fix, so the operator sees one actionable line.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} is missing; run `make model` or `anliegen model fetch`")]
    Missing { path: String },
    #[error("model file {path} is corrupt ({problem}); delete it and run `anliegen model fetch`")]
    Corrupt { path: String, problem: String },
    #[error(
        "model file {path} is unusable ({problem}); fix it or point model.dir to a valid model"
    )]
    Unusable { path: String, problem: String },
    #[error("fetching the model failed: {0}")]
    Fetch(String),
}
