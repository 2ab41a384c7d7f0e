//! The `anliegen` command line: a thin layer over the library that turns arguments into a
//! `Config` and calls one operation. Each subcommand lives in its own module under `cli/`.

mod cli;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use anliegen::config::{Config, LogFormat};
use cli::{catalogue::CatalogueAction, model::ModelAction, ops, train, user::UserAction};

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
        action: ops::AuditAction,
    },
    /// Data-subject requests under the GDPR.
    Gdpr {
        #[command(subcommand)]
        action: ops::GdprAction,
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
    Train(train::TrainArgs),
    /// Train from scratch on labelled files and report quality on a test file.
    Eval(Box<train::EvalArgs>),
    /// Fetch or inspect the model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Check, import, version and compare service catalogues.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
    /// Staff accounts: add, list, disable, enable, set-password.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Mail intake for operators: the parser's quarantine.
    Mail {
        #[command(subcommand)]
        action: cli::mail::MailAction,
    },
    /// The mail parser's child process (run by intake): one message on standard input,
    /// its parse as JSON on standard output.
    #[command(hide = true)]
    ParseMail {
        /// The limits as JSON.
        #[arg(long)]
        limits: String,
    },
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The parser's child runs without the async runtime: fewer threads and less address
    // space under its memory limit, and nothing but the parse.
    if let Command::ParseMail { limits } = &cli.command {
        return cli::mail::parse_mail(limits);
    }
    let result = Config::load(cli.config.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|config| {
            limit_model_threads(&config);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(run(cli, config))
        });
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line with the whole cause chain: what failed, which file, how to fix it.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// candle sizes its CPU matrix work from `RAYON_NUM_THREADS` on every call, so
/// `model.threads` becomes that variable here, while the process has one thread. A value
/// already in the environment wins.
#[allow(clippy::disallowed_methods)]
fn limit_model_threads(config: &Config) {
    let threads = config.model.threads;
    if threads > 0 && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: called from `main` before the runtime or any other thread is started, so
        // nothing reads the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<std::process::ExitCode> {
    init_logging(&config);
    let done = match cli.command {
        Command::Ingest { path } => return cli::ingest::run(&config, &path).await,
        Command::ParseMail { limits } => return Ok(cli::mail::parse_mail(&limits)),
        Command::Serve => Ok(anliegen::app::serve(config).await?),
        Command::Worker => ops::worker(config).await,
        Command::Audit { action } => ops::audit(&config, action).await,
        Command::Gdpr { action } => ops::gdpr(&config, action).await,
        Command::Triage { text } => cli::inspect::triage(&config, &text).await,
        Command::Embed { input, token_ids } => cli::inspect::embed(&config, input, token_ids).await,
        Command::Train(args) => train::train(&config, args).await,
        Command::Eval(args) => train::eval(&config, *args).await,
        Command::Model { action } => cli::model::run(&config, action).await,
        Command::Catalogue { action } => cli::catalogue::run(&config, action).await,
        Command::User { action } => cli::user::run(&config, action).await,
        Command::Mail { action } => cli::mail::run(&config, action).await,
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}
