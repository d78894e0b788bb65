//! The gate: every decision about who gets in and what they may do.
//!
//! [`Gate`] decides logins (public key or password against the catalog), taking the same path
//! and saying the same thing for an unknown account, a locked one and a wrong credential; the
//! reason is only logged. [`access`] decides, once and before dispatch, whether an SFTP request is
//! allowed by the account's access level. [`credentials`] checks and prepares what the admin
//! command line stores (key parsing, Argon2id hashing). Handlers never re-check any of this.

pub mod access;
pub mod credentials;

use std::fmt;

use argon2::password_hash::PasswordVerifier;
use catalog::{Access, Catalog};
use russh::keys::{HashAlg, PublicKey};

/// Who a session acts for, fixed at login.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub account: String,
    pub tenant_id: i64,
    pub tenant: String,
    pub access: Access,
}

/// Why a login was refused. Logged on the server, never told to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownAccount,
    Locked,
    UnknownKey,
    NoPassword,
    WrongPassword,
    Unavailable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::UnknownAccount => "unknown account",
            Refusal::Locked => "account locked",
            Refusal::UnknownKey => "key not registered for account",
            Refusal::NoPassword => "account has no password",
            Refusal::WrongPassword => "wrong password",
            Refusal::Unavailable => "catalog unavailable",
        })
    }
}

pub struct Gate {
    catalog: Catalog,
    /// Verified against when the account is unknown, so that path costs what a real check costs.
    decoy_hash: String,
}

impl Gate {
    pub fn new(catalog: Catalog) -> Result<Self, credentials::CredentialError> {
        let decoy: [u8; 16] = rand::random();
        let decoy_hash = credentials::hash_secret(&hex::encode(decoy))?;
        Ok(Self {
            catalog,
            decoy_hash,
        })
    }

    /// May `user` log in with `key`? Used for the unsigned probe and again after the signature
    /// is verified, so a key removed in between is refused.
    pub async fn check_key(&self, user: &str, key: &PublicKey) -> Result<Principal, Refusal> {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let account = self.account(user).await?;
        let found = self
            .catalog
            .find_key(
                account.as_ref().map_or(-1, |a| a.0.account_id),
                &fingerprint,
            )
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let (account, locked) = account.ok_or(Refusal::UnknownAccount)?;
        found.ok_or(Refusal::UnknownKey)?;
        if locked {
            return Err(Refusal::Locked);
        }
        Ok(account)
    }

    pub async fn check_password(&self, user: &str, password: &str) -> Result<Principal, Refusal> {
        let found = self
            .catalog
            .find_account(user)
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let hash = found
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.decoy_hash.clone());
        let password = password.to_owned();
        // Argon2 is deliberately slow: keep it off the async workers.
        let matches = tokio::task::spawn_blocking(move || {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .unwrap_or(false);
        let account = found.ok_or(Refusal::UnknownAccount)?;
        if account.password_hash.is_none() {
            return Err(Refusal::NoPassword);
        }
        if !matches {
            return Err(Refusal::WrongPassword);
        }
        if account.locked {
            return Err(Refusal::Locked);
        }
        Ok(principal(&account))
    }

    async fn account(&self, user: &str) -> Result<Option<(Principal, bool)>, Refusal> {
        Ok(self
            .catalog
            .find_account(user)
            .await
            .map_err(|_| Refusal::Unavailable)?
            .map(|a| (principal(&a), a.locked)))
    }
}

fn principal(a: &catalog::Account) -> Principal {
    Principal {
        account_id: a.id,
        account: a.name.clone(),
        tenant_id: a.tenant_id,
        tenant: a.tenant.clone(),
        access: a.access,
    }
}

/// Account-supplied text that reaches the log (user names): printable ASCII only, bounded.
pub fn loggable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
