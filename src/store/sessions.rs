//! Server-side login sessions (table `sessions`), shared by every process on the database.
//! A session is known by the SHA-256 of its cookie value and ends when it was idle longer
//! than the idle timeout, is older than the absolute timeout, is logged out, or its account
//! is disabled or gets a new password.

use std::time::Duration;

use chrono::Utc;
use sqlx::Row;

use super::{
    Store, StoreError,
    users::{User, UserKey, user_in},
};

/// How long a session lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after the login, however active.
    pub absolute: Duration,
}

impl SessionLimits {
    fn idle_ms(&self) -> i64 {
        i64::try_from(self.idle.as_millis()).unwrap_or(i64::MAX)
    }

    fn absolute_ms(&self) -> i64 {
        i64::try_from(self.absolute.as_millis()).unwrap_or(i64::MAX)
    }

    /// Requests closer together than this do not rewrite `last_seen_at`: one write per
    /// minute at most, and often enough that the idle timeout stays exact to a tenth.
    fn touch_ms(&self) -> i64 {
        (self.idle_ms() / 10).min(60_000)
    }
}

impl Store {
    /// Opens a session under `digest`. The session the client had before (`replaces`)
    /// ends, so a session id planted before the login is worthless after it; expired
    /// sessions of every account are removed on the way.
    pub async fn open_session(
        &self,
        digest: &str,
        user_id: i64,
        replaces: Option<&str>,
        limits: SessionLimits,
    ) -> Result<(), StoreError> {
        let now = Utc::now().timestamp_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
            .bind(now.saturating_sub(limits.idle_ms()))
            .bind(now.saturating_sub(limits.absolute_ms()))
            .execute(&mut *tx)
            .await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at)
             VALUES ($1, $2, $3, $3)",
        )
        .bind(digest)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The enabled account behind a live session, which counts as a request to it; `None`
    /// for an unknown, expired or disabled one (an expired one is removed).
    pub async fn session_user(
        &self,
        digest: &str,
        limits: SessionLimits,
    ) -> Result<Option<User>, StoreError> {
        let now = Utc::now().timestamp_millis();
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT user_id, created_at, last_seen_at FROM sessions WHERE id_digest = $1",
        )
        .bind(digest)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let created: i64 = row.try_get("created_at")?;
        let last_seen: i64 = row.try_get("last_seen_at")?;
        if now - last_seen >= limits.idle_ms() || now - created >= limits.absolute_ms() {
            sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
                .bind(digest)
                .execute(&mut *conn)
                .await?;
            return Ok(None);
        }
        let user = user_in(&mut conn, UserKey::Id(row.try_get("user_id")?)).await?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        if now - last_seen >= limits.touch_ms() {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_digest = $2")
                .bind(now)
                .bind(digest)
                .execute(&mut *conn)
                .await?;
        }
        Ok(Some(user))
    }

    /// Ends a session (logout); ending an unknown one is no error.
    pub async fn close_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
