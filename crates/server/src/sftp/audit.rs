//! What the ledger records of SFTP requests: one record per state-changing operation, per open
//! for read and per page of a listing (durable before its reply: they grant access to contents
//! or names), per open and close (with bytes and whether a download read the whole
//! file), per stat and readdir, per denial; and progress of transfers at bounded intervals
//! (every [`PROGRESS_SECS`] or [`PROGRESS_BYTES`] per handle), never one record per READ.
//!
//! Records are typed events ([`events::FileOp`], [`events::Outcome`]) built from the request
//! and from what its handler returned ([`Served`] or the [`FsError`]), never from the encoded
//! reply. Every record names the file by its stable id when the file exists: the handle's file,
//! or, for a change the catalog commits, the node the change touched, filled in inside the
//! change's transaction ([`Pending`]).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use catalog::{NodeRef, OutboxRecord, RecordOf};
use events::{Event, EventKind, EventSink, FileOp, FileRef, MovedFiles, Outcome};
use sftp_proto::{Extended, RequestOp};

use super::{OpenHandle, Served, SessionContext};
use service::audit::{Ledger, LedgerDown};
use service::files::FsError;
use service::files::path::JailPath;

/// Seconds between progress records of one handle.
pub const PROGRESS_SECS: i64 = 5;
/// Bytes between progress records of one handle.
pub const PROGRESS_BYTES: u64 = 64 << 20;

/// A request worth a record: the operation (its details filled in when it is recorded), the
/// path, and whether the record must be durable before the reply.
pub struct Audited {
    op: FileOp,
    path: String,
    durable: bool,
}

impl Audited {
    /// A directory's rename, its record naming the files it moves (or would have moved).
    pub fn moving(mut self, files: MovedFiles) -> Self {
        if let FileOp::Rename { moved, .. } = &mut self.op {
            *moved = Some(files);
        }
        self
    }

