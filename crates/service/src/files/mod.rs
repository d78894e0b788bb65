//! The tenant-jailed namespace: what a session sees as `/`.
//!
//! [`Files`] turns client paths ([`path::JailPath`]) into catalog nodes and sealed blobs. Names
//! reach the catalog only in their stored forms (lookup MAC and sealed name, made with the
//! tenant key); contents reach the disk only sealed under a per-file data key. Uploads
//! ([`upload`]) become visible only when committed. This module never decides whether an
//! operation is allowed (the gate did, before dispatch) and never speaks the SFTP wire format.

pub mod classification;
pub mod coverage;
pub mod free_space;
pub mod path;
pub mod reserve;
pub mod upload;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use catalog::{Catalog, CatalogError, Node, NodeKind, RecordOf, StoredName};
use vault::{BlobError, BlobId, BlobReader, DataKey, SealError, Sealing, TenantKey, Vault};

use crate::keys::KeyringHandle;

use path::JailPath;
pub use upload::{Upload, UploadState};

/// `st_mode` file type bits (POSIX).
pub const S_IFMT: u32 = 0o170_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;

/// A change of a file's attributes (`None`: unchanged). Times are Unix seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttrChange {
    pub size: Option<u64>,
    /// Permission bits (the type bits are never changed).
    pub permissions: Option<u32>,
    /// (access, modification).
    pub times: Option<(i64, i64)>,
}

/// How a file is opened for writing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteMode {
    /// Create the file if it does not exist.
    pub create: bool,
    /// Start from an empty file (otherwise from the existing contents).
    pub truncate: bool,
    /// Fail if the file exists (with `create`).
    pub exclusive: bool,
    /// Every write goes to the end of the file.
    pub append: bool,
    /// The handle may be read from too (what the client wrote through it, never contents
    /// stored before: see [`Upload::check_read`]).
    pub read: bool,
}

/// Space on the storage behind the namespace (what `df` shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceReport {
    pub block_size: u64,
    pub fragment_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub blocks_available: u64,
    pub files: u64,
    pub files_free: u64,
    pub files_available: u64,
    pub read_only: bool,
    pub max_name_len: u64,
}

/// A node's `st_mode`: its type bits and its permission bits.
pub fn mode_of(n: &Node) -> u32 {
    let kind_bits = if n.kind == NodeKind::Dir {
        S_IFDIR
    } else {
        S_IFREG
    };
    kind_bits | (n.mode & !S_IFMT)
}

/// Permission bits of new files and directories when the client gives none.
const DEFAULT_FILE_MODE: u32 = 0o644;
const DEFAULT_DIR_MODE: u32 = 0o755;
/// Longest a blob an upload replaced is kept for the next upload (see `Files::retire_blob`).
pub const RETIRED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

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
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("no space left on the server's storage; nothing was stored")]
    NoSpace,
    #[error("{0}")]
    OutOfRange(&'static str),
    #[error("the file failed its integrity check; its contents are withheld")]
    Integrity { path: String, reason: SealError },
    #[error("storage error")]
    Storage(#[from] BlobError),
    #[error("key error")]
    Key(#[from] vault::KeyError),
    #[error("catalog error")]
    Catalog(#[source] CatalogError),
    #[error("not a symbolic link")]
    NotASymlink,
    #[error("{0}")]
    InvalidHandle(&'static str),
    #[error("too many open handles; close some first")]
    TooManyHandles,
    /// A directory's rename refused before it was done: it would have moved past the
    /// `mass_change` limit files of others (the files named, for its record).
    #[error(
        "permission denied: renaming this directory would move {files} files of others at once"
    )]
    WouldHide {
        files: u64,
        moved: events::MovedFiles,
    },
}

impl From<CatalogError> for FsError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound { .. } => FsError::NotFound,
            CatalogError::AlreadyExists { .. } => FsError::AlreadyExists,
            CatalogError::NotEmpty => FsError::NotEmpty,
            CatalogError::NotADirectory => FsError::NotADirectory,
            CatalogError::IsADirectory => FsError::IsADirectory,
            CatalogError::QuotaExceeded => FsError::QuotaExceeded,
            CatalogError::MoveIntoSelf => {
                FsError::InvalidPath("a directory cannot be moved inside itself")
            }
            other => FsError::Catalog(other),
        }
    }
}

