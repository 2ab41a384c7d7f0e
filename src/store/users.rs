//! Staff accounts (tables `users`, `user_departments`): name, role, a clerk's departments,
//! the argon2id password hash and the disabled flag. Every change is appended to the audit
//! log in the same transaction, naming who made it; disabling an account or changing its
//! password ends its sessions at once.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Store, StoreError, audit};
use crate::domain::{Role, UserName};

/// An account as everyone but the login check sees it: without its password hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub departments: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
}

impl User {
    /// How the audit log names this account.
    pub fn actor(&self) -> String {
        format!("user:{}", self.id)
    }
}

pub struct NewUser<'a> {
    pub name: &'a UserName,
    pub role: Role,
    pub departments: &'a [String],
    pub password_hash: &'a str,
}

/// What to change on an account; `None` keeps the field.
#[derive(Debug, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub departments: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

impl Store {
    /// Creates an account; `StoreError::Conflict` if the name is taken.
    pub async fn create_user(&self, new: &NewUser<'_>, actor: &str) -> Result<User, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 FROM users WHERE name = $1")
            .bind(new.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "user '{}' exists already",
                new.name
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at)
             VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        set_departments_in(&mut tx, id, new.departments).await?;
        let user = user_in(&mut tx, UserKey::Id(id))
            .await?
            .expect("just inserted");
        audit::append_in(
            &mut tx,
            actor,
            "user.create",
            &user.actor(),
            &json!({"name": user.name, "role": user.role, "departments": user.departments}),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The account and its password hash, for the login check.
    pub async fn user_with_hash(
        &self,
        name: &UserName,
    ) -> Result<Option<(User, String)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(user) = user_in(&mut conn, UserKey::Name(name.as_str())).await? else {
            return Ok(None);
        };
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Some((user, hash)))
    }

    pub async fn user(&self, name: &UserName) -> Result<Option<User>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        user_in(&mut conn, UserKey::Name(name.as_str())).await
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut departments: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for r in sqlx::query("SELECT user_id, department FROM user_departments ORDER BY department")
            .fetch_all(&self.pool)
            .await?
        {
            departments
                .entry(r.try_get("user_id")?)
                .or_default()
                .push(r.try_get("department")?);
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                user_from_row(r, departments.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// Applies `change` to the account named `name` (`None` if there is none) and audits it.
    pub async fn change_user(
        &self,
        name: &UserName,
        change: &UserChange,
        actor: &str,
    ) -> Result<Option<User>, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut tx = self.begin_write().await?;
        let Some(before) = user_in(&mut tx, UserKey::Name(name.as_str())).await? else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE users SET role = COALESCE($1, role), disabled = COALESCE($2, disabled),
                 password_hash = COALESCE($3, password_hash), updated_at = $4
             WHERE id = $5",
        )
        .bind(change.role.map(Role::as_str))
        .bind(change.disabled.map(i64::from))
        .bind(change.password_hash.as_deref())
        .bind(&now)
        .bind(before.id)
        .execute(&mut *tx)
        .await?;
        if let Some(departments) = &change.departments {
            set_departments_in(&mut tx, before.id, departments).await?;
        }
        // A disabled account or a new password leaves no session open.
        if change.disabled == Some(true) || change.password_hash.is_some() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(before.id)
                .execute(&mut *tx)
                .await?;
        }
        let after = user_in(&mut tx, UserKey::Id(before.id))
            .await?
            .expect("the account exists in this transaction");
        audit::append_in(
            &mut tx,
            actor,
            "user.update",
            &after.actor(),
            &json!({
                "name": after.name,
                "role": after.role,
                "departments": after.departments,
                "disabled": after.disabled,
                "password_changed": change.password_hash.is_some(),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Admin accounts that can log in; without one nobody can manage the service.
    pub async fn enabled_admins(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

async fn set_departments_in(
    conn: &mut AnyConnection,
    user_id: i64,
    departments: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM user_departments WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for d in departments {
        sqlx::query(
            "INSERT INTO user_departments (user_id, department) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(d)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Which account to load.
pub(super) enum UserKey<'a> {
    Id(i64),
    Name(&'a str),
}

/// One account with its departments, inside the caller's connection or transaction.
pub(super) async fn user_in(
    conn: &mut AnyConnection,
    key: UserKey<'_>,
) -> Result<Option<User>, StoreError> {
    let query = match key {
        UserKey::Id(id) => sqlx::query("SELECT * FROM users WHERE id = $1").bind(id),
        UserKey::Name(name) => sqlx::query("SELECT * FROM users WHERE name = $1").bind(name),
    };
    let Some(row) = query.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let departments = sqlx::query_scalar(
        "SELECT department FROM user_departments WHERE user_id = $1 ORDER BY department",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    user_from_row(&row, departments).map(Some)
}

fn user_from_row(r: &AnyRow, departments: Vec<String>) -> Result<User, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role '{role}'")))?,
        departments,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}
