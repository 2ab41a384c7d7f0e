//! `anliegen ingest`: take in mail from a file, standard input (MTA pipe delivery) or a
//! directory, and print the summary.

use std::path::Path;

use anliegen::{
    config::Config,
    intake::{email::Limits, ingest},
};

use super::open_store;

pub async fn run(config: &Config, path: &Path) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let limits = Limits {
        max_bytes: config.mail.max_message_bytes,
        ..Limits::default()
    };
    let summary = if path.as_os_str() == "-" {
        ingest::ingest_stdin(&store, &limits).await?
    } else {
        let files = ingest::message_files(path)?;
        ingest::ingest_files(&store, &files, &limits, path.is_dir()).await?
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    anyhow::ensure!(
        summary.unreadable_files.is_empty(),
        "{} file(s) could not be read (listed above); everything else was ingested",
        summary.unreadable_files.len()
    );
    Ok(())
}
