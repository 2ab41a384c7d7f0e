//! `anliegen bench-encoder` (hidden): the encoder measured by the binary itself for
//! `bench/compare`. It loads the configured model exactly as `serve` does (the model thread,
//! its batching, `model.threads` / `RAYON_NUM_THREADS`), then answers one JSON request per
//! line of standard input with one JSON line on standard output:
//!
//! - `{"op": "embed", "texts": [...]}` → `{"vectors": [[...]], "token_ids": [[...]]}`
//! - `{"op": "throughput", "texts": [...]}` → `{"seconds": s, "texts": n}`: all texts as one
//!   request, as a bulk caller (training, re-indexing) sends them
//! - `{"op": "singles", "texts": [...]}` → `{"ms": [...]}`: each text alone, one after the other
//!
//! The first line written, once the model is loaded, is `{"ready": true, "threads": n, ...}`.

use std::{
    io::{BufRead, Write},
    time::Instant,
};

use anyhow::Context;
use serde::Deserialize;
use serde_json::json;

use anliegen::{app, config::Config};

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Request {
    Embed { texts: Vec<String> },
    Throughput { texts: Vec<String> },
    Singles { texts: Vec<String> },
}

pub async fn encoder(config: &Config) -> anyhow::Result<()> {
    let embedder = app::start_embedder(config).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        json!({
            "ready": true,
            "threads": candle_core::utils::get_num_threads(),
            "batch_tokens": config.model.batch_tokens,
            "max_tokens": embedder.info().max_tokens,
            "model": embedder.info().id,
        })
    )?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading a request")?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = serde_json::from_str(&line).context("a request line")?;
        let answer = match request {
            Request::Embed { texts } => {
                let mut token_ids = Vec::with_capacity(texts.len());
                for t in &texts {
                    token_ids.push(embedder.token_ids(t).await?);
                }
                let vectors = embedder.embed(texts).await?;
                json!({"vectors": vectors, "token_ids": token_ids})
            }
            Request::Throughput { texts } => {
                let n = texts.len();
                let started = Instant::now();
                let vectors = embedder.embed(texts).await?;
                let seconds = started.elapsed().as_secs_f64();
                anyhow::ensure!(
                    vectors.len() == n,
                    "{} vectors for {n} texts",
                    vectors.len()
                );
                json!({"seconds": seconds, "texts": n})
            }
            Request::Singles { texts } => {
                let mut ms = Vec::with_capacity(texts.len());
                for t in texts {
                    let started = Instant::now();
                    embedder.embed(vec![t]).await?;
                    ms.push(started.elapsed().as_secs_f64() * 1e3);
                }
                json!({"ms": ms})
            }
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}
