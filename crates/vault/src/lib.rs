//! File contents at rest: sealed blobs named by random ids, and every key that seals them.
//!
//! - [`keys`]: the key hierarchy (master → tenant → file data keys; name keys). All key handling
//!   in Strongroom is here.
//! - [`seal`]: the sealed blob format, pure (bytes, keys and nonces in).
//! - [`sealed`]: plaintext positional reads and writes over a raw blob in that format.
//! - [`BlobStore`]: where raw blobs live ([`LocalBlobStore`] on local disk; S3 later).
//! - [`owner_only`]: secrets and private keys read from files only their owner may read.
//! - [`Vault`]: the one entry point the server uses: create, resume, open and remove files'
//!   blobs, sealed when given a data key.
//!
//! A blob knows nothing of the file it holds: names, sizes and the blob-to-file mapping live in
//! the catalog. This crate never speaks SQL and never decides who may read what. The interface is
//! synchronous and positional (`read_at`/`write_at`) because SFTP reads and writes at any offset;
//! callers run it on blocking threads.

pub mod keys;
pub mod ledger_key;
mod local;
pub mod owner_only;
pub mod password;
pub mod seal;
pub mod sealed;
mod spill;
pub mod totp;
pub mod webhook;

use std::fmt;
use std::sync::Arc;

pub use keys::{
    DataKey, DisclosedError, KeyError, Keyring, LedgerBodyKey, MasterKey, RecordKey, TenantKey,
    open_disclosed,
};
pub use ledger_key::LedgerKey;
pub use local::LocalBlobStore;
pub use owner_only::OwnerOnlyError;
pub use seal::SealError;

/// Length in bytes of a blob id (128 random bits).
pub const BLOB_ID_LEN: usize = 16;

/// A blob's name: 128 random bits, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; BLOB_ID_LEN]);

impl BlobId {
    /// A fresh random id (ThreadRng: a CSPRNG reseeded from the OS).
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<Self, BlobError> {
        let mut b = [0u8; BLOB_ID_LEN];
        hex::decode_to_slice(s, &mut b)
            .map_err(|_| BlobError::BadId(s.chars().take(40).collect()))?;
        Ok(Self(b))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.to_hex())
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(BlobId),
    #[error("blob {id}: {source}")]
    Io {
        id: BlobId,
        #[source]
        source: std::io::Error,
    },
    #[error("blob store at {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a blob id: {0:?}")]
    BadId(String),
    #[error("blob {id} failed its integrity check: {reason}")]
    Integrity { id: BlobId, reason: SealError },
}

impl BlobError {
    /// Whether the store could not be read for a passing lack of this process's resources
    /// (open files, memory, an interrupted or timed-out call): the failure says nothing of the
    /// blob, and the same read may succeed later. A blob missing, cut short or failing its
    /// integrity check, and any other error of the disk, are not passing.
    pub fn is_passing(&self) -> bool {
        let source = match self {
            BlobError::Io { source, .. } | BlobError::Store { source, .. } => source,
            _ => return false,
        };
        use std::io::ErrorKind as K;
        matches!(
            source.kind(),
            K::OutOfMemory | K::Interrupted | K::WouldBlock | K::TimedOut
        ) || source.raw_os_error().is_some_and(|n| {
            [
                libc::EMFILE,
                libc::ENFILE,
                libc::ENOMEM,
                libc::ENOBUFS,
                libc::EAGAIN,
            ]
            .contains(&n)
        })
    }
}

/// A blob open for reading.
pub trait BlobReader: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns fewer only at the end of the blob.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError>;
    /// Current length in bytes.
    fn size(&self) -> Result<u64, BlobError>;
}

/// A new blob being written. Not visible to anyone until the catalog commits its id.
pub trait BlobWriter: BlobReader {
    fn write_at(&self, data: &[u8], offset: u64) -> Result<(), BlobError>;
    fn set_len(&self, len: u64) -> Result<(), BlobError>;
    /// Makes the written contents durable (fsync).
    fn sync(&self) -> Result<(), BlobError>;
    /// Completes the blob for commit (for a sealed blob: the last chunk sealed and the tag
    /// table written) and returns the root the catalog must store (`None` for a plain blob).
    /// Not durable yet: the caller syncs it, or keeps its bytes elsewhere.
    fn finish(&self) -> Result<Option<[u8; 32]>, BlobError>;
    /// The raw bytes, if the blob is still small enough to be held in memory (and so was never
    /// written to the store): to be kept inline in the catalog.
    fn take_inline(&self) -> Option<Vec<u8>> {
        None
    }
    /// Whether the blob is held in memory: then a write that keeps it within one chunk does no
    /// I/O.
    fn in_memory(&self) -> bool {
        false
    }
    /// Whether a write of `len` bytes at `offset` would, as things stand, only be buffered in
    /// memory (no I/O: a sealed file's chunk still being filled): then the caller need not move
    /// it off the async runtime. A guess that another writer's write turns false costs only
    /// that: the write is done the same way either way.
    fn buffers(&self, offset: u64, len: usize) -> bool {
        let _ = (offset, len);
        false
    }
}

