//! The gate: every decision about who gets in and what they may do.
//!
//! [`Gate`] decides logins: the first factor (public key, OpenSSH certificate or password), then
//! the account's policy (allowed methods, network allow-lists, expiry, lock), then a second
//! factor when the account or its tenant requires one (TOTP or a recovery code, asked over
//! keyboard-interactive). Every refusal takes the same path and says the same thing to the
//! client; the reason is logged as an event and scored by the [`defender`]. [`access`] decides,
//! once and before dispatch, whether an SFTP request is allowed. [`credentials`] prepares what
//! the admin command line stores. Handlers never re-check any of this.

pub mod access;
pub mod certificate;
pub mod credentials;
pub mod defender;
pub mod network;
pub mod policy;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use catalog::{Access, Account, Catalog};
use ipnet::IpNet;
use ssh_key::{Certificate, HashAlg, PublicKey};

use crate::keys::KeyringHandle;
use defender::{Defender, Verdict};
use vault::totp;

/// Who a session acts for, fixed at login.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub account: String,
    pub tenant_id: i64,
    pub tenant: String,
    pub access: Access,
    /// Combined read and write rate limit at login (bytes per second; `None`: none).
    pub throttle: Option<u64>,
    /// When the first factor it logged in with stops being valid (Unix seconds: a key's
    /// `--expires`, a password's expiry; not a certificate's end, which bounds when it may log
    /// in, as OpenSSH takes it): its live session ends then.
    pub credential_expires: Option<i64>,
}

/// A first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    PublicKey,
    Certificate,
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::PublicKey => "publickey",
            Method::Certificate => "certificate",
            Method::Password => "password",
        }
    }
}

/// Where a login stands after a factor.
#[derive(Debug, Clone)]
pub enum Step {
    /// Logged in.
    Done(Principal),
    /// The first factor is good; a second factor is required for this principal.
    SecondFactor(Principal),
}

impl Step {
    /// The same step, its principal's first factor valid until `at` (Unix seconds).
    fn expiring(self, at: Option<i64>) -> Self {
        match self {
            Step::Done(p) => Step::Done(Principal {
                credential_expires: at,
                ..p
            }),
            Step::SecondFactor(p) => Step::SecondFactor(Principal {
                credential_expires: at,
                ..p
            }),
        }
    }
}

/// Why a login was refused. Logged on the server, never told to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownAccount,
    Locked,
    UnknownKey,
    NoPassword,
    WrongPassword,
    Expired(&'static str),
    MethodNotAllowed(Method),
    NetworkNotAllowed,
    SecondFactorNotEnrolled,
    SoftLocked,
    WrongCode,
    ReplayedCode,
    Certificate(certificate::CertRefusal),
    Unavailable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownAccount => f.write_str("unknown account"),
            Refusal::Locked => f.write_str("account locked"),
            Refusal::UnknownKey => f.write_str("key not registered for account"),
            Refusal::NoPassword => f.write_str("account has no password"),
            Refusal::WrongPassword => f.write_str("wrong password"),
            Refusal::Expired(what) => write!(f, "{what} expired"),
            Refusal::MethodNotAllowed(m) => {
                write!(f, "{} not allowed for this account", m.as_str())
            }
            Refusal::NetworkNotAllowed => f.write_str("source address not in the allowed networks"),
            Refusal::SecondFactorNotEnrolled => {
                f.write_str("a second factor is required but the account has not enrolled one")
            }
            Refusal::SoftLocked => {
                f.write_str("account under attack and without a second factor: soft-locked")
            }
            Refusal::WrongCode => f.write_str("wrong second-factor code"),
            Refusal::ReplayedCode => f.write_str("second-factor code already used"),
            Refusal::Certificate(c) => write!(f, "certificate refused: {c}"),
            Refusal::Unavailable => f.write_str("catalog unavailable"),
        }
    }
}