impl FsError {
    /// What kind of failure this is, as the ledger records it.
    pub fn code(&self) -> events::FailureCode {
        use events::FailureCode as C;
        if self.is_out_of_space() {
            return C::NoSpace;
        }
        match self {
            FsError::NotFound => C::NoSuchFile,
            FsError::AlreadyExists => C::AlreadyExists,
            FsError::NotEmpty => C::NotEmpty,
            FsError::NotADirectory => C::NotADirectory,
            FsError::IsADirectory => C::IsADirectory,
            FsError::InvalidPath(_) | FsError::NotASymlink => C::InvalidPath,
            FsError::Unsupported(_) => C::Unsupported,
            FsError::PermissionDenied(_) | FsError::WouldHide { .. } => C::PermissionDenied,
            FsError::QuotaExceeded => C::QuotaExceeded,
            FsError::NoSpace => C::NoSpace,
            FsError::OutOfRange(_) => C::OutOfRange,
            FsError::Integrity { .. } => C::Integrity,
            FsError::InvalidHandle(_) => C::InvalidHandle,
            FsError::TooManyHandles => C::TooManyHandles,
            FsError::Storage(_) | FsError::Key(_) | FsError::Catalog(_) => C::ServerError,
        }
    }

    /// Whether this is the storage's passing lack of the server's own resources (too many
    /// open files, no memory: `vault::BlobError::is_passing`), which says nothing of the file
    /// and may not recur.
    pub fn is_passing(&self) -> bool {
        matches!(self, FsError::Storage(b) if b.is_passing())
    }

    /// Whether this comes from storage that is full (`ENOSPC`, `EDQUOT`, SQLite's "disk is
    /// full").
    pub fn is_out_of_space(&self) -> bool {
        if matches!(self, FsError::NoSpace) {
            return true;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>()
                && matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
            {
                return true;
            }
            if c.to_string().contains("disk is full") {
                return true;
            }
            cause = c.source();
        }
        false
    }

    /// Attaches the file's path to an integrity failure (so the log can name the file).
    pub fn at(self, path: &JailPath) -> Self {
        match self {
            FsError::Storage(BlobError::Integrity { reason, .. }) => FsError::Integrity {
                path: path.display(),
                reason,
            },
            other => other,
        }
    }
}

pub type FsResult<T> = Result<T, FsError>;

/// One tenant's namespace, as seen by one session.
#[derive(Clone)]
pub struct Files {
    catalog: Catalog,
    vault: Vault,
    keyring: Arc<KeyringHandle>,
    tenant_id: i64,
    /// Whether new contents are sealed (always, outside benchmarks that measure its cost).
    seal_contents: bool,
    /// The tenant key last unwrapped. Used optimistically: mutations are checked against the
    /// catalog's key version in their transaction, and a lookup that finds nothing re-checks it.
    key_cache: Arc<Mutex<Option<Arc<TenantKey>>>>,
    /// The tenant's root directory (fixed for the tenant's life).
    root_id: Arc<std::sync::OnceLock<i64>>,
    /// Byte-quota reservations of open uploads, shared by every session of the node.
    reservations: Arc<reserve::Reservations>,
    /// Free space uploads must leave on the data directory's filesystem.
    free_space: Arc<free_space::FreeSpace>,
    /// The tenant's own classification patterns, read at this session's first need of them
    /// (a pattern added later applies to later sessions).
    patterns: Arc<tokio::sync::OnceCell<Option<Arc<classify::Patterns>>>>,
    /// Where a file a download finds expired goes to be deleted (the server's sweeper).
    found_expired: Option<crate::retention::FoundExpired>,
}

/// A file open for reading: the committed blob at the time of opening.
pub struct ReadFile {
    pub path: JailPath,
    pub node: Node,
    pub blob: Arc<dyn BlobReader>,
    /// Bytes served (a part read again counts again).
    pub bytes_read: AtomicU64,
    /// Which bytes of the file were served: whether the download read it whole.
    coverage: Mutex<coverage::Coverage>,
    /// When and at how many bytes progress was last recorded.
    pub progress: Mutex<(i64, u64)>,
    /// This download's number, unique in this server process: its records carry it, so that
    /// two downloads of one file open at once in a session are told apart.
    pub serial: u64,
    /// What the connection's downloads of these contents covered together, this one's reads
    /// included ([`ReadFile::joined`]): parts read through several handles make a whole.
    joined: Option<crate::sessions::SharedCoverage>,
}

/// The last download number given ([`ReadFile::serial`]).
static DOWNLOADS: AtomicU64 = AtomicU64::new(0);

impl ReadFile {
    /// This download's reads also count in `shared`, the coverage of the connection's other
    /// downloads of the same contents (`LiveSession::download_coverage`).
    pub fn joined(mut self, shared: crate::sessions::SharedCoverage) -> Self {
        self.joined = Some(shared);
        self
    }

