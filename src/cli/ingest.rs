//! `anliegen ingest`: take in mail from a file, standard input (MTA pipe delivery) or a
//! directory, and print the summary. Exit status 75 (EX_TEMPFAIL, "try again later") when
//! the parser crashed on a message that is not quarantined yet.

use std::{path::Path, process::ExitCode};

use anliegen::{
    config::Config,
    intake::{ingest, parser::MailParser},
};

use super::{
    exit::{Exit, InputError},
    open_store,
};

pub async fn run(config: &Config, path: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let parser = MailParser::from_config(&config.mail);
    let summary = if path.as_os_str() == "-" {
        ingest::ingest_stdin(&store, &parser).await?
    } else {
        let files = ingest::message_files(path)?;
        ingest::ingest_files(&store, &files, &parser, path.is_dir()).await?
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if !summary.unreadable_files.is_empty() {
        return Err(InputError(format!(
            "{} file(s) could not be read (listed above); everything else was ingested",
            summary.unreadable_files.len()
        ))
        .into());
    }
    if !summary.parser_crashes.is_empty() {
        eprintln!(
            "error: the mail parser crashed on {} message(s) (listed above); they are tried \
             again on the next run and quarantined after {} crashes",
            summary.parser_crashes.len(),
            parser.quarantine_after
        );
        // EX_TEMPFAIL: an MTA delivering through `ingest -` keeps the mail and retries.
        return Ok(Exit::TryAgain.into());
    }
    Ok(Exit::Ok.into())
}