pub struct Gate {
    catalog: Catalog,
    /// The last session kill recorded in the catalog that this server has applied.
    kills_applied: std::sync::atomic::AtomicI64,
    keyring: Arc<KeyringHandle>,
    pub defender: Defender,
    /// Verified against when the account is unknown, so that path costs what a real check costs.
    decoy_hash: String,
    /// The union of the tenants' allow-lists (`None`: some tenant has none).
    reachable: RwLock<Option<Vec<IpNet>>>,
    events: Arc<dyn events::EventSink>,
    clock: Arc<dyn crate::clock::Clock>,
}

/// Session kills read from the catalog at a time.
const KILLS_A_LOOK: i64 = 500;

/// Who found a session's login policy outgrown when it was the server's own look
/// ([`Gate::end_sessions_policy_refuses`]).
pub const FOUND_IN_THE_CATALOG: &str = "(found so in the catalog)";
/// Why a session ended whose account the catalog found locked ([`Gate::end_sessions_out_of_service`]).
pub const LOCKED_MEANWHILE: &str = "account locked (found so in the catalog)";
/// Why a session ended whose account the catalog no longer holds.
pub const REMOVED_MEANWHILE: &str = "account removed (found so in the catalog)";
/// Why a session ended whose key its account no longer holds.
pub const KEY_REMOVED_MEANWHILE: &str = "key removed (found so in the catalog)";
/// Why a session ended whose certificate its tenant revoked.
pub const CERTIFICATE_REVOKED_MEANWHILE: &str = "certificate revoked (found so in the catalog)";

fn unavailable(e: impl fmt::Display) -> Refusal {
    tracing::error!(error = %e, "gate: catalog unavailable");
    Refusal::Unavailable
}

