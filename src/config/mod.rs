//! Layered configuration: embedded defaults (`config/anliegen.toml`) → an optional file →
//! environment variables `ANLIEGEN__SECTION__KEY`, merged by figment and turned into
//! validated settings in one place, so the rest of the program never sees a half-configured
//! value. Every layer is named, so an error says which file or variable set the bad value.
//! The settings live beside what they configure: the server and its data ([`server`]), the
//! model, index and triage ([`triage`]), mail ([`mail`]), access ([`access`]) and the
//! interfaces to other systems ([`interfaces`]); [`layers`] merges them.

mod access;
mod interfaces;
mod layers;
mod mail;
mod server;
#[cfg(test)]
mod tests;
mod triage;

use figment::Figment;
use serde::Deserialize;

pub use access::{AuthConfig, GroupGrant, ProxyNet, RateLimitConfig};
pub use interfaces::{
    MetricsConfig, Open311Config, WEBHOOK_EVENTS, WebhookKind, WebhookSubscription, WebhooksConfig,
};
pub(crate) use mail::read_password;
pub use mail::{
    AckLanguage, ImapConfig, MailConfig, MailLanguage, MailParseConfig, MailSecurity, OutboxConfig,
    SmtpConfig,
};
pub use server::{
    DataConfig, DatabaseConfig, LogConfig, LogFormat, PagesConfig, RetentionConfig, ServerConfig,
};
pub use triage::{
    CatalogueConfig, IndexBackend, IndexConfig, ModelConfig, ModelFormat, PipelineConfig,
    ReplyConfig, TriageConfig,
};

use layers::{EnvVar, Layer, TomlLayer, blame};

const DEFAULTS: &str = include_str!("../../config/anliegen.toml");
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
