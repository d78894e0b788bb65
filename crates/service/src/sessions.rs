//! The registry of live connections: counts per source address and per account (the configured
//! limits), what each connection is doing ([`LiveSession`]: who, from where, bytes so far, files
//! open), and a way to close each at once (shutdown, `session kill`, `user lock`); and
//! [`Severable`], the connection's socket as the SSH session sees it, which the server can cut
//! whatever state the session is in (a key exchange that never ends included).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::gate::network::canonical;

/// How a front end says goodbye to one of its connections (at shutdown): for SSH, a
/// disconnect message before the socket closes.
pub trait Farewell: Send + Sync + 'static {
    fn farewell(&self, reason: &'static str) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

#[derive(Default)]
struct Inner {
    /// Connections not authenticated yet, by id.
    unauthenticated: std::collections::HashSet<u64>,
    by_address: HashMap<IpAddr, usize>,
    by_account: HashMap<i64, usize>,
    connections: HashMap<u64, Attached>,
    next_id: u64,
}

/// A live connection as the registry holds it.
struct Attached {
    handle: Arc<dyn Farewell>,
    sever: Sever,
    live: Arc<LiveSession>,
}

/// Who authenticated a connection, with what.
#[derive(Debug, Clone)]
pub struct Login {
    pub account: String,
    /// The account's row (a name removed and made again is another account).
    pub account_id: i64,
    pub tenant: String,
    pub tenant_id: i64,
    /// Key fingerprint or certificate key id, and the methods (e.g. `publickey+totp`).
    pub credential: Option<String>,
    pub methods: String,
    /// For a certificate login, the certified key's fingerprint (a revocation may name it).
    pub certified_key: Option<String>,
    /// When the first factor it logged in with stops being valid (Unix seconds).
    pub expires_at: Option<i64>,
}

/// A session id unique across restarts and nodes: a UUID version 7 (48 bits of Unix
/// milliseconds, then random bits), so ids also sort by start time. Pure: time and randomness in.
pub fn new_session_id(unix_ms: u64, random: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// What a connection is doing, kept up to date by the connection itself and read by
/// `session list`.
pub struct LiveSession {
    /// The registry's number for the connection (this run only).
    pub id: u64,
    /// The session id events and commands use (unique across restarts and nodes).
    pub session_id: String,
    /// Canonical: an IPv4 client of a dual-stack listener is its IPv4 address, as the ledger,
    /// `session list` and `session kill --ip` write it.
    pub source: SocketAddr,
    /// Unix seconds.
    pub started: i64,
    /// Unix milliseconds (what a kill recorded in the catalog is compared with).
    pub started_ms: i64,
    /// The client's SSH identification line, once read.
    pub client_version: Arc<OnceLock<String>>,
    login: OnceLock<Login>,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    /// When the client last sent an SFTP request (Unix milliseconds; its start before any):
    /// a session idle longer than the server's limit is closed ([`Selection::idle_before`]).
    last_active: std::sync::atomic::AtomicI64,
    /// Handles open on all the connection's SFTP channels (the per-connection handle limit).
    pub handles_open: std::sync::atomic::AtomicUsize,
    /// Files open now, by a key unique within the connection.
    open_files: Mutex<HashMap<u64, String>>,
    next_table: AtomicU64,
    /// Why the server closed it, when it did (the first reason given wins).
    ended_by: OnceLock<String>,
    /// When the first factor it logged in with stops being valid (Unix seconds; `i64::MAX`:
    /// never): the login's, then a password's as the catalog has it
    /// ([`Registry::follow_password_expiries`]).
    credential_expires: std::sync::atomic::AtomicI64,
    /// What this connection's downloads of a file's contents covered together (the most recent
    /// [`MAX_SESSION_DOWNLOADS`]): a file read in parts through several handles, at once or one
    /// after another, was received whole.
    downloads: Mutex<std::collections::VecDeque<(DownloadOf, SharedCoverage)>>,
}

/// The coverage a connection's downloads of one file's contents share.
pub type SharedCoverage = Arc<Mutex<crate::files::coverage::Coverage>>;

/// Files whose downloads a connection keeps joining ([`LiveSession::download_coverage`]):
/// beyond them the oldest is forgotten, and its parts no longer join a later download's (a
/// complete download is then only missed, never made up).
pub const MAX_SESSION_DOWNLOADS: usize = 256;

/// A file's contents: its id, and what tells one version of its contents from another.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DownloadOf {
    file_id: i64,
    created_at: i64,
    size: u64,
    blob_id: Option<String>,
    /// A sealed file's contents root: tells apart contents kept in the catalog row (no blob)
    /// of one size uploaded within one second.
    content_root: Option<Vec<u8>>,
}

impl LiveSession {
    /// Why the server closed the session (an administrator's kill, a lock, a ban, an alert's
    /// containment), if it did.
    pub fn ended_by(&self) -> Option<&str> {
        self.ended_by.get().map(String::as_str)
    }

    pub fn new(
        id: u64,
        session_id: String,
        source: SocketAddr,
        started_ms: i64,
        client_version: Arc<OnceLock<String>>,
    ) -> Self {
        Self {
            id,
            session_id,
            source: SocketAddr::new(canonical(source.ip()), source.port()),
            started: started_ms.div_euclid(1000),
            started_ms,
            client_version,
            login: OnceLock::new(),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            last_active: std::sync::atomic::AtomicI64::new(started_ms),
            handles_open: Default::default(),
            open_files: Mutex::new(HashMap::new()),
            next_table: AtomicU64::new(1),
            ended_by: OnceLock::new(),
            credential_expires: std::sync::atomic::AtomicI64::new(i64::MAX),
            downloads: Mutex::default(),
        }
    }

    /// The coverage this connection's downloads of `node`'s contents share (a new one for
    /// contents it has not downloaded, or downloaded before they were replaced).
    pub fn download_coverage(&self, node: &catalog::Node) -> SharedCoverage {
        let of = DownloadOf {
            file_id: node.id,
            created_at: node.created_at,
            size: node.size,
            blob_id: node.blob_id.clone(),
            content_root: node.seal.as_ref().map(|s| s.content_root.clone()),
        };
        let Ok(mut downloads) = self.downloads.lock() else {
            return SharedCoverage::default();
        };
        if let Some((_, shared)) = downloads.iter().find(|(o, _)| *o == of) {
            return shared.clone();
        }
        if downloads.len() == MAX_SESSION_DOWNLOADS {
            downloads.pop_front();
        }
        let shared = SharedCoverage::default();
        downloads.push_back((of, shared.clone()));
        shared
    }

    pub fn logged_in(&self, login: Login) {
        let expires = login.expires_at.unwrap_or(i64::MAX);
        if self.login.set(login).is_ok() {
            (self.credential_expires).store(expires, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Its password now expires at `expires` (Unix seconds; `None`: never), if it logged in by
    /// password (a key's or a certificate's session is left as its login saw it).
    pub fn follow_password_expiry(&self, expires: Option<i64>) {
        if (self.login.get()).is_some_and(|l| first_factor(&l.methods) == "password") {
            (self.credential_expires).store(
                expires.unwrap_or(i64::MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }

    /// The client sent a request at `at`: the session is not idle.
    pub fn active(&self, at: events::Time) {
        self.last_active
            .fetch_max(at.as_millis(), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn login(&self) -> Option<&Login> {
        self.login.get()
    }

    /// A number for a new handle table of this connection (keys of [`Self::file_opened`]).
    pub fn new_table(&self) -> u64 {
        self.next_table
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub fn file_opened(&self, key: u64, path: String) {
        if let Ok(mut f) = self.open_files.lock() {
            f.insert(key, path);
        }
    }

    pub fn file_closed(&self, key: u64) {
        if let Ok(mut f) = self.open_files.lock() {
            f.remove(&key);
        }
    }

    /// What `session list` prints of it.
    pub fn snapshot(&self) -> SessionSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let login = self.login.get();
        let mut files: Vec<String> = self
            .open_files
            .lock()
            .map(|f| f.values().cloned().collect())
            .unwrap_or_default();
        files.sort();
        SessionSnapshot {
            id: self.session_id.clone(),
            account: login.map(|l| l.account.clone()),
            tenant: login.map(|l| l.tenant.clone()),
            source: self.source,
            client_version: self.client_version.get().cloned(),
            credential: login.and_then(|l| l.credential.clone()),
            methods: login.map(|l| l.methods.clone()),
            started: self.started,
            last_active: self.last_active.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            open_files: files,
        }
    }
}

/// One live session as the control channel reports it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionSnapshot {
    pub id: String,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: SocketAddr,
    pub client_version: Option<String>,
    pub credential: Option<String>,
    pub methods: Option<String>,
    /// Unix seconds.
    pub started: i64,
    /// When its client last sent a request, or logged in (Unix milliseconds): how long it has
    /// been idle.
    #[serde(default)]
    pub last_active: i64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub open_files: Vec<String>,
}

/// Which sessions a kill names.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    pub session: Option<String>,
    pub account: Option<String>,
    /// A source address or network ([`crate::gate::network::one`]: canonical).
    pub address: Option<ipnet::IpNet>,
    /// The credential the session logged in with: a key's fingerprint (a key removed) or a
    /// certificate's key id (certificates revoked).
    #[serde(default)]
    pub credential: Option<String>,
    /// The tenant it logged in to (a tenant removed; with `credential`: a key id is the
    /// tenant's CA's).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Logged-in sessions whose client has sent nothing since (Unix milliseconds): idle past
    /// the server's limit.
    #[serde(default)]
    pub idle_before: Option<i64>,
    /// Logged-in sessions whose first factor stopped being valid by then (Unix seconds): a
    /// key's or a password's expiry.
    #[serde(default)]
    pub expired_by: Option<i64>,
    /// Logged-in sessions of these accounts (by row: locked or removed, as the catalog says).
    #[serde(default)]
    pub account_ids: Option<Vec<i64>>,
    /// Only sessions that began by then (Unix milliseconds): a kill recorded in the catalog
    /// ends the sessions live when it was made, not those that began after it. Narrows; names
    /// none alone.
    #[serde(default)]
    pub started_by: Option<i64>,
}

impl Selection {
    fn matches(&self, live: &LiveSession) -> bool {
        let login = live.login.get();
        self.session
            .as_deref()
            .is_none_or(|id| id == live.session_id)
            && self
                .account
                .as_deref()
                .is_none_or(|a| login.is_some_and(|l| l.account == a))
            && self.address.is_none_or(|a| a.contains(&live.source.ip()))
            && self.credential.as_deref().is_none_or(|c| {
                login.is_some_and(|l| {
                    l.credential.as_ref().is_some_and(|had| {
                        crate::gate::certificate::credentials_named(c).contains(had)
                    }) || l.certified_key.as_deref() == Some(c)
                })
            })
            && self
                .tenant
                .as_deref()
                .is_none_or(|t| login.is_some_and(|l| l.tenant == t))
            && self.expired_by.is_none_or(|by| {
                login.is_some()
                    && (live.credential_expires).load(std::sync::atomic::Ordering::Relaxed) <= by
            })
            && self.idle_before.is_none_or(|before| {
                login.is_some()
                    && live.last_active.load(std::sync::atomic::Ordering::Relaxed) < before
            })
            && self
                .account_ids
                .as_ref()
                .is_none_or(|ids| login.is_some_and(|l| ids.contains(&l.account_id)))
            && self.started_by.is_none_or(|by| live.started_ms <= by)
            && (self.session.is_some()
                || self.account.is_some()
                || self.address.is_some()
                || self.credential.is_some()
                || self.tenant.is_some()
                || self.idle_before.is_some()
                || self.expired_by.is_some()
                || self.account_ids.is_some())
    }
}

/// The first factor a login's methods name (`publickey` of `publickey+totp`).
fn first_factor(methods: &str) -> &str {
    methods.split('+').next().unwrap_or(methods)
}

#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

/// Held while a connection lives; releases its counts when dropped.
pub struct ConnectionSlot {
    registry: Registry,
    pub id: u64,
    address: IpAddr,
}

/// Held while an authenticated session lives.
pub struct AccountSlot {
    registry: Registry,
    account_id: i64,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source address is at its limit.
    Address,
    /// The server holds as many connections as its descriptors allow (some are kept in reserve).
    Full,
    /// Too many connections are still authenticating.
    Unauthenticated,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Address => "too many connections from this address",
            Refusal::Full => "too many connections",
            Refusal::Unauthenticated => "too many connections still authenticating",
        }
    }
}

/// Ceilings on connections held at once.
#[derive(Debug, Clone, Copy)]
pub struct Ceilings {
    pub per_address: usize,
    pub total: usize,
    pub unauthenticated: usize,
}

impl Registry {
    /// Counts a new connection from `address`, unless a ceiling is reached.
    pub fn admit(&self, address: IpAddr, c: Ceilings) -> Result<ConnectionSlot, Refusal> {
        // A client reaching a dual-stack listener over IPv4 is one address however it is written.
        let address = canonical(address);
        let mut g = self.inner.lock().map_err(|_| Refusal::Full)?;
        let total: usize = g.by_address.values().sum();
        if total >= c.total {
            return Err(Refusal::Full);
        }
        if g.unauthenticated.len() >= c.unauthenticated {
            return Err(Refusal::Unauthenticated);
        }
        let n = g.by_address.entry(address).or_default();
        if *n >= c.per_address {
            return Err(Refusal::Address);
        }
        *n += 1;
        g.next_id += 1;
        let id = g.next_id;
        g.unauthenticated.insert(id);
        Ok(ConnectionSlot {
            registry: self.clone(),
            id,
            address,
        })
    }

    pub fn attach(
        &self,
        slot: &ConnectionSlot,
        handle: Arc<dyn Farewell>,
        sever: Sever,
        live: Arc<LiveSession>,
    ) {
        if let Ok(mut g) = self.inner.lock() {
            g.connections.insert(
                slot.id,
                Attached {
                    handle,
                    sever,
                    live,
                },
            );
        }
    }

    /// Every live connection, oldest first.
    pub fn sessions(&self) -> Vec<SessionSnapshot> {
        let mut out: Vec<SessionSnapshot> = self
            .inner
            .lock()
            .map(|g| g.connections.values().map(|a| a.live.snapshot()).collect())
            .unwrap_or_default();
        out.sort_by_key(|s| s.started);
        out
    }

    /// Closes at once every connection `selection` names (an empty selection names none):
    /// their sockets are cut, whatever they are doing; uploads in progress are discarded as on
    /// any disconnect. Returns the ids closed.
    /// `why` is recorded with each session's close (see [`LiveSession::ended_by`]).
    pub fn kill(&self, selection: &Selection, why: &str) -> Vec<String> {
        let Ok(g) = self.inner.lock() else {
            return Vec::new();
        };
        let mut killed = Vec::new();
        for a in g.connections.values() {
            if selection.matches(&a.live) {
                let _ = a.live.ended_by.set(why.to_owned());
                a.sever.sever();
                killed.push(a.live.session_id.clone());
            }
        }
        killed.sort_unstable();
        killed
    }

    /// Closes the logged-in sessions (those `selection` names, or all) for which `judge` (given
    /// its login and source address) finds a reason, each recording `why` of it; returns each
    /// one's id and reason, by id.
    pub fn end_judged<R>(
        &self,
        selection: Option<&Selection>,
        judge: impl Fn(&Login, std::net::IpAddr) -> Option<R>,
        why: impl Fn(&R) -> String,
    ) -> Vec<(String, R)> {
        let Ok(g) = self.inner.lock() else {
            return Vec::new();
        };
        let mut ended = Vec::new();
        for a in g.connections.values() {
            let Some(login) = a.live.login.get() else {
                continue;
            };
            if selection.is_some_and(|s| !s.matches(&a.live)) {
                continue;
            }
            if let Some(reason) = judge(login, a.live.source.ip()) {
                let _ = a.live.ended_by.set(why(&reason));
                a.sever.sever();
                ended.push((a.live.session_id.clone(), reason));
            }
        }
        ended.sort_unstable_by(|x, y| x.0.cmp(&y.0));
        ended
    }

    /// Sets the expiry of the live sessions that logged in by password to their accounts'
    /// passwords' as `expiry_of` gives it (`None`: the account is not known, left as it is;
    /// `Some(None)`: the password no longer expires): an expiry an administrator put back keeps
    /// the session past the one its login saw (one brought forward ends it: the policy's look).
    pub fn follow_password_expiries(&self, expiry_of: impl Fn(i64) -> Option<Option<i64>>) {
        let Ok(g) = self.inner.lock() else {
            return;
        };
        for a in g.connections.values() {
            if let Some(expires) = (a.live.login.get()).and_then(|l| expiry_of(l.account_id)) {
                a.live.follow_password_expiry(expires);
            }
        }
    }

    /// Counts a session of `account_id` on connection `connection` (no longer counted as
    /// authenticating); `None` when the account is at its limit.
    pub fn login(&self, connection: u64, account_id: i64, max: usize) -> Option<AccountSlot> {
        let mut g = self.inner.lock().ok()?;
        let n = g.by_account.entry(account_id).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        g.unauthenticated.remove(&connection);
        Some(AccountSlot {
            registry: self.clone(),
            account_id,
        })
    }

    /// Every live connection's farewell (for shutdown).
    pub fn all(&self) -> Vec<Arc<dyn Farewell>> {
        self.inner
            .lock()
            .map(|g| g.connections.values().map(|a| a.handle.clone()).collect())
            .unwrap_or_default()
    }

    pub fn live(&self) -> usize {
        self.inner.lock().map(|g| g.connections.len()).unwrap_or(0)
    }

    /// The public keys that logged in the live sessions (their first factor): each account's
    /// row and the key's fingerprint, once each.
    pub fn live_keys(&self) -> Vec<(i64, String)> {
        self.of_logins("publickey", |l| Some((l.account_id, l.credential.clone()?)))
    }

    /// The certificates that logged in the live sessions (their first factor): each one's
    /// tenant (row and name), key id (as [`Login::credential`] has it) and certified key's
    /// fingerprint, once each.
    pub fn live_certificates(&self) -> Vec<(i64, String, String, Option<String>)> {
        self.of_logins("certificate", |l| {
            let key_id = l.credential.clone()?;
            Some((
                l.tenant_id,
                l.tenant.clone(),
                key_id,
                l.certified_key.clone(),
            ))
        })
    }

    /// What `pick` takes of each live login whose first factor is `method`, sorted, once each.
    fn of_logins<T: Ord>(&self, method: &str, pick: impl Fn(&Login) -> Option<T>) -> Vec<T> {
        let mut picked: Vec<T> = self
            .inner
            .lock()
            .map(|g| {
                (g.connections.values())
                    .filter_map(|a| a.live.login.get())
                    .filter(|l| first_factor(&l.methods) == method)
                    .filter_map(&pick)
                    .collect()
            })
            .unwrap_or_default();
        picked.sort_unstable();
        picked.dedup();
        picked
    }

    /// The accounts (rows) with a logged-in session.
    pub fn live_accounts(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .inner
            .lock()
            .map(|g| g.by_account.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut g) = self.registry.inner.lock() {
            release(&mut g.by_address, &self.address);
            g.connections.remove(&self.id);
            g.unauthenticated.remove(&self.id);
        }
    }
}

impl Drop for AccountSlot {
    fn drop(&mut self) {
        if let Ok(mut g) = self.registry.inner.lock() {
            release(&mut g.by_account, &self.account_id);
        }
    }
}

/// A stream that fails every read and write once [`Sever::sever`] is called, waking a pending
/// read so the session ends at once and drops (closes) the socket. A russh `Handle` cannot do
/// this: its disconnect is a message the session does not take while a key exchange is
/// pending, so a client that stalls mid-handshake would keep its socket.
pub struct Severable<S> {
    inner: S,
    switch: Arc<Switch>,
}

#[derive(Default)]
struct Switch {
    cut: AtomicBool,
    reader: Mutex<Option<Waker>>,
}

/// Cuts its [`Severable`] stream.
#[derive(Clone)]
pub struct Sever(Arc<Switch>);

impl Sever {
    pub fn sever(&self) {
        self.0.cut.store(true, Ordering::SeqCst);
        let waker = self.0.reader.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<S> Severable<S> {
    pub fn new(inner: S) -> (Self, Sever) {
        let switch = Arc::new(Switch::default());
        (
            Self {
                inner,
                switch: switch.clone(),
            },
            Sever(switch),
        )
    }

    fn check(&self) -> std::io::Result<()> {
        if self.switch.cut.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "connection closed by the server",
            ));
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Severable<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.check()?;
        if let Ok(mut w) = self.switch.reader.lock() {
            *w = Some(cx.waker().clone());
        }
        // Cut between the check and the registration: seen here.
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Severable<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// Account `account`'s login (row 1 of tenant acme) by `methods`, its first factor valid
    /// until `expires_at`.
    fn login_of(account: &str, methods: &str, expires_at: Option<i64>) -> Login {
        Login {
            account: account.into(),
            account_id: 1,
            tenant: "acme".into(),
            tenant_id: 1,
            credential: None,
            methods: methods.into(),
            certified_key: None,
            expires_at,
        }
    }

    /// A connection's downloads of one file's contents share what they covered; contents
    /// replaced since are other contents; past the bound the oldest file is forgotten.
    #[test]
    fn downloads_of_the_same_contents_share_their_coverage() {
        let live = LiveSession::new(
            1,
            "s".into(),
            "127.0.0.1:1".parse().unwrap(),
            0,
            Arc::default(),
        );
        let node = |id: i64, created_at: i64| catalog::Node {
            id,
            tenant_id: 1,
            parent_id: None,
            name_mac: Vec::new(),
            sealed_name: Vec::new(),
            kind: catalog::NodeKind::File,
            size: 100,
            mode: 0o100600,
            mtime: 0,
            atime: 0,
            blob_id: Some("ab".into()),
            seal: None,
            created_at,
            first_download_at: None,
            inline: false,
            classes: None,
        };
        let first = live.download_coverage(&node(7, 1));
        first.lock().unwrap().add(0, 50);
        let second = live.download_coverage(&node(7, 1));
        second.lock().unwrap().add(50, 50);
        assert!(first.lock().unwrap().surely_covers(100));
        // Replaced contents: nothing covered yet.
        let replaced = live.download_coverage(&node(7, 2));
        assert!(!replaced.lock().unwrap().surely_covers(1));
        // Sealed contents kept in the row, replaced within the second by as many bytes: told
        // apart by their contents root.
        let inline = |root: u8| catalog::Node {
            blob_id: None,
            inline: true,
            seal: Some(catalog::NodeSeal {
                key_id: vec![1],
                wrapped_key: vec![2],
                key_version: 1,
                content_root: vec![root; 32],
            }),
            ..node(8, 1)
        };
        live.download_coverage(&inline(1))
            .lock()
            .unwrap()
            .add(0, 50);
        let next = live.download_coverage(&inline(2));
        next.lock().unwrap().add(50, 50);
        assert!(!next.lock().unwrap().surely_covers(100));
        // Past the bound, the oldest is forgotten (a join is only missed, never made up).
        for id in 100..100 + MAX_SESSION_DOWNLOADS as i64 {
            live.download_coverage(&node(id, 1));
        }
        assert!(
            !live
                .download_coverage(&node(7, 1))
                .lock()
                .unwrap()
                .surely_covers(1)
        );
    }

    #[test]
    fn session_ids_are_uuid_v7_in_start_order() {
        let a = new_session_id(1_796_305_628_123, [0xff; 10]);
        let b = new_session_id(1_796_305_628_124, [0; 10]);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(a < b, "{a} {b}");
        assert_ne!(
            new_session_id(1, rand::random()),
            new_session_id(1, rand::random())
        );
    }

    /// An IPv4 client of a dual-stack listener arrives as an IPv4-mapped IPv6 address: a kill
    /// by its IPv4 address reaches it (and the other way round), and the per-address ceiling
    /// counts both spellings as one address.
    #[test]
    fn an_ipv4_mapped_address_is_its_ipv4_address() {
        let live = |source: &str| {
            LiveSession::new(1, "s1".into(), source.parse().unwrap(), 0, Arc::default())
        };
        let by = |address: &str| Selection {
            address: Some(crate::gate::network::one(address).unwrap()),
            ..Default::default()
        };
        assert!(by("127.0.0.9").matches(&live("[::ffff:127.0.0.9]:5000")));
        assert!(by("::ffff:127.0.0.9").matches(&live("127.0.0.9:5000")));
        assert!(!by("127.0.0.8").matches(&live("[::ffff:127.0.0.9]:5000")));
        assert!(!by("::1").matches(&live("127.0.0.1:5000")));
        // A network names every address in it.
        assert!(by("127.0.0.0/30").matches(&live("[::ffff:127.0.0.3]:5000")));
        assert!(!by("127.0.0.0/30").matches(&live("127.0.0.4:5000")));

        let registry = Registry::default();
        let ceilings = Ceilings {
            per_address: 1,
            total: 10,
            unauthenticated: 10,
        };
        let first = registry.admit("::ffff:10.0.0.5".parse().unwrap(), ceilings);
        assert!(first.is_ok());
        assert!(matches!(
            registry.admit("10.0.0.5".parse().unwrap(), ceilings),
            Err(Refusal::Address)
        ));
        assert!(
            registry
                .admit("10.0.0.6".parse().unwrap(), ceilings)
                .is_ok()
        );
        // Listed as the ledger records it.
        assert_eq!(
            live("[::ffff:127.0.0.9]:5000").snapshot().source,
            "127.0.0.9:5000".parse().unwrap()
        );
    }

    /// A selection names logged-in sessions by their account's row, and narrows to those begun
    /// by a time.
    #[test]
    fn a_selection_names_sessions_by_row_and_by_start() {
        let live = |account: &str, methods: &str| {
            let l = LiveSession::new(
                1,
                "s".into(),
                "127.0.0.1:1".parse().unwrap(),
                0,
                Arc::default(),
            );
            l.logged_in(login_of(account, methods, None));
            l
        };
        // By the account's row.
        let rows = |ids: Vec<i64>| Selection {
            account_ids: Some(ids),
            ..Default::default()
        };
        assert!(rows(vec![1, 7]).matches(&live("alice", "publickey")));
        assert!(!rows(vec![2]).matches(&live("alice", "publickey")));
        // Begun by then (the sessions here began at 0), narrowing: it names none alone.
        let started_by = |by: i64| Selection {
            account: Some("alice".into()),
            started_by: Some(by),
            ..Default::default()
        };
        assert!(started_by(0).matches(&live("alice", "publickey")));
        assert!(!started_by(-1).matches(&live("alice", "publickey")));
        let alone = Selection {
            started_by: Some(10),
            ..Default::default()
        };
        assert!(!alone.matches(&live("alice", "publickey")));
        // A connection not logged in is no account's session.
        let unauthenticated = LiveSession::new(
            1,
            "s".into(),
            "127.0.0.1:1".parse().unwrap(),
            0,
            Arc::default(),
        );
        assert!(!rows(vec![1]).matches(&unauthenticated));
    }

    /// A session is idle past a time when it logged in and its client has sent nothing since;
    /// a request makes it active again, and a connection not logged in is never idle (the
    /// pre-authentication timeout closes it). It is expired once its credential's end has come.
    #[test]
    fn a_session_is_idle_from_its_last_request() {
        let live = LiveSession::new(
            1,
            "s".into(),
            "127.0.0.1:1".parse().unwrap(),
            100_000,
            Arc::default(),
        );
        let idle_before = |ms| Selection {
            idle_before: Some(ms),
            ..Default::default()
        };
        assert!(
            !idle_before(200_000).matches(&live),
            "not logged in: not idle"
        );
        live.logged_in(login_of("alice", "publickey", Some(200)));
        assert!(idle_before(100_001).matches(&live));
        assert!(!idle_before(100_000).matches(&live));
        live.active(events::Time::from_millis(150_000));
        assert!(!idle_before(150_000).matches(&live));
        assert!(idle_before(150_001).matches(&live));
        // A request's time reaching it late does not make it older.
        live.active(events::Time::from_millis(120_000));
        assert!(!idle_before(150_000).matches(&live));
        // Its credential valid until second 200: expired by then, not before.
        let expired_by = |secs| Selection {
            expired_by: Some(secs),
            ..Default::default()
        };
        assert!(!expired_by(199).matches(&live));
        assert!(expired_by(200).matches(&live));
    }

    /// A password session's expiry follows its password's as the catalog has it, put back or
    /// taken away; a key's session is left as its login saw it.
    #[test]
    fn a_password_sessions_expiry_follows_the_catalogs() {
        let login = |live: &LiveSession, methods: &str| {
            live.logged_in(login_of("alice", methods, Some(200)))
        };
        let session = || {
            let at = "127.0.0.1:1".parse().unwrap();
            LiveSession::new(1, "s".into(), at, 0, Arc::default())
        };
        let (by_password, by_key) = (session(), session());
        login(&by_password, "password+totp");
        login(&by_key, "publickey");
        let expired_by = |secs| Selection {
            expired_by: Some(secs),
            ..Default::default()
        };
        assert!(expired_by(200).matches(&by_password) && expired_by(200).matches(&by_key));
        for live in [&by_password, &by_key] {
            live.follow_password_expiry(Some(500));
        }
        assert!(!expired_by(499).matches(&by_password) && expired_by(500).matches(&by_password));
        assert!(expired_by(200).matches(&by_key));
        by_password.follow_password_expiry(Some(100));
        assert!(expired_by(100).matches(&by_password));
        by_password.follow_password_expiry(None);
        assert!(!expired_by(i64::MAX - 1).matches(&by_password));
    }

    #[tokio::test]
    async fn severing_ends_a_pending_read() {
        let (client, server) = tokio::io::duplex(64);
        let (mut s, sever) = Severable::new(server);
        let read = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            s.read(&mut buf).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sever.sever();
        let r = tokio::time::timeout(std::time::Duration::from_secs(1), read)
            .await
            .expect("the read was not woken")
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionAborted);
        drop(client);
    }
}
