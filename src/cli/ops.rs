//! Operations without HTTP: `anliegen worker` (pipeline jobs only), `anliegen audit verify`
//! and the GDPR data-subject requests.

use clap::Subcommand;

use anliegen::{
    app,
    config::Config,
    pipeline::{self, Pipeline},
    store::AuditVerdict,
};

use super::open_store;

#[derive(Subcommand)]
pub enum AuditAction {
    /// Print OK with the entry count, or the first broken entry (and exit non-zero).
    #[command(after_help = "Example:\n  anliegen audit verify")]
    Verify,
}

#[derive(Subcommand)]
pub enum GdprAction {
    /// Print everything stored about the sender as JSON (Art. 15).
    #[command(after_help = "Example:\n  anliegen gdpr export --email jane@example.org > jane.json")]
    Export {
        #[arg(long)]
        email: String,
    },
    /// Delete everything stored about the sender, vectors included (Art. 17).
    #[command(after_help = "Example:\n  anliegen gdpr erase --email jane@example.org")]
    Erase {
        #[arg(long)]
        email: String,
    },
}

pub async fn worker(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let index = app::open_index(&config).await?;
    let embedder = app::start_embedder(&config).await?;
    let engine = app::Engine::start(&config, &store, index, embedder).await?;
    tracing::info!("ready");
    tokio::spawn(engine.learner.follow_active_version());
    Pipeline::new(&config)
        .run(store, engine.router, engine.index)
        .await;
    Ok(())
}

pub async fn audit(config: &Config, action: AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Verify => match open_store(config).await?.verify_audit().await? {
            AuditVerdict::Intact { entries } => {
                println!("OK: audit log intact, {entries} entries");
                Ok(())
            }
            AuditVerdict::Broken { seq, problem } => {
                anyhow::bail!("audit log broken at entry {seq}: {problem}")
            }
        },
    }
}

pub async fn gdpr(config: &Config, action: GdprAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match action {
        GdprAction::Export { email } => {
            let export = store.export_subject(&email).await?;
            println!("{}", serde_json::to_string_pretty(&export)?);
        }
        GdprAction::Erase { email } => {
            let index = app::open_index(config).await?;
            let erased = pipeline::gdpr::erase(&store, index.as_ref(), &email).await?;
            println!(
                "erased {} inquiries: {}",
                erased.ids.len(),
                erased
                    .cases
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}
