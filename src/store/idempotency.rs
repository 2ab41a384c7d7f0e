//! Idempotent intake (table `idempotency_keys`): an inquiry posted with an `Idempotency-Key`
//! is committed together with the key, and the same key within [`KEY_LIFETIME_MS`] finds
//! that inquiry again instead of opening a second case. Two concurrent requests with one
//! key are decided by the key's primary key: the second transaction waits for the first
//! (PostgreSQL's unique index, SQLite's single writer), inserts nothing and finds the
//! first's case.
//!
//! The key and the request (text and sender) are stored as SHA-256 digests under their
//! own domain strings. The case's status secret must come back with a replay, but the
//! store keeps secrets only as digests; so it is kept sealed: XORed with a keystream
//! derived from the key, which only the client holds.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{
    NewInquiry, SecretPurpose, Store, StoreError, StoredInquiry, citizen::issue_case_secret_in,
    insert_inquiry_tx,
};

/// How long a key finds its first request's case: 24 hours.
pub const KEY_LIFETIME_MS: i64 = 24 * 3_600_000;

/// What a request with an idempotency key comes to.
pub enum Idempotent {
    /// The first request with this key: a new inquiry and its status secret.
    Created(StoredInquiry, String),
    /// The key's first request: its inquiry as stored now and its status secret.
    Replayed(StoredInquiry, String),
    /// The key was used for a request with another text or sender.
    Reused,
}

/// A client's idempotency key and the request it came with, as the store compares them.
pub struct KeyedRequest {
    key: String,
    key_digest: String,
    request_digest: String,
}

impl KeyedRequest {
    /// `key` as the client sent it; `request` identifies what was asked (text and sender).
    pub fn new(key: &str, request: &[u8]) -> Self {
        Self {
            key: key.to_string(),
            key_digest: digest(&[b"anliegen idempotency key\0", key.as_bytes()]),
            request_digest: digest(&[b"anliegen idempotency request\0", request]),
        }
    }

    /// `data` XORed with SHA-256(domain ‖ key ‖ block number) blocks: seals and unseals.
    fn keystream_xor(&self, data: &[u8]) -> Vec<u8> {
        data.chunks(32)
            .zip(0u64..)
            .flat_map(|(chunk, block)| {
                let pad = Sha256::new()
                    .chain_update(b"anliegen idempotency seal\0")
                    .chain_update(self.key.as_bytes())
                    .chain_update(block.to_be_bytes())
                    .finalize();
                chunk
                    .iter()
                    .zip(pad)
                    .map(|(b, p)| b ^ p)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn seal(&self, secret: &str) -> String {
        hex::encode(self.keystream_xor(secret.as_bytes()))
    }

    fn unseal(&self, sealed: &str) -> Result<String, StoreError> {
        let bytes = hex::decode(sealed)
            .map_err(|_| StoreError::Corrupt("sealed idempotency secret is not hex".into()))?;
        String::from_utf8(self.keystream_xor(&bytes))
            .map_err(|_| StoreError::Corrupt("sealed idempotency secret does not open".into()))
    }
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    hex::encode(h.finalize())
}

impl Store {
    /// The case an earlier request with this key opened within the key's lifetime, if any.
    pub async fn idempotent_replay(
        &self,
        keyed: &KeyedRequest,
    ) -> Result<Option<Idempotent>, StoreError> {
        let cutoff = super::jobs::now_ms() - KEY_LIFETIME_MS;
        let row = sqlx::query(
            "SELECT request_digest, inquiry_id, sealed_secret FROM idempotency_keys
             WHERE key_digest = $1 AND created_ms >= $2",
        )
        .bind(&keyed.key_digest)
        .bind(cutoff)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<String, _>("request_digest")? != keyed.request_digest {
            return Ok(Some(Idempotent::Reused));
        }
        let Some(id) = row.try_get::<Option<i64>, _>("inquiry_id")? else {
            return Ok(None);
        };
        let secret = keyed.unseal(&row.try_get::<String, _>("sealed_secret")?)?;
        Ok(self
            .inquiry_by_id(id)
            .await?
            .map(|inquiry| Idempotent::Replayed(inquiry, secret)))
    }

    /// Commits `new` with its triage job, its status secret and `keyed`, or — when another
    /// request committed the key first — finds that request's case.
    pub async fn insert_inquiry_once(
        &self,
        new: NewInquiry,
        keyed: &KeyedRequest,
    ) -> Result<Idempotent, StoreError> {
        let now = super::jobs::now_ms();
        let mut tx = self.begin_write().await?;
        // Expired keys go first (the index on created_ms keeps this cheap), so a key may be
        // used again after its lifetime.
        sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(now - KEY_LIFETIME_MS)
            .execute(&mut *tx)
            .await?;
        // The placeholder row takes the key before any case number is drawn; a concurrent
        // request with the same key waits here for this transaction.
        let taken = sqlx::query(
            "INSERT INTO idempotency_keys (key_digest, request_digest, sealed_secret, created_ms)
             VALUES ($1, $2, '', $3) ON CONFLICT (key_digest) DO NOTHING",
        )
        .bind(&keyed.key_digest)
        .bind(&keyed.request_digest)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            tx.rollback().await?;
            return Ok(self
                .idempotent_replay(keyed)
                .await?
                // Erased in between: the key names nothing any more.
                .unwrap_or(Idempotent::Reused));
        }
        let inquiry = insert_inquiry_tx(&mut tx, new, self).await?;
        let secret = issue_case_secret_in(&mut tx, inquiry.id, SecretPurpose::Status).await?;
        sqlx::query(
            "UPDATE idempotency_keys SET inquiry_id = $1, sealed_secret = $2 WHERE key_digest = $3",
        )
        .bind(inquiry.id)
        .bind(keyed.seal(secret.as_str()))
        .bind(&keyed.key_digest)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Idempotent::Created(inquiry, secret.as_str().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let secret = "eaaac7c93a812ea7b219d4538659ee3a3130f138aeec0c5c1f274ef092072fa0";
        let keyed = KeyedRequest::new("0b6f7c1e-2d1c-4f0e-9a57-3f1f2c7d8e90", b"text");
        let sealed = keyed.seal(secret);
        assert_ne!(sealed, hex::encode(secret));
        assert_eq!(keyed.unseal(&sealed).unwrap(), secret);
        let other = KeyedRequest::new("another key", b"text");
        assert_ne!(other.unseal(&sealed).ok().as_deref(), Some(secret));
    }

    #[test]
    fn key_and_request_digests_differ_by_domain() {
        let a = KeyedRequest::new("k", b"k");
        assert_ne!(a.key_digest, a.request_digest);
        assert_eq!(a.key_digest, KeyedRequest::new("k", b"other").key_digest);
    }
}
