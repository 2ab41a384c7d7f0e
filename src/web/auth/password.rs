//! Password hashes: argon2id with OWASP's parameters (19 MiB memory, 2 passes, 1 lane) in
//! PHC string format, so the parameters travel with each hash and can be raised later.
//! Verifying a login against [`dummy_hash`] when the account does not exist makes an
//! unknown user cost the same time as a wrong password.

use std::sync::LazyLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};

use crate::store::secret::Secret;

/// Shorter passwords are refused (BSI and OWASP advise length over composition rules).
pub const MIN_CHARS: usize = 12;
/// Longer ones are refused: nobody types them, and hashing them costs more.
pub const MAX_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_CHARS} characters")]
    TooShort,
    #[error("a password has at most {MAX_CHARS} characters")]
    TooLong,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

fn argon2id() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2id parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string to store for a new password that meets the length rules.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    hash_unchecked(password)
}

fn hash_unchecked(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random number generator");
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2id()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (compared in constant time by the
/// argon2 crate). Blocks for tens of milliseconds: call it on a blocking thread.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|h| argon2id().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of a random password nobody knows, with the same parameters as real ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: LazyLock<String> = LazyLock::new(|| {
        hash_unchecked(Secret::generate("").as_str()).expect("hashing a random password")
    });
    &DUMMY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_carries_owasp_parameters() {
        let phc = hash("korrekt pferd batterie").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("korrekt pferd batterie", &phc));
        assert!(!verify("korrekt pferd batteriE", &phc));
        assert!(!verify("korrekt pferd batterie", "not a hash"));
        assert_ne!(phc, hash("korrekt pferd batterie").unwrap(), "salted");
    }

    #[test]
    fn length_rules_are_enforced() {
        assert!(matches!(hash("kurz"), Err(PasswordError::TooShort)));
        assert!(matches!(
            hash(&"x".repeat(MAX_CHARS + 1)),
            Err(PasswordError::TooLong)
        ));
        assert!(!verify("", dummy_hash()));
    }
}