impl Gate {
    pub fn new(
        catalog: Catalog,
        keyring: Arc<KeyringHandle>,
        defender: Defender,
        events: Arc<dyn events::EventSink>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<Self, credentials::CredentialError> {
        let decoy: [u8; 16] = rand::random();
        let decoy_hash = credentials::hash_secret(&hex::encode(decoy))?;
        Ok(Self {
            catalog,
            kills_applied: Default::default(),
            keyring,
            defender,
            decoy_hash,
            reachable: RwLock::new(None),
            events,
            clock,
        })
    }

    /// Reloads bans and the networks any tenant can be reached from.
    pub async fn refresh(&self) {
        self.refresh_bans(defender::Reload::Always).await;
    }

    /// [`Gate::refresh`], of the bans only those made since the last reading (the periodic
    /// reload: an administrator's changes and containment's bans reload every ban at once).
    pub async fn refresh_new(&self) {
        self.refresh_bans(defender::Reload::Since).await;
    }

    /// Ends the live sessions (in `registry`) that the catalog says are out of service: of
    /// accounts locked or removed, opened by a key its account no longer holds or by a
    /// certificate its tenant revoked, those an administrator's kill recorded there names, and
    /// those their accounts' login policies would no longer let in,
    /// however that came about (an administrator's command whose own close did not reach this
    /// server, containment on another node, a login that raced the change). Returns the
    /// sessions ended; none where the catalog cannot be read (logged).
    pub async fn end_sessions_out_of_service(
        &self,
        registry: &crate::sessions::Registry,
    ) -> Vec<String> {
        let mut ended = self.end_accounts_out_of_service(registry).await;
        ended.extend(self.end_removed_keys(registry).await);
        ended.extend(self.end_revoked_certificates(registry).await);
        ended.extend(self.apply_recorded_kills(registry).await);
        match (self.end_sessions_policy_refuses(registry, None, FOUND_IN_THE_CATALOG)).await {
            Ok(outgrown) => ended.extend(outgrown.into_iter().map(|(id, _)| id)),
            Err(e) => {
                tracing::warn!(error = %e, "gate: could not read the live accounts' login policies")
            }
        }
        ended
    }

    /// Ends the live sessions (those `scope` names, or all)
    /// that their accounts' login policies, as the catalog holds them now, would not let in
    /// ([`policy::outgrown`]): from outside narrowed networks, by a method no longer allowed or a
    /// password expired, with one factor where a second is now required. Each session's end
    /// records its reason and `by` after it (`by an administrator (USER)`, `(found so in the
    /// catalog)`). Returns each session ended with its reason.
    pub async fn end_sessions_policy_refuses(
        &self,
        registry: &crate::sessions::Registry,
        scope: Option<&crate::sessions::Selection>,
        by: &str,
    ) -> Result<Vec<(String, policy::Outgrown)>, catalog::CatalogError> {
        let policies = self
            .catalog
            .login_policies(&registry.live_accounts())
            .await?;
        let now = self.clock.unix_secs();
        let of = |account_id: i64| {
            (policies.read)
                .binary_search_by_key(&account_id, |p| p.account_id)
                .ok()
                .map(|i| &policies.read[i])
        };
        // A password's expiry as the catalog has it now (one put back keeps the session).
        registry.follow_password_expiries(|id| of(id).map(|p| p.password_expires_at));
        let unreadable = |id: i64| policies.unreadable.binary_search(&id).is_ok();
        Ok(registry.end_judged(
            scope,
            |login, source| match of(login.account_id) {
                Some(p) => policy::outgrown(p, &login.methods, source, now),
                None => unreadable(login.account_id).then_some(policy::Outgrown::Unreadable),
            },
            |reason| format!("{reason} {by}"),
        ))
    }

    /// Sets the live sessions' rates to their accounts' in the catalog where they differ (a
    /// `user throttle`, or containment's, made where this server was not told of it: another
    /// node, a command that could not reach it). Returns the accounts whose rate changed.
    pub async fn follow_throttles(
        &self,
        registry: &crate::sessions::Registry,
        throttles: &crate::throttle::Throttles,
    ) -> Vec<String> {
        let rates = match (self.catalog)
            .account_throttles(&registry.live_accounts())
            .await
        {
            Ok(rates) => rates,
            Err(e) => {
                tracing::warn!(error = %e, "gate: could not read the live accounts' rates");
                return Vec::new();
            }
        };
        let rates: Vec<(String, Option<u64>)> = (rates.into_iter())
            .map(|(account, rate)| {
                (
                    account,
                    rate.and_then(|r| u64::try_from(r).ok()).filter(|r| *r > 0),
                )
            })
            .collect();
        throttles.follow(&rates)
    }

    /// The sessions of accounts locked or removed (by row: one made again under the name is
    /// another account).
    async fn end_accounts_out_of_service(
        &self,
        registry: &crate::sessions::Registry,
    ) -> Vec<String> {
        let out = match (self.catalog)
            .accounts_out_of_service(&registry.live_accounts())
            .await
        {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "gate: could not read whether live accounts are locked");
                return Vec::new();
            }
        };
        let mut ended = Vec::new();
        for (locked, why) in [(true, LOCKED_MEANWHILE), (false, REMOVED_MEANWHILE)] {
            let ids: Vec<i64> = (out.iter())
                .filter(|(_, l)| *l == locked)
                .map(|(id, _)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let selection = crate::sessions::Selection {
                account_ids: Some(ids),
                ..Default::default()
            };
            ended.extend(registry.kill(&selection, why));
        }
        ended
    }

    /// The sessions a key opened that its account no longer holds (a stolen one, most often).
    async fn end_removed_keys(&self, registry: &crate::sessions::Registry) -> Vec<String> {
        let removed = match (self.catalog)
            .keys_out_of_service(&registry.live_keys())
            .await
        {
            Ok(removed) => removed,
            Err(e) => {
                tracing::warn!(error = %e, "gate: could not read whether live keys are held");
                return Vec::new();
            }
        };
        let mut ended = Vec::new();
        for (account, fingerprint) in removed {
            let selection = crate::sessions::Selection {
                account_ids: Some(vec![account]),
                credential: Some(fingerprint),
                ..Default::default()
            };
            ended.extend(registry.kill(&selection, KEY_REMOVED_MEANWHILE));
        }
        ended
    }

