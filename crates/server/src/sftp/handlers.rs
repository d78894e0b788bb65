//! Request handlers, one per operation, reached through the single `match` in [`handle`] (the
//! dispatch table). Each returns the encoded reply. Permission was decided before dispatch.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use catalog::RecordOf;
use events::{FileRef, Outcome};
use sftp_proto::limits::{MAX_PACKET_LEN, MAX_READ_WRITE_LEN, MAX_READDIR_ENTRIES};
use sftp_proto::longname::longname;
use sftp_proto::message::{DATA_HEADER_LEN, data_header};
use sftp_proto::{Attrs, Extended, NameEntry, OpenFlags, RequestOp, Response, StatusCode};

use super::audit;
use super::domain::{self, attrs_of};
use super::status::{self, from_fs, ok};
use super::{OpenHandle, Served, SessionContext};
use service::files::path::JailPath;
use service::files::{FsError, blocking};

/// Serves one request. `handle` is the open handle the request named, already looked up.
pub async fn handle(
    ctx: &SessionContext,
    id: u32,
    op: RequestOp,
    handle: Option<Arc<OpenHandle>>,
) -> Bytes {
    let what = op.name();
    let audited = audit::of(&op, handle.as_deref());
    // An upload's close also commits its open-for-write record (kept since the OPEN), queued
    // first so that it stays first in the ledger, even through the outbox after a crash.
    let opened = match (&op, handle.as_deref()) {
        (RequestOp::Close { .. }, Some(OpenHandle::Write(up))) => audit::take_opened(ctx, up),
        _ => None,
    };
    // The record of a change the catalog commits goes into the change's own transaction.
    let in_catalog = audited
        .as_ref()
        .and_then(|a| audit::in_catalog(ctx, a, handle.as_deref()));
    let progress = matches!(op, RequestOp::Read { .. } | RequestOp::Write { .. });
    let writing = match &op {
        RequestOp::Write { data, .. } => data.len() as u64,
        _ => 0,
    };
    let records = Records {
        change: in_catalog.as_ref().map(audit::Pending::record_of),
        opened: opened.as_ref().map(audit::Pending::record_of),
    };
    let result = serve(ctx, id, op, handle.clone(), records).await;
    if let Err(e) = &result {
        tracing::debug!(account = %ctx.principal.account, id, op = what, error = %e, "request failed");
    }
    if let Some(p) = opened {
        // Committed with the upload, or (the upload never became visible) recorded as an open
        // that changed nothing.
        p.settle(ctx, result.is_ok()).await;
    }
    let outcome = match &result {
        Ok(_) => Outcome::Ok,
        Err(e) => audit::outcome_of(e),
    };
    // A directory's rename refused as it would hide files: its record names them.
    let audited = match (&result, audited) {
        (Err(FsError::WouldHide { moved, .. }), Some(a)) => Some(a.moving(moved.clone())),
        (_, a) => a,
    };
    let served = result.as_ref().ok();
    // Succeeded: the catalog committed the record with the change.
    let committed = match (&in_catalog, served) {
        (Some(p), Some(_)) => p.committed(ctx).await,
        _ => false,
    };
    let recorded = match audited {
        Some(_) if committed => Ok(()),
        Some(a) => audit::record(ctx, &a, handle.as_deref(), outcome, served).await,
        None => Ok(()),
    };
    let reply = match result {
        Ok(s) if recorded.is_err() => {
            // Not recorded, so not done: nothing it opened stays registered.
            if let Some(h) = s.opened {
                unregister(ctx, &h).await;
            }
            return status::reply(id, StatusCode::FAILURE, status::LEDGER_DOWN);
        }
        Ok(s) => s,
        Err(e) => {
            return from_fs(id, &e);
        }
    };
    if progress && let Some(h) = handle.as_deref() {
        use std::sync::atomic::Ordering::Relaxed;
        if reply.transferred > 0 {
            let before = ctx.live.bytes_read.fetch_add(reply.transferred, Relaxed);
            let total = before + reply.transferred;
            // The detector looks at the session's reads every BYTES_BETWEEN_LOOKS, so that a
            // large file is judged while it is read.
            let step = service::detection::BYTES_BETWEEN_LOOKS;
            if let Some(d) = &ctx.detection
                && before / step != total / step
            {
                d.session_bytes(&ctx.live.session_id, total, ctx.clock.now());
            }
        } else if writing > 0 {
            ctx.live.bytes_written.fetch_add(writing, Relaxed);
        }
        audit::progress(ctx, h);
    }
    reply.reply
}

