//! Where a mail is parsed: in a child process of this binary (`anliegen parse-mail`), so
//! that a message which needs too much memory or time, or crashes the parser, costs only
//! that child. The child runs under an address-space limit (`RLIMIT_AS`) and a wall-clock
//! limit, with an empty environment; it reads the raw message on standard input and writes
//! the [`ParsedEmail`] as JSON.
//!
//! A parse beyond a limit is a property of the message, not a fault: it is recorded at once
//! (`too_large` for memory, `unreadable` for time) with its reason. Any other abnormal end
//! (a panic, a signal) is a [`Parse::Crashed`] the caller counts towards quarantine.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{IntakeError, email};
use crate::config::MailConfig;
use email::{Limits, Outcome, ParsedEmail};

/// What parsing one message gave.
#[derive(Debug)]
pub enum Parse {
    Parsed(ParsedEmail),
    /// The parser ended abnormally; `headers` holds the header facts read in this process
    /// (outcome `unreadable`), `error` says how the parser ended (never message content).
    Crashed {
        headers: ParsedEmail,
        error: String,
    },
}

/// Parses mail within the configured limits.
#[derive(Debug, Clone)]
pub struct MailParser {
    pub limits: Limits,
    /// `None`: in this process (a test harness, where the current executable is not
    /// `anliegen`); the time limit still bounds the wait, not the work.
    program: Option<PathBuf>,
    timeout: Duration,
    memory_bytes: u64,
    /// Crashes after which a message is quarantined.
    pub quarantine_after: u32,
}

impl MailParser {
    pub fn from_config(mail: &MailConfig) -> Self {
        let p = &mail.parse;
        let program = p.program.clone().or_else(|| {
            std::env::current_exe()
                .ok()
                .filter(|exe| exe.file_stem().is_some_and(|s| s == "anliegen"))
        });
        MailParser {
            limits: Limits {
                max_bytes: mail.max_message_bytes,
                max_parts: p.max_parts,
                max_attachment_chars: p.max_attachment_chars,
                max_attachment_inflated_bytes: p.max_attachment_inflated_bytes,
                max_inflated_bytes: p.max_inflated_bytes,
            },
            program,
            timeout: Duration::from_secs(p.timeout_seconds.max(1)),
            memory_bytes: p.memory_mib.saturating_mul(1024 * 1024),
            quarantine_after: p.quarantine_after.max(1),
        }
    }

    /// In this process, without the child (unit and in-process tests).
    pub fn in_process(limits: Limits) -> Self {
        MailParser {
            limits,
            program: None,
            timeout: Duration::from_secs(30),
            memory_bytes: u64::MAX,
            quarantine_after: 3,
        }
    }

    /// Parses `raw`. A message over `max_bytes` is read only for its headers, here. Fails
    /// only when the parser program cannot be started (an installation fault, not the
    /// message's).
    pub async fn parse(&self, raw: &[u8]) -> Result<Parse, IntakeError> {
        if raw.len() > self.limits.max_bytes {
            return Ok(Parse::Parsed(email::parse(raw, &self.limits)));
        }
        match &self.program {
            Some(program) => self.in_child(program, raw).await,
            None => {
                let (owned, limits) = (raw.to_vec(), self.limits.clone());
                let work = tokio::task::spawn_blocking(move || email::parse(&owned, &limits));
                Ok(match tokio::time::timeout(self.timeout, work).await {
                    Ok(Ok(parsed)) => Parse::Parsed(parsed),
                    Ok(Err(_)) => Parse::Crashed {
                        headers: self.headers(raw, None),
                        error: "the parser thread failed".into(),
                    },
                    Err(_) => Parse::Parsed(self.timed_out(raw)),
                })
            }
        }
    }

