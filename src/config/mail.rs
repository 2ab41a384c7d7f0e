//! Settings of email intake (IMAP mailboxes and the parser's limits) and outbound mail (the
//! SMTP relay and the outbox), and how their passwords are read.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::ConfigError;

/// Email intake and outbound mail (README, "Email"). Off by default so the service runs
/// without a mail server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub enabled: bool,
    /// Language of acknowledgements: "auto" (from the citizen's text), "de" or "en".
    pub ack_language: AckLanguage,
    /// Departments (catalogue ids) whose confidently routed inquiries are forwarded to
    /// their mailbox.
    pub forward_departments: Vec<String>,
    /// Mail addresses given through the web or the API without their confirmation: the
    /// acknowledgement and replies go out at once (anyone can then make the authority
    /// mail any address). Off: such an address first gets a confirmation request.
    pub ack_unconfirmed: bool,
    /// Confirmation requests one address gets within a day at most.
    pub confirmations_per_address_per_day: u32,
    /// Larger messages are recorded as `too_large` without their body.
    pub max_message_bytes: usize,
    pub parse: MailParseConfig,
    pub imap: Vec<ImapConfig>,
    pub smtp: SmtpConfig,
    pub outbox: OutboxConfig,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            ack_language: AckLanguage::Auto,
            forward_departments: Vec::new(),
            ack_unconfirmed: false,
            confirmations_per_address_per_day: 3,
            max_message_bytes: 25 * 1024 * 1024,
            parse: MailParseConfig::default(),
            imap: Vec::new(),
            smtp: SmtpConfig::default(),
            outbox: OutboxConfig::default(),
        }
    }
}

/// How each inbound message is parsed: in a child process of this binary under an
/// address-space limit and a wall-clock limit, with caps on what its parts may inflate to
/// (README, "Email": limits).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailParseConfig {
    /// MIME parts beyond this count (all nesting levels) are skipped, with a note.
    pub max_parts: usize,
    /// Text taken from one attachment is cut to this many characters.
    pub max_attachment_chars: usize,
    /// What one attachment's compressed content (PDF streams, DOCX/ODT text) may inflate to.
    pub max_attachment_inflated_bytes: usize,
    /// What all attachments of one message together may inflate to.
    pub max_inflated_bytes: usize,
    /// A parse running longer is stopped: the message is recorded `unreadable`.
    pub timeout_seconds: u64,
    /// Address space of the parser process; a parse needing more is recorded `too_large`.
    pub memory_mib: u64,
    /// A message that crashes the parser this many times is quarantined.
    pub quarantine_after: u32,
    /// The program run as `PROGRAM parse-mail`; unset: this binary.
    pub program: Option<PathBuf>,
}

impl Default for MailParseConfig {
    fn default() -> Self {
        Self {
            max_parts: 200,
            max_attachment_chars: 100_000,
            max_attachment_inflated_bytes: 4 * 1024 * 1024,
            max_inflated_bytes: 16 * 1024 * 1024,
            timeout_seconds: 30,
            memory_mib: 1024,
            quarantine_after: 3,
            program: None,
        }
    }
}

/// Which language the acknowledgement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckLanguage {
    /// English when the citizen plainly wrote English, German otherwise.
    Auto,
    De,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailLanguage {
    De,
    En,
}

impl MailLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }
}

/// How a mail connection is secured: TLS from the first byte, STARTTLS upgrade, or none
/// (loopback and tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    Tls,
    Starttls,
    Plain,
}

/// One mailbox to take inquiries from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// Shown in logs instead of the address.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub user: String,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File whose first line is the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_folder")]
    pub folder: String,
    /// Processed mail is moved here; without it, `processed_flag` is set instead.
    #[serde(default)]
    pub processed_folder: Option<String>,
    /// IMAP keyword (e.g. `$Anliegen`) or `\Seen`/`\Flagged` marking processed mail.
    #[serde(default = "default_processed_flag")]
    pub processed_flag: String,
    /// Poll interval when the server has no IDLE, and the longest IDLE wait.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
}

fn default_folder() -> String {
    "INBOX".into()
}
fn default_processed_flag() -> String {
    "$Anliegen".into()
}
fn default_poll_seconds() -> u64 {
    60
}

impl ImapConfig {
    pub fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        read_password(&self.password_env, &self.password_file, &self.name)
    }
}

impl SmtpConfig {
    pub fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        read_password(&self.password_env, &self.password_file, "mail.smtp")
    }
}

/// A password from an environment variable or the first line of a file, never from the
/// config file itself; `what` names the connection in errors.
pub(crate) fn read_password(
    env: &Option<String>,
    file: &Option<PathBuf>,
    what: &str,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(name) = env {
        return std::env::var(name)
            .map(|v| Some(v.into()))
            .map_err(|_| ConfigError::Env {
                name: name.clone(),
                message: format!("holds the password for {what} but is not set"),
            });
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map(secrecy::zeroize::Zeroizing::new)
            .map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
        return Ok(Some(text.lines().next().unwrap_or_default().into()));
    }
    Ok(None)
}

/// The relay outbound mail goes through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    /// Empty: no authentication.
    pub user: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from_address: String,
    pub from_name: String,
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            security: MailSecurity::Starttls,
            user: String::new(),
            password_env: None,
            password_file: None,
            from_address: "anliegen@localhost".into(),
            from_name: "Ihr Anliegen".into(),
            timeout_seconds: 30,
        }
    }
}

/// Delivery of queued mail: exponential backoff from `retry_seconds`, `dead` after
/// `max_attempts`; a send that never reported back is retried after `lease_seconds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub retry_seconds: u64,
    pub max_retry_seconds: u64,
    pub max_attempts: i64,
    pub lease_seconds: u64,
    pub poll_seconds: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            retry_seconds: 60,
            max_retry_seconds: 3600,
            max_attempts: 10,
            lease_seconds: 600,
            poll_seconds: 5,
        }
    }
}
