//! What the ledger records of SFTP requests: one record per state-changing operation (durable
//! before its reply), per open and close (with bytes and whether a download read the whole
//! file), per stat and readdir, per denial; and progress of transfers at bounded intervals
//! (every [`PROGRESS_SECS`] or [`PROGRESS_BYTES`] per handle), never one record per READ.

use std::sync::atomic::Ordering;

use catalog::OutboxRecord;
use events::{Event, EventKind, EventSink};
use sftp_proto::message::kind;
use sftp_proto::{Extended, RequestOp, StatusCode};

use super::handlers::now;
use super::{OpenHandle, SessionContext};
use crate::audit::LedgerDown;
use crate::files::path::JailPath;

/// Seconds between progress records of one handle.
pub const PROGRESS_SECS: i64 = 5;
/// Bytes between progress records of one handle.
pub const PROGRESS_BYTES: u64 = 64 << 20;

/// A request worth a record: operation, path, rename target, and whether it must be durable.
pub struct Audited {
    op: &'static str,
    path: String,
    to: Option<String>,
    durable: bool,
}

impl Audited {
    /// Whether the request, when it succeeds, has committed a catalog transaction that can
    /// carry its record (the catalog's ledger outbox): every durable file operation except an
    /// open for write (which changes nothing yet) and a setstat on an upload's handle (which
    /// changes the upload in memory, committed at its close); and the close of a download that
    /// completes the file's first whole download (it starts the file's after-download
    /// retention).
    fn in_catalog(&self, h: Option<&OpenHandle>) -> bool {
        match self.op {
            "remove" | "rmdir" | "mkdir" | "rename" | "close_write" => true,
            "close_read" => matches!(h, Some(OpenHandle::Read(f)) if f.completes_first_download()),
            "setstat" => !matches!(h, Some(OpenHandle::Write(_))),
            _ => false,
        }
    }
}

fn shown(raw: &bytes::Bytes) -> String {
    JailPath::parse(raw).map_or_else(
        |_| String::from_utf8_lossy(raw).into_owned(),
        |p| p.display(),
    )
}

fn handle_path(h: Option<&OpenHandle>) -> String {
    match h {
        Some(OpenHandle::Read(f)) => f.path.display(),
        Some(OpenHandle::Write(u)) => u.path.display(),
        _ => String::new(),
    }
}

/// Whether (and how) a request is recorded.
pub fn of(op: &RequestOp, h: Option<&OpenHandle>) -> Option<Audited> {
    use RequestOp as O;
    let a = |op, path, durable| {
        Some(Audited {
            op,
            path,
            to: None,
            durable,
        })
    };
    match op {
        // Durable with the upload's commit, not before the OPEN's reply: an open for write
        // changes nothing and grants nothing until its close commits the upload (see `record`).
        O::Open { path, flags, .. } if flags.write() => a("open_write", shown(path), true),
        O::Open { path, .. } => a("open_read", shown(path), false),
        O::Close { .. } => match h {
            // Not durable before its reply: a download's close neither changes state nor grants
            // access (the bytes left with the READ replies, whose records are progress at
            // bounded intervals, and the open for read is not awaited either); it is recorded
            // like them, group-committed within LINGER. Unless it completes the file's first
            // download: then it commits with that change (`in_catalog`).
            Some(OpenHandle::Read(_)) => a("close_read", handle_path(h), false),
            Some(OpenHandle::Write(_)) => a("close_write", handle_path(h), true),
            _ => None,
        },
        O::Stat { path } | O::Lstat { path } => a("stat", shown(path), false),
        O::Setstat { path, .. } | O::Extended(Extended::Lsetstat { path, .. }) => {
            a("setstat", shown(path), true)
        }
        O::Fsetstat { .. } => a("setstat", handle_path(h), true),
        O::Remove { path } => a("remove", shown(path), true),
        O::Mkdir { path, .. } => a("mkdir", shown(path), true),
        O::Rmdir { path } => a("rmdir", shown(path), true),
        O::Rename { from, to } | O::Extended(Extended::PosixRename { from, to }) => Some(Audited {
            op: "rename",
            path: shown(from),
            to: Some(shown(to)),
            durable: true,
        }),
        O::Readdir { .. } => a("readdir", String::new(), false),
        _ => None,
    }
}

/// Whether `reply` answers a request that failed (a STATUS other than OK or EOF).
fn failed(reply: &[u8]) -> bool {
    super::status::code_of(reply).is_some_and(|c| c != StatusCode::OK && c != StatusCode::EOF)
}

/// "ok", or what the reply says went wrong.
fn outcome(reply: &[u8]) -> String {
    if !failed(reply) {
        return "ok".into();
    }
    let len = reply
        .get(13..17)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let msg = reply
        .get(17..17 + len)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!("failed: {msg}")
}

/// NAME replies carry their entry count after the id.
fn entries(reply: &[u8]) -> Option<u64> {
    (reply.get(4) == Some(&kind::NAME))
        .then(|| {
            reply
                .get(9..13)
                .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        })
        .flatten()
}

