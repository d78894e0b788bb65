//! OpenSSH user certificates: what russh leaves to us. russh checks the certificate's own
//! signature and validity window; this checks the rest, purely: the CA is trusted by the
//! account's tenant, the type is user, the window (again), the principals name the account,
//! the critical options are understood and satisfied, and the certificate is not revoked.

use std::fmt;
use std::net::IpAddr;

use ssh_key::Certificate;
use ssh_key::certificate::CertType;

use super::network;

/// How a certificate login's credential is written in its records and live session: its key
/// id, quoted (`key id "alice-laptop"`), at most 80 characters of it.
pub fn credential_of(key_id: &str) -> String {
    format!("key id {:?}", key_id.chars().take(80).collect::<String>())
}

/// The credentials a person's `--key` names: a key's `SHA256:` fingerprint as it is, anything
/// else as a certificate's key id, in the form records carry ([`credential_of`]) and as given.
pub fn credentials_named(given: &str) -> Vec<String> {
    if given.starts_with("SHA256:") || given.starts_with("key id \"") {
        vec![given.to_owned()]
    } else {
        vec![credential_of(given), given.to_owned()]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertRefusal {
    UntrustedCa,
    NotAUserCertificate,
    OutsideValidity,
    PrincipalMismatch,
    Revoked,
    SourceAddress,
    ForceCommand(String),
    UnknownCriticalOption(String),
}

impl fmt::Display for CertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertRefusal::UntrustedCa => f.write_str("signed by a CA the tenant does not trust"),
            CertRefusal::NotAUserCertificate => f.write_str("not a user certificate"),
            CertRefusal::OutsideValidity => f.write_str("outside its validity window"),
            CertRefusal::PrincipalMismatch => f.write_str("principals do not name the account"),
            CertRefusal::Revoked => f.write_str("revoked"),
            CertRefusal::SourceAddress => f.write_str("source-address does not allow this address"),
            CertRefusal::ForceCommand(c) => write!(
                f,
                "force-command {c:?} cannot be honoured (only sftp is served)"
            ),
            CertRefusal::UnknownCriticalOption(o) => write!(f, "unknown critical option {o:?}"),
        }
    }
}

/// Commands a certificate may force that amount to what Strongroom serves anyway.
const SFTP_COMMANDS: &[&str] = &[
    "internal-sftp",
    "sftp",
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
];

pub fn check(
    cert: &Certificate,
    account: &str,
    ca_trusted: bool,
    revoked: bool,
    peer: IpAddr,
    now: i64,
) -> Result<(), CertRefusal> {
    if !ca_trusted {
        return Err(CertRefusal::UntrustedCa);
    }
    if cert.cert_type() != CertType::User {
        return Err(CertRefusal::NotAUserCertificate);
    }
    let now = now.max(0) as u64;
    if now < cert.valid_after() || now >= cert.valid_before() {
        return Err(CertRefusal::OutsideValidity);
    }
    // An empty principal list means "anyone" to OpenSSH; Strongroom requires a named account.
    if !cert.valid_principals().iter().any(|p| p == account) {
        return Err(CertRefusal::PrincipalMismatch);
    }
    if revoked {
        return Err(CertRefusal::Revoked);
    }
    for (name, value) in cert.critical_options().iter() {
        match name.as_str() {
            "source-address" => {
                if !network::allows(Some(value), peer) {
                    return Err(CertRefusal::SourceAddress);
                }
            }
            "force-command" => {
                if !SFTP_COMMANDS.contains(&value.trim()) {
                    return Err(CertRefusal::ForceCommand(value.chars().take(80).collect()));
                }
            }
            other => {
                return Err(CertRefusal::UnknownCriticalOption(
                    other.chars().take(80).collect(),
                ));
            }
        }
    }
    Ok(())
}