    /// Whether the request, when it succeeds, has committed a catalog transaction that can
    /// carry its record (the catalog's ledger outbox): every durable file operation except an
    /// open for write (which changes nothing yet) and a setstat on an upload's handle (which
    /// changes the upload in memory, committed at its close); and the close of a download that
    /// completes the file's first whole download (it starts the file's after-download
    /// retention).
    fn in_catalog(&self, h: Option<&OpenHandle>) -> bool {
        match self.op {
            FileOp::Remove
            | FileOp::Rmdir
            | FileOp::Mkdir
            | FileOp::Rename { .. }
            | FileOp::CloseWrite { .. } => true,
            FileOp::CloseRead { .. } => {
                matches!(h, Some(OpenHandle::Read(f)) if f.completes_first_download())
            }
            FileOp::Setstat => !matches!(h, Some(OpenHandle::Write(_))),
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
        Some(OpenHandle::Dir(l)) => l.path.display(),
        None => String::new(),
    }
}

/// The number of the download an open handle is ([`service::files::ReadFile::serial`]).
fn download_of(h: Option<&OpenHandle>) -> Option<u64> {
    match h? {
        OpenHandle::Read(f) => Some(f.serial),
        _ => None,
    }
}

/// The file an open handle names, with its size now.
fn handle_file(h: Option<&OpenHandle>) -> Option<FileRef> {
    match h? {
        OpenHandle::Read(f) => Some(FileRef {
            id: f.node.id,
            size: f.node.size,
        }),
        OpenHandle::Dir(l) => Some(FileRef {
            id: l.dir_id(),
            size: 0,
        }),
        // Not in the catalog until its commit (whose record names it).
        OpenHandle::Write(_) => None,
    }
}

/// Whether (and how) a request is recorded.
pub fn of(op: &RequestOp, h: Option<&OpenHandle>) -> Option<Audited> {
    use RequestOp as O;
    let a = |op, path, durable| Some(Audited { op, path, durable });
    match op {
        // Durable with the upload's commit, not before the OPEN's reply: an open for write
        // changes nothing and grants nothing until its close commits the upload (see `record`).
        O::Open { path, flags, .. } if flags.write() => a(FileOp::OpenWrite, shown(path), true),
        // Durable before the OPEN's reply: it grants access to the file's contents, and every
        // byte a READ sends goes through the handle it answers with, so no file's contents
        // can leave without a durable record that it was opened (a crash a moment later loses
        // at most the bytes counted since the last progress record, never the file).
        O::Open { path, .. } => a(FileOp::OpenRead, shown(path), true),
        O::Close { .. } => match h {
            // Not durable before its reply: a download's close neither changes state nor grants
            // access (the bytes left with the READ replies, whose records are progress at
            // bounded intervals; the open for read that granted them was durable before its
            // handle was given); it is recorded like them, group-committed within LINGER.
            // Unless it completes the file's first download: then it commits with that change
            // (`in_catalog`).
            Some(OpenHandle::Read(_)) => a(
                FileOp::CloseRead {
                    bytes: 0,
                    whole_file: false,
                    ranges: None,
                },
                handle_path(h),
                false,
            ),
            Some(OpenHandle::Write(_)) => a(
                FileOp::CloseWrite {
                    bytes: 0,
                    replaced: None,
                },
                handle_path(h),
                true,
            ),
            _ => None,
        },
        O::Stat { path } | O::Lstat { path } => a(FileOp::Stat, shown(path), false),
        O::Setstat { path, .. } | O::Extended(Extended::Lsetstat { path, .. }) => {
            a(FileOp::Setstat, shown(path), true)
        }
        O::Fsetstat { .. } => a(FileOp::Setstat, handle_path(h), true),
        O::Remove { path } => a(FileOp::Remove, shown(path), true),
        O::Mkdir { path, .. } => a(FileOp::Mkdir, shown(path), true),
        O::Rmdir { path } => a(FileOp::Rmdir, shown(path), true),
        O::Rename { from, to } | O::Extended(Extended::PosixRename { from, to }) => a(
            FileOp::Rename {
                to: Some(shown(to)),
                replaced: None,
                moved: None,
            },
            shown(from),
            true,
        ),
        // Durable before its reply when it sends names (`record`): a listing sends the names
        // and sizes of files, which can be customers' data themselves (`statement_j_smith.pdf`).
        O::Readdir { .. } => a(FileOp::Readdir { entries: None }, handle_path(h), true),
        _ => None,
    }
}

/// What a refused request attempted, as a domain operation, and the path it named (none for
/// an operation on a handle).
fn attempted(op: &RequestOp) -> (FileOp, Option<&bytes::Bytes>) {
    use RequestOp as O;
    match op {
        O::Open { path, flags, .. } => {
            let writes = flags.write()
                || flags.has(sftp_proto::OpenFlags::CREAT)
                || flags.has(sftp_proto::OpenFlags::TRUNC);
            let op = if writes {
                FileOp::OpenWrite
            } else {
                FileOp::OpenRead
            };
            (op, Some(path))
        }
        O::Opendir { path } => (FileOp::Opendir, Some(path)),
        O::Read { .. } => (FileOp::Read, None),
        O::Write { .. } => (FileOp::Write, None),
        O::Readdir { .. } => (FileOp::Readdir { entries: None }, None),
        O::Stat { path } | O::Lstat { path } => (FileOp::Stat, Some(path)),
        O::Fstat { .. } => (FileOp::Stat, None),
        O::Setstat { path, .. } | O::Extended(Extended::Lsetstat { path, .. }) => {
            (FileOp::Setstat, Some(path))
        }
        O::Fsetstat { .. } => (FileOp::Setstat, None),
        O::Remove { path } => (FileOp::Remove, Some(path)),
        O::Mkdir { path, .. } => (FileOp::Mkdir, Some(path)),
        O::Rmdir { path } => (FileOp::Rmdir, Some(path)),
        O::Rename { from, to } | O::Extended(Extended::PosixRename { from, to }) => (
            FileOp::Rename {
                to: Some(shown(to)),
                replaced: None,
                moved: None,
            },
            Some(from),
        ),
        O::Symlink { link, .. } => (FileOp::Link, Some(link)),
        O::Extended(Extended::Hardlink { to, .. }) => (FileOp::Link, Some(to)),
        other => (
            FileOp::Other {
                request: other.name().to_owned(),
            },
            None,
        ),
    }
}

/// The record a directory's rename from `from` to `to` would make, moving `moved` (for the
/// detector to judge before it is done).
pub fn rename_of_directory(
    ctx: &SessionContext,
    from: &bytes::Bytes,
    to: &bytes::Bytes,
    moved: MovedFiles,
) -> Event {
    let mut e = ctx.event.clone();
    e.time = ctx.clock.now();
    e.kind = EventKind::File {
        op: FileOp::Rename {
            to: Some(shown(to)),
            replaced: None,
            moved: Some(moved),
        },
        path: shown(from),
        file: None,
        outcome: Outcome::Ok,
    };
    e
}

/// The outcome of a request that failed with `e` (the message is what the client was told):
/// denied when the server refused it as a threat (a directory's rename that would hide files
/// of others), else failed.
pub fn outcome_of(e: &FsError) -> Outcome {
    if let FsError::WouldHide { .. } = e {
        return Outcome::Denied(e.to_string());
    }
    Outcome::Failed {
        code: e.code(),
        message: super::status::status_of(e).1,
    }
}

/// The close of download `f`: the bytes it was sent, and whether they covered the file.
fn close_read(f: &service::files::ReadFile) -> FileOp {
    let (whole_file, ranges) = f.extent();
    FileOp::CloseRead {
        bytes: f.bytes_read.load(Ordering::Relaxed),
        whole_file,
        ranges,
    }
}

/// The event recording `a`, which ended with `outcome`; `served` is what its handler returned
/// when it succeeded.
fn event(
    ctx: &SessionContext,
    a: &Audited,
    h: Option<&OpenHandle>,
    outcome: Outcome,
    served: Option<&Served>,
) -> Event {
    let op = match (&a.op, h) {
        (FileOp::CloseRead { .. }, Some(OpenHandle::Read(f))) => close_read(f),
        (FileOp::CloseWrite { .. }, Some(OpenHandle::Write(u))) => FileOp::CloseWrite {
            bytes: u.bytes_written.load(Ordering::Relaxed),
            // Known when the upload commits ([`Pending::record_of`]).
            replaced: None,
        },
        (FileOp::Readdir { .. }, _) => FileOp::Readdir {
            entries: served.and_then(|s| s.entries),
        },
        (op, _) => op.clone(),
    };
    let mut e = ctx.event.clone();
    e.time = ctx.clock.now();
    e.handle = served
        .and_then(|s| download_of(s.opened.as_deref()))
        .or_else(|| download_of(h));
    e.kind = EventKind::File {
        op,
        path: a.path.clone(),
        file: served
            .and_then(|s| s.file.or_else(|| handle_file(s.opened.as_deref())))
            .or_else(|| handle_file(h)),
        outcome,
    };
    e
}

/// A record that a catalog change carries into its own transaction: made (sealed) there, once
/// the change knows the node it touched, and handed to the ledger writer after the commit.
pub struct Pending {
    event: Event,
    /// The size to record instead of the node's at commit (an open for write records the size
    /// the file had when it was opened).
    size: Option<u64>,
    ledger: Arc<Ledger>,
    made: Arc<Mutex<Option<(Event, OutboxRecord)>>>,
}

impl Pending {
    fn new(event: Event, size: Option<u64>, ledger: Arc<Ledger>) -> Self {
        Self {
            event,
            size,
            ledger,
            made: Arc::default(),
        }
    }