    /// The sessions a certificate opened that its tenant revoked (by its key id or its key's
    /// fingerprint).
    async fn end_revoked_certificates(&self, registry: &crate::sessions::Registry) -> Vec<String> {
        let certificates = registry.live_certificates();
        let mut tenants: Vec<i64> = certificates.iter().map(|c| c.0).collect();
        tenants.dedup();
        let revoked = match self.catalog.revocations_of(&tenants).await {
            Ok(revoked) => revoked,
            Err(e) => {
                tracing::warn!(error = %e, "gate: could not read the certificates revoked");
                return Vec::new();
            }
        };
        let mut ended = Vec::new();
        for (tenant_id, tenant, key_id, certified_key) in certificates {
            // What names the revoked sessions: the key id as sessions hold it, or the
            // certified key's fingerprint (another certificate of the same id stays).
            let revoked_as = (revoked.iter())
                .filter(|(t, _, _)| *t == tenant_id)
                .find_map(|(_, kind, value)| match kind.as_str() {
                    "key-id" => {
                        (certificate::credential_of(value) == key_id).then(|| key_id.clone())
                    }
                    _ => (certified_key.as_deref() == Some(value)).then(|| value.clone()),
                });
            let Some(credential) = revoked_as else {
                continue;
            };
            let selection = crate::sessions::Selection {
                tenant: Some(tenant),
                credential: Some(credential),
                ..Default::default()
            };
            ended.extend(registry.kill(&selection, CERTIFICATE_REVOKED_MEANWHILE));
        }
        ended
    }

    /// Ends the sessions that administrators' kills recorded in the catalog since the last look
    /// name (`session kill`, `ban add`'s address: `Catalog::record_session_kill`), those that
    /// began by each kill, with its why. Every server on the catalog applies each once.
    async fn apply_recorded_kills(&self, registry: &crate::sessions::Registry) -> Vec<String> {
        use std::sync::atomic::Ordering;
        let mut ended = Vec::new();
        loop {
            let after = self.kills_applied.load(Ordering::Relaxed);
            let kills = match self.catalog.session_kills_after(after, KILLS_A_LOOK).await {
                Ok(kills) => kills,
                Err(e) => {
                    tracing::warn!(error = %e, "gate: could not read the sessions killed");
                    return ended;
                }
            };
            for k in &kills {
                match serde_json::from_str::<crate::sessions::Selection>(&k.selection) {
                    Ok(selection) => {
                        let selection = crate::sessions::Selection {
                            started_by: Some(k.created_at),
                            ..selection
                        };
                        ended.extend(registry.kill(&selection, &k.why));
                    }
                    Err(e) => tracing::warn!(kill = k.id, error = %e,
                        "gate: a session kill in the catalog does not read; passed over"),
                }
            }
            let Some(last) = kills.last() else {
                return ended;
            };
            self.kills_applied.store(last.id, Ordering::Relaxed);
            if kills.len() < KILLS_A_LOOK as usize {
                return ended;
            }
        }
    }

    async fn refresh_bans(&self, reload: defender::Reload) {
        let now = self.clock.unix_secs();
        self.defender.refresh(&self.catalog, now, reload).await;
        match self.catalog.reachable_networks().await {
            Ok(nets) => {
                let parsed = nets.map(|l| network::parse(&l.join(",")).unwrap_or_default());
                *self.reachable.write().unwrap_or_else(|p| p.into_inner()) = parsed;
            }
            Err(e) => tracing::warn!(error = %e, "could not refresh the allowed networks"),
        }
    }

