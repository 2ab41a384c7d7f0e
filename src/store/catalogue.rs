//! Catalogue versions: each import or edit that changes the catalogue is stored as the next
//! numbered version (its TOML, where it came from, the import report and the changes); the
//! latest version is the catalogue the service routes with. Storing a catalogue identical
//! to the latest one adds nothing.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueVersion {
    pub version: i64,
    pub created_at: String,
    pub origin: String,
    pub source: String,
    pub fingerprint: String,
    pub services: i64,
    pub report: serde_json::Value,
}

/// A version with its catalogue text.
#[derive(Debug, Clone)]
pub struct StoredCatalogue {
    pub version: CatalogueVersion,
    pub content: String,
}

/// What storing a catalogue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stored {
    Created {
        version: i64,
    },
    /// Identical to the latest version, which stays.
    Unchanged {
        version: i64,
    },
}

impl Stored {
    pub fn version(self) -> i64 {
        match self {
            Self::Created { version } | Self::Unchanged { version } => version,
        }
    }
}

pub struct NewCatalogueVersion<'a> {
    pub origin: &'a str,
    pub source: &'a str,
    pub fingerprint: &'a str,
    pub services: usize,
    pub content: &'a str,
    pub report: &'a serde_json::Value,
}

const COLUMNS: &str = "version, created_at, origin, source, fingerprint, services, report";

fn version(r: &sqlx::any::AnyRow) -> Result<CatalogueVersion, StoreError> {
    let report: String = r.try_get("report")?;
    Ok(CatalogueVersion {
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        origin: r.try_get("origin")?,
        source: r.try_get("source")?,
        fingerprint: r.try_get("fingerprint")?,
        services: r.try_get("services")?,
        report: serde_json::from_str(&report)
            .map_err(|e| StoreError::Corrupt(format!("catalogue version report: {e}")))?,
    })
}

impl Store {
    /// Stores `new` as the next version unless the latest version has the same fingerprint.
    pub async fn save_catalogue_version(
        &self,
        new: &NewCatalogueVersion<'_>,
    ) -> Result<Stored, StoreError> {
        let mut tx = self.begin_write().await?;
        let latest = sqlx::query(
            "SELECT version, fingerprint FROM catalogue_versions ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = &latest {
            let fingerprint: String = r.try_get("fingerprint")?;
            if fingerprint == new.fingerprint {
                return Ok(Stored::Unchanged {
                    version: r.try_get("version")?,
                });
            }
        }
        let next = match &latest {
            Some(r) => r.try_get::<i64, _>("version")? + 1,
            None => 1,
        };
        sqlx::query(
            "INSERT INTO catalogue_versions (version, created_at, origin, source, fingerprint, services, content, report)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(next)
        .bind(Utc::now().to_rfc3339())
        .bind(new.origin)
        .bind(new.source)
        .bind(new.fingerprint)
        .bind(new.services as i64)
        .bind(new.content)
        .bind(new.report.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Stored::Created { version: next })
    }

    /// Every version, oldest first, without the catalogue texts.
    pub async fn catalogue_versions(&self) -> Result<Vec<CatalogueVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM catalogue_versions ORDER BY version"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version).collect()
    }

    /// One version with its text; `None` asks for the latest.
    pub async fn catalogue_version(
        &self,
        number: Option<i64>,
    ) -> Result<Option<StoredCatalogue>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, content FROM catalogue_versions {} ORDER BY version DESC LIMIT 1",
            if number.is_some() {
                "WHERE version = $1"
            } else {
                ""
            }
        );
        let mut query = sqlx::query(&sql);
        if let Some(n) = number {
            query = query.bind(n);
        }
        let Some(r) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some(StoredCatalogue {
            version: version(&r)?,
            content: r.try_get("content")?,
        }))
    }

    /// The number of the latest version, cheap enough to poll.
    pub async fn latest_catalogue_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT MAX(version) FROM catalogue_versions")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
