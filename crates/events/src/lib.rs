//! The one event type that flows through Strongroom: who, from where, what, with which outcome,
//! when. The server emits events into an [`EventSink`]; the log sink writes them as JSON lines
//! today, and the ledger persists the same events (tamper-evident) once it exists.
//!
//! Pure: no I/O, no clock (times are given by the emitter). Events never carry secrets or file
//! contents: key fingerprints and certificate key ids, not keys; reasons, not passwords.

use std::net::SocketAddr;

use serde::Serialize;

/// Unix time in seconds.
pub type Timestamp = i64;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A TCP connection accepted for key exchange, or refused before it (banned address,
    /// outside every allowed network, too many connections).
    Connection {
        accepted: bool,
        reason: Option<String>,
    },
    /// One authentication step: a first factor or a second factor.
    Auth {
        method: String,
        factor: Factor,
        result: AuthResult,
        reason: Option<String>,
        /// SHA256 fingerprint of the key, or the certificate's key id.
        credential: Option<String>,
    },
    /// The defender banned an address.
    Ban {
        address: String,
        level: i64,
        until: Timestamp,
        reason: String,
    },
    /// The defender saw one account attacked from many addresses.
    AccountUnderAttack { until: Timestamp },
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
    },
    /// A file operation and its outcome ("ok", [`DENIED`] and why, or the error). Upload and
    /// download are told apart by `op` (open_write / open_read, close_write / close_read).
    File {
        op: String,
        path: String,
        /// The new path of a rename.
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// Bytes read or written through the handle so far (close and progress).
        #[serde(skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        /// Whether a download read the whole file (close_read).
        #[serde(skip_serializing_if = "Option::is_none")]
        whole_file: Option<bool>,
        /// Entries returned (readdir).
        #[serde(skip_serializing_if = "Option::is_none")]
        entries: Option<u64>,
        outcome: String,
    },
    /// The retention sweeper deleted an expired file.
    RetentionDelete { file_id: i64, size: u64 },
    /// An admin command ran on the host.
    Admin {
        command: String,
        by: String,
        outcome: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    First,
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthResult {
    /// Logged in.
    Success,
    /// This factor is good; another is required.
    Partial,
    Refused,
}

/// An event with its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub time: Timestamp,
    pub source: Option<SocketAddr>,
    /// The account name as given by the client (may not exist) or as logged in.
    pub account: Option<String>,
    pub tenant: Option<String>,
    /// The client's SSH identification string, when it has been read.
    pub client_version: Option<String>,
    /// The connection this happened on: a UUID v7, unique across restarts and nodes (records
    /// written before December 2026 carry a number unique within one server run).
    pub session: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// One JSON object, one line.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!(r#"{{"kind":"unencodable","error":"{e}"}}"#))
    }
}

impl Event {
    /// An event with no context but its time and kind.
    pub fn new(time: Timestamp, kind: EventKind) -> Self {
        Self {
            time,
            source: None,
            account: None,
            tenant: None,
            client_version: None,
            session: None,
            kind,
        }
    }

    /// A file operation the gate let through (whatever its outcome then).
    pub fn is_permitted_file_operation(&self) -> bool {
        matches!(&self.kind, EventKind::File { outcome, .. } if !outcome.starts_with(DENIED))
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
            EventKind::Admin { .. } => "admin",
        }
    }
}

/// How the outcome of a file operation the gate refused begins (then why).
pub const DENIED: &str = "denied: ";

/// Where events go. `emit` must not block for long; `record` returns once the event is
/// durable (for operations that change state or grant access).
pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: Event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_encode_as_flat_json() {
        let e = Event {
            time: 1_800_000_000,
            source: Some("127.0.0.2:5000".parse().unwrap()),
            account: Some("alice".into()),
            tenant: None,
            client_version: Some("SSH-2.0-OpenSSH_9.2p1".into()),
            session: Some("7".into()),
            kind: EventKind::Auth {
                method: "publickey".into(),
                factor: Factor::First,
                result: AuthResult::Refused,
                reason: Some("key not registered for account".into()),
                credential: Some("SHA256:abc".into()),
            },
        };
        let json = e.to_json_line();
        assert!(json.contains(r#""kind":"auth""#), "{json}");
        assert!(json.contains(r#""result":"refused""#), "{json}");
        assert!(json.contains(r#""source":"127.0.0.2:5000""#), "{json}");
        assert!(!json.contains('\n'));
    }

    #[test]
    fn only_file_operations_the_gate_let_through_are_permitted_ones() {
        let file = |outcome: &str| {
            Event::new(
                1,
                EventKind::File {
                    op: "open_write".into(),
                    path: "/a".into(),
                    to: None,
                    bytes: None,
                    whole_file: None,
                    entries: None,
                    outcome: outcome.into(),
                },
            )
        };
        assert!(file("ok").is_permitted_file_operation());
        assert!(file("failed: no such file").is_permitted_file_operation());
        assert!(!file(&format!("{DENIED}read-only account")).is_permitted_file_operation());
        assert!(
            !Event::new(
                1,
                EventKind::Session {
                    opened: true,
                    methods: None,
                    credential: None,
                }
            )
            .is_permitted_file_operation()
        );
    }
}