    /// A read served `n` bytes from `offset`.
    pub fn served(&self, offset: u64, n: u64) {
        self.bytes_read.fetch_add(n, Ordering::Relaxed);
        if let Ok(mut c) = self.coverage.lock() {
            c.add(offset, n);
        }
        if let Some(Ok(mut c)) = self.joined.as_ref().map(|j| j.lock()) {
            c.add(offset, n);
        }
    }

    /// What the reads so far covered, for the record of the download: whether they sent every
    /// byte of the file, and when they did not, the parts they did (when those are known
    /// exactly). An exposure is not understated: where the reads left too many holes to follow,
    /// as many bytes sent as the file holds counts as whole, as it did before reads were
    /// followed.
    pub fn extent(&self) -> (bool, Option<Vec<(u64, u64)>>) {
        let sent_all = || self.bytes_read.load(Ordering::Relaxed) >= self.node.size;
        match self.coverage.lock() {
            Ok(c) if c.surely_covers(self.node.size) => (true, None),
            Ok(c) if c.exact() => (false, Some(c.ranges().to_vec())),
            _ => (sent_all(), None),
        }
    }

    /// Whether closing now completes the file's first whole download (which starts its
    /// after-download retention: a change the catalog commits). Only when every byte was
    /// sent, as far as is known for certain, by this download or by it and the connection's
    /// other downloads of the same contents together: a file is never deleted early on a
    /// guess.
    pub fn completes_first_download(&self) -> bool {
        let covers =
            |c: &Mutex<coverage::Coverage>| c.lock().is_ok_and(|c| c.surely_covers(self.node.size));
        self.node.first_download_at.is_none()
            && (covers(&self.coverage) || self.joined.as_deref().is_some_and(covers))
    }
}

/// A directory being listed, page by page.
pub struct Listing {
    dir_id: i64,
    /// The path it was opened at (what its pages' records name).
    pub path: JailPath,
    /// The id of the last child listed (a rotation of the tenant key changes no id).
    after: Mutex<Option<i64>>,
}

impl Listing {
    /// The directory's stable id.
    pub fn dir_id(&self) -> i64 {
        self.dir_id
    }
}

impl Files {
    pub fn new(
        catalog: Catalog,
        vault: Vault,
        keyring: Arc<KeyringHandle>,
        tenant_id: i64,
        seal_contents: bool,
        reservations: Arc<reserve::Reservations>,
        free_space: Arc<free_space::FreeSpace>,
    ) -> Self {
        Self {
            reservations,
            free_space,
            catalog,
            vault,
            keyring,
            tenant_id,
            seal_contents,
            key_cache: Arc::new(Mutex::new(None)),
            root_id: Arc::new(std::sync::OnceLock::new()),
            patterns: Default::default(),
            found_expired: None,
        }
    }

    /// Hands the files downloads find expired to `sweeper` ([`Files::open_download`]).
    pub fn with_sweeper(mut self, sweeper: crate::retention::FoundExpired) -> Self {
        self.found_expired = Some(sweeper);
        self
    }

    /// The tenant key in force now, read from the catalog, with the key it replaces while a
    /// rotation goes on (and the tenant's byte quota).
    async fn fresh_state(&self) -> FsResult<(Arc<TenantKey>, Option<i64>)> {
        let state = self
            .catalog
            .tenant_state(self.tenant_id)
            .await?
            .ok_or(FsError::Catalog(CatalogError::NotFound {
                what: "tenant key",
                name: self.tenant_id.to_string(),
            }))?;
        let (quota, retiring) = (state.quota_bytes, state.retiring.as_ref());
        let mut cache = self.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.as_ref()
            && k.version == state.key.version
            && k.retiring_version() == retiring.map(|r| r.version)
        {
            return Ok((k.clone(), quota));
        }
        let mut key = self.keyring.tenant_key(&state.key)?;
        if let Some(r) = retiring {
            key = key.with_retiring(self.keyring.tenant_key(r)?);
        }
        let key = Arc::new(key);
        *cache = Some(key.clone());
        Ok((key, quota))
    }

    /// The tenant key last seen (read from the catalog the first time).
    pub async fn tenant_key(&self) -> FsResult<Arc<TenantKey>> {
        let cached = self
            .key_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match cached {
            Some(k) => Ok(k),
            None => Ok(self.fresh_state().await?.0),
        }
    }

    async fn root_id(&self) -> FsResult<i64> {
        if let Some(id) = self.root_id.get() {
            return Ok(*id);
        }
        let id = self.catalog.root(self.tenant_id).await?.id;
        Ok(*self.root_id.get_or_init(|| id))
    }