/// The event recording `a`; `reply` is `None` for the record made before the request runs
/// (its outcome is then "ok").
fn event(ctx: &SessionContext, a: &Audited, h: Option<&OpenHandle>, reply: Option<&[u8]>) -> Event {
    let (bytes, whole_file) = match (a.op, h) {
        ("close_read", Some(OpenHandle::Read(f))) => {
            let n = f.bytes_read.load(Ordering::Relaxed);
            (Some(n), Some(n >= f.node.size))
        }
        ("close_write", Some(OpenHandle::Write(u))) => {
            (Some(u.bytes_written.load(Ordering::Relaxed)), None)
        }
        _ => (None, None),
    };
    let mut e = ctx.event.clone();
    e.time = now();
    e.kind = EventKind::File {
        op: a.op.to_owned(),
        path: a.path.clone(),
        to: a.to.clone(),
        bytes,
        whole_file,
        entries: if a.op == "readdir" {
            reply.and_then(entries)
        } else {
            None
        },
        outcome: reply.map_or_else(|| "ok".into(), outcome),
    };
    e
}

/// The record of a request the catalog commits (see [`Audited::in_catalog`]), made before it
/// runs, to go into the catalog's transaction with the change (a record of success: if the
/// change fails, nothing is committed and [`record`] records the failure instead).
pub fn in_catalog(
    ctx: &SessionContext,
    a: &Audited,
    h: Option<&OpenHandle>,
) -> Option<(Event, OutboxRecord)> {
    a.in_catalog(h).then(|| {
        let e = event(ctx, a, h, None);
        let r = ctx.ledger.outbox_record(&e);
        (e, r)
    })
}

/// Records `a`, which was answered with `reply`; waits until the record is durable if the
/// request changed state or granted access. A request of that kind that failed did neither (a
/// catalog change is one transaction, an upload is private until its close commits): its
/// record is group-committed like a denial's, not awaited.
pub async fn record(
    ctx: &SessionContext,
    a: &Audited,
    h: Option<&OpenHandle>,
    reply: &[u8],
) -> Result<(), LedgerDown> {
    let e = event(ctx, a, h, Some(reply));
    if a.op == "open_write" && !failed(reply) {
        // Kept with the upload: its commit carries it (`take_opened`), or its discard emits it.
        match upload_of_reply(ctx, reply) {
            Some(h) => {
                if let OpenHandle::Write(up) = h.as_ref()
                    && let Ok(mut o) = up.opened.lock()
                {
                    *o = Some(e);
                }
            }
            None => ctx.ledger.emit(e),
        }
        return Ok(());
    }
    if a.durable && !failed(reply) {
        ctx.ledger.record(e).await
    } else {
        ctx.ledger.emit(e);
        Ok(())
    }
}

/// The upload a HANDLE reply names (the open for write just registered).
fn upload_of_reply(ctx: &SessionContext, reply: &[u8]) -> Option<std::sync::Arc<OpenHandle>> {
    if reply.get(4) != Some(&kind::HANDLE) {
        return None;
    }
    let len = u32::from_be_bytes(reply.get(9..13)?.try_into().ok()?) as usize;
    let key = super::handles::parse(reply.get(13..13 + len)?)?;
    let h = ctx.handles.lock().ok()?.get(key)?;
    matches!(h.as_ref(), OpenHandle::Write(_)).then_some(h)
}

/// The open-for-write record an upload kept, as an outbox record for its commit.
pub fn take_opened(
    ctx: &SessionContext,
    up: &crate::files::Upload,
) -> Option<(Event, OutboxRecord)> {
    let e = up.opened.lock().ok()?.take()?;
    let r = ctx.ledger.outbox_record(&e);
    Some((e, r))
}

/// Emits the open-for-write record of an upload dropped without a commit (not durable: it
/// changed nothing).
pub fn opened_never_committed(ctx: &SessionContext, up: &crate::files::Upload) {
    if let Some(e) = up.opened.lock().ok().and_then(|mut o| o.take()) {
        ctx.ledger.emit(e);
    }
}

/// Records a transfer's progress when the handle's interval or byte step has passed.
pub fn progress(ctx: &SessionContext, h: &OpenHandle) {
    let (op, path, total, last) = match h {
        OpenHandle::Read(f) => (
            "progress_read",
            &f.path,
            f.bytes_read.load(Ordering::Relaxed),
            &f.progress,
        ),
        OpenHandle::Write(u) => (
            "progress_write",
            &u.path,
            u.bytes_written.load(Ordering::Relaxed),
            &u.progress,
        ),
        OpenHandle::Dir(_) => return,
    };
    let t = now();
    let Ok(mut last) = last.lock() else { return };
    if last.0 == 0 {
        *last = (t, 0);
        return;
    }
    if t - last.0 < PROGRESS_SECS && total - last.1 < PROGRESS_BYTES {
        return;
    }
    *last = (t, total);
    let mut e = ctx.event.clone();
    e.time = t;
    e.kind = EventKind::File {
        op: op.to_owned(),
        path: path.display(),
        to: None,
        bytes: Some(total),
        whole_file: None,
        entries: None,
        outcome: "ok".into(),
    };
    ctx.ledger.emit(e);
}

/// Records a request the gate refused.
pub fn record_denial(ctx: &SessionContext, op: &RequestOp, why: &str) {
    let mut e = ctx.event.clone();
    e.time = now();
    e.kind = EventKind::File {
        op: op.name().to_owned(),
        path: of(op, None).map(|a| a.path).unwrap_or_default(),
        to: None,
        bytes: None,
        whole_file: None,
        entries: None,
        outcome: format!("{}{why}", events::DENIED),
    };
    ctx.ledger.emit(e);
}