    async fn in_child(&self, program: &Path, raw: &[u8]) -> Result<Parse, IntakeError> {
        let limits = serde_json::to_string(&self.limits).expect("serialisable");
        let mut cmd = tokio::process::Command::new(program);
        cmd.arg("parse-mail")
            .arg("--limits")
            .arg(limits)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let memory = self.memory_bytes;
        // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: memory,
                    rlim_max: memory,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            IntakeError::Io(
                format!("mail parser {} (mail.parse.program)", program.display()),
                e,
            )
        })?;
        let mut stdin = child.stdin.take().expect("piped");
        let input = raw.to_vec();
        // A child that dies early closes the pipe; its exit status tells why.
        let feed = tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        // The JSON holds the body twice plus attachment texts; anything far beyond is bogus.
        let out_cap = (raw.len() as u64).saturating_mul(8) + (4 << 20);
        let run = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut limited_out = (&mut stdout).take(out_cap);
            let mut limited_err = (&mut stderr).take(64 * 1024);
            let _ = tokio::join!(
                limited_out.read_to_end(&mut out),
                limited_err.read_to_end(&mut err)
            );
            let status = child.wait().await;
            (out, err, status)
        };
        let finished = tokio::time::timeout(self.timeout, run).await;
        feed.abort();
        let (out, err, status) = match finished {
            Ok(done) => done,
            Err(_) => {
                let _ = child.kill().await;
                return Ok(Parse::Parsed(self.timed_out(raw)));
            }
        };
        let status = status.map_err(|e| IntakeError::Io("mail parser".into(), e))?;
        if status.success()
            && let Ok(parsed) = serde_json::from_slice::<ParsedEmail>(&out)
        {
            return Ok(Parse::Parsed(parsed));
        }
        // Rust's allocation-failure handler: the address-space limit was reached.
        if String::from_utf8_lossy(&err).contains("memory allocation of") {
            return Ok(Parse::Parsed(self.limit_exceeded(
                raw,
                Outcome::TooLarge,
                format!(
                    "parsing needed more than {} MiB of memory (mail.parse.memory_mib)",
                    self.memory_bytes >> 20
                ),
            )));
        }
        Ok(Parse::Crashed {
            headers: self.headers(raw, None),
            error: describe(status),
        })
    }

    fn timed_out(&self, raw: &[u8]) -> ParsedEmail {
        let reason = format!(
            "parsing did not finish within {} s (mail.parse.timeout_seconds)",
            self.timeout.as_secs()
        );
        self.limit_exceeded(raw, Outcome::Unreadable, reason)
    }

    fn limit_exceeded(&self, raw: &[u8], outcome: Outcome, reason: String) -> ParsedEmail {
        self.headers(raw, Some((outcome, reason)))
    }

    fn headers(&self, raw: &[u8], outcome: Option<(Outcome, String)>) -> ParsedEmail {
        let (outcome, reason) = outcome.unwrap_or((Outcome::Unreadable, String::new()));
        let mut parsed = email::parse_headers(raw, outcome);
        parsed.reason = (!reason.is_empty()).then_some(reason);
        parsed
    }
}

/// How the parser ended, for the quarantine record and logs.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(101), _) => "the parser panicked (exit status 101)".into(),
        (Some(0), _) => "the parser wrote no readable result".into(),
        (Some(code), _) => format!("the parser exited with status {code}"),
        (None, Some(signal)) => format!("the parser was killed by signal {signal}"),
        (None, None) => "the parser ended without a status".into(),
    }
}

/// The child's side: `anliegen parse-mail --limits JSON` reads one message from standard
/// input and writes its [`ParsedEmail`] as JSON. Panics are not caught here, so the parent
/// sees them as crashes and counts them towards quarantine.
pub fn run_child(limits_json: &str) -> Result<(), IntakeError> {
    let limits: Limits = serde_json::from_str(limits_json).map_err(|e| {
        IntakeError::Io(
            "--limits".into(),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        )
    })?;
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| IntakeError::Io("standard input".into(), e))?;
    let parsed = email::parse_unguarded(&raw, &limits);
    let out = std::io::stdout().lock();
    serde_json::to_writer(out, &parsed)
        .map_err(|e| IntakeError::Io("standard output".into(), e.into()))
}
