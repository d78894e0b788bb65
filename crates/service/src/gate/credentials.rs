//! Credentials the admin command line stores: OpenSSH public keys (parsed, checked for weak
//! types, fingerprinted) and passwords (strength bar, Argon2id hash). Nothing here is logged.

use catalog::NewKey;
use ssh_key::{Algorithm, HashAlg, PublicKey};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("not an OpenSSH public key: {0}")]
    BadKey(String),
    #[error("{0} keys are not accepted; use an ed25519 or ecdsa key")]
    WeakKey(String),
    #[error("password too short: at least {MIN_PASSWORD_LEN} characters are required")]
    WeakPassword,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Parses one OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
pub fn parse_public_key(text: &str) -> Result<NewKey, CredentialError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| CredentialError::BadKey("the file is empty".into()))?;
    // A private key given by mistake: said plainly (nothing of it is stored or echoed).
    if line.starts_with("-----BEGIN") {
        return Err(CredentialError::BadKey(
            "this is a private key; give the public one (its .pub file)".into(),
        ));
    }
    let key = PublicKey::from_openssh(line).map_err(|e| CredentialError::BadKey(e.to_string()))?;
    match key.algorithm() {
        // FIDO (sk-) keys wait until user presence is checked; RSA until it has been reviewed.
        Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => {}
        other => return Err(CredentialError::WeakKey(other.to_string())),
    }
    let comment = key.comment().to_string();
    let mut bare = key.clone();
    bare.set_comment("");
    Ok(NewKey {
        algorithm: key.algorithm().to_string(),
        public_key: bare
            .to_openssh()
            .map_err(|e| CredentialError::BadKey(e.to_string()))?
            .trim()
            .to_owned(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        comment,
        expires_at: None,
    })
}

/// Checks the strength bar and returns the Argon2id PHC hash of a password.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(CredentialError::WeakPassword);
    }
    hash_secret(password)
}

pub(crate) fn hash_secret(secret: &str) -> Result<String, CredentialError> {
    vault::password::hash(secret).map_err(|e| CredentialError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHQ0wnGSpXJ1iMDp9XzVxFuYqdGUhGXPrAFrCA0YBqgW alice@laptop";

    #[test]
    fn parses_and_fingerprints() {
        let k = parse_public_key(&format!("# comment\n{ED}\n")).unwrap();
        assert_eq!(k.algorithm, "ssh-ed25519");
        assert_eq!(k.comment, "alice@laptop");
        assert!(k.fingerprint.starts_with("SHA256:"));
        assert!(!k.public_key.contains("alice"));
    }

    #[test]
    fn refuses_garbage_and_weak_passwords() {
        assert!(matches!(
            parse_public_key("hello"),
            Err(CredentialError::BadKey(_))
        ));
        assert!(matches!(
            parse_public_key(""),
            Err(CredentialError::BadKey(_))
        ));
        assert!(matches!(
            hash_password("short"),
            Err(CredentialError::WeakPassword)
        ));
        assert!(
            hash_password("a long enough passphrase")
                .unwrap()
                .starts_with("$argon2id$")
        );
    }
}
