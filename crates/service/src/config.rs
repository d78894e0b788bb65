//! Validated server settings. The binary parses the raw TOML and flags; what reaches this module
//! is already checked, so the server never re-validates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Bounds on what one client can hold. Every field has a safe default.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open file and directory handles per SFTP session.
    pub max_handles_per_session: usize,
    /// Concurrent authenticated sessions per account.
    pub max_sessions_per_account: usize,
    /// Concurrent connections (authenticated or not) per source address.
    pub max_connections_per_address: usize,
    /// Concurrent connections in all; lowered at start to what the open-file limit allows
    /// with descriptors kept in reserve (see `Server::prepare`).
    pub max_connections: usize,
    /// Concurrent connections that have not authenticated yet (as OpenSSH's `MaxStartups`),
    /// so that clients stalling before login cannot take every slot.
    pub max_unauthenticated: usize,
    /// Bytes of SFTP requests and replies the whole server holds in memory at once (received
    /// and not yet served, or read and not yet sent); a connection that reaches its own share
    /// waits. See `sftp::CONNECTION_INBOUND_BUDGET`.
    pub buffer_bytes: usize,
    /// Connections that have not authenticated by then are closed.
    pub preauth_timeout: Duration,
    /// Logged-in sessions whose client sends no SFTP request for this long are closed (PCI DSS
    /// asks for 15 minutes; a transfer in progress sends requests all along).
    pub idle_timeout: Duration,
    /// Authentication attempts per connection.
    pub max_auth_attempts: usize,
    /// Every rejected authentication takes this long, whatever the reason (no timing oracle).
    pub auth_rejection_time: Duration,
    /// Threads scanning files for classification at once (batches of uploads and files read
    /// back); by default [`SCAN_LANES_PER_CORE`](crate::files::classification::SCAN_LANES_PER_CORE)
    /// per core.
    pub classify_threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_handles_per_session: 256,
            max_sessions_per_account: 64,
            max_connections_per_address: 128,
            max_connections: 16_384,
            max_unauthenticated: 256,
            buffer_bytes: 1 << 30,
            preauth_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15 * 60),
            max_auth_attempts: 6,
            auth_rejection_time: Duration::from_millis(500),
            classify_threads: crate::files::classification::ScanLanes::default_count(),
        }
    }
}

/// Where the master key comes from. The binary decides (environment or data directory); the
/// admin commands and the server must always agree, so this is not a config-file setting.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// A key file (created 0600 on first use when missing).
    File(PathBuf),
    /// The key's text form, given in the environment (`STRONGROOM_MASTER_KEY`).
    Inline(String),
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub sftp_listen: SocketAddr,
    pub limits: Limits,
    pub master_key: MasterKeySource,
    /// Seal new file contents (off only to measure what sealing costs).
    pub seal_contents: bool,
    /// Bytes uploads leave free on the data directory's filesystem, for the catalog and ledger.
    pub keep_free_bytes: u64,
    /// How often expired files are swept.
    pub retention_sweep: Duration,
    /// How often every tenant's sealed values are checked to open (an alert where one does
    /// not: `integrity`); `None`: never.
    pub integrity_check: Option<Duration>,
    /// How often every stored file's contents are read whole, to find a chunk that does not
    /// open or a blob gone before a client does (an alert where one is: `integrity`); `None`:
    /// never. A pass goes on where it stopped after a restart.
    pub contents_check: Option<Duration>,
    /// The pace of those reads, bytes per second (the disk's other readers come first).
    pub contents_check_rate: u64,
    pub defender: crate::gate::defender::DefenderConfig,
    pub forward: crate::forward::ForwardConfig,
    pub detect: DetectConfig,
    /// Where alerts are delivered besides the ledger and its forwarder (`[alerts]`).
    pub alerts: crate::alert_delivery::DeliveryConfig,
    /// What an administrator's change does when the audit ledger cannot record its beginning
    /// (`[audit] unrecorded_changes`).
    pub unrecorded_changes: UnrecordedChanges,
}

/// What an administrator's change does when the audit ledger cannot record its beginning (its
/// database unreadable, the disk full): made with a warning, or refused. Containment (a ban, a
/// lock, a key removed, a session ended) is made either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnrecordedChanges {
    /// Made, with a warning (the record of its end is tried after it).
    #[default]
    Warn,
    /// Refused: nothing is changed until the ledger records again.
    Refuse,
}

/// Detection and containment (`[detect]`).
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Off only to measure what detection costs.
    pub enabled: bool,
    /// Thresholds (the defaults, before the catalog's per-tenant and per-account overrides)
    /// and how addresses are grouped into networks.
    pub rules: detect::Config,
    /// What containment does per severity.
    pub containment: detect::rules::Containment,
    /// Days of ledger history the detector is rebuilt from at start.
    pub rebuild_days: i64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: detect::Config::default(),
            containment: detect::rules::Containment::default(),
            rebuild_days: crate::detection::REBUILD_DAYS,
        }
    }
}

impl ServerConfig {
    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.db")
    }
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
    pub fn host_key_dir(&self) -> PathBuf {
        self.data_dir.join("host-keys")
    }
}

/// The default SFTP listen address.
pub const DEFAULT_SFTP_LISTEN: &str = "127.0.0.1:2222";
