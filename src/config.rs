//! Layered configuration: embedded defaults (`config/anliegen.toml`) → an optional file →
//! environment variables `ANLIEGEN__SECTION__KEY`. Raw layers are merged as TOML tables and
//! turned into validated settings in one place, so the rest of the program never sees a
//! half-configured value.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

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
    pub catalogue: CatalogueConfig,
    pub triage: TriageConfig,
    pub pipeline: PipelineConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub max_text_chars: usize,
    pub max_concurrent_requests: usize,
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
