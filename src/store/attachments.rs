//! The files citizens attached to their inquiries: kept beside the case, listed and
//! served to staff who reach the case, exported and erased with it.

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::Attachment;

/// An attachment as listed on the case page, without its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentInfo {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

impl Store {
    /// Keeps the files of `inquiry_id`, all or none.
    pub async fn add_attachments(
        &self,
        inquiry_id: i64,
        files: &[Attachment],
    ) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        for f in files {
            sqlx::query(
                "INSERT INTO attachments
                     (inquiry_id, name, content_type, size, sha256, data, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(inquiry_id)
            .bind(&f.name)
            .bind(f.content_type)
            .bind(i64::try_from(f.data.len()).unwrap_or(i64::MAX))
            .bind(hex::encode(Sha256::digest(&f.data)))
            .bind(f.data.clone())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The attachments of `inquiry_id`, in the order they were given.
    pub async fn attachments(&self, inquiry_id: i64) -> Result<Vec<AttachmentInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, content_type, size, sha256 FROM attachments
             WHERE inquiry_id = $1 ORDER BY id",
        )
        .bind(inquiry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttachmentInfo {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    content_type: r.try_get("content_type")?,
                    size: r.try_get("size")?,
                    sha256: r.try_get("sha256")?,
                })
            })
            .collect()
    }

    /// One attachment of `inquiry_id` with its bytes; `None` if it belongs to another case.
    pub async fn attachment(
        &self,
        inquiry_id: i64,
        id: i64,
    ) -> Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, content_type, size, sha256, data FROM attachments
             WHERE inquiry_id = $1 AND id = $2",
        )
        .bind(inquiry_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                AttachmentInfo {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    content_type: r.try_get("content_type")?,
                    size: r.try_get("size")?,
                    sha256: r.try_get("sha256")?,
                },
                r.try_get("data")?,
            ))
        })
        .transpose()
    }
}