/// Where raw blobs live (bytes as given: sealing happens above, in [`Vault`]).
pub trait BlobStore: Send + Sync + 'static {
    /// Creates a new, empty blob under a fresh random id.
    fn create(&self) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError> {
        let id = BlobId::random();
        Ok((id, self.create_at(id)?))
    }
    /// Creates a new, empty blob under `id` (fresh and random, chosen by the caller).
    fn create_at(&self, id: BlobId) -> Result<Box<dyn BlobWriter>, BlobError>;
    /// Creates a new blob holding a copy of `source` (copy-on-write for resumed or partial
    /// writes: the committed blob is never modified in place).
    fn create_copy(&self, source: BlobId) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError>;
    fn open(&self, id: BlobId) -> Result<Box<dyn BlobReader>, BlobError>;
    /// Removes a blob; removing a missing blob is not an error.
    fn remove(&self, id: BlobId) -> Result<(), BlobError>;
    /// Removes a blob an upload has just replaced, or keeps it (one at a time) until the next
    /// blob is created or [`BlobStore::release_retired`] names it, whichever comes first. A
    /// store whose blobs live in the page cache keeps it so that the memory its removal frees
    /// is reused at once by the next upload's writes (see `LocalBlobStore`). Default: removes.
    fn retire(&self, id: BlobId) -> Result<(), BlobError> {
        self.remove(id)
    }
    /// Removes `id` if it is still the blob [`BlobStore::retire`] kept.
    fn release_retired(&self, _id: BlobId) -> Result<(), BlobError> {
        Ok(())
    }
    /// Every blob id present (for sweeping orphans left by a crash).
    fn list(&self) -> Result<Vec<BlobId>, BlobError>;
    /// The mark of the data directory the store belongs to, if it has one (the server compares
    /// it with its catalog's before sweeping: another's store is never swept).
    fn owner(&self) -> Result<Option<String>, BlobError>;
    /// Marks the store as `owner`'s, durably.
    fn mark_owner(&self, owner: &str) -> Result<(), BlobError>;
}

/// How a file's contents are sealed: its data key and, once committed, its root.
pub struct Sealing<'a> {
    pub key: &'a DataKey,
    pub root: &'a [u8],
}

/// The server's door to file contents.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn BlobStore>,
}

