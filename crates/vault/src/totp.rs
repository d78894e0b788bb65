//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) and one-time
//! recovery codes: the HMAC, the constant-time check, the stored form of recovery codes, and the
//! draw of new secrets. The time comes in as an argument; the gate decides when a code is
//! accepted (a step used once only), this module only whether it matches.

use aws_lc_rs::{constant_time, digest, hmac};

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Steps of clock skew accepted either way.
pub const SKEW_STEPS: i64 = 1;
/// Length of a new TOTP secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The 6-digit code of `secret` at time step `step`.
pub fn code(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let m = mac.as_ref();
    let offset = (m[m.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        m[offset] & 0x7f,
        m[offset + 1],
        m[offset + 2],
        m[offset + 3],
    ]);
    bin % 1_000_000
}

pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// The time step whose code `answer` is (within the skew window), if any. Compares in
/// constant time; the caller must still make sure the step is used once only.
pub fn verify(secret: &[u8], answer: &str, unix: i64) -> Option<i64> {
    let answer = answer.trim();
    if answer.len() != 6 || !answer.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix);
    let mut found = None;
    for step in now - SKEW_STEPS..=now + SKEW_STEPS {
        let expected = format!("{:06}", code(secret, step));
        if constant_time::verify_slices_are_equal(expected.as_bytes(), answer.as_bytes()).is_ok() {
            found = Some(step);
        }
    }
    found
}

/// The base32 form authenticator apps take.
pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI for enrolment (issuer Strongroom, label account@tenant).
pub fn otpauth_uri(secret: &[u8], account: &str, tenant: &str) -> String {
    format!(
        "otpauth://totp/Strongroom:{account}%40{tenant}?secret={}&issuer=Strongroom&algorithm=SHA1&digits=6&period={STEP_SECS}",
        secret_base32(secret)
    )
}

/// A new enrolment: a TOTP secret and [`RECOVERY_CODES`] recovery codes, freshly drawn.
pub fn new_enrolment() -> (zeroize::Zeroizing<[u8; SECRET_LEN]>, Vec<String>) {
    let mut secret = zeroize::Zeroizing::new([0u8; SECRET_LEN]);
    rand::fill(&mut secret[..]);
    let codes = (0..RECOVERY_CODES)
        .map(|_| recovery_code(rand::random()))
        .collect();
    (secret, codes)
}

/// A recovery code from 10 random bytes: `xxxx-xxxx-xxxx-xxxx` (base32, 80 bits).
pub fn recovery_code(random: [u8; 10]) -> String {
    let s = data_encoding::BASE32_NOPAD.encode(&random).to_lowercase();
    format!("{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
}

/// What is stored of a recovery code. The codes carry 80 random bits, so a plain SHA-256 is
/// enough (no password-hashing cost needed); input is normalised (case, dashes, spaces).
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    digest::digest(&digest::SHA256, norm.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 here).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, expected) in [
            (59, 94287082u32),
            (1_111_111_109, 7081804),
            (1_111_111_111, 14050471),
            (1_234_567_890, 89005924),
            (2_000_000_000, 69279037),
        ] {
            assert_eq!(code(secret, step_at(t)), expected % 1_000_000, "t={t}");
        }
    }

    #[test]
    fn verify_accepts_one_step_of_skew_only() {
        let secret = [7u8; SECRET_LEN];
        let t = 1_800_000_000;
        let now = format!("{:06}", code(&secret, step_at(t)));
        assert_eq!(verify(&secret, &now, t), Some(step_at(t)));
        let prev = format!("{:06}", code(&secret, step_at(t) - 1));
        assert_eq!(verify(&secret, &prev, t), Some(step_at(t) - 1));
        let old = format!("{:06}", code(&secret, step_at(t) - 2));
        assert_eq!(verify(&secret, &old, t), None);
        assert_eq!(verify(&secret, "12345", t), None);
        assert_eq!(verify(&secret, "abcdef", t), None);
    }

    #[test]
    fn recovery_codes_normalise() {
        let c = recovery_code([1; 10]);
        assert_eq!(c.len(), 19);
        assert_eq!(
            recovery_hash(&c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert!(
            otpauth_uri(&[0; 20], "alice", "acme")
                .starts_with("otpauth://totp/Strongroom:alice%40acme?secret=AAAA")
        );
    }
}
