//! Catalogue versions in the database and the rule for which catalogue the service routes
//! with: the latest stored version. With no version yet, or while the latest version was
//! taken from the configured file (`catalogue.path`), the configured file is read at start
//! and stored as a new version when it changed. Once a catalogue has been imported (CLI or
//! admin API), the configured file is no longer read.

use serde::Serialize;

use super::{ImportReport, diff::CatalogueDiff};
use crate::{
    domain::{Catalogue, CatalogueError},
    store::{NewCatalogueVersion, Store, StoreError, Stored},
};

/// Where a version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The configured file, taken at start.
    Config,
    /// `anliegen catalogue import`.
    Import,
    /// The admin API.
    Api,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Import => "import",
            Self::Api => "api",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error("there is no catalogue version {0}")]
    Missing(i64),
    #[error("there is no catalogue version yet: import one with `anliegen catalogue import`")]
    None,
}

/// What storing a catalogue did, and what changed against the version before.
#[derive(Debug, Clone, Serialize)]
pub struct Versioned {
    #[serde(flatten)]
    pub stored: Stored,
    /// Changes against the previous latest version (`None` for the first version).
    pub changes: Option<CatalogueDiff>,
}

/// Stores `catalogue` as the next version unless it equals the latest one.
pub async fn save(
    store: &Store,
    catalogue: &Catalogue,
    report: Option<&ImportReport>,
    origin: Origin,
) -> Result<Versioned, VersionError> {
    let previous = match store.catalogue_version(None).await? {
        Some(v) => Some(Catalogue::parse(
            &v.content,
            &format!("catalogue version {}", v.version.version),
        )?),
        None => None,
    };
    let changes = previous
        .as_ref()
        .map(|p| CatalogueDiff::between(p, catalogue));
    let report = serde_json::json!({ "import": report, "changes": changes });
    let source = catalogue.source.clone().unwrap_or_else(|| "edit".into());
    let stored = store
        .save_catalogue_version(&NewCatalogueVersion {
            origin: origin.name(),
            source: &source,
            fingerprint: catalogue.fingerprint(),
            services: catalogue.services.len(),
            content: &catalogue.to_toml(),
            report: &report,
        })
        .await?;
    Ok(Versioned {
        changes: changes.filter(|_| matches!(stored, Stored::Created { .. })),
        stored,
    })
}

/// A stored version's catalogue; `None` asks for the latest.
pub async fn load(store: &Store, number: Option<i64>) -> Result<(i64, Catalogue), VersionError> {
    let v = store.catalogue_version(number).await?.ok_or(match number {
        Some(n) => VersionError::Missing(n),
        None => VersionError::None,
    })?;
    let n = v.version.version;
    Ok((
        n,
        Catalogue::parse(&v.content, &format!("catalogue version {n}"))?,
    ))
}

/// The catalogue to route with and its version number (see the module doc for the rule).
pub async fn current(
    store: &Store,
    configured: &std::path::Path,
) -> Result<(i64, Catalogue), VersionError> {
    let latest = store.catalogue_versions().await?.pop();
    if latest
        .as_ref()
        .is_none_or(|v| v.origin == Origin::Config.name())
    {
        let mut file = Catalogue::load(configured)?;
        file.source = Some(format!("file {}", configured.display()));
        let saved = save(store, &file, None, Origin::Config).await?;
        if let Stored::Created { version } = saved.stored {
            tracing::info!(version, "catalogue version stored from the configured file");
        }
    }
    load(store, None).await
}