pub(crate) use audit::record_denial;

/// The audit records a request's catalog transaction carries (see `audit::in_catalog`): the
/// change's own, and for an upload's close its open-for-write record.
struct Records {
    change: Option<RecordOf>,
    opened: Option<RecordOf>,
}

async fn serve(
    ctx: &SessionContext,
    id: u32,
    op: RequestOp,
    handle: Option<Arc<OpenHandle>>,
    records: Records,
) -> Result<Served, FsError> {
    let jail = |raw: &Bytes| JailPath::parse(raw);
    let record = records.change;
    let now = ctx.clock.unix_secs();
    match (op, handle) {
        (RequestOp::Open { path, flags, attrs }, _) => open(ctx, id, &path, flags, &attrs).await,
        (RequestOp::Opendir { path }, _) => opendir(ctx, id, &path).await,
        (RequestOp::Close { .. }, Some(h)) => {
            match h.as_ref() {
                OpenHandle::Write(up) => ctx.files.commit(up, now, record, records.opened).await?,
                OpenHandle::Read(f) => ctx.files.finish_read(f, now, record).await?,
                OpenHandle::Dir(_) => {}
            }
            Ok(Served::new(ok(id)))
        }
        (RequestOp::Read { offset, len, .. }, Some(h)) => read(id, &h, offset, len).await,
        (RequestOp::Write { offset, data, .. }, Some(h)) => write(id, &h, offset, data).await,
        (RequestOp::Readdir { .. }, Some(h)) => readdir(ctx, id, &h).await,
        (RequestOp::Fstat { .. }, Some(h)) => fstat(id, &h),
        (RequestOp::Fsetstat { attrs, .. }, Some(h)) => fsetstat(ctx, id, &h, &attrs, record).await,
        (RequestOp::Stat { path } | RequestOp::Lstat { path }, _) => {
            let node = ctx.files.stat(&jail(&path)?, now).await?;
            let reply = Response::Attrs {
                id,
                attrs: attrs_of(&node),
            }
            .encode();
            Ok(Served {
                file: Some(FileRef {
                    id: node.id,
                    size: node.size,
                }),
                ..Served::new(reply)
            })
        }
        (RequestOp::Setstat { path: p, attrs }, _)
        | (RequestOp::Extended(Extended::Lsetstat { path: p, attrs }), _) => {
            ctx.files
                .set_attrs(&jail(&p)?, &domain::attr_change(&attrs), now, record)
                .await?;
            Ok(Served::new(ok(id)))
        }
        (RequestOp::Remove { path: p }, _) => {
            ctx.files.remove(&jail(&p)?, record).await?;
            Ok(Served::new(ok(id)))
        }
        (RequestOp::Rmdir { path: p }, _) => {
            ctx.files.rmdir(&jail(&p)?, record).await?;
            Ok(Served::new(ok(id)))
        }
        (RequestOp::Mkdir { path: p, attrs }, _) => {
            ctx.files
                .mkdir(&jail(&p)?, attrs.permissions, now, record)
                .await?;
            Ok(Served::new(ok(id)))
        }
        (RequestOp::Rename { from, to }, _) => rename(ctx, id, &from, &to, false, record).await,
        (RequestOp::Extended(Extended::PosixRename { from, to }), _) => {
            rename(ctx, id, &from, &to, true, record).await
        }
        (RequestOp::Realpath { path: p }, _) => Ok(name_reply(id, jail(&p)?.to_bytes())),
        (RequestOp::Extended(Extended::ExpandPath { path }), _) => expand_path(id, &path),
        (RequestOp::Extended(Extended::HomeDirectory { username }), _) => {
            if username.as_ref() == ctx.principal.account.as_bytes() {
                Ok(name_reply(id, Bytes::from_static(b"/")))
            } else {
                Err(FsError::NotFound)
            }
        }
        (RequestOp::Readlink { path: p }, _) => {
            ctx.files.stat(&jail(&p)?, now).await?;
            Err(FsError::NotASymlink)
        }
        (RequestOp::Symlink { .. }, _) => {
            Err(FsError::Unsupported("symbolic links are not supported"))
        }
        (RequestOp::Extended(Extended::Hardlink { .. }), _) => {
            Err(FsError::Unsupported("hard links are not supported"))
        }
        (RequestOp::Extended(Extended::Statvfs { .. } | Extended::Fstatvfs { .. }), _) => {
            ctx.files.space(&ctx.data_dir).map(|s| {
                Served::new(
                    Response::ExtendedReply {
                        id,
                        data: domain::statvfs(&s).encode(),
                    }
                    .encode(),
                )
            })
        }
        (RequestOp::Extended(Extended::Fsync { .. }), Some(_)) => Ok(Served::new(fsync(id))),
        (RequestOp::Extended(Extended::Limits), _) => Ok(Served::new(limits(ctx, id))),
        (RequestOp::Extended(Extended::CopyData { .. } | Extended::Unknown { .. }), _) => {
            Err(FsError::Unsupported("extension not supported"))
        }
        // A handle operation always arrives with its handle (the driver looked it up).
        (_, None) => Err(FsError::InvalidHandle("invalid handle")),
    }
}

