//! Layered configuration: embedded defaults (`config/anliegen.toml`) → an optional file →
//! environment variables `ANLIEGEN__SECTION__KEY`, merged by figment and turned into
//! validated settings in one place, so the rest of the program never sees a half-configured
//! value. Every layer is named, so an error says which file or variable set the bad value.

mod access;
mod interfaces;

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};
use serde::Deserialize;

pub use access::{AuthConfig, GroupGrant, ProxyNet, RateLimitConfig};
pub use interfaces::{
    MetricsConfig, Open311Config, WEBHOOK_EVENTS, WebhookKind, WebhookSubscription, WebhooksConfig,
};

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
    #[serde(default)]
    pub reply: ReplyConfig,
    #[serde(default)]
    pub pages: PagesConfig,
    pub open311: Open311Config,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub webhooks: WebhooksConfig,
}

/// Suggested replies (README, "Suggested replies").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplyConfig {
    /// Autonomy of services without their own setting: "suggest", "draft" or "auto".
    pub autonomy: crate::domain::Autonomy,
    /// Autonomy per service id, before the admin API's setting (which wins).
    pub services: std::collections::BTreeMap<String, crate::domain::Autonomy>,
    /// Earlier replies of the same service offered beside a draft.
    pub alternatives: usize,
}

impl Default for ReplyConfig {
    fn default() -> Self {
        Self {
            autonomy: crate::domain::Autonomy::Suggest,
            services: Default::default(),
            alternatives: 3,
        }
    }
}

/// The web pages (README, "Pages").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagesConfig {
    /// The privacy notice the citizen's form links to (`/datenschutz`); plain text,
    /// paragraphs separated by blank lines.
    pub privacy_notice: String,
    /// Photos and PDFs a citizen may attach to the form, and the largest each may be.
    pub max_uploads: usize,
    pub max_upload_bytes: usize,
}

impl Default for PagesConfig {
    fn default() -> Self {
        Self {
            max_uploads: 3,
            max_upload_bytes: 5 * 1024 * 1024,
            privacy_notice:
                "Ihre Angaben werden nur zur Bearbeitung Ihres Anliegens verwendet und \
                 verlassen die Verwaltung nicht. Name, Telefon und E-Mail-Adresse sind \
                 freiwillig. Für die automatische Zuordnung wird der Text ohne \
                 personenbezogene Daten ausgewertet. Fälle werden nach Ablauf der \
                 Aufbewahrungsfrist gelöscht.\n\nVerantwortlich ist die Verwaltung, die \
                 diesen Dienst betreibt; ihre Datenschutzbeauftragte oder ihr \
                 Datenschutzbeauftragter beantwortet Fragen zu Auskunft, Berichtigung und \
                 Löschung."
                    .to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub max_text_chars: usize,
    pub max_concurrent_requests: usize,
    /// A request's head must arrive within this from the connection's start or the first
    /// byte of a later request; else the connection is closed.
    pub header_timeout_seconds: u64,
    /// A request's whole body must arrive within this from the end of its head; else
    /// `408 request_timeout` and the connection is closed.
    pub body_timeout_seconds: u64,
    /// A keep-alive connection without a request for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Open connections in total; more are refused with `503 too_many_connections`.
    pub max_connections: usize,
    /// Open connections from one client address (trusted proxies excepted); more are refused
    /// with `429 too_many_connections`.
    pub max_connections_per_client: usize,
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

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// May carry the database password (set it through `ANLIEGEN__DATABASE__URL`).
    pub url: String,
}

/// The URL without its password, so a logged or printed config never shows it.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &without_password(&self.url))
            .finish()
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`; other URLs unchanged.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
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
    /// Triage jobs waiting or running at most; beyond, public intake answers `503
    /// backlog_full` and mail stays in its mailbox.
    pub max_queued: usize,
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
pub(crate) fn read_password(
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

    /// Layers merged by figment, each tagged with where it came from, so an error names the
    /// file or the environment variable that set the bad value.
    fn from_layers(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layers = vec![Layer::Toml(TomlLayer {
            origin: "embedded defaults".into(),
            text: DEFAULTS.into(),
        })];
        if let Some((origin, text)) = file {
            layers.push(Layer::Toml(TomlLayer {
                origin: origin.into(),
                text: text.into(),
            }));
        }
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        // The same variables always merge in the same order.
        env.sort();
        for (name, value) in env {
            let keys: Vec<String> = name[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_lowercase)
                .collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::Env {
                    name,
                    message: "expected ANLIEGEN__SECTION__KEY".into(),
                });
            }
            layers.push(Layer::Env(EnvVar { name, keys, value }));
        }
        let figment = layers
            .iter()
            .fold(Figment::new(), |f, layer| f.merge(layer));
        let config: Config = figment.extract().map_err(|e| blame(e, &layers))?;
        config.validate()?;
        Ok(config)
    }