    async fn walk_with(&self, tk: &TenantKey, comps: &[Bytes]) -> FsResult<Node> {
        let root = self.root_id().await?;
        let Some((last, dirs)) = comps.split_last() else {
            return self.catalog.node(root).await?.ok_or(FsError::NotFound);
        };
        let mut dir = root;
        for c in dirs {
            let node = self
                .catalog
                .lookup_forms(dir, &tk.lookup_macs(c))
                .await?
                .ok_or(FsError::NotFound)?;
            if node.kind != NodeKind::Dir {
                return Err(FsError::NotFound);
            }
            dir = node.id;
        }
        self.catalog
            .lookup_forms(dir, &tk.lookup_macs(last))
            .await?
            .ok_or(FsError::NotFound)
    }

    /// Walks `comps` with the cached key; if nothing is found and the key has been rotated
    /// since, walks again with the current one.
    async fn walk(&self, tk: &TenantKey, comps: &[Bytes]) -> FsResult<Node> {
        match self.walk_with(tk, comps).await {
            Err(FsError::NotFound) => {
                let (fresh, _) = self.fresh_state().await?;
                if fresh.version == tk.version {
                    Err(FsError::NotFound)
                } else {
                    self.walk_with(&fresh, comps).await
                }
            }
            other => other,
        }
    }

    /// The path of `node` as its tenant sees it (`/dir/name`), names opened with the tenant
    /// key; walks up to the root.
    pub async fn path_of(&self, node: &Node) -> FsResult<String> {
        let mut tk = self.tenant_key().await?;
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cursor = node.clone();
        // Bounded: a path has at most MAX_PATH_LEN / 2 components.
        for _ in 0..path::MAX_PATH_LEN / 2 {
            let Some(parent) = cursor.parent_id else {
                names.reverse();
                let parts: Vec<String> = names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect();
                return Ok(format!("/{}", parts.join("/")));
            };
            names.push(self.open_name_of(&mut tk, &cursor).await?);
            cursor = self.catalog.node(parent).await?.ok_or(FsError::NotFound)?;
        }
        Err(FsError::InvalidPath("path too deep"))
    }

    pub async fn resolve(&self, path: &JailPath) -> FsResult<Node> {
        let tk = self.tenant_key().await?;
        self.walk(&tk, &path.0).await
    }

