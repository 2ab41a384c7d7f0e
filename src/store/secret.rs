//! Secrets that are handed out once and kept only as digests: session ids, API tokens, and
//! later the citizens' status and confirmation secrets. Each is 256 random bits from the
//! operating system written as hex; the store keeps the SHA-256 of the text, so a copy of
//! the database opens no session and reveals no token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly generated secret. Its text goes to the holder once; only [`Secret::digest`]
/// is stored.
pub struct Secret(String);

impl Secret {
    /// 256 random bits as hex, after `prefix` (e.g. `anl_` marks API tokens in logs of
    /// secret scanners).
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator");
        Self(format!("{prefix}{}", hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// The digest under which a presented secret is looked up.
pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Compares two digests in time independent of where they differ.
pub fn digests_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_verified_by_digest() {
        let (a, b) = (Secret::generate("anl_"), Secret::generate("anl_"));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.as_str().starts_with("anl_") && a.as_str().len() == 4 + 64);
        assert!(digests_equal(&a.digest(), &digest(a.as_str())));
        assert!(!digests_equal(&a.digest(), &b.digest()));
        assert!(!digests_equal(&a.digest(), "short"));
    }
}