    /// Whether a new connection from `ip` may proceed to key exchange at all.
    pub fn admits_connection(&self, ip: IpAddr, now: i64) -> Result<(), &'static str> {
        if self.defender.is_banned(ip, now) {
            return Err("address banned");
        }
        let ip = network::canonical(ip);
        let reachable = self.reachable.read().unwrap_or_else(|p| p.into_inner());
        match reachable.as_ref() {
            Some(nets) if !nets.iter().any(|n| n.contains(&ip)) => {
                Err("address outside every tenant's allowed networks")
            }
            _ => Ok(()),
        }
    }

    /// Whether `p`'s account is locked now, or gone (removed, or removed and another made
    /// under its name), or cannot be read: asked again once a login is admitted, as
    /// containment or an administrator may have acted on the account while it was checked.
    pub async fn locked(&self, p: &Principal) -> bool {
        !matches!(self.account(&p.account).await, Ok(Some(a)) if !a.locked && a.id == p.account_id)
    }

    /// Whether the credential of `p`'s login (by `method`: its first factor's) was withdrawn
    /// while the login was checked: a key removed, or a certificate (`certificate`: its key
    /// id and the certified key's fingerprint) revoked. Asked again once a login is admitted,
    /// as [`Gate::locked`] is (the withdrawal closes the sessions counted by then). A catalog
    /// that cannot say refuses, as a lock that cannot be read does.
    pub async fn credential_withdrawn(
        &self,
        p: &Principal,
        method: &str,
        credential: Option<&str>,
        certificate: Option<(String, String)>,
    ) -> bool {
        let gone = match (method.split('+').next(), credential, certificate) {
            (Some("publickey"), Some(fingerprint), _) => self
                .catalog
                .find_key(p.account_id, fingerprint)
                .await
                .map(|k| k.is_none()),
            (Some("certificate"), _, Some((key_id, fingerprint))) => {
                self.catalog
                    .is_revoked(p.tenant_id, &key_id, &fingerprint)
                    .await
            }
            _ => return false,
        };
        gone.unwrap_or(true)
    }

    async fn account(&self, user: &str) -> Result<Option<Account>, Refusal> {
        self.catalog.find_account(user).await.map_err(unavailable)
    }

    /// The tenant of account `user`, if it exists: what a refused login's record names, so
    /// that a tenant's part of a report holds its accounts' refused logins even after the name
    /// has gone to another tenant. Only recorded, never told to the client (no enumeration).
    pub async fn tenant_of(&self, user: &str) -> Option<String> {
        self.account(user).await.ok().flatten().map(|a| a.tenant)
    }

    /// Public key login: the key must be registered for the account and not expired.
    pub async fn login_key(
        &self,
        user: &str,
        key: &PublicKey,
        peer: IpAddr,
        now: i64,
    ) -> Result<Step, Refusal> {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let account = self.account(user).await?;
        let found = self
            .catalog
            .find_key(account.as_ref().map_or(-1, |a| a.id), &fingerprint)
            .await
            .map_err(unavailable)?;
        let account = account.ok_or(Refusal::UnknownAccount)?;
        let key = found.ok_or(Refusal::UnknownKey)?;
        if key.expires_at.is_some_and(|t| t <= now) {
            return Err(Refusal::Expired("key"));
        }
        let step = self
            .policy(&account, Method::PublicKey, peer, now)
            .await?
            .expiring(key.expires_at);
        let _ = self
            .catalog
            .record_key_use(account.id, &fingerprint, now, &peer.to_string())
            .await;
        Ok(step)
    }

    /// OpenSSH certificate login (russh verified the signature and validity window).
    pub async fn login_certificate(
        &self,
        user: &str,
        cert: &Certificate,
        peer: IpAddr,
        now: i64,
    ) -> Result<Step, Refusal> {
        let account = self.account(user).await?.ok_or(Refusal::UnknownAccount)?;
        let ca = cert
            .signature_key()
            .fingerprint(HashAlg::Sha256)
            .to_string();
        let trusted = self
            .catalog
            .trusts_ca(account.tenant_id, &ca)
            .await
            .map_err(unavailable)?;
        let fingerprint = cert.public_key().fingerprint(HashAlg::Sha256).to_string();
        let revoked = self
            .catalog
            .is_revoked(account.tenant_id, cert.key_id(), &fingerprint)
            .await
            .map_err(unavailable)?;
        certificate::check(cert, user, trusted, revoked, peer, now)
            .map_err(Refusal::Certificate)?;
        // Its validity is a window to log in within, as OpenSSH takes it, not the session's
        // lifetime: a certificate an issuer signs for minutes would otherwise cut every longer
        // transfer (a revocation closes its sessions at once).
        self.policy(&account, Method::Certificate, peer, now).await
    }

    pub async fn login_password(
        &self,
        user: &str,
        password: &str,
        peer: IpAddr,
        now: i64,
    ) -> Result<Step, Refusal> {
        let found = self.account(user).await?;
        let hash = found
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.decoy_hash.clone());
        let password = zeroize::Zeroizing::new(password.to_owned());
        // Argon2 is deliberately slow: keep it off the async workers.
        let matches = tokio::task::spawn_blocking(move || {
            vault::password::verify(password.as_bytes(), &hash)
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
        if account.password_expires_at.is_some_and(|t| t <= now) {
            return Err(Refusal::Expired("password"));
        }
        let step = self
            .policy(&account, Method::Password, peer, now)
            .await?
            .expiring(account.password_expires_at);
        let _ = self
            .catalog
            .record_password_use(account.id, now, &peer.to_string())
            .await;
        Ok(step)
    }

    /// What the account's policy says after a good first factor.
    async fn policy(
        &self,
        a: &Account,
        method: Method,
        peer: IpAddr,
        now: i64,
    ) -> Result<Step, Refusal> {
        if a.locked {
            return Err(Refusal::Locked);
        }
        let under_attack = a.under_attack_until.is_some_and(|t| t > now);
        let needs_second = policy::first_factor(&a.login_policy(), method, peer)? || under_attack;
        let p = principal(a);
        match (needs_second, a.totp_secret.is_some()) {
            (false, _) => Ok(Step::Done(p)),
            (true, true) => Ok(Step::SecondFactor(p)),
            (true, false) if under_attack => Err(Refusal::SoftLocked),
            (true, false) => Err(Refusal::SecondFactorNotEnrolled),
        }
    }

    /// Checks a second-factor answer: a TOTP code (each time step accepted once) or an unused
    /// recovery code.
    pub async fn second_factor(
        &self,
        p: &Principal,
        answer: &str,
        now: i64,
    ) -> Result<(), Refusal> {
        let account = self
            .account(&p.account)
            .await?
            .ok_or(Refusal::UnknownAccount)?;
        if account.id != p.account_id || account.locked {
            return Err(Refusal::Locked);
        }
        let sealed = account
            .totp_secret
            .ok_or(Refusal::SecondFactorNotEnrolled)?;
        let row = self
            .catalog
            .tenant_key(p.tenant_id)
            .await
            .map_err(unavailable)?
            .ok_or(Refusal::Unavailable)?;
        let tk = self.keyring.tenant_key(&row).map_err(unavailable)?;
        let secret = tk
            .open_account_secret(p.account_id, &sealed)
            .map_err(unavailable)?;
        if let Some(step) = totp::verify(&secret, answer, now) {
            return if self
                .catalog
                .claim_totp_step(p.account_id, step)
                .await
                .map_err(unavailable)?
            {
                Ok(())
            } else {
                Err(Refusal::ReplayedCode)
            };
        }
        let hash = totp::recovery_hash(answer);
        if answer.trim().len() >= 16
            && self
                .catalog
                .use_recovery_code(p.account_id, &hash, now)
                .await
                .map_err(unavailable)?
        {
            tracing::warn!(account = %p.account, "login with a recovery code");
            return Ok(());
        }
        Err(Refusal::WrongCode)
    }

    fn emit(&self, account: Option<&str>, peer: Option<IpAddr>, kind: events::EventKind) {
        let mut e = events::Event::new(self.clock.now(), kind);
        e.source = peer.map(|ip| std::net::SocketAddr::new(ip, 0));
        e.account = account.map(loggable);
        self.events.emit(e);
    }

    /// Scores a refused login with the defender and acts on its verdicts.
    pub async fn failed(&self, peer: IpAddr, user: &str, now: i64) {
        for verdict in self.defender.record_failure(peer, user, now) {
            match verdict {
                Verdict::Banned {
                    level,
                    until,
                    reason,
                } => {
                    // An IPv6 address's whole network (a /64 by default) is banned.
                    let source = self.defender.source_of(peer);
                    tracing::warn!(address = %peer, %source, level, until, reason, "source banned");
                    self.emit(
                        None,
                        Some(peer),
                        events::EventKind::Ban {
                            address: source.clone(),
                            level,
                            until: events::Time::from_secs(until),
                            reason: reason.to_owned(),
                        },
                    );
                    let ban = catalog::Ban {
                        address: source,
                        level,
                        until,
                        reason: reason.to_owned(),
                        created_at: now,
                    };
                    if let Err(e) = self.catalog.upsert_ban(&ban).await {
                        tracing::error!(error = %e, "could not store a ban");
                    }
                }
                Verdict::AccountUnderAttack { until } => {
                    tracing::warn!(account = %loggable(user), until,
                        "credential stuffing: second factor required (or soft-lock) until then");
                    self.emit(
                        Some(user),
                        Some(peer),
                        events::EventKind::AccountUnderAttack {
                            until: events::Time::from_secs(until),
                        },
                    );
                    if let Ok(Some(a)) = self.catalog.find_account(user).await {
                        let _ = self.catalog.set_under_attack(a.id, until).await;
                    }
                }
            }
        }
    }
}