fn name_reply(id: u32, path: Bytes) -> Served {
    Served::new(
        Response::Name {
            id,
            entries: vec![NameEntry {
                filename: path.clone(),
                longname: path,
                attrs: Attrs::default(),
            }],
        }
        .encode(),
    )
}

fn wrong_handle() -> FsError {
    FsError::InvalidHandle("operation not valid on this handle")
}

async fn open(
    ctx: &SessionContext,
    id: u32,
    raw: &Bytes,
    flags: OpenFlags,
    attrs: &Attrs,
) -> Result<Served, FsError> {
    let path = JailPath::parse(raw)?;
    let handle = if domain::opens_for_writing(flags) {
        let how = domain::write_mode(flags);
        let now = ctx.clock.unix_secs();
        OpenHandle::Write(
            ctx.files
                .open_write(path, how, attrs.permissions, now)
                .await?,
        )
    } else {
        let f = ctx
            .files
            .open_download(&path, ctx.clock.now().as_secs())
            .await?;
        // Parts of the file this connection reads through several handles join up.
        let shared = ctx.live.download_coverage(&f.node);
        OpenHandle::Read(f.joined(shared))
    };
    register(ctx, id, handle).await
}

async fn opendir(ctx: &SessionContext, id: u32, raw: &Bytes) -> Result<Served, FsError> {
    let listing = ctx.files.open_dir(&JailPath::parse(raw)?).await?;
    register(ctx, id, OpenHandle::Dir(listing)).await
}

async fn register(ctx: &SessionContext, id: u32, h: OpenHandle) -> Result<Served, FsError> {
    let h = Arc::new(h);
    let token = ctx.entropy.array();
    let inserted = match ctx.handles.lock() {
        Ok(mut t) => t.insert(h.clone(), token),
        Err(_) => None,
    };
    match inserted {
        Some(handle) => Ok(Served {
            opened: Some(h),
            ..Served::new(Response::Handle { id, handle }.encode())
        }),
        None => {
            if let OpenHandle::Write(up) = h.as_ref() {
                ctx.files.discard(up).await;
            }
            Err(FsError::TooManyHandles)
        }
    }
}

/// Takes back a handle just registered (its request could not be recorded).
async fn unregister(ctx: &SessionContext, h: &Arc<OpenHandle>) {
    let removed = ctx
        .handles
        .lock()
        .map(|mut t| t.remove_handle(h))
        .unwrap_or(false);
    if removed && let OpenHandle::Write(up) = h.as_ref() {
        audit::opened_never_committed(ctx, up);
        ctx.files.discard(up).await;
    }
}

