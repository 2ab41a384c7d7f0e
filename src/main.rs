//! The `anliegen` command line: a thin layer over the library that turns arguments into a
//! `Config` and calls one operation. Each subcommand lives in its own module under `cli/`.

mod cli;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use anliegen::config::{Config, LogFormat};
use cli::{
    catalogue::CatalogueAction, exit::Exit, model::ModelAction, ops, train, user::UserAction,
};

#[derive(Parser)]
#[command(
    name = "anliegen",
    version,
    about = "Triage and routing of citizens' inquiries, on premises",
    after_help = "Example:\n  anliegen --config /etc/anliegen/anliegen.toml serve",
    after_long_help = after_long_help()
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
    #[command(after_help = "Example:\n  anliegen --config /etc/anliegen/anliegen.toml serve")]
    Serve,
    /// Take in mail: one message file, `-` for standard input (MTA pipe delivery), or a
    /// Maildir / directory of .eml files (bulk import). Ingesting a message twice creates
    /// nothing new; the server decides and acknowledges the new cases.
    #[command(
        after_help = "Examples:\n  anliegen ingest message.eml\n  anliegen ingest ~/Maildir/cur\n  \
                      anliegen ingest - < message.eml   (as an MTA pipe)"
    )]
    Ingest {
        /// FILE.eml, `-`, or a directory.
        path: PathBuf,
    },
    /// Only process pipeline jobs (no HTTP); several may share a PostgreSQL database.
    #[command(
        after_help = "Example:\n  ANLIEGEN_DATABASE__URL=postgres://anliegen@db/anliegen anliegen worker"
    )]
    Worker,
    /// Check the audit log's hash chain.
    #[command(after_help = "Example:\n  anliegen audit verify")]
    Audit {
        #[command(subcommand)]
        action: ops::AuditAction,
    },
    /// Data-subject requests under the GDPR.
    #[command(after_help = "Example:\n  anliegen gdpr export --email jane@example.org > jane.json")]
    Gdpr {
        #[command(subcommand)]
        action: ops::GdprAction,
    },
    /// Route one inquiry and print the decision as JSON (nothing is stored).
    #[command(
        after_help = "Example:\n  anliegen triage 'Die Straßenlaterne vor Hausnummer 7 ist kaputt'"
    )]
    Triage {
        /// The inquiry text.
        text: String,
    },
    /// Embed lines of text and write JSONL {"text", "embedding"}.
    #[command(after_help = "Example:\n  anliegen embed --input texts.txt > embeddings.jsonl")]
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
    #[command(
        after_help = "Example:\n  anliegen train --data labelled.csv --text-column text --label-column service"
    )]
    Train(train::TrainArgs),
    /// Train from scratch on labelled files and report quality on a test file, or replay
    /// a dated labelled history week by week with retraining (`--replay`).
    #[command(
        after_help = "Examples:\n  anliegen eval --train train.csv --test dev.csv --format json\n  \
                      anliegen eval --catalogue services.json --catalogue-format dldb --test dev.csv\n  \
                      anliegen eval --replay --train history.csv --train-until 2021-01-01 --svg replay.svg"
    )]
    Eval(Box<train::EvalArgs>),
    /// Fetch or inspect the model.
    #[command(after_help = "Example:\n  anliegen model fetch")]
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Check, import, version and compare service catalogues.
    #[command(
        after_help = "Example:\n  anliegen catalogue import --format dldb services.json --dry-run"
    )]
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
    /// Staff accounts: add, list, disable, enable, set-password.
    #[command(
        after_help = "Example:\n  anliegen user add mueller --role clerk --department tiefbau"
    )]
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Mail intake for operators: the parser's quarantine.
    #[command(after_help = "Example:\n  anliegen mail quarantine --format json")]
    Mail {
        #[command(subcommand)]
        action: cli::mail::MailAction,
    },
    /// Print the shell completion script for bash, zsh or fish.
    #[command(after_help = cli::completions::HELP)]
    Completions { shell: cli::completions::Shell },
    /// The encoder timed by the binary itself, for `bench/compare`: JSON requests on
    /// standard input, one JSON answer per line on standard output.
    #[command(hide = true)]
    BenchEncoder,
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

/// Below the subcommands of `anliegen --help`: the exit codes.
fn after_long_help() -> String {
    format!(
        "Example:\n  anliegen --config /etc/anliegen/anliegen.toml serve\n\n{}",
        Exit::table()
    )
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The parser's child runs without the async runtime: fewer threads and less address
    // space under its memory limit, and nothing but the parse.
    if let Command::ParseMail { limits } = &cli.command {
        return cli::mail::parse_mail(limits);
    }
    keep_freed_memory();
    // Needs neither the configuration nor a runtime.
    if let Command::Completions { shell } = cli.command {
        cli::completions::print(shell, &mut Cli::command());
        return Exit::Ok.into();
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
            Exit::of(&e).into()
        }
    }
}

/// Every operation of a model forward allocates its output afresh (up to a few MiB each).
/// By default glibc serves such blocks with fresh `mmap`s, or returns freed heap tops to
/// the kernel, so each forward pays page faults and zeroing again (about a tenth of the
/// encoder's time). Blocks below 32 MiB come from the heap and freed memory stays with the
/// process up to 512 MiB, so the next forward reuses the pages the last one used.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called at the start of `main` before any other thread exists; mallopt only
    // changes the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
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
        Command::Completions { .. } => Ok(()),
        Command::Serve => Ok(anliegen::app::serve(config).await?),
        Command::Worker => ops::worker(config).await,
        Command::Audit { action } => ops::audit(&config, action).await,
        Command::Gdpr { action } => ops::gdpr(&config, action).await,
        Command::Triage { text } => cli::inspect::triage(&config, &text).await,
        Command::Embed { input, token_ids } => cli::inspect::embed(&config, input, token_ids).await,
        Command::BenchEncoder => cli::bench::encoder(&config).await,
        Command::Train(args) => train::train(&config, args).await,
        Command::Eval(args) => train::eval(&config, *args).await,
        Command::Model { action } => cli::model::run(&config, action).await,
        Command::Catalogue { action } => cli::catalogue::run(&config, action).await,
        Command::User { action } => cli::user::run(&config, action).await,
        Command::Mail { action } => cli::mail::run(&config, action).await,
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}
