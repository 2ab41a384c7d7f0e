//! The layers figment merges — TOML texts and `ANLIEGEN__…` variables, each named by where
//! it came from — and the error that blames the layer which set a bad value.

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};

use super::ConfigError;

/// One layer of the configuration.
pub(super) enum Layer {
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
pub(super) struct TomlLayer {
    pub(super) origin: String,
    pub(super) text: String,
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
pub(super) struct EnvVar {
    pub(super) name: String,
    pub(super) keys: Vec<String>,
    pub(super) value: String,
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
pub(super) fn blame(e: figment::Error, layers: &[Layer]) -> ConfigError {
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
