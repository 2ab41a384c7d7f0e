//! Settings of the interfaces to other systems: the Open311 server, Prometheus metrics and
//! webhooks.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Config {
    /// The jurisdiction this server answers for; requests naming another one get `404`.
    pub jurisdiction_id: String,
    /// Whom client developers contact (discovery).
    pub contact: String,
    /// How client developers get an `api_key` (discovery).
    pub key_service: String,
}

/// Prometheus metrics (README, "Metrics").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A listener of its own that serves `GET /metrics` without authentication, for a
    /// monitoring network. Unset: `/metrics` is served by the main server to admins only.
    pub bind: Option<std::net::SocketAddr>,
}

/// The events a subscription can receive.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "inquiry.received",
    "inquiry.routed",
    "inquiry.reviewed",
    "inquiry.replied",
    "inquiry.closed",
];

/// Outbound webhooks (README, "Webhooks"): each event of an inquiry becomes one job per
/// subscription that wants it, delivered by the pipeline's workers with its retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// How long a receiver may take to answer.
    pub timeout_seconds: u64,
    /// Attempts per delivery before its job is `dead` (retry it in the jobs list).
    pub max_attempts: u32,
    /// Delay before the second attempt; it doubles with every further one.
    pub backoff_base_ms: u64,
    /// The longest delay between two attempts.
    pub max_backoff_seconds: u64,
    pub subscriptions: Vec<WebhookSubscription>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            timeout_seconds: 10,
            max_attempts: 10,
            backoff_base_ms: 30_000,
            max_backoff_seconds: 3600,
            subscriptions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// A signed JSON event to `url`.
    #[default]
    Generic,
    /// A ticket in the department's Zammad group through Zammad's REST API.
    Zammad,
}

/// One receiver of events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSubscription {
    /// Names the subscription in jobs, logs and metrics (letters, digits, `-`, `_`).
    pub name: String,
    #[serde(default)]
    pub kind: WebhookKind,
    /// The receiver (`generic`) or the Zammad base URL (`zammad`, e.g.
    /// `https://zammad.example`, without `/api/v1`).
    pub url: String,
    /// The events to send; empty: all. `zammad` ignores it: tickets are opened for routed
    /// and reviewed inquiries.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only inquiries of these departments; empty: all.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Whether the inquiry's text, sender and place go out. Off unless the receiver may
    /// process the citizens' personal data (a data processing agreement).
    #[serde(default)]
    pub personal_data: bool,
    /// Environment variable holding the HMAC key (`generic`) or the API token (`zammad`).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File whose first line is that key or token. Read at each delivery, so a rotated
    /// secret takes effect without a restart.
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
    /// `zammad`: department id → Zammad group; a department not listed uses its name.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, String>,
    /// `zammad`: the customer (login or e-mail of an existing Zammad user) tickets are
    /// opened for when the citizen's address may not go out or is unknown.
    #[serde(default)]
    pub customer: Option<String>,
    /// `zammad`: whether the first article is internal (agents only).
    #[serde(default = "default_true")]
    pub internal: bool,
}

fn default_true() -> bool {
    true
}

impl WebhookSubscription {
    /// The events this subscription receives.
    pub fn wants(&self, event: &str) -> bool {
        match self.kind {
            WebhookKind::Zammad => matches!(event, "inquiry.routed" | "inquiry.reviewed"),
            WebhookKind::Generic => {
                self.events.is_empty() || self.events.iter().any(|e| e == event)
            }
        }
    }

    /// What is wrong with this subscription, if anything.
    pub fn problem(&self) -> Option<String> {
        let named = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !named {
            return Some(format!(
                "webhook subscription name '{}' must be letters, digits, '-' or '_'",
                self.name
            ));
        }
        let name = &self.name;
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Some(format!(
                "webhook '{name}': url must start with https:// or http://"
            ));
        }
        if let Some(e) = self
            .events
            .iter()
            .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
        {
            return Some(format!(
                "webhook '{name}': event '{e}' is unknown; use {}",
                WEBHOOK_EVENTS.join(", ")
            ));
        }
        if self.secret_env.is_none() && self.secret_file.is_none() {
            return Some(format!(
                "webhook '{name}': set secret_env or secret_file (the {})",
                match self.kind {
                    WebhookKind::Generic => "HMAC key the receiver checks signatures with",
                    WebhookKind::Zammad => "Zammad API token",
                }
            ));
        }
        if self.kind == WebhookKind::Zammad && self.customer.is_none() {
            return Some(format!(
                "webhook '{name}': a zammad subscription needs `customer`, the Zammad user \
                 tickets are opened for when the citizen's address does not go out"
            ));
        }
        None
    }

    /// The HMAC key or API token, read now.
    pub fn secret(&self) -> Result<SecretString, super::ConfigError> {
        super::read_password(&self.secret_env, &self.secret_file, &self.name)?
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or_else(|| super::ConfigError::Parse {
                origin: format!("webhook '{}'", self.name),
                message: "the secret is empty".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};

    fn load(toml: &str) -> Result<Config, ConfigError> {
        Config::from_layers(Some(("test.toml", toml)), std::iter::empty())
    }

    const HOOK: &str = r#"
[[webhooks.subscriptions]]
name = "leitstelle"
url = "https://leitstelle.example/hooks"
secret_env = "LEITSTELLE_SECRET"
"#;

    #[test]
    fn a_subscription_loads_and_takes_every_event_unless_it_names_some() {
        let c = load(HOOK).unwrap();
        let sub = &c.webhooks.subscriptions[0];
        assert!(super::WEBHOOK_EVENTS.iter().all(|e| sub.wants(e)));
        assert!(!sub.personal_data, "personal data is off unless consented");
        let c = load(&format!("{HOOK}events = [\"inquiry.routed\"]\n")).unwrap();
        let sub = &c.webhooks.subscriptions[0];
        assert!(sub.wants("inquiry.routed") && !sub.wants("inquiry.received"));
    }

    #[test]
    fn mistakes_are_refused_with_the_subscription_named() {
        for (toml, expected) in [
            (
                HOOK.replace("secret_env = \"LEITSTELLE_SECRET\"", ""),
                "secret_env or secret_file",
            ),
            (
                format!("{HOOK}events = [\"inquiry.deleted\"]\n"),
                "event 'inquiry.deleted' is unknown",
            ),
            (HOOK.replace("https://", "ftp://"), "url must start with"),
            (
                HOOK.replace("leitstelle\"", "leit stelle\""),
                "letters, digits",
            ),
            (format!("{HOOK}{HOOK}"), "named twice"),
            (format!("{HOOK}kind = \"zammad\"\n"), "needs `customer`"),
        ] {
            let e = load(&toml).unwrap_err().to_string();
            assert!(e.contains(expected), "{expected}: {e}");
        }
    }

    #[test]
    fn zammad_takes_routed_and_reviewed_inquiries_only() {
        let c = load(&format!(
            "{HOOK}kind = \"zammad\"\ncustomer = \"anliegen@kreis.example\"\n"
        ))
        .unwrap();
        let sub = &c.webhooks.subscriptions[0];
        let wanted: Vec<&str> = super::WEBHOOK_EVENTS
            .iter()
            .copied()
            .filter(|e| sub.wants(e))
            .collect();
        assert_eq!(wanted, ["inquiry.routed", "inquiry.reviewed"]);
        assert!(sub.internal, "articles are internal by default");
    }
}
