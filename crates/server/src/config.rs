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
    /// Connections that have not authenticated by then are closed.
    pub preauth_timeout: Duration,
    /// Authentication attempts per connection.
    pub max_auth_attempts: usize,
    /// Every rejected authentication takes this long, whatever the reason (no timing oracle).
    pub auth_rejection_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_handles_per_session: 256,
            max_sessions_per_account: 16,
            max_connections_per_address: 64,
            preauth_timeout: Duration::from_secs(30),
            max_auth_attempts: 6,
            auth_rejection_time: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub sftp_listen: SocketAddr,
    pub limits: Limits,
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