    /// The record maker the catalog calls inside the change's transaction.
    pub fn record_of(&self) -> RecordOf {
        let (event, size, ledger, made) = (
            self.event.clone(),
            self.size,
            self.ledger.clone(),
            self.made.clone(),
        );
        Arc::new(move |node: NodeRef| {
            let mut e = event.clone();
            if let EventKind::File { file, op, .. } = &mut e.kind {
                *file = Some(FileRef {
                    id: node.id,
                    size: size.unwrap_or(node.size),
                });
                // What the change replaced, and a directory's files it moved, known only in
                // its transaction.
                if let FileOp::CloseWrite { replaced, .. } | FileOp::Rename { replaced, .. } = op {
                    *replaced = node.replaced.map(|r| FileRef {
                        id: r.id,
                        size: r.size,
                    });
                }
                if let FileOp::Rename { moved, .. } = op {
                    *moved = node.moved.clone().map(|m| MovedFiles {
                        count: m.count,
                        ids: m.ids,
                    });
                }
            }
            let r = ledger.outbox_record(&e);
            if let Ok(mut m) = made.lock() {
                *m = Some((e, r.clone()));
            }
            r
        })
    }

    /// After the change committed: hands its record to the ledger writer, and waits until
    /// the detector has seen it when it must before the reply ([`must_be_seen`]). `false`
    /// if no record was made (the change did not reach its transaction).
    pub async fn committed(&self, ctx: &SessionContext) -> bool {
        let Some((e, r)) = self.made.lock().ok().and_then(|mut m| m.take()) else {
            return false;
        };
        let wait = must_be_seen(ctx, &e);
        self.ledger.outboxed(e, r);
        if wait {
            self.ledger.observed().await;
        }
        true
    }

