//! The catalog: tenants, accounts, credentials and the file namespace, in SQL.
//!
//! This is the only crate that speaks SQL (sqlx, SQLite for now; the ledger's own file, and what
//! every SFTP request reads and changes, through rusqlite: see `ledger_store`, `direct` and
//! `outbox`). Every query is parameterised. A limit is written `LIMIT +?N`, never `LIMIT ?N`:
//! SQLite (3.51) reads a bare parameter's bound value while planning a limit and so marks the
//! statement to be prepared again each time that parameter is bound, that is at every run (a
//! listing's page of five names took 55 µs instead of 12; the query of one file's retention
//! 180-370 µs instead of 55); the unary plus keeps the value out of the plan.
//! It stores what the server decides; it never decides who may do what (that is the gate's job),
//! never touches blob contents, and never reads the clock: times are passed in as Unix seconds.

mod accounts;
mod blob_store_owner;
mod contents_check;
mod damaged;
mod deliveries;
mod detection;
mod direct;
mod gate_state;
mod key_rotation;
mod ledger_identity;
mod ledger_store;
mod migrate;
mod namespace;
mod outbox;
mod quota;
mod retention;
mod tenant_removal;
mod tenants;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use accounts::{
    Access, Account, AccountCreated, AccountKey, Containment, LoginPolicies, LoginPolicy, NewKey,
};
pub use contents_check::ContentsCheck;
pub use damaged::Replaced;
pub use deliveries::{AlertDelivery, ForwardCursor, QUEUE_FULL};
pub use detection::{AlertFilter, Canary, StoredAlert};
pub use gate_state::{AccountSettings, Ban, SESSION_KILLS_KEPT_MS, SessionKill, TrustedCa};
pub use key_rotation::{
    KeyRotation, Rekey, RekeyError, RekeyStep, RekeyableNode, RekeyableValue, Rekeyed,
};
pub use ledger_identity::{
    Behind, NamedLedger, SeenCheckpoint, named_ledger_read_only, record_ledger_head,
};
pub use ledger_store::{
    LedgerEntry, LedgerFilter, LedgerMeta, LedgerStore, RangeVerified, RecordOwner, Verified,
    owner_of, sealed_event_of,
};
pub use namespace::{
    ClassVersion, MAX_MOVED_COUNTED, MAX_MOVED_IDS, MovedNodes, Node, NodeKind, NodeRef, NodeSeal,
    RecordOf, ReplacedNode, StoredName, Upload, ready,
};
pub use outbox::{Outbox, OutboxRecord};
pub use retention::{Expired, MIN_RETENTION_DAYS, RecordOfExpired};
pub use tenant_removal::{RemovalStep, TenantRemoval};
pub use tenants::{DEFAULT_RETENTION_DAYS, Tenant, TenantKeyRow, TenantSettings, TenantState};

/// Longest tenant or account name.
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("{what} '{name}' not found")]
    NotFound { what: &'static str, name: String },
    #[error("{what} '{name}' already exists")]
    AlreadyExists { what: &'static str, name: String },
    #[error("directory is not empty")]
    NotEmpty,
    #[error("not a directory")]
    NotADirectory,
    #[error("is a directory")]
    IsADirectory,
    #[error("a directory cannot be moved inside itself")]
    MoveIntoSelf,
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
    #[error("database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: BackendError,
    },
    #[error("the tenant key was rotated during the operation; retry")]
    KeyRotated,
    /// A rotation of the tenant key began and did not finish (interrupted): it is to be
    /// finished before another begins.
    #[error("a rotation of the tenant key is under way: run it again to finish it")]
    RotationUnderWay,
    /// Re-keying a row of a tenant key rotation failed (the caller's error).
    #[error("re-keying for the tenant key rotation: {0}")]
    Rekey(#[source] RekeyError),
    /// A tenant key wrapped under a master key other than the one the catalog records (a
    /// master key rotation committed since the keyring was loaded).
    #[error("the master key was rotated during the operation; retry")]
    MasterKeyRotated,
    /// A master key rotation found a tenant key it had not read (made since its reading).
    #[error("a tenant key was made during the master key's rotation; retry")]
    TenantKeyMade,
    /// A tenant whose removal began and did not finish (interrupted): nothing but its removal
    /// goes on with it.
    #[error("tenant '{name}' is being removed: remove it again to finish")]
    BeingRemoved { name: String },
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("catalog schema version {found} is newer than this build understands ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// A database opened to be read only (`audit verify`) at an older schema than this build's:
    /// such a command does not upgrade it.
    #[error(
        "{what} is at schema version {found} and this build's is {known}: a command that only \
         reads does not upgrade it (upgrade it, or a copy of it, by starting the server or \
         running a command that changes something; or read it with the build that wrote it)"
    )]
    SchemaBehind {
        what: &'static str,
        found: i64,
        known: i64,
    },
    /// A change asked of a catalog opened to be read only ([`Catalog::open_read_only`]).
    #[error(
        "the catalog is open to be read only (by a command that only reads) and a change was asked of it"
    )]
    ReadOnly,
    #[error("database: {0}")]
    Backend(#[source] BackendError),
}

