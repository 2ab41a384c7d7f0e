//! Looking at the model without the server: `anliegen triage TEXT` prints a decision,
//! `anliegen embed` writes embeddings as JSON Lines.

use std::{
    io::{BufRead, Write},
    path::PathBuf,
};

use anyhow::Context;

use secrecy::ExposeSecret;

use anliegen::{app, config::Config, store::Store};

pub async fn triage(config: &Config, text: &str) -> anyhow::Result<()> {
    let text = anliegen::domain::InquiryText::parse(text, config.server.max_text_chars)?;
    let store = Store::open(config.database.url.expose_secret()).await?;
    let index = app::open_index(config).await?;
    let embedder = app::start_embedder(config).await?;
    let engine = app::Engine::start(config, &store, index, embedder).await?;
    let decision = engine.router.route(text.as_str()).await?;
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}

pub async fn embed(config: &Config, input: Option<PathBuf>, token_ids: bool) -> anyhow::Result<()> {
    let reader: Box<dyn BufRead> = match &input {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("{}: cannot open", p.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let lines: Vec<String> = reader
        .lines()
        .collect::<Result<_, _>>()
        .context("reading input")?;
    let progress = super::Progress::new();
    let loading = progress.spinner("loading the model");
    let embedder = app::start_embedder(config).await?;
    progress.done(loading);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut done = 0;
    for chunk in lines.chunks(256) {
        let vectors = embedder.embed(chunk.to_vec()).await?;
        for (text, embedding) in chunk.iter().zip(vectors) {
            let mut row = serde_json::json!({"text": text, "embedding": embedding});
            if token_ids {
                row["token_ids"] = serde_json::json!(embedder.token_ids(text).await?);
            }
            writeln!(out, "{row}")?;
        }
        done += chunk.len();
        progress.update("embedding", done, lines.len());
    }
    out.flush()?;
    Ok(())
}
