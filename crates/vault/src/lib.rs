//! Storage of file contents as opaque blobs named by random ids.
//!
//! This crate owns the [`BlobStore`] interface through which the server reads and writes file
//! contents, and its local-disk implementation [`LocalBlobStore`]. A blob knows nothing of the
//! file it holds: names, sizes, owners and the blob-to-file mapping live in the catalog, so
//! nothing on disk reveals a file name. It never speaks SQL and never decides who may read what.
//!
//! The interface is synchronous and positional (`read_at`/`write_at`) because SFTP reads and
//! writes at any offset; callers run it on blocking threads. Sealing (encryption at rest) and an
//! object-store backend are later implementations of the same trait.

mod local;

use std::fmt;

pub use local::LocalBlobStore;

/// Length in bytes of a blob id (128 random bits).
pub const BLOB_ID_LEN: usize = 16;

/// A blob's name: 128 random bits, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; BLOB_ID_LEN]);

impl BlobId {
    /// A fresh random id.
    pub fn random() -> Result<Self, BlobError> {
        // ThreadRng is a CSPRNG reseeded from the OS.
        Ok(Self(rand::random()))
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
    #[error("no randomness available: {0}")]
    Random(String),
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
    /// Makes the written contents durable; called before the catalog commits the blob.
    fn sync(&self) -> Result<(), BlobError>;
}

/// Where blobs live.
pub trait BlobStore: Send + Sync + 'static {
    /// Creates a new, empty blob under a fresh random id.
    fn create(&self) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError>;
    /// Creates a new blob holding a copy of `source` (copy-on-write for resumed or partial
    /// writes: the committed blob is never modified in place).
    fn create_copy(&self, source: BlobId) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError>;
    fn open(&self, id: BlobId) -> Result<Box<dyn BlobReader>, BlobError>;
    /// Removes a blob; removing a missing blob is not an error.
    fn remove(&self, id: BlobId) -> Result<(), BlobError>;
    /// Every blob id present (for sweeping orphans left by a crash).
    fn list(&self) -> Result<Vec<BlobId>, BlobError>;
}
