//! API tokens of machine clients (table `api_tokens`): a name, a role and departments like
//! an account, stored as the SHA-256 of the token. Creating and revoking are audited in the
//! same transaction; a revoked token is refused from the next request on.

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, audit};
use crate::domain::Role;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub departments: Vec<String>,
    /// The audit name of whoever created it.
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl ApiToken {
    /// How the audit log names this token.
    pub fn actor(&self) -> String {
        format!("token:{}", self.id)
    }
}

pub struct NewToken<'a> {
    pub name: &'a str,
    pub role: Role,
    pub departments: &'a [String],
    pub digest: &'a str,
}

impl Store {
    pub async fn create_token(
        &self,
        new: &NewToken<'_>,
        actor: &str,
    ) -> Result<ApiToken, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, digest, role, departments, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(new.name)
        .bind(new.digest)
        .bind(new.role.as_str())
        .bind(serde_json::to_string(new.departments).expect("strings serialise"))
        .bind(actor)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let token = token_from_row(&row)?;
        audit::append_in(
            &mut tx,
            actor,
            "token.create",
            &token.actor(),
            &json!({"name": token.name, "role": token.role, "departments": token.departments}),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The unrevoked token stored under `digest`.
    pub async fn live_token(&self, digest: &str) -> Result<Option<ApiToken>, StoreError> {
        sqlx::query("SELECT * FROM api_tokens WHERE digest = $1 AND revoked_at IS NULL")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query("SELECT * FROM api_tokens ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from_row)
            .collect()
    }

    /// Revokes token `id` (`None` if there is none); revoking it again changes nothing.
    pub async fn revoke_token(&self, id: i64, actor: &str) -> Result<Option<ApiToken>, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let Some(row) = sqlx::query("SELECT * FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        if revoked {
            audit::append_in(
                &mut tx,
                actor,
                "token.revoke",
                &token.actor(),
                &json!({"name": token.name}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(token))
    }
}

fn token_from_row(r: &AnyRow) -> Result<ApiToken, StoreError> {
    let role: String = r.try_get("role")?;
    let departments: String = r.try_get("departments")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role '{role}'")))?,
        departments: serde_json::from_str(&departments)
            .map_err(|_| StoreError::Corrupt("token departments".into()))?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}
