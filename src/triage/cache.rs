//! Embeddings by text hash: every text is embedded once per model and then read from the
//! store's cache, so catalogue rebuilds, retraining and evaluation never recompute a vector.

use sha2::{Digest, Sha256};

use super::TriageError;
use crate::{embed::Embedder, store::Store};

/// Texts per request to the model thread; also the progress granularity.
const CHUNK: usize = 64;

pub fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Embeds `texts`, taking what the cache already has and caching the rest. `progress` is
/// called with (done, total) as chunks finish.
pub async fn embed_cached(
    embedder: &Embedder,
    store: &Store,
    texts: &[String],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Vec<f32>>, TriageError> {
    let model = embedder.info().id.clone();
    let hashes: Vec<String> = texts.iter().map(|t| text_hash(t)).collect();
    let mut cached = store.cached_embeddings(&model, &hashes).await?;
    let missing: Vec<usize> = (0..texts.len())
        .filter(|&i| !cached.contains_key(&hashes[i]))
        .collect();
    let mut done = texts.len() - missing.len();
    progress(done, texts.len());
    for chunk in missing.chunks(CHUNK) {
        let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
        let vectors = embedder.embed(batch).await?;
        let entries: Vec<(String, Vec<f32>)> = chunk
            .iter()
            .map(|&i| hashes[i].clone())
            .zip(vectors)
            .collect();
        store.cache_embeddings(&model, &entries).await?;
        cached.extend(entries);
        done += chunk.len();
        progress(done, texts.len());
    }
    Ok(hashes.iter().map(|h| cached[h].clone()).collect())
}
