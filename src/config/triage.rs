//! Settings of the model, the vector index, the catalogue, routing and training, the
//! durable pipeline and suggested replies.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    E5s1,
    Hf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub dir: PathBuf,
    pub format: ModelFormat,
    pub weights: String,
    pub query_prefix: String,
    pub max_tokens: usize,
    pub threads: usize,
    pub batch_tokens: usize,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexBackend {
    Embedded,
    Qdrant,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub backend: IndexBackend,
    pub qdrant_url: String,
    pub collection_prefix: String,
    /// Name of the environment variable with the API key, not the key.
    pub api_key_env: String,
}

impl IndexConfig {
    /// The Qdrant API key from the environment variable `api_key_env` names; unset or
    /// empty: none.
    pub fn api_key(&self) -> Option<SecretString> {
        std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.is_empty())
            .map(SecretString::from)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageConfig {
    pub candidates: usize,
    pub neighbours: usize,
    pub temperature: f32,
    pub min_confidence: f32,
    pub max_misroute_rate: f32,
    /// Age in days at which a labelled example counts half when thresholds are fitted.
    pub recency_half_life_days: f32,
    pub coverage: f32,
    pub knn_neighbours: usize,
    pub folds: usize,
    pub epochs: usize,
    pub min_labelled_examples: usize,
    /// A version that would auto-activate but routes more than this share of the recent
    /// decided inquiries differently waits for an admin instead.
    pub max_activation_change: f32,
    /// Inactive model versions kept besides the active one and the one before it.
    pub keep_versions: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub workers: usize,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub lease_seconds: u64,
    pub max_wait_ms: u64,
    pub poll_ms: u64,
    /// Triage jobs waiting or running at most; beyond, public intake answers `503
    /// backlog_full` and mail stays in its mailbox.
    pub max_queued: usize,
}

/// Suggested replies (README, "Suggested replies").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplyConfig {
    /// Autonomy of services without their own setting: "suggest", "draft" or "auto".
    pub autonomy: crate::domain::Autonomy,
    /// Autonomy per service id, before the admin API's setting (which wins).
    pub services: std::collections::BTreeMap<String, crate::domain::Autonomy>,
    /// Earlier replies of the same service offered beside a draft.
    pub alternatives: usize,
}

impl Default for ReplyConfig {
    fn default() -> Self {
        Self {
            autonomy: crate::domain::Autonomy::Suggest,
            services: Default::default(),
            alternatives: 3,
        }
    }
}
