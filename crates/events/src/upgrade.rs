//! Reading records written in an earlier schema: a pure rewrite of the stored JSON into the
//! current schema, applied before the typed decoding ([`crate::Event::from_stored`]). The
//! stored bytes are never changed (the ledger's chain covers them); only what is read is.
//!
//! Schema 1 (before December 2026) had no `v`; times were Unix seconds; a file operation's
//! `op` and `outcome` were strings (`"ok"`, `"denied: why"`, `"failed: message"`), and a
//! refused request was named by its SFTP name (`open`, `posix-rename`, `lsetstat`, ...).

use serde_json::{Map, Value};

use crate::{FailureCode, Time};

/// Rewrites `event` (one stored event as JSON) into the current schema; leaves an event
/// already in it untouched.
pub fn to_current(event: &mut Value) {
    let Some(obj) = event.as_object_mut() else {
        return;
    };
    if obj.get("v").and_then(Value::as_u64).is_some() {
        return;
    }
    obj.insert("v".into(), Value::from(1u16));
    v1_to_v2(obj);
}

fn v1_to_v2(obj: &mut Map<String, Value>) {
    obj.insert("v".into(), Value::from(2u16));
    seconds_to_time(obj, "time");
    // Schema 1 wrote absent context as null; schema 2 leaves it out.
    obj.retain(|_, v| !v.is_null());
    match obj.get("kind").and_then(Value::as_str) {
        Some("ban" | "account_under_attack") => seconds_to_time(obj, "until"),
        Some("file") => file_v1_to_v2(obj),
        _ => {}
    }
}

fn seconds_to_time(obj: &mut Map<String, Value>, field: &str) {
    if let Some(s) = obj.get(field).and_then(Value::as_i64) {
        obj.insert(field.into(), Value::from(Time::from_secs(s).to_string()));
    }
}

fn file_v1_to_v2(obj: &mut Map<String, Value>) {
    let outcome = obj
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("ok")
        .to_owned();
    let op = obj
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (op, request) = op_v1_to_v2(&op, &outcome);
    obj.insert("op".into(), Value::from(op));
    if let Some(request) = request {
        obj.insert("request".into(), Value::from(request));
    }
    // Fields an operation always carries in schema 2 (always written by schema 1 too).
    let defaults: &[(&str, Value)] = match op {
        "close_read" => &[
            ("bytes", Value::from(0u64)),
            ("whole_file", Value::Bool(false)),
        ],
        "close_write" | "progress_read" | "progress_write" => &[("bytes", Value::from(0u64))],
        _ => &[],
    };
    for (k, v) in defaults {
        obj.entry(*k).or_insert_with(|| v.clone());
    }
    obj.insert("outcome".into(), outcome_v1_to_v2(&outcome));
}

/// The schema 2 `op` of a schema 1 `op`; for `other`, the request's name.
fn op_v1_to_v2(op: &str, outcome: &str) -> (&'static str, Option<String>) {
    let same = [
        "open_read",
        "open_write",
        "opendir",
        "read",
        "write",
        "close_read",
        "close_write",
        "progress_read",
        "progress_write",
        "readdir",
        "stat",
        "setstat",
        "rename",
        "remove",
        "mkdir",
        "rmdir",
    ];
    if let Some(s) = same.iter().find(|s| **s == op) {
        return (s, None);
    }
    match op {
        // A refused OPEN: a read-only account is refused opens that write, a drop box opens
        // that read.
        "open" if outcome.contains("read-only") => ("open_write", None),
        "open" => ("open_read", None),
        "fsetstat" | "lsetstat" => ("setstat", None),
        "posix-rename" => ("rename", None),
        "lstat" | "fstat" => ("stat", None),
        "symlink" | "hardlink" => ("link", None),
        other => ("other", Some(other.to_owned())),
    }
}

fn outcome_v1_to_v2(outcome: &str) -> Value {
    if let Some(why) = outcome.strip_prefix("denied: ") {
        return serde_json::json!({ "denied": why });
    }
    match outcome.strip_prefix("failed: ") {
        None if outcome == "ok" => Value::from("ok"),
        None => serde_json::json!({ "failed": { "code": FailureCode::Other, "message": outcome } }),
        Some(message) => {
            serde_json::json!({ "failed": { "code": code_of(message), "message": message } })
        }
    }
}

/// The failure code a schema 1 failure message stands for (the server's messages then).
fn code_of(message: &str) -> FailureCode {
    use FailureCode as C;
    const BY_PREFIX: &[(&str, FailureCode)] = &[
        ("no such file", C::NoSuchFile),
        ("file already exists", C::AlreadyExists),
        ("directory not empty", C::NotEmpty),
        ("not a directory", C::NotADirectory),
        ("is a directory", C::IsADirectory),
        ("invalid path", C::InvalidPath),
        ("operation unsupported", C::Unsupported),
        ("permission denied", C::PermissionDenied),
        ("quota exceeded", C::QuotaExceeded),
        ("no space left", C::NoSpace),
        ("the file failed its integrity check", C::Integrity),
        ("audit ledger unavailable", C::LedgerUnavailable),
        ("storage error", C::ServerError),
        ("key error", C::ServerError),
        ("catalog error", C::ServerError),
        ("write too far", C::OutOfRange),
        ("write offset out of range", C::OutOfRange),
        ("the file would exceed", C::OutOfRange),
    ];
    BY_PREFIX
        .iter()
        .find(|(p, _)| message.starts_with(p))
        .map_or(C::Other, |(_, c)| *c)
}
