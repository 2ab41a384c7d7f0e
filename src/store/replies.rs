//! What suggested replies keep: the language the pipeline detected, the replies clerks
//! sent (redacted, per service) for the alternatives of later drafts, the templates clerks
//! save per service (every save a new version) and the reply autonomy per service.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

/// A clerk's reply as sent, for `Store::record_sent_reply`.
pub struct SentReplyRecord<'a> {
    pub inquiry_id: i64,
    pub text: &'a str,
    pub actor: &'a str,
    pub mailed: bool,
    pub service_id: Option<&'a str>,
    pub language: &'a str,
    pub redacted_text: &'a str,
    pub german_copy: Option<&'a str>,
}

/// An earlier reply of a service with the redacted inquiry it answered.
pub struct SentForService {
    pub case_number: String,
    pub inquiry: String,
    pub reply: String,
    pub language: Option<String>,
    pub sent_at: String,
}

/// One version of a service's saved reply template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplyTemplate {
    pub service_id: String,
    pub language: String,
    pub version: i64,
    pub text: String,
    pub actor: String,
    pub created_at: String,
}

impl Store {
    pub async fn set_language(&self, inquiry_id: i64, language: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE inquiries SET language = $1 WHERE id = $2")
            .bind(language)
            .bind(inquiry_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn language(&self, inquiry_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>("SELECT language FROM inquiries WHERE id = $1")
                .bind(inquiry_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// The text the pipeline worked on, with personal data replaced.
    pub async fn inquiry_redacted_text(
        &self,
        inquiry_id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT redacted_text FROM inquiries WHERE id = $1",
        )
        .bind(inquiry_id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Whether `actor` has answered the inquiry already (an automatic reply is sent once,
    /// also when its job runs again after a crash).
    pub async fn has_reply_by(&self, inquiry_id: i64, actor: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM case_replies WHERE inquiry_id = $1 AND actor = $2 LIMIT 1",
        )
        .bind(inquiry_id)
        .bind(actor)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Keeps a clerk's answer for the status page, with what later drafts learn from.
    pub async fn record_sent_reply(&self, r: &SentReplyRecord<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO case_replies (inquiry_id, text, actor, mailed, created_at, service_id,
                                       language, redacted_text, german_copy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.inquiry_id)
        .bind(r.text)
        .bind(r.actor)
        .bind(i64::from(r.mailed))
        .bind(Utc::now().to_rfc3339())
        .bind(r.service_id)
        .bind(r.language)
        .bind(r.redacted_text)
        .bind(r.german_copy)
        .execute(&self.pool)
        .await?;
        self.enqueue_event(r.inquiry_id, super::webhooks::Event::Replied, None)
            .await?;
        Ok(())
    }

    /// The latest `limit` replies sent for `service_id`, other than to `except_inquiry`.
    pub async fn sent_replies_for(
        &self,
        service_id: &str,
        except_inquiry: i64,
        limit: i64,
    ) -> Result<Vec<SentForService>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.case_number, i.redacted_text AS inquiry, r.redacted_text AS reply,
                    r.language, r.created_at
             FROM case_replies r JOIN inquiries i ON i.id = r.inquiry_id
             WHERE r.service_id = $1 AND r.inquiry_id <> $2
               AND r.redacted_text IS NOT NULL AND i.redacted_text IS NOT NULL
             ORDER BY r.id DESC LIMIT $3",
        )
        .bind(service_id)
        .bind(except_inquiry)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SentForService {
                    case_number: r.try_get("case_number")?,
                    inquiry: r.try_get("inquiry")?,
                    reply: r.try_get("reply")?,
                    language: r.try_get("language")?,
                    sent_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Saves `text` as the next version of the service's template in `language`.
    pub async fn save_reply_template(
        &self,
        service_id: &str,
        language: &str,
        text: &str,
        actor: &str,
    ) -> Result<ReplyTemplate, StoreError> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM reply_templates WHERE service_id = $1 AND language = $2",
        )
        .bind(service_id)
        .bind(language)
        .fetch_one(&mut *tx)
        .await?;
        let template = ReplyTemplate {
            service_id: service_id.into(),
            language: language.into(),
            version: last.unwrap_or(0) + 1,
            text: text.into(),
            actor: actor.into(),
            created_at: Utc::now().to_rfc3339(),
        };
        sqlx::query(
            "INSERT INTO reply_templates (service_id, language, version, text, actor, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&template.service_id)
        .bind(&template.language)
        .bind(template.version)
        .bind(&template.text)
        .bind(&template.actor)
        .bind(&template.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(template)
    }

    /// Every version of a service's templates, newest first.
    pub async fn reply_templates(
        &self,
        service_id: &str,
    ) -> Result<Vec<ReplyTemplate>, StoreError> {
        let rows = sqlx::query(
            "SELECT service_id, language, version, text, actor, created_at FROM reply_templates
             WHERE service_id = $1 ORDER BY language, version DESC",
        )
        .bind(service_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReplyTemplate {
                    service_id: r.try_get("service_id")?,
                    language: r.try_get("language")?,
                    version: r.try_get("version")?,
                    text: r.try_get("text")?,
                    actor: r.try_get("actor")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The autonomy an admin set for a service, if any.
    pub async fn reply_autonomy(&self, service_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT mode FROM reply_autonomy WHERE service_id = $1")
                .bind(service_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_reply_autonomy(
        &self,
        service_id: &str,
        mode: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reply_autonomy (service_id, mode, actor, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (service_id) DO UPDATE SET mode = excluded.mode, actor = excluded.actor, updated_at = excluded.updated_at",
        )
        .bind(service_id)
        .bind(mode)
        .bind(actor)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