    /// The directory that holds (or would hold) `path`, and the last name.
    async fn parent_of<'p>(
        &self,
        tk: &TenantKey,
        path: &'p JailPath,
    ) -> FsResult<(Node, &'p Bytes)> {
        let (dir, name) = path.split_last().ok_or(FsError::PermissionDenied(
            "the root directory cannot be changed",
        ))?;
        let parent = self.walk(tk, dir).await?;
        if parent.kind != NodeKind::Dir {
            return Err(FsError::NotADirectory);
        }
        Ok((parent, name))
    }

    /// The data key of a sealed node (under the tenant key read again if `tk` is older).
    async fn data_key(&self, tk: &TenantKey, node: &Node) -> FsResult<Option<DataKey>> {
        let Some(s) = &node.seal else {
            return Ok(None);
        };
        let fresh;
        let tk = match tk.at_version(s.key_version) {
            Some(k) => k,
            None => {
                fresh = self.fresh_state().await?.0;
                fresh.at_version(s.key_version).unwrap_or(&fresh)
            }
        };
        Ok(Some(tk.unwrap_data_key(&s.key_id, &s.wrapped_key)?))
    }

    /// Opens a file for a client's download (Unix seconds `now`): a file whose retention ran
    /// out at or before `now` is not there, though the sweeper has not deleted it yet (a
    /// download that made it expire, after-download retention of `0h`, is the last one); it is
    /// handed to the sweeper to delete now.
    pub async fn open_download(&self, path: &JailPath, now: i64) -> FsResult<ReadFile> {
        let tk = self.tenant_key().await?;
        let node = self.walk(&tk, &path.0).await?;
        if self.expired(&node, now).await? {
            return Err(FsError::NotFound);
        }
        self.open_node(path, &tk, node).await
    }

    /// Whether file `node`'s retention ran out at or before `now` (Unix seconds); if it did,
    /// it is handed to the sweeper to delete now.
    pub(crate) async fn expired(&self, node: &Node, now: i64) -> FsResult<bool> {
        if !may_have_expired(node, now) || self.catalog.expired_file(node.id, now).await?.is_none()
        {
            return Ok(false);
        }
        self.found_expired(node.id);
        Ok(true)
    }

    /// Hands file `id`, found expired, to the sweeper to delete now.
    fn found_expired(&self, id: i64) {
        if let Some(sweeper) = &self.found_expired {
            sweeper.found(id);
        }
    }

    /// Has file `id`, found expired, deleted by the sweeper now, waiting for it (a few
    /// seconds at most); whether it was dealt with (false without a sweeper).
    pub(crate) async fn swept(&self, id: i64) -> bool {
        match &self.found_expired {
            Some(sweeper) => sweeper.swept(id).await,
            None => false,
        }
    }

    /// A file or directory as a client sees it at `now` (Unix seconds): a file whose retention
    /// ran out is not there (and is handed to the sweeper), as for a download.
    pub async fn stat(&self, path: &JailPath, now: i64) -> FsResult<Node> {
        let node = self.resolve(path).await?;
        if self.expired(&node, now).await? {
            return Err(FsError::NotFound);
        }
        Ok(node)
    }

    /// Opens a file for reading, whatever its retention (the server's own reading back).
    pub async fn open_read(&self, path: &JailPath) -> FsResult<ReadFile> {
        let tk = self.tenant_key().await?;
        let node = self.walk(&tk, &path.0).await?;
        self.open_node(path, &tk, node).await
    }

    async fn open_node(&self, path: &JailPath, tk: &TenantKey, node: Node) -> FsResult<ReadFile> {
        let blob = self
            .open_contents(tk, &node)
            .await
            .map_err(|e| e.at(path))?;
        Ok(ReadFile {
            path: path.clone(),
            node,
            blob: blob.into(),
            bytes_read: AtomicU64::new(0),
            coverage: Mutex::default(),
            progress: Mutex::new((0, 0)),
            serial: DOWNLOADS.fetch_add(1, Ordering::Relaxed) + 1,
            joined: None,
        })
    }

    /// The contents of file `node`, opened under tenant key `tk` (each sealed chunk checked as
    /// it is read); an integrity failure not yet tied to a path ([`FsError::at`]).
    async fn open_contents(&self, tk: &TenantKey, node: &Node) -> FsResult<Box<dyn BlobReader>> {
        if node.kind == NodeKind::Dir {
            return Err(FsError::IsADirectory);
        }
        let key = self.data_key(tk, node).await?;
        let root = node
            .seal
            .as_ref()
            .map(|s| s.content_root.clone())
            .unwrap_or_default();
        let (vault, size) = (self.vault.clone(), node.size);
        let blob = if node.inline {
            // In memory already: checked here, no trip to the blocking pool.
            let raw = self.inline_contents(node).await?;
            let sealing = key.as_ref().map(|key| Sealing { key, root: &root });
            vault.open_inline(BlobId::random(), raw, size, sealing)
        } else {
            let id = blob_id_of(node)?;
            blocking(move || {
                let sealing = key.as_ref().map(|key| Sealing { key, root: &root });
                vault.open(id, size, sealing)
            })
            .await
        }?;
        Ok(blob)
    }

    /// Reads file `node`'s whole contents, as a download would, to check that every sealed
    /// chunk opens (`tenant check --contents`, the server's contents check); the read's failure
    /// where one does not, or where the blob is missing or ends early (an integrity failure
    /// named by the file's id, not its path: the path is not resolved unless it is damaged).
    /// Read a MiB at a time off the async runtime's threads, waiting after
    /// each as `pace` asks where given. Nothing is kept or recorded.
    pub async fn check_contents(
        &self,
        node: &Node,
        mut pace: Option<&mut crate::contents_check::Pace>,
    ) -> FsResult<()> {
        let tk = self.tenant_key().await?;
        let named = format!("file {}", node.id);
        let at = |e: FsError| match e {
            FsError::Storage(BlobError::Integrity { reason, .. }) => FsError::Integrity {
                path: named.clone(),
                reason,
            },
            other => other,
        };
        let blob: Arc<dyn BlobReader> = self.open_contents(&tk, node).await.map_err(at)?.into();
        let size = node.size;
        let mut from = 0u64;
        while from < size {
            let to = size.min(from.saturating_add(CHECK_SEGMENT));
            let b = blob.clone();
            // Where the contents end before `to` (else `None`).
            let ended = blocking(move || {
                let mut buf = vec![0u8; CHECK_CHUNK];
                let mut at = from;
                while at < to {
                    let want = (to - at).min(CHECK_CHUNK as u64) as usize;
                    let n = b.read_at(&mut buf[..want], at)?;
                    if n == 0 {
                        return Ok(Some(at));
                    }
                    at += n as u64;
                }
                Ok(None)
            })
            .await
            .map_err(|e| at(e.into()))?;
            if let Some(end) = ended {
                return Err(FsError::Integrity {
                    path: named,
                    reason: SealError::Truncated(end / CHECK_CHUNK as u64),
                });
            }
            if let Some(p) = pace.as_deref_mut() {
                p.wait(to - from).await;
            }
            from = to;
        }
        Ok(())
    }

    /// The contents of a file kept inline in its catalog row.
    pub(crate) async fn inline_contents(&self, node: &Node) -> FsResult<Vec<u8>> {
        self.catalog
            .contents(node.id)
            .await?
            .ok_or(FsError::NotFound)
    }

    /// Called when a read handle closes: the file's first complete download starts its
    /// after-download retention, committed with `record` (the close's audit record); otherwise
    /// nothing is written.
    pub async fn finish_read(
        &self,
        f: &ReadFile,
        now: i64,
        record: Option<RecordOf>,
    ) -> FsResult<()> {
        let first_complete = f.completes_first_download();
        self.catalog
            .close_download(&f.node, first_complete.then_some(now), record.clone())
            .await?;
        Ok(())
    }

    /// Like [`Files::remove_blob`], for the blob an upload has just replaced: the vault may keep
    /// it until the next upload starts (`BlobStore::retire`), and at most [`RETIRED_FOR`].
    pub(crate) fn retire_blob(&self, hex: Option<String>) {
        let Some(id) = stored_blob(hex) else {
            return;
        };
        let vault = self.vault.clone();
        tokio::spawn(async move {
            let v = vault.clone();
            if let Err(e) = blocking(move || v.retire(id)).await {
                tracing::warn!(blob = %id, error = %e, "could not remove a blob");
            }
            tokio::time::sleep(RETIRED_FOR).await;
            if let Err(e) = blocking(move || vault.release_retired(id)).await {
                tracing::warn!(blob = %id, error = %e, "could not remove a blob");
            }
        });
    }

    /// Deletes, in the background, a blob the catalog no longer refers to (removed, or
    /// replaced by a rename): the reply does not wait for it, since deleting a
    /// large file also drops its page cache (0.2-0.3 s for 1 GiB here). If the server stops
    /// first, the orphan sweep at the next start deletes it.
    pub(crate) fn remove_blob(&self, hex: Option<String>) {
        let Some(id) = stored_blob(hex) else {
            return;
        };
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = vault.remove(id) {
                tracing::warn!(blob = %id, error = %e, "could not remove a blob");
            }
        });
    }

    pub async fn open_dir(&self, path: &JailPath) -> FsResult<Listing> {
        let node = self.resolve(path).await?;
        if node.kind != NodeKind::Dir {
            return Err(FsError::NotADirectory);
        }
        Ok(Listing {
            dir_id: node.id,
            path: path.clone(),
            after: Mutex::new(None),
        })
    }

    /// The next page of a listing as a client sees it at `now` (Unix seconds): files whose
    /// retention ran out are left out (and handed to the sweeper), as downloads refuse them;
    /// empty when done. One query per page at most, for the files on it that may have expired.
    pub async fn read_dir_at(
        &self,
        l: &Listing,
        max: u32,
        now: i64,
    ) -> FsResult<Vec<(Bytes, Node)>> {
        loop {
            let mut page = self.read_dir(l, max).await?;
            let asked: Vec<i64> = page
                .iter()
                .filter(|(_, n)| may_have_expired(n, now))
                .map(|(_, n)| n.id)
                .collect();
            let expired = self.catalog.expired_among(&asked, now).await?;
            if expired.is_empty() {
                return Ok(page);
            }
            for &id in &expired {
                self.found_expired(id);
            }
            page.retain(|(_, n)| !expired.contains(&n.id));
            // A page of expired files only is not the listing's end.
            if !page.is_empty() {
                return Ok(page);
            }
        }
    }

    /// The next page of a listing, names decrypted, every entry stored (administrators'
    /// listings; clients' go through [`Files::read_dir_at`]); empty when done.
    pub async fn read_dir(&self, l: &Listing, max: u32) -> FsResult<Vec<(Bytes, Node)>> {
        let mut tk = self.tenant_key().await?;
        let after = l.after.lock().map(|a| *a).unwrap_or(None);
        let nodes = self.catalog.list_dir(l.dir_id, after, max).await?;
        if let Some(last) = nodes.last()
            && let Ok(mut a) = l.after.lock()
        {
            *a = Some(last.id);
        }
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let name = self.open_name_of(&mut tk, &n).await?;
            out.push((Bytes::from(name), n));
        }
        Ok(out)
    }

    /// The name of node `n`, opened under tenant key `tk`, or, where it was sealed under a
    /// newer key than the one cached, under the key read again (kept in `tk`). A name that
    /// opens under neither was damaged or altered in the catalog: the log says which row (by
    /// its id; never the bytes), and the request is refused.
    async fn open_name_of(&self, tk: &mut Arc<TenantKey>, n: &Node) -> FsResult<Vec<u8>> {
        if let Ok(name) = tk.open_name(&n.sealed_name, &n.name_mac) {
            return Ok(name);
        }
        *tk = self.fresh_state().await?.0;
        tk.open_name(&n.sealed_name, &n.name_mac).map_err(|e| {
            tracing::error!(
                tenant_id = self.tenant_id,
                node_id = n.id,
                "a name in the catalog does not open under its tenant's key: its row was \
                 damaged or altered (`strongroom tenant check TENANT` lists every such value, \
                 `tenant repair` gives it a name again)"
            );
            e.into()
        })
    }

    /// Runs a namespace change that stores names made with the tenant key; if the key is
    /// rotated in between (the catalog refuses), it runs once more with the new key.
    async fn with_current_key<T, F, Fut>(&self, mut op: F) -> FsResult<T>
    where
        F: FnMut(Arc<TenantKey>) -> Fut,
        Fut: Future<Output = FsResult<T>>,
    {
        match op(self.tenant_key().await?).await {
            Err(FsError::Catalog(CatalogError::KeyRotated)) => {
                op(self.fresh_state().await?.0).await
            }
            other => other,
        }
    }

    /// Makes a directory, committing `record` (its audit record) with it.
    pub async fn mkdir(
        &self,
        path: &JailPath,
        permissions: Option<u32>,
        now: i64,
        record: Option<RecordOf>,
    ) -> FsResult<()> {
        if path.is_root() {
            return Err(FsError::AlreadyExists);
        }
        let mode = S_IFDIR | permissions.map_or(DEFAULT_DIR_MODE, |p| p & 0o7777);
        let record = &record;
        self.with_current_key(|tk| async move {
            let (parent, name) = self.parent_of(&tk, path).await?;
            let name = NameForCatalog::new(&tk, name);
            self.catalog
                .mkdir(
                    self.tenant_id,
                    parent.id,
                    name.stored(),
                    mode,
                    tk.version,
                    now,
                    record.clone(),
                )
                .await?;
            Ok(())
        })
        .await
    }

    /// Removes a file, committing `record` (its audit record) with the removal.
    pub async fn remove(&self, path: &JailPath, record: Option<RecordOf>) -> FsResult<()> {
        let node = self.resolve(path).await?;
        let old = self.catalog.remove_file(node.id, record.clone()).await?;
        self.remove_blob(old);
        Ok(())
    }

    /// Removes an empty directory, committing `record` (its audit record) with the removal.
    pub async fn rmdir(&self, path: &JailPath, record: Option<RecordOf>) -> FsResult<()> {
        let node = self.resolve(path).await?;
        if node.parent_id.is_none() {
            return Err(FsError::PermissionDenied(
                "the root directory cannot be removed",
            ));
        }
        Ok(self.catalog.rmdir(node.id, record.clone()).await?)
    }

    /// The files under `path` when it is a directory (other than the root), at any depth: what
    /// renaming it would move. `None` for a file.
    pub async fn files_under_dir(&self, path: &JailPath) -> FsResult<Option<events::MovedFiles>> {
        let node = self.resolve(path).await?;
        if node.kind != NodeKind::Dir || node.parent_id.is_none() {
            return Ok(None);
        }
        let m = self.catalog.files_under_dir(node.id).await?;
        Ok(Some(events::MovedFiles {
            count: m.count,
            ids: m.ids,
        }))
    }

    /// Renames `from` to `to`; `replace` gives POSIX semantics (an existing file is replaced).
    /// `record` (the rename's audit record) is committed with it.
    pub async fn rename(
        &self,
        from: &JailPath,
        to: &JailPath,
        replace: bool,
        now: i64,
        record: Option<RecordOf>,
    ) -> FsResult<()> {
        let record = &record;
        let old = self
            .with_current_key(|tk| async move {
                let node = self.walk(&tk, &from.0).await?;
                // An expired file is not there: moved under a longer rule, it would escape
                // its retention. Nor does a directory carry expired files away: they go first.
                if self.expired(&node, now).await? {
                    return Err(FsError::NotFound);
                }
                if node.parent_id.is_none() {
                    return Err(FsError::PermissionDenied(
                        "the root directory cannot be renamed",
                    ));
                }
                if node.kind == NodeKind::Dir {
                    let expired = self
                        .catalog
                        .expired_under(node.id, now, EXPIRED_UNDER_ASKED)
                        .await?;
                    if !expired.is_empty() {
                        for id in expired {
                            self.found_expired(id);
                        }
                        return Err(FsError::PermissionDenied(
                            "files under this directory have expired and are being deleted; \
                             try again in a moment",
                        ));
                    }
                }
                let (parent, name) = self.parent_of(&tk, to).await?;
                let name = NameForCatalog::new(&tk, name);
                Ok(self
                    .catalog
                    .rename(
                        self.tenant_id,
                        node.id,
                        parent.id,
                        name.stored(),
                        replace,
                        tk.version,
                        record.clone(),
                    )
                    .await?)
            })
            .await?;
        self.remove_blob(old);
        Ok(())
    }

    /// Applies permissions and times; a size change by path is refused (open and truncate).
    /// `record` (the change's audit record) is committed with it. A file whose retention ran
    /// out at `now` is not there ([`Files::stat`]).
    pub async fn set_attrs(
        &self,
        path: &JailPath,
        change: &AttrChange,
        now: i64,
        record: Option<RecordOf>,
    ) -> FsResult<()> {
        let node = self.stat(path, now).await?;
        self.set_node_attrs(&node, change, record).await
    }

    pub async fn set_node_attrs(
        &self,
        node: &Node,
        change: &AttrChange,
        record: Option<RecordOf>,
    ) -> FsResult<()> {
        if change.size.is_some_and(|s| s != node.size) {
            return Err(FsError::Unsupported(
                "changing a file's size by path; open it for writing instead",
            ));
        }
        Ok(self
            .catalog
            .set_attrs(node.id, change.permissions, change.times, record.clone())
            .await?)
    }

    /// Filesystem statistics of the blob store's disk, for `df`.
    pub fn space(&self, dir: &std::path::Path) -> FsResult<SpaceReport> {
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
        Ok(SpaceReport {
            block_size: s.f_bsize as u64,
            fragment_size: s.f_frsize as u64,
            blocks: s.f_blocks as u64,
            blocks_free: s.f_bfree as u64,
            blocks_available: s.f_bavail as u64,
            files: s.f_files as u64,
            files_free: s.f_ffree as u64,
            files_available: s.f_favail as u64,
            read_only: s.f_flag & libc::ST_RDONLY != 0,
            max_name_len: path::MAX_NAME_LEN as u64,
        })
    }
}