    /// Rules across keys that types alone cannot express.
    fn validate(&self) -> Result<(), ConfigError> {
        let hooks = &self.webhooks.subscriptions;
        let problem = hooks.iter().find_map(|s| s.problem()).or_else(|| {
            hooks
                .iter()
                .enumerate()
                .find(|(i, s)| hooks[..*i].iter().any(|t| t.name == s.name))
                .map(|(_, s)| format!("webhook subscription '{}' is named twice", s.name))
        });
        if let Some(message) = problem {
            return Err(ConfigError::Parse {
                origin: "configuration".into(),
                message,
            });
        }
        let mut plain = Vec::new();
        if self.mail.smtp.security == MailSecurity::Plain && !is_loopback(&self.mail.smtp.host) {
            plain.push(("mail.smtp", self.mail.smtp.host.as_str()));
        }
        for imap in &self.mail.imap {
            if imap.security == MailSecurity::Plain && !is_loopback(&imap.host) {
                plain.push(("mail.imap", imap.host.as_str()));
            }
        }
        match plain.first() {
            Some((key, host)) => Err(ConfigError::Parse {
                origin: "configuration".into(),
                message: format!(
                    "{key}.security = \"plain\" sends passwords and citizens' mail unencrypted \
                     and is allowed only to a loopback host, not '{host}'; use \"starttls\" or \"tls\""
                ),
            }),
            None => Ok(()),
        }
    }
}

/// Whether `host` names this machine (`localhost`, 127.0.0.0/8, ::1).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One layer of the configuration.
enum Layer {
    Toml(TomlLayer),
    Env(EnvVar),
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        match self {
            Layer::Toml(l) => l.metadata(),
            Layer::Env(l) => l.metadata(),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        match self {
            Layer::Toml(l) => l.data(),
            Layer::Env(l) => l.data(),
        }
    }
}

/// A TOML text (the embedded defaults or the operator's file) named by where it came from.
struct TomlLayer {
    origin: String,
    text: String,
}

impl Provider for TomlLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Toml::string(&self.text)
            .data()
            .map_err(|e| figment::Error::from(format!("{}: {e}", self.origin)))
    }
}

/// One `ANLIEGEN__SECTION__KEY` variable. Values are typed like the environment provider
/// of figment types them: numbers, booleans and arrays when they parse as such, otherwise
/// strings.
struct EnvVar {
    name: String,
    keys: Vec<String>,
    value: String,
}

impl Provider for EnvVar {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.name))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let value: Value = self.value.parse().expect("parsing a value is infallible");
        let dict = figment::util::nest(&self.keys.join("."), value)
            .into_dict()
            .expect("nest builds a dictionary");
        Ok(Profile::Default.collect(dict))
    }
}

/// Turns figment's error into one line naming the layer that set the offending key. An
/// unknown key is blamed on the last layer that has it (figment tags a whole section with
/// the layer that first defined it).
fn blame(e: figment::Error, layers: &[Layer]) -> ConfigError {
    use figment::error::Kind;
    let mut key = e.path.clone();
    if let Kind::UnknownField(field, _) = &e.kind
        && key.last() != Some(field)
    {
        key.push(field.clone());
    }
    let dotted = key.join(".");
    let origin = layers
        .iter()
        .rev()
        .find(|layer| !dotted.is_empty() && Figment::from(layer).find_value(&dotted).is_ok())
        .map(|layer| layer.metadata().name.into_owned())
        .or_else(|| e.metadata.as_ref().map(|m| m.name.to_string()))
        .unwrap_or_else(|| "configuration".into());
    let message = if dotted.is_empty() {
        e.kind.to_string()
    } else {
        format!("{dotted}: {}", e.kind)
    };
    ConfigError::Parse { origin, message }
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
    fn wrongly_typed_env_value_is_blamed_on_the_variable() {
        let err = Config::from_layers(
            Some(("site.toml", "[server]\nmax_text_chars = 100")),
            env(&[("ANLIEGEN__SERVER__MAX_BODY_BYTES", "lots")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "environment variable ANLIEGEN__SERVER__MAX_BODY_BYTES: server.max_body_bytes:"
            ),
            "{err}"
        );
        let err = Config::from_layers(
            Some(("site.toml", "[server]\nmax_body_bytes = \"lots\"")),
            [],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("site.toml: server.max_body_bytes:"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_from_the_environment_is_blamed_on_it() {
        let err = Config::from_layers(
            Some(("site.toml", "[server]\nmax_text_chars = 100")),
            env(&[("ANLIEGEN__SERVER__PORT", "1")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("environment variable ANLIEGEN__SERVER__PORT: server.port:"),
            "{err}"
        );
    }

    #[test]
    fn the_database_password_never_shows_in_debug_output() {
        let c = Config::from_layers(
            None,
            env(&[(
                "ANLIEGEN__DATABASE__URL",
                "postgres://anliegen:s3cr3t@db/anliegen",
            )]),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("postgres://anliegen:***@db/anliegen"),
            "{shown}"
        );
    }

    #[test]
    fn plain_mail_is_refused_beyond_loopback() {
        let ok = Config::from_layers(
            None,
            env(&[
                ("ANLIEGEN__MAIL__SMTP__SECURITY", "plain"),
                ("ANLIEGEN__MAIL__SMTP__HOST", "127.0.0.1"),
            ]),
        );
        assert!(ok.is_ok());
        let err = Config::from_layers(
            None,
            env(&[
                ("ANLIEGEN__MAIL__SMTP__SECURITY", "plain"),
                ("ANLIEGEN__MAIL__SMTP__HOST", "mail.landkreis.de"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("mail.smtp.security") && err.contains("mail.landkreis.de"),
            "{err}"
        );
    }
}
