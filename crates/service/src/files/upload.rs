//! Uploads: a file open for writing is a fresh blob (sealed under a data key) that the catalog
//! does not know yet. [`Files::commit`] makes it visible in one transaction, within the tenant's
//! quota; [`Files::discard`] drops it. The committed blob is never written in place: resuming or
//! modifying a file starts from a copy that keeps the file's data key.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use catalog::{NodeKind, NodeSeal};
use vault::{BlobId, BlobWriter, DataKey, Sealing};

use super::path::JailPath;
use super::reserve::Reservation;
use super::{
    DEFAULT_FILE_MODE, Files, FsError, FsResult, NameForCatalog, S_IFREG, WriteMode, blob_id_of,
    blocking,
};

/// How far past the current end of a file one write (or a size change) may reach. A gap is a
/// hole that costs nothing on disk (see `vault::seal`), but each 64 KiB of it is an entry of the
/// file's tag table; this bounds what one request can add. Clients write sequentially;
/// OpenSSH's pipeline reaches 64 requests (about 16 MiB) ahead.
pub const MAX_WRITE_GAP: u64 = 64 << 20;

/// Where a committed file's contents are.
enum Committed {
    Stored(BlobId),
    /// Raw blob bytes kept in the catalog row.
    Inline(Vec<u8>),
}

pub struct Upload {
    pub path: JailPath,
    parent_id: i64,
    name: Bytes,
    blob_id: BlobId,
    pub blob: Arc<dyn BlobWriter>,
    data_key: Option<DataKey>,
    exclusive: bool,
    pub append: bool,
    /// Its claim on the tenant's byte quota, grown as writes are accepted.
    reservation: Reservation,
    /// The free space its writes must leave on the data directory's filesystem.
    free_space: std::sync::Arc<super::free_space::FreeSpace>,
    /// Set when a write was refused for the quota: the close then discards the upload.
    pub over_quota: AtomicBool,
    pub state: Mutex<UploadState>,
    /// The file's size when it was opened (0 for a new or truncated file).
    size_at_open: u64,
    /// Opened for reading too ([`Upload::check_read`]).
    read: bool,
    /// Bytes received through WRITE.
    pub bytes_written: std::sync::atomic::AtomicU64,
    /// When and at how many bytes progress was last recorded.
    pub progress: Mutex<(i64, u64)>,
    /// The open for write's audit record, kept until the upload's commit carries it into the
    /// ledger (or, if it never commits, recorded when it is dropped).
    pub opened: Mutex<Option<events::Event>>,
    /// Its classification, scanned as its writes arrive.
    classification: Mutex<super::classification::Streamed>,
}

#[derive(Debug, Clone)]
pub struct UploadState {
    pub size: u64,
    pub mode: u32,
    pub mtime: Option<i64>,
}

impl Upload {
    /// The file's size when it was opened (0 for a new or truncated file).
    pub fn size_at_open(&self) -> u64 {
        self.size_at_open
    }

    /// Whether a READ may be served through this handle: only one opened for reading too, and
    /// only while it holds nothing but what the client wrote through it (it began empty: a
    /// new file, or one truncated). A stored file's contents are read through a handle opened
    /// for reading alone, the one whose open is recorded as a read before its reply, whose
    /// bytes are counted against the file and whose file's retention and canaries are
    /// judged; through a handle writing over it (open for reading and writing, without
    /// truncating) they would leave recorded as an upload that need never be committed.
    pub fn check_read(&self) -> FsResult<()> {
        if !self.read {
            Err(FsError::PermissionDenied("handle not open for reading"))
        } else if self.size_at_open > 0 {
            Err(FsError::PermissionDenied(
                "this handle writes over a stored file; open the file for reading to read it",
            ))
        } else {
            Ok(())
        }
    }

    /// `data` was written at `offset` (after the write succeeded): classification scans it.
    pub fn wrote(&self, offset: u64, data: &Bytes) {
        if let Ok(mut c) = self.classification.lock() {
            c.wrote(offset, data);
        }
    }

    /// The file's size was set to `size` (after the change succeeded): classification stops
    /// trusting what it scanned past it.
    pub fn resized(&self, size: u64) {
        if let Ok(mut c) = self.classification.lock() {
            c.resized(size);
        }
    }

    /// Checks a write of `[start, end)` (or a size change to `end`, with `start == end`) against
    /// the gap bound and the quota; a quota refusal sticks.
    pub fn admit(&self, start: u64, end: u64) -> FsResult<()> {
        let size = self.state.lock().map_or(0, |s| s.size);
        if start > size.saturating_add(MAX_WRITE_GAP) {
            return Err(FsError::OutOfRange(
                "write too far past the end of the file",
            ));
        }
        if end > vault::seal::MAX_FILE_SIZE {
            return Err(FsError::OutOfRange(
                "the file would exceed the largest file size (1 TiB)",
            ));
        }
        if let Err(e) = self.reservation.grow_to(end) {
            self.over_quota.store(true, Ordering::SeqCst);
            return Err(e);
        }
        if let Err(e) = self.free_space.admit(end - start) {
            // The upload is incomplete now: its close discards it.
            self.over_quota.store(true, Ordering::SeqCst);
            return Err(e);
        }
        Ok(())
    }
}