fn blob_id_of(node: &Node) -> FsResult<BlobId> {
    node.blob_id
        .as_deref()
        .ok_or(FsError::NotFound)
        .and_then(|h| Ok(BlobId::from_hex(h)?))
}

/// A name in the forms the catalog stores under a tenant key: its lookup MAC and its sealed
/// bytes; and, while a rotation goes on, its lookup MAC under the key being replaced (a row not
/// re-keyed yet may hold the name so).
struct NameForCatalog {
    mac: Vec<u8>,
    sealed: Vec<u8>,
    retiring_mac: Option<Vec<u8>>,
}

impl NameForCatalog {
    fn new(tk: &TenantKey, name: &[u8]) -> Self {
        let mut macs = tk.lookup_macs(name).into_iter();
        let mac = macs.next().unwrap_or_else(|| tk.name_mac(name));
        let sealed = tk.seal_name(name, &mac);
        Self {
            mac,
            sealed,
            retiring_mac: macs.next(),
        }
    }

    fn stored(&self) -> StoredName<'_> {
        StoredName {
            mac: &self.mac,
            sealed: &self.sealed,
            retiring_mac: self.retiring_mac.as_deref(),
        }
    }
}

/// The blob a catalog row names (`None` for an inline file, or a malformed id).
fn stored_blob(hex: Option<String>) -> Option<BlobId> {
    hex.and_then(|h| BlobId::from_hex(&h).ok())
}