/// What enrolment hands to the person, once.
pub struct Enrolment {
    pub secret: zeroize::Zeroizing<Vec<u8>>,
    pub recovery_codes: Vec<String>,
}

/// Enrols (or re-enrols) TOTP for `account`: a new secret sealed with the tenant key, and new
/// one-time recovery codes stored as hashes. From then on the account needs the second factor.
pub async fn enrol_totp(
    catalog: &Catalog,
    keyring: &KeyringHandle,
    account: &str,
) -> Result<Enrolment, crate::keys::KeyLifecycleError> {
    let a = catalog.account(account).await?;
    let (secret, recovery_codes) = totp::new_enrolment();
    let hashes: Vec<Vec<u8>> = recovery_codes
        .iter()
        .map(|c| totp::recovery_hash(c))
        .collect();
    // Sealed under the tenant key read; stored only if it is still the tenant's key (a
    // rotation committed in between: sealed again under the new one).
    crate::keys::with_attempts(|| async {
        let row = catalog
            .tenant_key(a.tenant_id)
            .await?
            .ok_or_else(|| crate::keys::KeyLifecycleError::NoTenantKey(a.tenant.clone()))?;
        let tk = keyring.tenant_key(&row)?;
        let sealed = tk.seal_account_secret(a.id, &secret[..]);
        Ok(catalog.set_totp(&a, tk.version, &sealed, &hashes).await?)
    })
    .await?;
    Ok(Enrolment {
        secret: zeroize::Zeroizing::new(secret.to_vec()),
        recovery_codes,
    })
}

fn principal(a: &Account) -> Principal {
    Principal {
        account_id: a.id,
        account: a.name.clone(),
        tenant_id: a.tenant_id,
        tenant: a.tenant.clone(),
        access: a.access,
        throttle: a.throttle_bytes_per_sec.map(|t| t.max(1) as u64),
        credential_expires: None,
    }
}

/// Account-supplied text that reaches the log (user names): printable ASCII only, bounded.
pub fn loggable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
