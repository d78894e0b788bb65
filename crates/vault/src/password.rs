//! Password hashing: Argon2id (the crate's defaults, PHC strings), and its verification. The
//! strength bar a new password must meet is the gate's policy, not this module's.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The Argon2id PHC string of `secret`, under a fresh random salt.
pub fn hash(secret: &str) -> Result<String, HashError> {
    argon2::Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `secret` matches the PHC string `phc` (constant time in the secret; deliberately
/// slow: call it off the async workers).
pub fn verify(secret: &[u8], phc: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(secret, phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = super::hash("a long enough passphrase").unwrap();
        let b = super::hash("a long enough passphrase").unwrap();
        assert!(a.starts_with("$argon2id$") && a != b);
        assert!(super::verify(b"a long enough passphrase", &a));
        assert!(!super::verify(b"a long enough passphrasE", &a));
        assert!(!super::verify(b"x", "not a hash"));
    }
}
