//! The subcommands of the `anliegen` binary, one module each: every module owns its
//! arguments (clap derive) and a `run` function. Shared glue (opening the store, the
//! progress bar on stderr, report formats) lives here.

pub mod bench;
pub mod catalogue;
pub mod completions;
pub mod exit;
pub mod ingest;
pub mod inspect;
pub mod mail;
pub mod model;
pub mod ops;
pub mod replay;
pub mod train;
pub mod user;

use secrecy::ExposeSecret;
use std::{io::IsTerminal, sync::Mutex};

use anliegen::{config::Config, store::Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// Progress of a long command on stderr, so stdout stays clean for the report: a bar per
/// stage on a terminal; when stderr is not a terminal (a log, a pipe) no bar, only one line
/// as each stage ends.
pub struct Progress {
    current: Mutex<Option<(String, ProgressBar)>>,
    terminal: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            current: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// `done` of `total` items of `stage` (a new stage starts a new bar).
    pub fn update(&self, stage: &str, done: usize, total: usize) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(s, _)| s != stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::with_draw_target(Some(total as u64), self.target()).with_style(
                ProgressStyle::with_template(
                    "{msg:<10} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .expect("a valid template")
                .progress_chars("#>-"),
            );
            bar.set_message(stage.to_string());
            *current = Some((stage.to_string(), bar));
        }
        let Some((_, bar)) = current.as_ref() else {
            return;
        };
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done >= total && !bar.is_finished() {
            bar.finish();
            if !self.terminal {
                eprintln!("{stage}: {done}/{total} done");
            }
        }
    }

    /// A spinner for `what` when the amount of work is not known; finish it with
    /// [`Progress::done`].
    pub fn spinner(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target())
            .with_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("a valid template"),
            )
            .with_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// Ends `spinner`, with one line when stderr is not a terminal.
    pub fn done(&self, spinner: ProgressBar) {
        spinner.finish_and_clear();
        if !self.terminal {
            eprintln!(
                "{}: done in {:.1} s",
                spinner.message(),
                spinner.elapsed().as_secs_f32()
            );
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}