    /// The change did not commit: records the event without it (not durable: it changed
    /// nothing).
    fn never_committed(self) {
        self.ledger.emit(self.event);
    }

    /// Settles the record of a change that committed (`ok`) or not.
    pub async fn settle(self, ctx: &SessionContext, ok: bool) {
        if !(ok && self.committed(ctx).await) {
            self.never_committed();
        }
    }
}

/// The record of a request the catalog commits (see [`Audited::in_catalog`]), to go into the
/// catalog's transaction with the change (a record of success: if the change fails, nothing is
/// committed and [`record`] records the failure instead).
pub fn in_catalog(ctx: &SessionContext, a: &Audited, h: Option<&OpenHandle>) -> Option<Pending> {
    a.in_catalog(h).then(|| {
        Pending::new(
            event(ctx, a, h, Outcome::Ok, None),
            None,
            ctx.ledger.clone(),
        )
    })
}

/// Records `a`, which ended with `outcome`; waits until the record is durable if the request
/// changed state or granted access. A request of that kind that failed did neither (a catalog
/// change is one transaction, an upload is private until its close commits): its record is
/// group-committed like a denial's, not awaited.
pub async fn record(
    ctx: &SessionContext,
    a: &Audited,
    h: Option<&OpenHandle>,
    outcome: Outcome,
    served: Option<&Served>,
) -> Result<(), LedgerDown> {
    let ok = outcome.is_ok();
    let e = event(ctx, a, h, outcome, served);
    // (A durable record is observed before its reply in any case; it is announced all the
    // same, as every record the detector counts once it is observed.)
    let wait = must_be_seen(ctx, &e);
    if matches!(a.op, FileOp::OpenWrite) && ok {
        // Kept with the upload: its commit carries it (`take_opened`), or its end emits it.
        match served.and_then(|s| s.opened.as_ref()) {
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
    // The end of a listing sends no name: nothing to wait for.
    let sends_nothing = matches!(
        &e.kind,
        EventKind::File {
            op: FileOp::Readdir { entries: Some(0) },
            ..
        }
    );
    if a.durable && ok && !sends_nothing {
        ctx.ledger.record(e).await
    } else {
        ctx.ledger.emit(e);
        if wait {
            ctx.ledger.observed().await;
        }
        Ok(())
    }
}

/// Whether the request `e` records must wait, before its reply, until the detector has seen
/// it (a canary touched; a change or an open near a threshold): its reply then goes out after
/// containment began, or not at all. Called once for every record of a request, before it is
/// queued (the detector counts what it has not observed yet).
fn must_be_seen(ctx: &SessionContext, e: &Event) -> bool {
    ctx.detection
        .as_ref()
        .is_some_and(|d| d.observe_before_reply(e))
}

/// The open-for-write record an upload kept, for its commit to carry (it names the file the
/// commit makes or replaces, and the size the file had when it was opened).
pub fn take_opened(ctx: &SessionContext, up: &service::files::Upload) -> Option<Pending> {
    let e = up.opened.lock().ok()?.take()?;
    Some(Pending::new(e, Some(up.size_at_open()), ctx.ledger.clone()))
}

/// Emits the open-for-write record of an upload dropped without a commit (not durable: it
/// changed nothing).
pub fn opened_never_committed(ctx: &SessionContext, up: &service::files::Upload) {
    if let Some(e) = up.opened.lock().ok().and_then(|mut o| o.take()) {
        ctx.ledger.emit(e);
    }
}

/// Records the close of a download whose session ended with it still open (killed, locked,
/// disconnected): the bytes it was sent, so a transfer cut short between two progress records
/// is still counted exactly. Not durable, like any download's close, and it does not start the
/// file's after-download retention (the client never confirmed it had everything).
pub fn read_cut_short(ctx: &SessionContext, h: &OpenHandle) {
    let OpenHandle::Read(f) = h else { return };
    let mut e = ctx.event.clone();
    e.time = ctx.clock.now();
    e.handle = Some(f.serial);
    e.kind = EventKind::File {
        op: close_read(f),
        path: f.path.display(),
        file: handle_file(Some(h)),
        outcome: Outcome::Ok,
    };
    ctx.ledger.emit(e);
}

/// Records a transfer's progress when the handle's interval or byte step has passed.
pub fn progress(ctx: &SessionContext, h: &OpenHandle) {
    let (path, total, last) = match h {
        OpenHandle::Read(f) => (&f.path, f.bytes_read.load(Ordering::Relaxed), &f.progress),
        OpenHandle::Write(u) => (
            &u.path,
            u.bytes_written.load(Ordering::Relaxed),
            &u.progress,
        ),
        OpenHandle::Dir(_) => return,
    };
    let t = ctx.clock.now();
    let Ok(mut last) = last.lock() else { return };
    if last.0 == 0 {
        *last = (t.as_millis(), 0);
        return;
    }
    if t.as_millis() - last.0 < PROGRESS_SECS * 1000 && total - last.1 < PROGRESS_BYTES {
        return;
    }
    *last = (t.as_millis(), total);
    let op = match h {
        OpenHandle::Read(_) => FileOp::ProgressRead { bytes: total },
        _ => FileOp::ProgressWrite { bytes: total },
    };
    let mut e = ctx.event.clone();
    e.time = t;
    e.handle = download_of(Some(h));
    e.kind = EventKind::File {
        op,
        path: path.display(),
        file: handle_file(Some(h)),
        outcome: Outcome::Ok,
    };
    ctx.ledger.emit(e);
}

/// Records a request the gate refused, naming the file it attempted where its path names one
/// (a canary is touched even when the touch is refused: detection sees it).
pub async fn record_denial(ctx: &SessionContext, op: &RequestOp, why: &str) {
    let (op, raw) = attempted(op);
    let file = match raw.map(JailPath::parse) {
        Some(Ok(path)) => ctx.files.resolve(&path).await.ok().map(|node| FileRef {
            id: node.id,
            size: node.size,
        }),
        _ => None,
    };
    let mut e = ctx.event.clone();
    e.time = ctx.clock.now();
    e.kind = EventKind::File {
        op,
        path: raw.map(shown).unwrap_or_default(),
        file,
        outcome: Outcome::Denied(why.to_owned()),
    };
    // Announced as every request the detector counts (its refusal was answered already).
    must_be_seen(ctx, &e);
    ctx.ledger.emit(e);
}