impl Files {
    /// Stores a whole new file at `path` in one go (it must not exist): opened exclusively,
    /// written, committed. For files the service itself places (canaries).
    pub async fn put_new(
        &self,
        path: &JailPath,
        data: Vec<u8>,
        now: i64,
    ) -> FsResult<catalog::Node> {
        let how = WriteMode {
            create: true,
            truncate: true,
            exclusive: true,
            append: false,
            read: false,
        };
        let up = self.open_write(path.clone(), how, None, now).await?;
        let end = data.len() as u64;
        if let Err(e) = up.admit(0, end) {
            self.discard(&up).await;
            return Err(e);
        }
        let blob = up.blob.clone();
        if let Err(e) = blocking(move || blob.write_at(&data, 0)).await {
            self.discard(&up).await;
            return Err(e.into());
        }
        if let Ok(mut s) = up.state.lock() {
            s.size = end;
        }
        self.commit(&up, now, None, None).await?;
        self.resolve(path).await
    }

    /// Opens `path` for writing into a new blob: empty when truncating or creating, otherwise a
    /// copy of the committed contents under the same data key. A file whose retention ran out
    /// at or before `now` (Unix seconds) is not there to write on (its contents are not carried
    /// into a new version, whose upload time would start its retention again): an open that
    /// would keep them finds no such file, and the sweeper deletes it; an exclusive create
    /// waits for the sweeper to delete it first, and makes a new file.
    pub async fn open_write(
        &self,
        path: JailPath,
        how: WriteMode,
        permissions: Option<u32>,
        now: i64,
    ) -> FsResult<Upload> {
        let (tk, quota) = self.fresh_state().await?;
        let (parent, name) = self.parent_of(&tk, &path).await?;
        let mut existing = self
            .catalog
            .lookup_forms(parent.id, &tk.lookup_macs(name))
            .await?;
        let exclusive = how.exclusive && how.create;
        // An exclusive create (a drop box's every upload) over a file whose retention ran out
        // but that no sweep has deleted yet: the file is not there for the client (nor in its
        // listings), so it is deleted now, on the record, and the upload is a new file.
        if exclusive
            && let Some(n) = &existing
            && n.kind == NodeKind::File
            && self.expired(n, now).await?
            && self.swept(n.id).await
        {
            existing = self
                .catalog
                .lookup_forms(parent.id, &tk.lookup_macs(name))
                .await?;
        }
        if let Some(n) = &existing
            && !how.truncate
            && !exclusive
            && self.expired(n, now).await?
        {
            return Err(FsError::NotFound);
        }
        let keep = match &existing {
            Some(n) if n.kind == NodeKind::Dir => return Err(FsError::IsADirectory),
            Some(_) if exclusive => return Err(FsError::AlreadyExists),
            Some(n) if !how.truncate => Some(n.clone()),
            Some(_) => None,
            None if !how.create => return Err(FsError::NotFound),
            None => None,
        };
        let vault = self.vault.clone();
        let (size, data_key, (blob_id, blob)) = match keep {
            Some(n) => {
                let from = if n.inline {
                    Committed::Inline(self.inline_contents(&n).await?)
                } else {
                    Committed::Stored(blob_id_of(&n)?)
                };
                let key = self.data_key(&tk, &n).await?;
                let root = n
                    .seal
                    .as_ref()
                    .map(|s| s.content_root.clone())
                    .unwrap_or_default();
                let k2 = key.clone();
                let created = blocking(move || {
                    let sealing = k2.as_ref().map(|key| Sealing { key, root: &root });
                    match from {
                        Committed::Stored(id) => vault.create_copy(id, n.size, sealing),
                        Committed::Inline(raw) => {
                            vault.create_copy_of_inline(&raw, n.size, sealing)
                        }
                    }
                })
                .await
                .map_err(|e| FsError::from(e).at(&path))?;
                (n.size, key, created)
            }
            None => {
                let key = self.seal_contents.then(|| tk.new_data_key().0);
                // A new blob starts in memory (no I/O): no blocking-pool hop.
                let created = vault.create(key.as_ref())?;
                (0, key, created)
            }
        };
        let quota = quota.map(|q| q.max(0) as u64);
        let usage = match quota {
            Some(_) => self.catalog.usage(self.tenant_id).await?.0,
            None => 0,
        };
        let reservation = self.reservations.open(
            self.tenant_id,
            quota,
            usage,
            existing.as_ref().map_or(0, |n| n.size),
        );
        let mode = existing
            .as_ref()
            .map(|n| n.mode)
            .unwrap_or(S_IFREG | permissions.map_or(DEFAULT_FILE_MODE, |p| p & 0o7777));
        let name = name.clone();
        let patterns = if size == 0 {
            self.patterns().await
        } else {
            None
        };
        Ok(Upload {
            parent_id: parent.id,
            name,
            path,
            blob_id,
            blob: blob.into(),
            data_key,
            exclusive,
            append: how.append,
            reservation,
            free_space: self.free_space.clone(),
            over_quota: AtomicBool::new(false),
            state: Mutex::new(UploadState {
                size,
                mode,
                mtime: None,
            }),
            size_at_open: size,
            read: how.read,
            bytes_written: std::sync::atomic::AtomicU64::new(0),
            progress: Mutex::new((0, 0)),
            opened: Mutex::new(None),
            classification: Mutex::new(super::classification::Streamed::new(
                size == 0,
                patterns,
                self.reservations.scan_budget(),
                self.reservations.scan_lanes(),
            )),
        })
    }

