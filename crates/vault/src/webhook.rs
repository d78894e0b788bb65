//! The signature of a webhook delivery: HMAC-SHA256 over `"{timestamp}.{body}"` with the
//! shared secret, sent as `X-Strongroom-Signature: t=<unix seconds>,sha256=<hex>`. The
//! receiver recomputes it (and refuses old timestamps, so a captured delivery cannot be
//! replayed later).

use std::path::Path;

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

/// Shortest secret accepted (bytes of the file, trailing newline removed).
pub const MIN_SECRET_LEN: usize = 16;

/// Why the webhook secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSecretError {
    #[error(transparent)]
    File(#[from] crate::OwnerOnlyError),
    #[error("webhook secret file {path} holds {len} bytes; at least {MIN_SECRET_LEN} are needed")]
    TooShort { path: String, len: usize },
}

/// The shared secret webhook deliveries are signed with, read from an owner-only file.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Reads the secret at `path`: the file must be owner-only (0600 or stricter) and hold at
    /// least [`MIN_SECRET_LEN`] bytes; one trailing newline is not part of the secret.
    pub fn load(path: &Path) -> Result<Self, WebhookSecretError> {
        let mut bytes = crate::owner_only::read(path, "webhook secret file")?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        if bytes.len() < MIN_SECRET_LEN {
            return Err(WebhookSecretError::TooShort {
                path: path.display().to_string(),
                len: bytes.len(),
            });
        }
        Ok(Self(bytes))
    }

    /// The header's value for `body` sent at `timestamp` (Unix seconds).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        signature(&self.0, timestamp, body)
    }
}

/// The header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("t={timestamp},sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// Whether `header` is a valid signature of `body` (constant-time comparison).
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let Some((t, mac)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",sha256="))
    else {
        return false;
    };
    let (Ok(t), Ok(mac)) = (t.parse::<i64>(), hex::decode(mac)) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut msg = t.to_string().into_bytes();
    msg.push(b'.');
    msg.extend_from_slice(body);
    hmac::verify(&key, &msg, &mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let s = signature(b"secret", 1_800_000_000, b"{\"a\":1}");
        assert!(s.starts_with("t=1800000000,sha256="));
        assert!(verify(b"secret", &s, b"{\"a\":1}"));
        assert!(!verify(b"secret", &s, b"{\"a\":2}"));
        assert!(!verify(b"other", &s, b"{\"a\":1}"));
        assert!(!verify(b"secret", &s.replace("t=18", "t=19"), b"{\"a\":1}"));
        assert!(!verify(b"secret", "garbage", b""));
    }

    #[test]
    fn a_secret_file_must_be_private_and_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = WebhookSecret::load(&path).unwrap_err().to_string();
        assert!(e.contains("readable by others (mode 644)"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = WebhookSecret::load(&path).unwrap();
        assert!(verify(b"0123456789abcdef", &s.sign(7, b"x"), b"x"));
        std::fs::write(&path, "short\n").unwrap();
        let e = WebhookSecret::load(&path).unwrap_err().to_string();
        assert!(e.contains("holds 5 bytes; at least 16"), "{e}");
    }
}
