//! `anliegen mail`: what intake keeps for operators — the messages the parser crashed on
//! (`quarantine`), each with the raw bytes for analysis (`quarantine --export ID FILE`) —
//! and `parse-mail`, the parser's child process (run by intake, not by people).

use std::path::PathBuf;

use anliegen::{config::Config, intake::parser};
use clap::Subcommand;

use super::{OutputFormat, open_store};

#[derive(Subcommand)]
pub enum MailAction {
    /// Messages the parser crashed on: quarantined ones and those still retried.
    #[command(after_help = "Example:\n  anliegen mail quarantine --export 12 message.eml")]
    Quarantine {
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// Write the raw message with this id to FILE instead of listing.
        #[arg(long, num_args = 2, value_names = ["ID", "FILE"])]
        export: Option<Vec<String>>,
    },
}

pub async fn run(config: &Config, action: MailAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match action {
        MailAction::Quarantine {
            export: Some(args), ..
        } => {
            let id: i64 = args[0]
                .parse()
                .map_err(|_| anyhow::anyhow!("quarantine id '{}' is not a number", args[0]))?;
            let raw = store
                .quarantined_raw(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no quarantined message with id {id}"))?;
            let file = PathBuf::from(&args[1]);
            std::fs::write(&file, raw).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            Ok(())
        }
        MailAction::Quarantine { format, .. } => {
            let list = store.quarantine(1000).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                OutputFormat::Table => {
                    println!(
                        "{:>5}  {:<20}  {:>9}  {:>8}  {:<25}  last error",
                        "id", "source", "size", "attempts", "quarantined at"
                    );
                    for q in list {
                        println!(
                            "{:>5}  {:<20}  {:>9}  {:>8}  {:<25}  {}",
                            q.id,
                            q.source,
                            q.size,
                            q.attempts,
                            q.quarantined_at.as_deref().unwrap_or("(retried)"),
                            q.last_error
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// The parser's child process: one message on standard input, its parse as JSON on
/// standard output.
pub fn parse_mail(limits: &str) -> std::process::ExitCode {
    match parser::run_child(limits) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