/// Expired files under a directory being renamed handed to the sweeper at a time (as many as
/// its queue holds; a retry finds the rest).
const EXPIRED_UNDER_ASKED: u32 = 1024;

/// Bytes read at a time by [`Files::check_contents`]: one sealed chunk (64 KiB), so that where
/// the contents end early says which chunk is missing.
const CHECK_CHUNK: usize = 64 << 10;
/// Bytes a contents check reads per trip to the blocking pool (and between its pauses).
const CHECK_SEGMENT: u64 = 1 << 20;

/// Whether `node` is a file that may have expired at `now` (Unix seconds): not one never
/// downloaded and younger than the shortest rule after upload (most files a transfer
/// touches, which then cost no query).
fn may_have_expired(node: &Node, now: i64) -> bool {
    let too_young = node.first_download_at.is_none()
        && now < node.created_at + catalog::MIN_RETENTION_DAYS * 86_400;
    node.kind == NodeKind::File && !too_young
}

/// Runs blob I/O on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        // Cancelled: the runtime is shutting down, a passing failure (`BlobError::is_passing`).
        let kind = match e.is_cancelled() {
            true => std::io::ErrorKind::Interrupted,
            false => std::io::ErrorKind::Other,
        };
        Err(BlobError::Store {
            path: "blocking task".into(),
            source: std::io::Error::new(kind, e.to_string()),
        })
    })
}
