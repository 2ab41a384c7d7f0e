//! Settings of the server process itself: where it listens and what it accepts, its data
//! directory and database, its logs, how long cases are kept, and the web pages.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// May carry the database password (set it through `ANLIEGEN__DATABASE__URL`); a
    /// secret, so a logged or printed config never shows it.
    pub url: SecretString,
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
