//! The subcommands of the `anliegen` binary, one module each: every module owns its
//! arguments (clap derive) and a `run` function. Shared glue (opening the store, the
//! progress bar on stderr, report formats) lives here.

pub mod catalogue;
pub mod ingest;
pub mod inspect;
pub mod mail;
pub mod model;
pub mod ops;
pub mod replay;
pub mod train;
pub mod user;

use secrecy::ExposeSecret;

use anliegen::{config::Config, store::Store};

/// How a report is printed: a table for people, one JSON object for scripts.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// The configured database with the pipeline's retry limit and the webhook subscriptions.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Ok(Store::open(config.database.url.expose_secret())
        .await?
        .with_max_attempts(config.pipeline.max_attempts)
        .with_webhooks(
            anliegen::webhooks::subscribers(&config.webhooks),
            config.webhooks.max_attempts,
        ))
}

/// A progress bar on stderr, so stdout stays clean for the report.
pub fn progress_bar(stage: &str, done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    eprint!(
        "\r{stage:<10} [{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
    if done == total {
        eprintln!();
    }
}