async fn read(id: u32, h: &OpenHandle, offset: u64, len: u32) -> Result<Served, FsError> {
    let (blob, path) = match h {
        OpenHandle::Read(f) => (f.blob.clone(), &f.path),
        OpenHandle::Write(up) => {
            up.check_read()?;
            (up.blob.clone() as Arc<dyn vault::BlobReader>, &up.path)
        }
        OpenHandle::Dir(_) => return Err(wrong_handle()),
    };
    let eof = || Served::new(status::reply(id, StatusCode::EOF, "end of file"));
    // A committed file's size is the catalog's: at or past it is the end, without a trip to
    // the blocking pool (every download ends with such a READ).
    if let OpenHandle::Read(f) = h
        && offset >= f.node.size
    {
        return Ok(eof());
    }
    let len = len.min(MAX_READ_WRITE_LEN) as usize;
    // Read straight into the reply buffer, behind room for its header.
    let read = move || {
        let mut buf = vec![0u8; DATA_HEADER_LEN + len];
        let n = blob.read_at(&mut buf[DATA_HEADER_LEN..], offset)?;
        buf.truncate(DATA_HEADER_LEN + n);
        Ok((buf, n))
    };
    // A file kept inline is in memory (at most one chunk to open): no disk, no blocking pool.
    let frame = if matches!(h, OpenHandle::Read(f) if f.node.inline) {
        read()
    } else {
        blocking(read).await
    }
    .map_err(|e| FsError::from(e).at(path))?;
    let (mut buf, n) = frame;
    if n == 0 {
        return Ok(eof());
    }
    if let OpenHandle::Read(f) = h {
        f.served(offset, n as u64);
    }
    buf[..DATA_HEADER_LEN].copy_from_slice(&data_header(id, n as u32));
    Ok(Served {
        transferred: n as u64,
        ..Served::new(Bytes::from(buf))
    })
}

async fn write(id: u32, h: &OpenHandle, offset: u64, data: Bytes) -> Result<Served, FsError> {
    let OpenHandle::Write(up) = h else {
        return Err(FsError::PermissionDenied("handle not open for writing"));
    };
    let offset = match up.state.lock() {
        Ok(s) if up.append => s.size,
        _ => offset,
    };
    let end = offset
        .checked_add(data.len() as u64)
        .ok_or(FsError::OutOfRange("write offset out of range"))?;
    up.admit(offset, end)?;
    let blob = up.blob.clone();
    let written = data.clone();
    // Within the first chunk of a blob still in memory (every small upload), or into a sealed
    // chunk still being filled (every other write of a large one), there is no I/O: no trip to
    // the blocking pool (two thread hand-offs per write otherwise).
    if (end <= vault::INLINE_FILE_MAX && blob.in_memory()) || blob.buffers(offset, data.len()) {
        blob.write_at(&data, offset)
    } else {
        blocking(move || blob.write_at(&data, offset)).await
    }
    .map_err(|e| FsError::from(e).at(&up.path))?;
    up.wrote(offset, &written);
    if let Ok(mut s) = up.state.lock() {
        s.size = s.size.max(end);
    }
    up.bytes_written
        .fetch_add(end - offset, std::sync::atomic::Ordering::Relaxed);
    Ok(Served::new(ok(id)))
}

async fn readdir(ctx: &SessionContext, id: u32, h: &OpenHandle) -> Result<Served, FsError> {
    let OpenHandle::Dir(listing) = h else {
        return Err(wrong_handle());
    };
    let now = ctx.clock.unix_secs();
    let page = ctx
        .files
        .read_dir_at(listing, MAX_READDIR_ENTRIES as u32, now)
        .await?;
    if page.is_empty() {
        return Ok(Served {
            entries: Some(0),
            ..Served::new(status::reply(id, StatusCode::EOF, "end of directory"))
        });
    }
    let owner = ctx.principal.tenant.as_str();
    let count = page.len() as u64;
    let entries = page
        .into_iter()
        .map(|(name, node)| {
            let attrs = attrs_of(&node);
            NameEntry {
                longname: Bytes::from(longname(&name, &attrs, owner, now)),
                filename: name,
                attrs,
            }
        })
        .collect();
    Ok(Served {
        entries: Some(count),
        ..Served::new(Response::Name { id, entries }.encode())
    })
}