/// A failure of the database underneath, from its driver, kept opaque: nothing that uses the
/// catalog depends on which database or driver it is (its message, and its cause such as an
/// I/O error, stay readable through `Display` and `source`).
#[derive(Debug)]
pub struct BackendError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<sqlx::Error> for BackendError {
    fn from(e: sqlx::Error) -> Self {
        Self(Box::new(e))
    }
}

impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        Self(Box::new(e))
    }
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        CatalogError::Backend(e.into())
    }
}

impl From<rusqlite::Error> for CatalogError {
    fn from(e: rusqlite::Error) -> Self {
        CatalogError::Backend(e.into())
    }
}

pub type Result<T> = std::result::Result<T, CatalogError>;

/// A handle on the catalog database; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pool: SqlitePool,
    /// Point reads on the caller's thread, each request's change in one hop (see `direct`).
    direct: std::sync::Arc<direct::Direct>,
}

impl Catalog {
    /// Opens (creating if missing) the SQLite catalog at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let pool = open_pool(path, 4).await?;
        migrate::run(&pool, migrate::CATALOG).await?;
        Ok(Self {
            pool,
            direct: std::sync::Arc::new(direct::Direct::new(path)),
        })
    }

    /// Opens the catalog at `path` to read it only (an investigator's copy, a command that
    /// only shows): not created if missing, never migrated (an older or newer schema is
    /// refused, see `migrate::open_read_only`), every connection opened read-only, so that
    /// nothing of the file changes; a change asked of it fails ([`CatalogError::ReadOnly`]).
    pub async fn open_read_only(path: &Path) -> Result<Self> {
        // The schema checked (and the file's presence) by the one rule of read-only opens.
        drop(migrate::open_read_only(
            path,
            "the catalog",
            migrate::CATALOG,
        )?);
        let pool = connect(path, 2, |o| o.read_only(true)).await?;
        Ok(Self {
            pool,
            direct: std::sync::Arc::new(direct::Direct::read_only(path)),
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The ledger outbox (for the server's ledger writer thread).
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.direct.clone())
    }

    /// A write transaction that takes SQLite's write lock at its start (waiting for it under
    /// the busy timeout), so that it never fails to upgrade from reading to writing because
    /// another writer (another pooled connection, the direct writer, an admin command)
    /// committed in between.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// `ids` as a JSON array, bound as one parameter and read back with `json_each` (numbers
/// only: nothing to escape).
pub(crate) fn json_ids(ids: &[i64]) -> String {
    format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )
}

/// An SQLite pool on `path` (created 0600 if missing): WAL, synchronous=FULL, foreign keys,
/// secure_delete.
pub(crate) async fn open_pool(path: &Path, connections: u32) -> Result<SqlitePool> {
    let pool = connect(path, connections, |o| {
        o.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Durable before acknowledged: every commit reaches the disk.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows (shredded tenants, old wrapped keys) are overwritten, not just freed.
            .pragma("secure_delete", "ON")
    })
    .await?;
    restrict_permissions(path);
    Ok(pool)
}

/// A pool of up to `connections` on the database at `path`, each waiting up to 10 s for a
/// lock, with the options `with` adds.
async fn connect(
    path: &Path,
    connections: u32,
    with: impl FnOnce(SqliteConnectOptions) -> SqliteConnectOptions,
) -> Result<SqlitePool> {
    let open_err = |source: sqlx::Error| CatalogError::Open {
        path: path.display().to_string(),
        source: source.into(),
    };
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .map_err(open_err)?
        .filename(path)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(with(opts))
        .await
        .map_err(open_err)
}

/// Creates `path` empty with mode 0600 if it does not exist, so that the database is never
/// readable by others, not even between its creation and [`restrict_permissions`].
fn create_private(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

/// The database holds password hashes: keep it (and its WAL) readable by the owner only.
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        files.push(p.into());
    }
    for f in files {
        let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600));
    }
}

/// Tenant and account names: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let ok_first = name
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c));
    if ok_first && ok_rest && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            what,
            why: format!(
                "'{name}' must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
            ),
        })
    }
}

/// Maps a unique-constraint violation to `AlreadyExists { what, name }`, anything else as is.
fn exists_or(e: sqlx::Error, what: &'static str, name: impl FnOnce() -> String) -> CatalogError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            CatalogError::AlreadyExists { what, name: name() }
        }
        _ => e.into(),
    }
}

#[cfg(test)]
mod tests;
