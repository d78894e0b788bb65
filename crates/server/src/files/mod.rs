//! The tenant-jailed namespace: what a session sees as `/`.
//!
//! [`Files`] turns client paths ([`path::JailPath`]) into catalog nodes and blob handles. Names,
//! directories and attributes live in the catalog; contents live in the blob store. An upload is
//! written to a fresh blob and becomes visible only when [`Upload::commit`] swaps the catalog's
//! pointer; the replaced blob is deleted afterwards. This module never decides whether an
//! operation is allowed (the gate did, before dispatch) and never speaks the SFTP wire format.

pub mod path;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use catalog::{Catalog, CatalogError, Node, NodeKind};
use sftp_proto::attrs::{S_IFDIR, S_IFMT, S_IFREG};
use sftp_proto::{Attrs, OpenFlags, StatVfs};
use vault::{BlobError, BlobId, BlobReader, BlobStore, BlobWriter};

use path::JailPath;

/// Permission bits of new files and directories when the client gives none.
const DEFAULT_FILE_MODE: u32 = 0o644;
const DEFAULT_DIR_MODE: u32 = 0o755;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file already exists")]
    AlreadyExists,
    #[error("directory not empty")]
    NotEmpty,
    #[error("not a directory")]
    NotADirectory,
    #[error("is a directory")]
    IsADirectory,
    #[error("invalid path: {0}")]
    InvalidPath(&'static str),
    #[error("operation unsupported: {0}")]
    Unsupported(&'static str),
    #[error("permission denied: {0}")]
    PermissionDenied(&'static str),
    #[error("storage error")]
    Storage(#[from] BlobError),
    #[error("catalog error")]
    Catalog(#[source] CatalogError),
}

impl From<CatalogError> for FsError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound { .. } => FsError::NotFound,
            CatalogError::AlreadyExists { .. } => FsError::AlreadyExists,
            CatalogError::NotEmpty => FsError::NotEmpty,
            CatalogError::NotADirectory => FsError::NotADirectory,
            CatalogError::IsADirectory => FsError::IsADirectory,
            CatalogError::MoveIntoSelf => {
                FsError::InvalidPath("a directory cannot be moved inside itself")
            }
            other => FsError::Catalog(other),
        }
    }
}

pub type FsResult<T> = Result<T, FsError>;

/// One tenant's namespace, as seen by one session.
#[derive(Clone)]
pub struct Files {
    catalog: Catalog,
    blobs: Arc<dyn BlobStore>,
    tenant_id: i64,
}

/// A file open for reading: the committed blob at the time of opening.
pub struct ReadFile {
    pub node: Node,
    pub blob: Arc<dyn BlobReader>,
}

/// A file open for writing: a fresh blob that the catalog does not know yet.
pub struct Upload {
    pub path: JailPath,
    parent_id: i64,
    name: Bytes,
    blob_id: BlobId,
    pub blob: Arc<dyn BlobWriter>,
    exclusive: bool,
    pub append: bool,
    pub state: Mutex<UploadState>,
}

#[derive(Debug, Clone)]
pub struct UploadState {
    pub size: u64,
    pub mode: u32,
    pub mtime: Option<i64>,
}

/// A directory being listed, page by page.
pub struct Listing {
    dir_id: i64,
    after: Mutex<Option<Vec<u8>>>,
}

impl Files {
    pub fn new(catalog: Catalog, blobs: Arc<dyn BlobStore>, tenant_id: i64) -> Self {
        Self {
            catalog,
            blobs,
            tenant_id,
        }
    }

    async fn walk(&self, comps: &[Bytes]) -> FsResult<Node> {
        let mut node = self.catalog.root(self.tenant_id).await?;
        for c in comps {
            if node.kind != NodeKind::Dir {
                return Err(FsError::NotFound);
            }
            node = self
                .catalog
                .lookup(node.id, c)
                .await?
                .ok_or(FsError::NotFound)?;
        }
        Ok(node)
    }

    pub async fn resolve(&self, path: &JailPath) -> FsResult<Node> {
        self.walk(&path.0).await
    }

    /// The directory that holds (or would hold) `path`, and the last name.
    async fn parent_of<'p>(&self, path: &'p JailPath) -> FsResult<(Node, &'p Bytes)> {
        let (dir, name) = path.split_last().ok_or(FsError::PermissionDenied(
            "the root directory cannot be changed",
        ))?;
        let parent = self.walk(dir).await?;
        if parent.kind != NodeKind::Dir {
            return Err(FsError::NotADirectory);
        }
        Ok((parent, name))
    }

    pub async fn stat(&self, path: &JailPath) -> FsResult<Attrs> {
        Ok(attrs_of(&self.resolve(path).await?))
    }

    pub async fn open_read(&self, path: &JailPath) -> FsResult<ReadFile> {
        let node = self.resolve(path).await?;
        if node.kind == NodeKind::Dir {
            return Err(FsError::IsADirectory);
        }
        let blob = self.open_blob(&node).await?;
        Ok(ReadFile { node, blob })
    }

    async fn open_blob(&self, node: &Node) -> FsResult<Arc<dyn BlobReader>> {
        let id = blob_id_of(node)?;
        let blobs = self.blobs.clone();
        Ok(blocking(move || blobs.open(id)).await?.into())
    }

    /// Opens `path` for writing into a new blob: empty when truncating or creating, otherwise a
    /// copy of the committed contents (the committed blob is never written in place).
    pub async fn open_write(
        &self,
        path: JailPath,
        flags: OpenFlags,
        attrs: &Attrs,
    ) -> FsResult<Upload> {
        let (parent, name) = self.parent_of(&path).await?;
        let existing = self.catalog.lookup(parent.id, name).await?;
        let exclusive = flags.has(OpenFlags::EXCL) && flags.has(OpenFlags::CREAT);
        let source = match &existing {
            Some(n) if n.kind == NodeKind::Dir => return Err(FsError::IsADirectory),
            Some(_) if exclusive => return Err(FsError::AlreadyExists),
            Some(n) if !flags.has(OpenFlags::TRUNC) => Some(n.clone()),
            Some(_) => None,
            None if !flags.has(OpenFlags::CREAT) => return Err(FsError::NotFound),
            None => None,
        };
        let blobs = self.blobs.clone();
        let (size, (blob_id, blob)) = match &source {
            Some(n) => {
                let from = blob_id_of(n)?;
                (n.size, blocking(move || blobs.create_copy(from)).await?)
            }
            None => (0, blocking(move || blobs.create()).await?),
        };
        let mode = existing
            .as_ref()
            .map(|n| n.mode)
            .unwrap_or(S_IFREG | attrs.permissions.map_or(DEFAULT_FILE_MODE, |p| p & 0o7777));
        let name = name.clone();
        Ok(Upload {
            parent_id: parent.id,
            name,
            path,
            blob_id,
            blob: blob.into(),
            exclusive,
            append: flags.has(OpenFlags::APPEND),
            state: Mutex::new(UploadState {
                size,
                mode,
                mtime: None,
            }),
        })
    }

    /// Makes an upload visible (durable first), then deletes the blob it replaced.
    pub async fn commit(&self, up: &Upload, now: i64) -> FsResult<()> {
        let blob = up.blob.clone();
        blocking(move || blob.sync()).await?;
        let state = up
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let hex = up.blob_id.to_hex();
        let old = self
            .catalog
            .commit_upload(&catalog::Upload {
                tenant_id: self.tenant_id,
                parent_id: up.parent_id,
                name: &up.name,
                blob_id: Some(&hex),
                size: state.size,
                mode: state.mode,
                mtime: state.mtime.unwrap_or(now),
                exclusive: up.exclusive,
            })
            .await;
        match old {
            Ok(old) => {
                self.remove_blob(old).await;
                Ok(())
            }
            Err(e) => {
                self.discard(up).await;
                Err(e.into())
            }
        }
    }

    /// Drops an upload that will never be committed.
    pub async fn discard(&self, up: &Upload) {
        let blobs = self.blobs.clone();
        let id = up.blob_id;
        if let Err(e) = blocking(move || blobs.remove(id)).await {
            tracing::warn!(blob = %id, error = %e, "could not remove discarded upload");
        }
    }

    async fn remove_blob(&self, hex: Option<String>) {
        let Some(id) = hex.and_then(|h| BlobId::from_hex(&h).ok()) else {
            return;
        };
        let blobs = self.blobs.clone();
        if let Err(e) = blocking(move || blobs.remove(id)).await {
            tracing::warn!(blob = %id, error = %e, "could not remove replaced blob");
        }
    }

    pub async fn open_dir(&self, path: &JailPath) -> FsResult<Listing> {
        let node = self.resolve(path).await?;
        if node.kind != NodeKind::Dir {
            return Err(FsError::NotADirectory);
        }
        Ok(Listing {
            dir_id: node.id,
            after: Mutex::new(None),
        })
    }

    /// The next page of a listing; empty when done.
    pub async fn read_dir(&self, l: &Listing, max: u32) -> FsResult<Vec<(Bytes, Attrs)>> {
        let after = l.after.lock().map(|a| a.clone()).unwrap_or(None);
        let nodes = self
            .catalog
            .list_dir(l.dir_id, after.as_deref(), max)
            .await?;
        if let Some(last) = nodes.last()
            && let Ok(mut a) = l.after.lock()
        {
            *a = Some(last.name.clone());
        }
        Ok(nodes
            .into_iter()
            .map(|n| {
                let attrs = attrs_of(&n);
                (Bytes::from(n.name), attrs)
            })
            .collect())
    }

    pub async fn mkdir(&self, path: &JailPath, attrs: &Attrs, now: i64) -> FsResult<()> {
        if path.is_root() {
            return Err(FsError::AlreadyExists);
        }
        let (parent, name) = self.parent_of(path).await?;
        let mode = S_IFDIR | attrs.permissions.map_or(DEFAULT_DIR_MODE, |p| p & 0o7777);
        self.catalog
            .mkdir(self.tenant_id, parent.id, name, mode, now)
            .await?;
        Ok(())
    }

    pub async fn remove(&self, path: &JailPath) -> FsResult<()> {
        let node = self.resolve(path).await?;
        let old = self.catalog.remove_file(node.id).await?;
        self.remove_blob(old).await;
        Ok(())
    }

    pub async fn rmdir(&self, path: &JailPath) -> FsResult<()> {
        let node = self.resolve(path).await?;
        if node.parent_id.is_none() {
            return Err(FsError::PermissionDenied(
                "the root directory cannot be removed",
            ));
        }
        Ok(self.catalog.rmdir(node.id).await?)
    }

    /// Renames `from` to `to`; `replace` gives POSIX semantics (an existing file is replaced).
    pub async fn rename(&self, from: &JailPath, to: &JailPath, replace: bool) -> FsResult<()> {
        let node = self.resolve(from).await?;
        if node.parent_id.is_none() {
            return Err(FsError::PermissionDenied(
                "the root directory cannot be renamed",
            ));
        }
        let (parent, name) = self.parent_of(to).await?;
        let old = self
            .catalog
            .rename(node.id, parent.id, name, replace)
            .await?;
        self.remove_blob(old).await;
        Ok(())
    }

    /// Applies permissions and times; a size change by path is refused (open and truncate).
    pub async fn set_attrs(&self, path: &JailPath, attrs: &Attrs) -> FsResult<()> {
        let node = self.resolve(path).await?;
        self.set_node_attrs(&node, attrs).await
    }

    pub async fn set_node_attrs(&self, node: &Node, attrs: &Attrs) -> FsResult<()> {
        if attrs.size.is_some_and(|s| s != node.size) {
            return Err(FsError::Unsupported(
                "changing a file's size by path; open it for writing instead",
            ));
        }
        let times = attrs.times.map(|(a, m)| (i64::from(a), i64::from(m)));
        Ok(self
            .catalog
            .set_attrs(node.id, attrs.permissions, times)
            .await?)
    }

    /// Filesystem statistics of the blob store's disk, for `df`.
    pub fn statvfs(&self, dir: &std::path::Path) -> FsResult<StatVfs> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| FsError::InvalidPath("data directory path"))?;
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return Err(FsError::Storage(BlobError::Store {
                path: dir.display().to_string(),
                source: std::io::Error::last_os_error(),
            }));
        }
        Ok(StatVfs {
            bsize: s.f_bsize as u64,
            frsize: s.f_frsize as u64,
            blocks: s.f_blocks as u64,
            bfree: s.f_bfree as u64,
            bavail: s.f_bavail as u64,
            files: s.f_files as u64,
            ffree: s.f_ffree as u64,
            favail: s.f_favail as u64,
            fsid: 0,
            flag: s.f_flag as u64,
            namemax: sftp_proto::limits::MAX_NAME_LEN as u64,
        })
    }
}

/// SFTP attributes of a catalog node.
pub fn attrs_of(n: &Node) -> Attrs {
    let kind_bits = if n.kind == NodeKind::Dir {
        S_IFDIR
    } else {
        S_IFREG
    };
    Attrs {
        size: Some(n.size),
        uid_gid: None,
        permissions: Some(kind_bits | (n.mode & !S_IFMT)),
        times: Some((clamp_u32(n.atime), clamp_u32(n.mtime))),
        extended: Vec::new(),
    }
}

fn clamp_u32(t: i64) -> u32 {
    t.clamp(0, i64::from(u32::MAX)) as u32
}

fn blob_id_of(node: &Node) -> FsResult<BlobId> {
    node.blob_id
        .as_deref()
        .ok_or(FsError::NotFound)
        .and_then(|h| Ok(BlobId::from_hex(h)?))
}

/// Runs blob I/O on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(BlobError::Store {
            path: "blocking task".into(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}