impl Vault {
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        Self { store }
    }

    /// A new, empty blob; sealed under `key` when given.
    pub fn create(
        &self,
        key: Option<&DataKey>,
    ) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError> {
        // In memory until it outgrows one chunk (a small file never becomes a file).
        let id = BlobId::random();
        let raw: Box<dyn BlobWriter> =
            Box::new(spill::SpillBlob::new(id, self.store.clone(), Vec::new()));
        match key {
            None => Ok((id, raw)),
            Some(k) => Ok((
                id,
                Box::new(sealed::SealedWriter::create(id, raw, k.clone())?),
            )),
        }
    }

    /// A new blob holding the committed contents of `source` (of `size` bytes), to be modified
    /// and committed in its place. The source is verified first; the copy keeps its data key.
    pub fn create_copy(
        &self,
        source: BlobId,
        size: u64,
        sealing: Option<Sealing<'_>>,
    ) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError> {
        let tags = match &sealing {
            Some(s) => {
                let raw = self.store.open(source)?;
                let reader = sealed::SealedReader::open(source, raw, s.key.clone(), size, s.root)?;
                Some(reader.tags().clone())
            }
            None => None,
        };
        let (id, raw) = self.store.create_copy(source)?;
        Ok((id, writer_over(id, raw, size, sealing, tags)))
    }

    /// Opens a committed blob of `size` bytes; verified against its root when sealed.
    pub fn open(
        &self,
        id: BlobId,
        size: u64,
        sealing: Option<Sealing<'_>>,
    ) -> Result<Box<dyn BlobReader>, BlobError> {
        reader_over(id, self.store.open(id)?, size, sealing)
    }

    /// A small blob's raw (sealed) bytes, to be kept inline in the catalog instead of in the
    /// store. Refuses a blob larger than [`INLINE_MAX`].
    pub fn read_raw(&self, id: BlobId) -> Result<Vec<u8>, BlobError> {
        let raw = self.store.open(id)?;
        let len = raw.size()?;
        if len > INLINE_MAX as u64 {
            return Err(BlobError::Io {
                id,
                source: std::io::Error::other("too large to keep inline"),
            });
        }
        let mut buf = vec![0; len as usize];
        let n = raw.read_at(&mut buf, 0)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Opens contents kept inline (raw bytes as [`Vault::read_raw`] gave them), checked like
    /// a stored blob's.
    pub fn open_inline(
        &self,
        id: BlobId,
        raw: Vec<u8>,
        size: u64,
        sealing: Option<Sealing<'_>>,
    ) -> Result<Box<dyn BlobReader>, BlobError> {
        reader_over(id, Box::new(InlineBlob(raw)), size, sealing)
    }

    /// A new blob in the store holding a copy of contents kept inline, to be modified and
    /// committed in their place (as [`Vault::create_copy`]).
    pub fn create_copy_of_inline(
        &self,
        raw: &[u8],
        size: u64,
        sealing: Option<Sealing<'_>>,
    ) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError> {
        let id = BlobId::random();
        let w: Box<dyn BlobWriter> =
            Box::new(spill::SpillBlob::new(id, self.store.clone(), raw.to_vec()));
        let tags = match &sealing {
            Some(s) => {
                let inline = Box::new(InlineBlob(raw.to_vec()));
                let reader = sealed::SealedReader::open(id, inline, s.key.clone(), size, s.root)?;
                Some(reader.tags().clone())
            }
            None => None,
        };
        Ok((id, writer_over(id, w, size, sealing, tags)))
    }

    pub fn remove(&self, id: BlobId) -> Result<(), BlobError> {
        self.store.remove(id)
    }

    /// See [`BlobStore::retire`].
    pub fn retire(&self, id: BlobId) -> Result<(), BlobError> {
        self.store.retire(id)
    }

    /// See [`BlobStore::release_retired`].
    pub fn release_retired(&self, id: BlobId) -> Result<(), BlobError> {
        self.store.release_retired(id)
    }

    pub fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        self.store.list()
    }
}

/// A committed blob's raw bytes as its contents: checked against the root when sealed.
fn reader_over(
    id: BlobId,
    raw: Box<dyn BlobReader>,
    size: u64,
    sealing: Option<Sealing<'_>>,
) -> Result<Box<dyn BlobReader>, BlobError> {
    match sealing {
        None => Ok(raw),
        Some(s) => Ok(Box::new(sealed::SealedReader::open(
            id,
            raw,
            s.key.clone(),
            size,
            s.root,
        )?)),
    }
}

/// A copy of a committed blob to be written on: sealed writers resume with the verified tags.
fn writer_over(
    id: BlobId,
    raw: Box<dyn BlobWriter>,
    size: u64,
    sealing: Option<Sealing<'_>>,
    tags: Option<seal::TagTable>,
) -> Box<dyn BlobWriter> {
    match (sealing, tags) {
        (Some(s), Some(tags)) => Box::new(sealed::SealedWriter::resume(
            id,
            raw,
            s.key.clone(),
            size,
            tags,
        )),
        _ => raw,
    }
}

/// Largest file (contents, in bytes) whose blob is kept inline in the catalog row instead of
/// in the store: one sealed chunk.
pub const INLINE_FILE_MAX: u64 = seal::CHUNK_SIZE as u64;
/// Largest raw blob kept inline: one sealed chunk with its header, nonce, tag and tag table.
pub const INLINE_MAX: usize = seal::CHUNK_SIZE + 128;

/// Raw blob bytes held in memory (contents kept inline in the catalog).
struct InlineBlob(Vec<u8>);

/// Positional read from bytes in memory: fewer than `buf.len()` only at the end.
fn read_in_memory(bytes: &[u8], buf: &mut [u8], offset: u64) -> usize {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let n = buf.len().min(bytes.len() - start);
    buf[..n].copy_from_slice(&bytes[start..start + n]);
    n
}

impl BlobReader for InlineBlob {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError> {
        Ok(read_in_memory(&self.0, buf, offset))
    }

    fn size(&self) -> Result<u64, BlobError> {
        Ok(self.0.len() as u64)
    }
}

#[cfg(test)]
mod tests;