    /// Makes an upload visible: contents durable and sealed, then one catalog transaction
    /// (within quota) that also commits `opened` and `record`, the upload's open-for-write and
    /// close audit records; the blob it
    /// replaced is deleted afterwards, in the background, or kept for the next upload
    /// (`Files::retire_blob`).
    pub async fn commit(
        &self,
        up: &Upload,
        now: i64,
        record: Option<catalog::RecordOf>,
        opened: Option<catalog::RecordOf>,
    ) -> FsResult<()> {
        if up.over_quota.load(Ordering::SeqCst) {
            self.discard(up).await;
            return Err(FsError::QuotaExceeded);
        }
        let state = up
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let (blob, vault, id, size) = (up.blob.clone(), self.vault.clone(), up.blob_id, state.size);
        // Finishing a blob still in memory that stays within one chunk does no I/O: it runs
        // here, without a blocking-pool hop (as small WRITEs do).
        let in_memory = size <= vault::INLINE_FILE_MAX && blob.in_memory();
        // A small file's blob goes into its catalog row (the catalog's commit makes it durable,
        // one flush for both); a larger one is flushed here, before the catalog names it.
        let finish = move || {
            let root = blob.finish()?;
            if size <= vault::INLINE_FILE_MAX {
                // Still in memory, unless it grew and shrank again (then there is a file).
                match blob.take_inline() {
                    Some(raw) => Ok((root, Some(raw), false)),
                    None => Ok((root, Some(vault.read_raw(id)?), true)),
                }
            } else {
                blob.sync()?;
                Ok((root, None, false))
            }
        };
        let finished = if in_memory {
            finish()
        } else {
            blocking(finish).await
        };
        // `file_left`: an inline file that nonetheless had a blob file, to delete after commit.
        let (root, contents, file_left) = match finished {
            Ok(done) => done,
            Err(e) => {
                self.discard(up).await;
                return Err(e.into());
            }
        };
        let finish = up
            .classification
            .lock()
            .ok()
            .map(|mut c| c.finish(state.size));
        let streamed = match finish {
            Some(f) => f.result().await,
            None => None,
        };
        let hex = up.blob_id.to_hex();
        let inline = contents.is_some();
        let (record, opened) = (&record, &opened);
        let committed = self
            .with_current_key(|tk| {
                let (hex, state, contents, streamed) = (&hex, &state, &contents, &streamed);
                async move {
                    let (parent, name) = (up.parent_id, &up.name);
                    let name = NameForCatalog::new(&tk, name);
                    let seal = match (&up.data_key, root) {
                        (Some(k), Some(root)) => Some(NodeSeal {
                            key_id: k.id.to_vec(),
                            wrapped_key: tk.wrap_data_key(k),
                            key_version: tk.version,
                            content_root: root.to_vec(),
                        }),
                        _ => None,
                    };
                    let classes = streamed.as_ref().map(|c| {
                        // Bound to the contents as the catalog will name them (see `seal`).
                        let root = match (&up.data_key, root.as_ref()) {
                            (Some(_), Some(r)) => &r[..],
                            _ => &[][..],
                        };
                        super::classification::seal(&tk, root, c)
                    });
                    Ok(self
                        .catalog
                        .commit_upload(catalog::Upload {
                            tenant_id: self.tenant_id,
                            parent_id: parent,
                            name: name.stored(),
                            blob_id: (!inline).then_some(hex.as_str()),
                            size: state.size,
                            mode: state.mode,
                            mtime: state.mtime.unwrap_or(now),
                            seal: seal.as_ref(),
                            contents: contents.clone(),
                            exclusive: up.exclusive,
                            key_version: tk.version,
                            now,
                            record: record.clone(),
                            opened: opened.clone(),
                            classes,
                        })
                        .await?)
                }
            })
            .await;
        match committed {
            Ok(old) => {
                up.reservation.committed();
                if streamed.is_none() {
                    self.classify_later(up.path.clone());
                }
                if file_left {
                    // Its bytes are in the catalog now.
                    self.discard(up).await;
                }
                self.retire_blob(old);
                Ok(())
            }
            Err(e) => {
                self.discard(up).await;
                Err(e)
            }
        }
    }

    /// Drops an upload that will never be committed.
    pub async fn discard(&self, up: &Upload) {
        let vault = self.vault.clone();
        let id = up.blob_id;
        if let Err(e) = blocking(move || vault.remove(id)).await {
            tracing::warn!(blob = %id, error = %e, "could not remove discarded upload");
        }
    }
}
