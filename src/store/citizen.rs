//! What a citizen holds for their case (table `case_secrets`): the status secret that
//! opens the case's public status, the confirmation secret that proves the contact address,
//! both kept as SHA-256; the confirmation itself (`inquiries.contact_confirmed_at`); and the
//! clerks' answers as the status page shows them (table `case_replies`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{
    Store, StoreError, StoredInquiry,
    secret::{Secret, digests_equal},
};
use crate::domain::CaseNumber;

/// What a case secret opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPurpose {
    /// The case's public status.
    Status,
    /// Confirming the contact address.
    Confirm,
}

impl SecretPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Confirm => "confirm",
        }
    }
}

/// A clerk's answer as the citizen reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseReply {
    pub text: String,
    pub at: String,
    /// Whether it also went out by mail.
    pub mailed: bool,
}

/// Compared against when a case does not exist, so a wrong case costs what a wrong secret
/// does.
const NO_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Issues a case secret inside the caller's transaction or on its connection.
pub(super) async fn issue_case_secret_in(
    conn: &mut sqlx::AnyConnection,
    inquiry_id: i64,
    purpose: SecretPurpose,
) -> Result<Secret, StoreError> {
    let secret = Secret::generate("");
    sqlx::query(
        "INSERT INTO case_secrets (inquiry_id, purpose, digest, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(inquiry_id)
    .bind(purpose.as_str())
    .bind(secret.digest())
    .bind(Utc::now().to_rfc3339())
    .execute(conn)
    .await?;
    Ok(secret)
}

impl Store {
    /// A new secret for `purpose` on inquiry `inquiry_id`; its text goes to the citizen.
    pub async fn issue_case_secret(
        &self,
        inquiry_id: i64,
        purpose: SecretPurpose,
    ) -> Result<Secret, StoreError> {
        let mut conn = self.pool.acquire().await?;
        issue_case_secret_in(&mut conn, inquiry_id, purpose).await
    }

    /// The inquiry behind `case` if `presented` is one of its secrets for `purpose`. An
    /// unknown case and a wrong secret both answer `None`, after the same comparisons.
    pub async fn case_opened_by(
        &self,
        case: &CaseNumber,
        purpose: SecretPurpose,
        presented: &str,
    ) -> Result<Option<StoredInquiry>, StoreError> {
        let presented = super::secret::digest(presented);
        let inquiry = self.inquiry(case).await?;
        // An unknown case runs the same query (for no row) and compares against a dummy.
        let mut digests: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM case_secrets WHERE inquiry_id = $1 AND purpose = $2",
        )
        .bind(inquiry.as_ref().map_or(-1, |i| i.id))
        .bind(purpose.as_str())
        .fetch_all(&self.pool)
        .await?;
        if digests.is_empty() {
            digests.push(NO_DIGEST.to_string());
        }
        // Every digest is compared, so the time does not tell which one (if any) matched.
        let matched = digests
            .iter()
            .fold(false, |any, d| any | digests_equal(d, &presented));
        Ok(inquiry.filter(|_| matched))
    }

    /// Marks the inquiry's contact address as confirmed (once; later calls keep the time).
    pub async fn confirm_contact(&self, inquiry_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE inquiries SET contact_confirmed_at = COALESCE(contact_confirmed_at, $1)
             WHERE id = $2",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(inquiry_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps a clerk's answer for the status page.
    pub async fn record_reply(
        &self,
        inquiry_id: i64,
        text: &str,
        actor: &str,
        mailed: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO case_replies (inquiry_id, text, actor, mailed, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(inquiry_id)
        .bind(text)
        .bind(actor)
        .bind(i64::from(mailed))
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The clerks' answers to an inquiry, oldest first.
    pub async fn case_replies(&self, inquiry_id: i64) -> Result<Vec<CaseReply>, StoreError> {
        let rows = sqlx::query(
            "SELECT text, created_at, mailed FROM case_replies WHERE inquiry_id = $1 ORDER BY id",
        )
        .bind(inquiry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CaseReply {
                    text: r.try_get("text")?,
                    at: r.try_get("created_at")?,
                    mailed: r.try_get::<i64, _>("mailed")? != 0,
                })
            })
            .collect()
    }

    /// Acknowledgements queued since `since` to `address` for cases that did not come in
    /// by mail: the confirmation requests an address got, to keep it from being flooded.
    pub async fn confirmation_requests_to(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox o JOIN inquiries i ON i.id = o.inquiry_id
             WHERE o.kind = 'ack' AND i.channel <> 'email'
               AND LOWER(o.to_address) = LOWER($1) AND o.created_at >= $2",
        )
        .bind(address)
        .bind(since.to_rfc3339())
        .fetch_one(&self.pool)
        .await?)
    }
}
