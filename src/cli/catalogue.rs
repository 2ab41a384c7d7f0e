//! `anliegen catalogue …`: check a catalogue file, import a catalogue (DLDB, XZuFi, LeiKa,
//! TOML) as a new version, list the versions and show what changed between two.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use anliegen::{
    catalogue::{
        self, Format, ImportRequest, Input,
        diff::CatalogueDiff,
        versions::{self, Origin},
    },
    config::Config,
    domain::Catalogue,
};

use super::{OutputFormat, open_store};

#[derive(Subcommand)]
pub enum CatalogueAction {
    /// Check a catalogue file (default: the configured one) and print a summary.
    #[command(after_help = "Example:\n  anliegen catalogue check config/catalogue.toml")]
    Check { path: Option<PathBuf> },
    /// Import a catalogue and store it as a new version (the service routes with the
    /// latest version). Prints what was taken and what was skipped, and why.
    #[command(
        after_help = "Example:\n  anliegen catalogue import --format dldb services.json --locations locations.json --dry-run"
    )]
    Import {
        /// dldb, xzufi, leika or toml.
        #[arg(long, value_parser = parse_format)]
        format: Format,
        /// The catalogue file(s).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// DLDB locations file (offices, departments, contacts).
        #[arg(long)]
        locations: Option<PathBuf>,
        /// Mapping file assigning departments (required for LeiKa).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Also write the catalogue in anliegen's TOML format to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only check and report; store no version.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        report: OutputFormat,
    },
    /// List the stored catalogue versions.
    #[command(after_help = "Example:\n  anliegen catalogue versions")]
    Versions,
    /// What changed from A to B; each a version number or a TOML catalogue file.
    #[command(after_help = "Example:\n  anliegen catalogue diff 3 4")]
    Diff { a: String, b: String },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("'{s}' is not one of dldb, xzufi, leika, toml"))
}

fn input(path: &Path) -> anyhow::Result<Input> {
    Ok(Input {
        name: path.display().to_string(),
        text: std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?,
    })
}

pub async fn run(config: &Config, action: CatalogueAction) -> anyhow::Result<()> {
    match action {
        CatalogueAction::Check { path } => {
            let path = path.unwrap_or(config.catalogue.path.clone());
            let c = Catalogue::load(&path)?;
            println!("{}: {}", path.display(), summary(&c));
        }
        CatalogueAction::Import {
            format,
            files,
            locations,
            mapping,
            out,
            dry_run,
            report,
        } => {
            let request = ImportRequest {
                format,
                files: files.iter().map(|f| input(f)).collect::<Result<_, _>>()?,
                locations: locations.as_deref().map(input).transpose()?,
                mapping: mapping.as_deref().map(input).transpose()?,
            };
            let progress = super::Progress::new();
            let parsing = progress.spinner("importing the catalogue");
            // Parsing a large export takes a moment: off the async workers, so the spinner turns.
            let imported = tokio::task::spawn_blocking(move || catalogue::import(&request))
                .await
                .context("the import task failed")??;
            progress.done(parsing);
            if let Some(out) = &out {
                std::fs::write(out, imported.catalogue.to_toml())
                    .with_context(|| format!("{}: cannot write", out.display()))?;
            }
            let versioned = if dry_run {
                None
            } else {
                let store = open_store(config).await?;
                Some(
                    versions::save(
                        &store,
                        &imported.catalogue,
                        Some(&imported.report),
                        Origin::Import,
                    )
                    .await?,
                )
            };
            match report {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({"import": imported.report, "version": versioned})
                ),
                OutputFormat::Table => {
                    for s in &imported.report.skipped {
                        println!("skipped {}: {}", s.entry, s.reason);
                    }
                    println!(
                        "imported {} services, {} departments, {} offices; {} entries skipped",
                        imported.report.services,
                        imported.report.departments,
                        imported.report.offices,
                        imported.report.skipped.len()
                    );
                    match &versioned {
                        None => println!("dry run: no version stored"),
                        Some(v) => {
                            let n = v.stored.version();
                            match &v.changes {
                                _ if matches!(
                                    v.stored,
                                    anliegen::store::Stored::Unchanged { .. }
                                ) =>
                                {
                                    println!(
                                        "unchanged: the latest catalogue version {n} is the same"
                                    )
                                }
                                Some(d) => println!(
                                    "stored as catalogue version {n}: {} change(s)\n{}",
                                    d.lines().len(),
                                    d.lines().join("\n")
                                ),
                                None => println!("stored as catalogue version {n}"),
                            }
                        }
                    }
                }
            }
        }
        CatalogueAction::Versions => {
            let store = open_store(config).await?;
            for v in store.catalogue_versions().await? {
                println!(
                    "{:>4}  {}  {:<6}  {:>5} services  {}",
                    v.version, v.created_at, v.origin, v.services, v.source
                );
            }
        }
        CatalogueAction::Diff { a, b } => {
            let store = open_store(config).await?;
            let load = |which: String| {
                let store = store.clone();
                async move {
                    match which.parse::<i64>() {
                        Ok(n) => Ok::<_, anyhow::Error>(versions::load(&store, Some(n)).await?.1),
                        Err(_) => Ok(Catalogue::load(Path::new(&which))?),
                    }
                }
            };
            let (old, new) = (load(a).await?, load(b).await?);
            let d = CatalogueDiff::between(&old, &new);
            if d.is_empty() {
                println!("no changes");
            }
            for line in d.lines() {
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn summary(c: &Catalogue) -> String {
    let with_leika = c.services.iter().filter(|s| s.leika.is_some()).count();
    format!(
        "{} — {} departments, {} offices, {} services ({} with LeiKa key), fingerprint {}",
        c.name,
        c.departments.len(),
        c.offices.len(),
        c.services.len(),
        with_leika,
        &c.fingerprint()[..12]
    )
}
