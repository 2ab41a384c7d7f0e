//! `anliegen ingest`: one message from a file or standard input (MTA pipe delivery), or
//! every message of a Maildir (`cur/` and `new/`) or directory of `.eml` files (bulk
//! import), through the same parser and commit as the IMAP poller. Re-running creates
//! nothing new. A message the parser crashes on is listed and left for the next run, and
//! quarantined after `mail.parse.quarantine_after` crashes; the run goes on with the next.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::{IntakeError, Recorded, Taken, parser::MailParser, take_in};
use crate::store::{Committed, Store};

/// What an ingest run did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub messages: usize,
    /// Parser outcome per message (inquiry, auto_reply, bounce, …).
    pub outcomes: BTreeMap<String, usize>,
    pub new_cases: usize,
    pub attached_to_cases: usize,
    pub recorded_only: usize,
    pub duplicates: usize,
    /// Files that could not be read (path and error); nothing was recorded for them.
    pub unreadable_files: Vec<String>,
    /// Messages the parser crashed on that are not quarantined yet (which, the attempt,
    /// how the parser ended); nothing was recorded for them, the next run tries again.
    pub parser_crashes: Vec<String>,
    /// Messages quarantined by this run (also counted as `unreadable` in `outcomes`).
    pub quarantined: usize,
}

/// The message files under `path`: the file itself, or for a directory its Maildir
/// `cur/` and `new/` entries, or else its `*.eml` files; sorted for a stable order.
pub fn message_files(path: &Path) -> Result<Vec<PathBuf>, IntakeError> {
    let io = |p: &Path, e| IntakeError::Io(p.display().to_string(), e);
    if !path.is_dir() {
        std::fs::metadata(path).map_err(|e| io(path, e))?;
        return Ok(vec![path.to_path_buf()]);
    }
    let maildir = ["cur", "new"].map(|d| path.join(d));
    let (dirs, only_eml): (Vec<PathBuf>, bool) = if maildir.iter().any(|d| d.is_dir()) {
        (maildir.into_iter().filter(|d| d.is_dir()).collect(), false)
    } else {
        (vec![path.to_path_buf()], true)
    };
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let p = entry.map_err(|e| io(&dir, e))?.path();
            if p.is_file() && (!only_eml || p.extension().is_some_and(|e| e == "eml")) {
                files.push(p);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Ingests `files`, with a progress bar when `progress` is set. A file that cannot be read
/// is listed in the summary; a database error stops the run (what was committed stays).
pub async fn ingest_files(
    store: &Store,
    files: &[PathBuf],
    parser: &MailParser,
    progress: bool,
) -> Result<Summary, IntakeError> {
    let bar = if progress {
        indicatif::ProgressBar::new(files.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} messages {eta}")
                .expect("valid template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut summary = Summary::default();
    for file in files {
        let read = std::fs::File::open(file).and_then(|f| read_message(f, parser.limits.max_bytes));
        match read {
            Ok(message) => {
                let name = file.display().to_string();
                ingest_one(store, &message, parser, &name, &mut summary).await?
            }
            Err(e) => summary
                .unreadable_files
                .push(format!("{}: {e}", file.display())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Ingests one message from standard input.
pub async fn ingest_stdin(store: &Store, parser: &MailParser) -> Result<Summary, IntakeError> {
    let message = read_message(std::io::stdin().lock(), parser.limits.max_bytes)
        .map_err(|e| IntakeError::Io("standard input".into(), e))?;
    let mut summary = Summary::default();
    ingest_one(store, &message, parser, "standard input", &mut summary).await?;
    Ok(summary)
}

/// A message as read: its bytes, or for one over the size limit only the first
/// `max_bytes + 1` of them, and its whole size.
pub struct Message {
    pub bytes: Vec<u8>,
    pub size: usize,
}

/// Reads at most `max_bytes + 1` bytes into memory; the rest of a larger input (a pipe
/// from an MTA must be read to its end) is only counted.
pub fn read_message(reader: impl Read, max_bytes: usize) -> std::io::Result<Message> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut reader = reader.take(limit);
    reader.read_to_end(&mut bytes)?;
    let rest = std::io::copy(&mut reader.into_inner(), &mut std::io::sink())?;
    let size = bytes.len() + usize::try_from(rest).unwrap_or(usize::MAX);
    Ok(Message { bytes, size })
}

async fn ingest_one(
    store: &Store,
    message: &Message,
    parser: &MailParser,
    name: &str,
    summary: &mut Summary,
) -> Result<(), IntakeError> {
    let taken = take_in(store, parser, &message.bytes, message.size, "ingest").await?;
    summary.messages += 1;
    let committed = match taken {
        Taken::Recorded(Recorded { committed, outcome }) => {
            *summary.outcomes.entry(outcome.to_string()).or_default() += 1;
            committed
        }
        Taken::Duplicate(committed) => committed,
        Taken::Crashed {
            quarantined: true, ..
        } => {
            summary.quarantined += 1;
            *summary.outcomes.entry("unreadable".into()).or_default() += 1;
            Committed::Recorded
        }
        Taken::Crashed {
            attempts, error, ..
        } => {
            summary.parser_crashes.push(format!(
                "{name}: {error} (attempt {attempts} of {})",
                parser.quarantine_after
            ));
            return Ok(());
        }
    };
    match committed {
        Committed::NewCase(_) => summary.new_cases += 1,
        Committed::Attached(_) => summary.attached_to_cases += 1,
        Committed::Recorded => summary.recorded_only += 1,
        Committed::Duplicate(_) => summary.duplicates += 1,
    }
    Ok(())
}
