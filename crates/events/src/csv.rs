//! The flat form of an exported record: one row of named columns per event, every kind in the
//! same columns (a column a kind does not have is empty). `audit export --format csv` writes
//! these; `docs/EVENTS.md` documents them.

use crate::{EventKind, Exported, FileOp, FileRef, Outcome};

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "seq",
    "hash",
    "time",
    "node",
    "session",
    "source",
    "account",
    "tenant",
    "client_version",
    "kind",
    "op",
    "path",
    "to",
    "file_id",
    "size",
    "bytes",
    "whole_file",
    "entries",
    "outcome",
    "code",
    "reason",
    "method",
    "factor",
    "result",
    "credential",
    "address",
    "level",
    "until",
    "command",
    "by",
    "replaced_id",
    "replaced_size",
    "ranges",
    "handle",
    "moved_files",
];

/// The `replaced_id` and `replaced_size` columns of a change that replaced a file.
fn set_replaced(set: &mut impl FnMut(&str, String), replaced: &Option<FileRef>) {
    if let Some(r) = replaced {
        set("replaced_id", r.id.to_string());
        set("replaced_size", r.size.to_string());
    }
}

fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(COLUMNS.len())
}

/// One row, in [`COLUMNS`] order.
pub fn row(r: &Exported) -> Vec<String> {
    let mut row = vec![String::new(); COLUMNS.len() + 1];
    let mut set = |name: &str, v: String| row[col(name)] = v;
    let e = &r.event;
    set("seq", r.seq.to_string());
    set("hash", r.hash.clone());
    set("time", e.time.to_string());
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    set("node", text(&e.node));
    set("session", text(&e.session));
    set(
        "source",
        e.source.map(|s| s.to_string()).unwrap_or_default(),
    );
    set("account", text(&e.account));
    set("tenant", text(&e.tenant));
    set("client_version", text(&e.client_version));
    set(
        "handle",
        e.handle.map(|h| h.to_string()).unwrap_or_default(),
    );
    set("kind", e.kind_name().to_owned());
    match &e.kind {
        EventKind::Connection { accepted, reason } => {
            set("outcome", if *accepted { "ok" } else { "refused" }.into());
            set("reason", text(reason));
        }
        EventKind::Auth {
            method,
            factor,
            result,
            reason,
            credential,
        } => {
            set("method", method.clone());
            set("factor", json_name(factor));
            set("result", json_name(result));
            set("reason", text(reason));
            set("credential", text(credential));
        }
        EventKind::Ban {
            address,
            level,
            until,
            reason,
        } => {
            set("address", address.clone());
            set("level", level.to_string());
            set("until", until.to_string());
            set("reason", reason.clone());
        }
        EventKind::AccountUnderAttack { until } => set("until", until.to_string()),
        EventKind::Session {
            opened,
            methods,
            credential,
            ended_by,
        } => {
            set("op", if *opened { "open" } else { "close" }.into());
            set("method", text(methods));
            set("credential", text(credential));
            set("reason", text(ended_by));
        }
        EventKind::File {
            op,
            path,
            file,
            outcome,
        } => {
            set("op", op.name().to_owned());
            set("path", path.clone());
            if let Some(f) = file {
                set("file_id", f.id.to_string());
                set("size", f.size.to_string());
            }
            match op {
                FileOp::CloseRead {
                    bytes,
                    whole_file,
                    ranges,
                } => {
                    set("bytes", bytes.to_string());
                    set("whole_file", whole_file.to_string());
                    if let Some(ranges) = ranges {
                        let parts: Vec<String> =
                            ranges.iter().map(|(s, e)| format!("{s}-{e}")).collect();
                        set("ranges", parts.join(";"));
                    }
                }
                FileOp::ProgressRead { bytes } | FileOp::ProgressWrite { bytes } => {
                    set("bytes", bytes.to_string())
                }
                FileOp::CloseWrite { bytes, replaced } => {
                    set("bytes", bytes.to_string());
                    set_replaced(&mut set, replaced);
                }
                FileOp::Readdir { entries } => set(
                    "entries",
                    entries.map(|n| n.to_string()).unwrap_or_default(),
                ),
                FileOp::Rename {
                    to,
                    replaced,
                    moved,
                } => {
                    set("to", text(to));
                    set_replaced(&mut set, replaced);
                    if let Some(m) = moved {
                        set("moved_files", m.count.to_string());
                    }
                }
                FileOp::Other { request } => set("command", request.clone()),
                _ => {}
            }
            match outcome {
                Outcome::Ok => set("outcome", "ok".into()),
                Outcome::Denied(why) => {
                    set("outcome", "denied".into());
                    set("reason", why.clone());
                }
                Outcome::Failed { code, message } => {
                    set("outcome", "failed".into());
                    set("code", json_name(code));
                    set("reason", message.clone());
                }
            }
        }
        EventKind::RetentionDelete { file_id, size } => {
            set("file_id", file_id.to_string());
            set("size", size.to_string());
        }
        EventKind::Alert {
            id,
            severity,
            rule,
            summary,
            actions,
            ..
        } => {
            set("op", rule.clone());
            set("command", id.clone());
            set("level", severity.as_str().to_owned());
            set("reason", summary.clone());
            set("outcome", actions.join(" "));
        }
        EventKind::AlertDelivery {
            id,
            destination,
            outcome,
            attempts,
            reason,
        } => {
            set("op", destination.clone());
            set("command", id.clone());
            set("outcome", outcome.clone());
            set("level", attempts.to_string());
            if let Some(why) = reason {
                set("reason", why.clone());
            }
        }
        EventKind::Admin {
            command,
            by,
            outcome,
        } => {
            set("command", command.clone());
            set("by", by.clone());
            set("outcome", outcome.clone());
        }
    }
    row.truncate(COLUMNS.len());
    row.into_iter().map(spreadsheet_safe).collect()
}

/// A cell as a spreadsheet may show it but never run it: a value that begins with `=`, `+`,
/// `-`, `@`, a tab or a carriage return (which Excel, LibreOffice and Google Sheets read as a
/// formula: `=HYPERLINK(…)` as an attacker's user name in a failed login, say) is written with
/// an apostrophe before it. The JSON forms keep every value as it was.
pub fn spreadsheet_safe(cell: String) -> String {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}"),
        _ => cell,
    }
}

/// A unit enum value's name as it is written in JSON.
fn json_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
