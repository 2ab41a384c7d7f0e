//! The exit statuses of `anliegen`: one table, printed by `anliegen --help` and kept in
//! README.md ("Exit codes"; a test compares the two). Scripts and service managers can
//! tell a broken configuration from a broken input file from a database that is down.

use std::process::ExitCode;

use anliegen::{
    catalogue::ImportError,
    config::ConfigError,
    domain::CatalogueError,
    embed::{EmbedError, ModelError},
    index::IndexError,
    store::StoreError,
    triage::{dataset::DatasetError, eval::EvalError},
};

/// Why `anliegen` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok,
    /// A failure inside anliegen (a bug, or a stored record it cannot read).
    Internal,
    /// The command line is wrong: an unknown subcommand, a missing or malformed argument.
    Usage,
    /// The configuration file or an `ANLIEGEN_*` variable cannot be read or is invalid.
    Config,
    /// An input file (catalogue, training or test data, mail, text) cannot be read or is
    /// malformed.
    Data,
    /// Something anliegen depends on is unavailable: the database, the model files, the
    /// vector index, a port.
    Unavailable,
    /// `ingest`: the mail parser crashed on a message that is not quarantined yet; the MTA
    /// keeps the mail and delivers it again (EX_TEMPFAIL).
    TryAgain,
}

impl Exit {
    pub const ALL: [Self; 7] = [
        Self::Ok,
        Self::Internal,
        Self::Usage,
        Self::Config,
        Self::Data,
        Self::Unavailable,
        Self::TryAgain,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Internal => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::Data => 4,
            Self::Unavailable => 5,
            Self::TryAgain => 75,
        }
    }

    /// One line for the table.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Ok => "success",
            Self::Internal => "internal error",
            Self::Usage => "usage error: wrong subcommand, argument or option",
            Self::Config => "configuration error: the config file or an ANLIEGEN_* variable",
            Self::Data => {
                "input data error: a catalogue, data, mail or text file is unreadable or malformed"
            }
            Self::Unavailable => {
                "a dependency is unavailable: database, model files, vector index or port"
            }
            Self::TryAgain => "ingest: the mail parser crashed; the MTA should deliver again later",
        }
    }

    /// The status for a failed command: the first error of the chain that says whose
    /// fault it is.
    pub fn of(error: &anyhow::Error) -> Self {
        error
            .chain()
            .find_map(Self::classify)
            .unwrap_or(Self::Internal)
    }

    fn classify(e: &(dyn std::error::Error + 'static)) -> Option<Self> {
        if e.is::<ConfigError>() {
            return Some(Self::Config);
        }
        if e.is::<InputError>()
            || e.is::<DatasetError>()
            || e.is::<ImportError>()
            || e.is::<CatalogueError>()
            || e.is::<serde_json::Error>()
            || matches!(
                e.downcast_ref::<EvalError>(),
                Some(EvalError::Empty(_) | EvalError::Dataset(_))
            )
        {
            return Some(Self::Data);
        }
        if e.is::<ModelError>() || e.is::<IndexError>() || e.is::<sqlx::Error>() {
            return Some(Self::Unavailable);
        }
        if let Some(e) = e.downcast_ref::<StoreError>() {
            return match e {
                StoreError::Database(_) | StoreError::Migrate(_) | StoreError::Location(..) => {
                    Some(Self::Unavailable)
                }
                StoreError::Corrupt(_) | StoreError::Conflict(_) => None,
            };
        }
        if let Some(EmbedError::Stopped) = e.downcast_ref::<EmbedError>() {
            return Some(Self::Unavailable);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                NotFound | InvalidData | UnexpectedEof | PermissionDenied | IsADirectory => {
                    Some(Self::Data)
                }
                AddrInUse | AddrNotAvailable | ConnectionRefused | ConnectionReset | TimedOut => {
                    Some(Self::Unavailable)
                }
                _ => None,
            };
        }
        None
    }

    /// The table as `--help` shows it.
    pub fn table() -> String {
        let mut out = String::from("Exit codes:\n");
        for exit in Self::ALL {
            out.push_str(&format!("  {:>2}  {}\n", exit.code(), exit.meaning()));
        }
        out
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An input file that cannot be used, named in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);