fn fstat(id: u32, h: &OpenHandle) -> Result<Served, FsError> {
    let attrs = match h {
        OpenHandle::Read(f) => attrs_of(&f.node),
        OpenHandle::Write(up) => {
            let s = up
                .state
                .lock()
                .map(|s| s.clone())
                .map_err(|_| FsError::NotFound)?;
            Attrs {
                size: Some(s.size),
                permissions: Some(s.mode),
                ..Attrs::default()
            }
        }
        OpenHandle::Dir(_) => return Err(wrong_handle()),
    };
    Ok(Served::new(Response::Attrs { id, attrs }.encode()))
}

async fn fsetstat(
    ctx: &SessionContext,
    id: u32,
    h: &OpenHandle,
    attrs: &Attrs,
    record: Option<RecordOf>,
) -> Result<Served, FsError> {
    match h {
        OpenHandle::Write(up) => {
            if let Some(size) = attrs.size {
                up.admit(size, size)?;
                let blob = up.blob.clone();
                blocking(move || blob.set_len(size)).await?;
                up.resized(size);
            }
            if let Ok(mut s) = up.state.lock() {
                if let Some(size) = attrs.size {
                    s.size = size;
                }
                if let Some(p) = attrs.permissions {
                    s.mode = (s.mode & !0o7777) | (p & 0o7777);
                }
                if let Some((_, mtime)) = attrs.times {
                    s.mtime = Some(i64::from(mtime));
                }
            }
            Ok(Served::new(ok(id)))
        }
        OpenHandle::Read(f) => {
            ctx.files
                .set_node_attrs(&f.node, &domain::attr_change(attrs), record)
                .await?;
            Ok(Served::new(ok(id)))
        }
        OpenHandle::Dir(_) => Err(wrong_handle()),
    }
}

async fn rename(
    ctx: &SessionContext,
    id: u32,
    from: &Bytes,
    to: &Bytes,
    replace: bool,
    record: Option<RecordOf>,
) -> Result<Served, FsError> {
    let (raw_from, raw_to) = (from, to);
    let from = JailPath::parse(raw_from)?;
    let to = JailPath::parse(raw_to)?;
    // A directory moves every file under it in one request: when that would take the account
    // past the `mass_change` limit, it is refused before it is done (its refusal's record names
    // the files, and the detector, observing it before the reply, contains the account).
    if let Some(d) = &ctx.detection
        && let Some(moved) = ctx.files.files_under_dir(&from).await?
    {
        let e = audit::rename_of_directory(ctx, raw_from, raw_to, moved.clone());
        if let Some(files) = d.would_hide(&e) {
            return Err(FsError::WouldHide { files, moved });
        }
    }
    let now = ctx.clock.unix_secs();
    ctx.files.rename(&from, &to, replace, now, record).await?;
    Ok(Served::new(ok(id)))
}

/// expand-path@openssh.com: `~` and `~/x` are the home directory, which is the jail root.
fn expand_path(id: u32, raw: &Bytes) -> Result<Served, FsError> {
    let rest = if raw.as_ref() == b"~" {
        Bytes::new()
    } else if raw.starts_with(b"~/") {
        raw.slice(2..)
    } else {
        raw.clone()
    };
    Ok(name_reply(id, JailPath::parse(&rest)?.to_bytes()))
}

/// fsync@openssh.com: answered at once. An upload is private until its close commits it,
/// and that commit is durable before the close's reply; a crash before the close discards the
/// upload whatever was flushed of it. Flushing here would only cost time (and move a small
/// upload out of memory into a file of its own).
fn fsync(id: u32) -> Bytes {
    ok(id)
}

fn limits(ctx: &SessionContext, id: u32) -> Bytes {
    let max_handles = ctx.handles.lock().map(|t| t.max()).unwrap_or(0);
    let mut b = BytesMut::with_capacity(32);
    b.put_u64(u64::from(MAX_PACKET_LEN));
    b.put_u64(u64::from(MAX_READ_WRITE_LEN));
    b.put_u64(u64::from(MAX_READ_WRITE_LEN));
    b.put_u64(max_handles as u64);
    Response::ExtendedReply {
        id,
        data: b.freeze(),
    }
    .encode()
}
