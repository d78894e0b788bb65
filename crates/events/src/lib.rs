//! The one event type that flows through Strongroom: who, from where, on which node and
//! session, what, with which outcome, when. The server emits events into an [`EventSink`]; the
//! ledger stores them (sealed, hash-chained), the log and the SIEM forwarder print them, and
//! `audit export` writes them back out in this schema ([`Exported`]), which reads back into the
//! same types. The schema is documented, with its version, in `docs/EVENTS.md`.
//!
//! Pure: no I/O, no clock (times are given by the emitter). Events never carry secrets or file
//! contents: key fingerprints and certificate key ids, not keys; reasons, not passwords.
//!
//! Records written before schema 2 (times in seconds, operations and outcomes as strings) are
//! read through [`Event::from_stored`], which upgrades them ([`upgrade`]).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

pub mod csv;
mod time;
pub mod upgrade;

pub use time::Time;

/// The version of this schema: written into every event as `v`.
pub const SCHEMA_VERSION: u16 = 2;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A TCP connection accepted for key exchange, or refused before it (banned address,
    /// outside every allowed network, too many connections).
    Connection {
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// One authentication step: a first factor or a second factor.
    Auth {
        method: String,
        factor: Factor,
        result: AuthResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// SHA256 fingerprint of the key, or the certificate's key id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credential: Option<String>,
    },
    /// The defender banned an address.
    Ban {
        address: String,
        level: i64,
        until: Time,
        reason: String,
    },
    /// The defender saw one account attacked from many addresses.
    AccountUnderAttack { until: Time },
    /// An SFTP session opened or closed; the opening names how the connection authenticated,
    /// so that every later record of the session ties to the credential.
    Session {
        opened: bool,
        /// The methods that authenticated it (e.g. `publickey+totp`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        methods: Option<String>,
        /// SHA256 fingerprint of the key, or the certificate's key id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credential: Option<String>,
        /// On a close the server forced: why (`killed by an administrator`, `account locked by
        /// an administrator`, `address banned by an administrator`, `contained by alert ID
        /// (RULE)`, `login policy changed by an administrator`, `idle for 15 minutes`, `its
        /// credential expired`). Absent when the client ended the session or the connection
        /// dropped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ended_by: Option<String>,
    },
    /// A file operation and its outcome.
    File {
        #[serde(flatten)]
        op: FileOp,
        /// The path as the account sees it (inside its tenant).
        path: String,
        /// The file (or directory) the operation touched, when it exists: its id is stable
        /// across renames and replacing uploads; its size is the size at that moment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<FileRef>,
        outcome: Outcome,
    },
    /// The retention sweeper deleted an expired file.
    RetentionDelete { file_id: i64, size: u64 },
    /// The detector raised an alert; `actions` says what containment did (`close_sessions`,
    /// `lock_account`, `ban_address`, `throttle`). The envelope names the account, tenant and
    /// source it is about.
    Alert {
        id: String,
        severity: Severity,
        rule: String,
        /// MITRE ATT&CK technique ids.
        techniques: Vec<String>,
        /// One sentence with the numbers.
        summary: String,
        #[serde(default)]
        sessions: Vec<String>,
        /// Sequence numbers of the ledger records behind it.
        #[serde(default)]
        evidence: Vec<u64>,
        #[serde(default)]
        actions: Vec<String>,
    },
    /// An alert's delivery to a destination (`webhook`, `email`) ended: `delivered`, or
    /// `given_up` (`reason` says the last failure), after `attempts`. Names no account: the
    /// alert's own record does.
    AlertDelivery {
        id: String,
        destination: String,
        outcome: String,
        attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An admin command ran on the host.
    Admin {
        command: String,
        by: String,
        outcome: String,
    },
}

/// A file operation, with what it carries. Denials name the operation that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FileOp {
    OpenRead,
    /// Recorded with the upload's commit (or, when it never commits, at its end).
    OpenWrite,
    Opendir,
    /// A read or a write on a handle: recorded only when refused (transfers are recorded by
    /// their open, progress and close).
    Read,
    Write,
    CloseRead {
        /// Bytes read through the handle (a part read again counts again).
        bytes: u64,
        /// Whether the reads covered every byte of the file.
        whole_file: bool,
        /// When they did not: the parts of the file they covered, `[start, end)` byte ranges in
        /// order (at most 256). Absent when the whole file was read, when the reads left too
        /// many holes to follow, and in records from before December 2026.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ranges: Option<Vec<(u64, u64)>>,
    },
    CloseWrite {
        /// Bytes received through the handle.
        bytes: u64,
        /// When the upload replaced a file's contents (an upload over an existing file, or
        /// one resumed or appended to): that file (the same id) and the size of the contents
        /// replaced. Absent when the upload made a new file. Recorded since December 2026.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<FileRef>,
    },
    /// A transfer still open: bytes so far (at bounded intervals).
    ProgressRead {
        bytes: u64,
    },
    ProgressWrite {
        bytes: u64,
    },
    Readdir {
        /// Entries returned by this page of the listing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entries: Option<u64>,
    },
    Stat,
    Setstat,
    Rename {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// When the rename replaced what was at `to` (POSIX rename over a file, or an empty
        /// directory): its id and size, now gone. Recorded since December 2026.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<FileRef>,
        /// When a directory was renamed: the files under it, which moved with it. Recorded
        /// since December 2026.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moved: Option<MovedFiles>,
    },
    Remove,
    Mkdir,
    Rmdir,
    /// A symbolic or hard link (always refused).
    Link,
    /// Any other request that was refused, by its protocol name.
    Other {
        request: String,
    },
}

impl FileOp {
    /// The name written as `op`.
    pub fn name(&self) -> &str {
        match self {
            FileOp::OpenRead => "open_read",
            FileOp::OpenWrite => "open_write",
            FileOp::Opendir => "opendir",
            FileOp::Read => "read",
            FileOp::Write => "write",
            FileOp::CloseRead { .. } => "close_read",
            FileOp::CloseWrite { .. } => "close_write",
            FileOp::ProgressRead { .. } => "progress_read",
            FileOp::ProgressWrite { .. } => "progress_write",
            FileOp::Readdir { .. } => "readdir",
            FileOp::Stat => "stat",
            FileOp::Setstat => "setstat",
            FileOp::Rename { .. } => "rename",
            FileOp::Remove => "remove",
            FileOp::Mkdir => "mkdir",
            FileOp::Rmdir => "rmdir",
            FileOp::Link => "link",
            FileOp::Other { .. } => "other",
        }
    }
}

/// The files a directory's rename moved with it (those under it, at any depth): how many, and
/// the ids of some of them (the catalog bounds both: `catalog::MAX_MOVED_IDS` ids, the count
/// read from at most `catalog::MAX_MOVED_COUNTED` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedFiles {
    pub count: u64,
    pub ids: Vec<i64>,
}

