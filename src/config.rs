//! Layered configuration: embedded defaults (`config/anliegen.toml`) → an optional file →
//! environment variables `ANLIEGEN__SECTION__KEY`. Raw layers are merged as TOML tables and
//! turned into validated settings in one place, so the rest of the program never sees a
//! half-configured value.

mod access;
mod interfaces;

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

pub use access::{AuthConfig, GroupGrant, ProxyNet, RateLimitConfig};
pub use interfaces::Open311Config;

const DEFAULTS: &str = include_str!("../config/anliegen.toml");
const ENV_PREFIX: &str = "ANLIEGEN__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config file: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub data: DataConfig,
    pub database: DatabaseConfig,
    pub model: ModelConfig,
    pub index: IndexConfig,
    pub catalogue: CatalogueConfig,
    pub triage: TriageConfig,
    pub pipeline: PipelineConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
    #[serde(default)]
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub open311: Open311Config,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub max_text_chars: usize,
    pub max_concurrent_requests: usize,
    /// The address citizens and staff reach the service under (behind the reverse proxy);
    /// links in mail point here, and `https://` marks the session cookie `Secure`.
    #[serde(deserialize_with = "public_url")]
    pub public_url: String,
}

impl ServerConfig {
    /// Whether the service is reached over TLS (the session cookie is then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `server.public_url` without its trailing slash; only `http://` and `https://` URLs.
fn public_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    let url = raw.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(serde::de::Error::custom(format!(
            "'{raw}' is not an http:// or https:// URL"
        )));
    }
    Ok(url.to_string())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    E5s1,
    Hf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub dir: PathBuf,
    pub format: ModelFormat,
    pub weights: String,
    pub query_prefix: String,
    pub max_tokens: usize,
    pub threads: usize,
    pub batch_tokens: usize,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexBackend {
    Embedded,
    Qdrant,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub backend: IndexBackend,
    pub qdrant_url: String,
    pub collection_prefix: String,
    /// Name of the environment variable with the API key, not the key.
    pub api_key_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageConfig {
    pub candidates: usize,
    pub neighbours: usize,
    pub temperature: f32,
    pub min_confidence: f32,
    pub max_misroute_rate: f32,
    pub coverage: f32,
    pub knn_neighbours: usize,
    pub folds: usize,
    pub epochs: usize,
    pub min_labelled_examples: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub workers: usize,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub lease_seconds: u64,
    pub max_wait_ms: u64,
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub anonymise_after_days: u32,
    pub delete_after_days: u32,
    pub interval_hours: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

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
            imap: Vec::new(),
            smtp: SmtpConfig::default(),
            outbox: OutboxConfig::default(),
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
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        read_password(&self.password_env, &self.password_file, &self.name)
    }
}

impl SmtpConfig {
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        read_password(&self.password_env, &self.password_file, "mail.smtp")
    }
}

/// A password from an environment variable or the first line of a file, never from the
/// config file itself; `what` names the connection in errors.
fn read_password(
    env: &Option<String>,
    file: &Option<PathBuf>,
    what: &str,
) -> Result<Option<String>, ConfigError> {
    if let Some(name) = env {
        return std::env::var(name).map(Some).map_err(|_| ConfigError::Env {
            name: name.clone(),
            message: format!("holds the password for {what} but is not set"),
        });
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
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

impl Config {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let file_layer = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        Self::from_layers(
            file_layer.as_ref().map(|(o, t)| (o.as_str(), t.as_str())),
            std::env::vars(),
        )
    }

    /// The embedded defaults alone (tests start from here).
    pub fn defaults() -> Self {
        Self::from_layers(None, std::iter::empty()).expect("embedded defaults are valid")
    }

    fn from_layers(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = parse_table("embedded defaults", DEFAULTS)?;
        if let Some((origin, text)) = file {
            merge(&mut merged, parse_table(origin, text)?);
        }
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::Env {
                    name,
                    message: "expected ANLIEGEN__SECTION__KEY".into(),
                });
            }
            set_path(&mut merged, &keys, env_value(&value));
        }
        let origin = file.map_or("configuration", |(o, _)| o).to_string();
        // The path in the error names the offending key, e.g. `server.max_body_bytes`.
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
            ConfigError::Parse {
                origin,
                message: format!("{}: {}", e.path(), e.inner().message()),
            }
        })
    }
}

fn parse_table(origin: &str, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Overlays `top` onto `base`, table by table, so a file can set one key of a section.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    let (last, parents) = keys.split_last().expect("non-empty key path");
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert(last.clone(), value);
}

/// Environment values are typed like TOML scalars when they parse as one (numbers,
/// booleans, quoted strings), otherwise taken as a plain string.
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_defaults_load() {
        let c = Config::defaults();
        assert_eq!(c.server.bind.port(), 8080);
        assert_eq!(c.model.format, ModelFormat::E5s1);
        assert_eq!(c.model.query_prefix, "query: ");
        assert_eq!(c.index.backend, IndexBackend::Embedded);
    }

    #[test]
    fn index_backend_is_chosen_by_environment() {
        let c = Config::from_layers(
            None,
            env(&[
                ("ANLIEGEN__INDEX__BACKEND", "qdrant"),
                ("ANLIEGEN__INDEX__QDRANT_URL", "http://qdrant:6334"),
            ]),
        )
        .unwrap();
        assert_eq!(c.index.backend, IndexBackend::Qdrant);
        assert_eq!(c.index.qdrant_url, "http://qdrant:6334");
        let err = Config::from_layers(None, env(&[("ANLIEGEN__INDEX__BACKEND", "faiss")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("index.backend"), "{err}");
    }

    #[test]
    fn file_overrides_single_key_and_keeps_the_rest() {
        let c =
            Config::from_layers(Some(("f.toml", "[server]\nbind = \"0.0.0.0:9000\"")), []).unwrap();
        assert_eq!(c.server.bind.port(), 9000);
        assert_eq!(c.server.max_body_bytes, 262144);
    }

    #[test]
    fn environment_overrides_file() {
        let c = Config::from_layers(
            Some(("f.toml", "[triage]\ncandidates = 3")),
            env(&[
                ("ANLIEGEN__TRIAGE__CANDIDATES", "7"),
                ("ANLIEGEN__DATA__DIR", "/var/lib/anliegen"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.triage.candidates, 7);
        assert_eq!(c.data.dir, PathBuf::from("/var/lib/anliegen"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_origin() {
        let err = Config::from_layers(Some(("site.toml", "[server]\nport = 1")), [])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("site.toml:"), "{err}");
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn malformed_env_name_is_rejected() {
        let err = Config::from_layers(None, env(&[("ANLIEGEN__SERVER__", "1")])).unwrap_err();
        assert!(matches!(err, ConfigError::Env { .. }));
    }

    #[test]
    fn wrongly_typed_env_value_names_the_problem() {
        let err = Config::from_layers(None, env(&[("ANLIEGEN__SERVER__MAX_BODY_BYTES", "lots")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("max_body_bytes") || err.contains("integer"),
            "{err}"
        );
    }
}