/// A file by its stable id, with its size at the moment of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub id: i64,
    pub size: u64,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The gate refused it; why.
    Denied(String),
    /// It was allowed and failed.
    Failed {
        code: FailureCode,
        /// What the client was told.
        message: String,
    },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// Why an allowed operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    NoSuchFile,
    AlreadyExists,
    NotEmpty,
    NotADirectory,
    IsADirectory,
    InvalidPath,
    Unsupported,
    PermissionDenied,
    QuotaExceeded,
    NoSpace,
    OutOfRange,
    /// The stored contents failed their integrity check.
    Integrity,
    /// The operation could not be recorded, so it was not done.
    LedgerUnavailable,
    /// The request named a handle that is not open (or not open for this).
    InvalidHandle,
    /// The session has as many handles open as it may.
    TooManyHandles,
    /// Storage, keys or catalog failed on the server's side.
    ServerError,
    /// Anything else (and failures recorded before schema 2 whose message names no code).
    Other,
}

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    First,
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthResult {
    /// Logged in.
    Success,
    /// This factor is good; another is required.
    Partial,
    Refused,
}

/// An event with its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The schema version ([`SCHEMA_VERSION`]).
    pub v: u16,
    /// When it happened, to the millisecond (RFC 3339 in JSON).
    pub time: Time,
    /// The server node that saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The connection this happened on: a UUID v7, unique across restarts and nodes (records
    /// written before schema 2 may carry a number unique within one server run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SocketAddr>,
    /// The account name as given by the client (may not exist) or as logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The client's SSH identification string, when it has been read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// The download a record of one is about (its open, progress and close): a number the
    /// server gave that handle, so that two downloads of one file open at once in a session
    /// are told apart. Recorded since December 2026.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<u64>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event with no context but its time and kind.
    pub fn new(time: Time, kind: EventKind) -> Self {
        Self {
            v: SCHEMA_VERSION,
            time,
            node: None,
            session: None,
            source: None,
            account: None,
            tenant: None,
            client_version: None,
            handle: None,
            kind,
        }
    }

    /// One JSON object, one line.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!(r#"{{"kind":"unencodable","error":"{e}"}}"#))
    }

    /// Reads an event as the ledger stores it, in this schema or an earlier one.
    pub fn from_stored(json: &[u8]) -> Result<Self, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_slice(json)?;
        upgrade::to_current(&mut value);
        serde_json::from_value(value)
    }

    /// A file operation the gate let through (whatever its outcome then).
    pub fn is_permitted_file_operation(&self) -> bool {
        matches!(&self.kind, EventKind::File { outcome, .. } if !matches!(outcome, Outcome::Denied(_)))
    }

    /// The kind's name, as it appears in the JSON (`auth`, `file`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            EventKind::Connection { .. } => "connection",
            EventKind::Auth { .. } => "auth",
            EventKind::Ban { .. } => "ban",
            EventKind::AccountUnderAttack { .. } => "account_under_attack",
            EventKind::Session { .. } => "session",
            EventKind::File { .. } => "file",
            EventKind::RetentionDelete { .. } => "retention_delete",
            EventKind::Alert { .. } => "alert",
            EventKind::AlertDelivery { .. } => "alert_delivery",
            EventKind::Admin { .. } => "admin",
        }
    }
}

/// One line of `audit export --format jsonl`: a ledger record's sequence number and hash, and
/// its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    pub seq: u64,
    /// The record's chain hash (hex).
    pub hash: String,
    pub event: Event,
}

/// Where events go. `emit` must not block for long.
pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: Event);
}

#[cfg(test)]
mod tests;
