//! Blobs as files under `<data-dir>/blobs/<2 hex>/<30 hex>`, created 0600 in 0700 directories;
//! beside them, `owner`: the mark of the data directory the store belongs to.
//! A new blob is durable after its first `sync`: its data, and its name in its directory (and
//! that directory's name, the first time the directory is made).

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{BlobError, BlobId, BlobReader, BlobStore, BlobWriter};

pub struct LocalBlobStore {
    root: PathBuf,
    /// The blob an upload last replaced, kept until the next blob is created: deleting it
    /// then frees its page cache just before the new blob's writes need memory, which they
    /// reuse. On a VM whose host reclaims memory left free for a couple of seconds (free page
    /// reporting), writing into reclaimed memory cost a 1 GiB upload 30-60% (BENCHMARKS.md,
    /// fourth session); OpenSSH's truncate-and-rewrite has the same effect. Its contents are
    /// already unreadable (the catalog row that held its wrapped key was overwritten); the
    /// server releases it after `RETIRED_FOR` at most, and dropping the store deletes it.
    retired: Mutex<Option<BlobId>>,
}

impl LocalBlobStore {
    /// Opens (creating if needed) the blob directory `root`.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|source| BlobError::Store {
                path: root.display().to_string(),
                source,
            })?;
        Ok(Self {
            root: root.to_path_buf(),
            retired: Mutex::new(None),
        })
    }

    /// The blob directory `root` as it is, for reading only: nothing is created (a directory
    /// missing holds no blob; reading one fails as for any blob missing).
    pub fn existing(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            retired: Mutex::new(None),
        }
    }

    fn path_of(&self, id: BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.root.join(&hex[..2]).join(&hex[2..])
    }

    /// Creates the blob's file; returns it with its directory (whose entry for it is not yet
    /// on the disk).
    fn create_file(&self, id: BlobId) -> Result<(File, PathBuf), BlobError> {
        if let Some(old) = self.take_retired(None) {
            // Not this blob's business if it fails: the orphan sweep at start catches it.
            let _ = self.remove(old);
        }
        let path = self.path_of(id);
        let io = |source| BlobError::Io { id, source };
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            // A new fan directory: its own name must reach the disk too (once).
            Ok(()) => sync_dir(&self.root).map_err(io)?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        Ok((file, dir))
    }

    /// Takes the retired blob, if any (and if it is `only`, when given).
    fn take_retired(&self, only: Option<BlobId>) -> Option<BlobId> {
        let mut slot = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        match (*slot, only) {
            (Some(r), Some(id)) if r != id => None,
            _ => slot.take(),
        }
    }
}

impl Drop for LocalBlobStore {
    fn drop(&mut self) {
        if let Some(id) = self.take_retired(None) {
            let _ = self.remove(id);
        }
    }
}

/// The file in the store's root that holds its owner's mark ([`BlobStore::owner`]).
const OWNER_FILE: &str = "owner";
/// Most bytes of it read (a mark is some 32).
const MAX_OWNER_LEN: u64 = 256;

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Written bytes after which the kernel is asked to start writing them back, so that the
/// `fdatasync` at commit finds little left to do.
const WRITEBACK_EVERY: u64 = 8 << 20;

struct LocalBlob {
    id: BlobId,
    file: File,
    /// Bytes written since writeback was last started.
    unflushed: AtomicU64,
    /// The directory of a blob this writer created: its entry is synced at the first `sync`.
    dir: Option<PathBuf>,
    dir_synced: AtomicBool,
}

impl LocalBlob {
    fn new(id: BlobId, file: File, dir: Option<PathBuf>) -> Self {
        Self {
            id,
            file,
            unflushed: AtomicU64::new(0),
            dir,
            dir_synced: AtomicBool::new(false),
        }
    }
}

impl BlobReader for LocalBlob {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(BlobError::Io {
                        id: self.id,
                        source,
                    });
                }
            }
        }
        Ok(done)
    }

    fn size(&self) -> Result<u64, BlobError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|source| BlobError::Io {
                id: self.id,
                source,
            })
    }
}

impl BlobWriter for LocalBlob {
    fn write_at(&self, data: &[u8], offset: u64) -> Result<(), BlobError> {
        self.file
            .write_all_at(data, offset)
            .map_err(|source| BlobError::Io {
                id: self.id,
                source,
            })?;
        let len = data.len() as u64;
        if self.unflushed.fetch_add(len, Ordering::Relaxed) + len >= WRITEBACK_EVERY {
            self.unflushed.store(0, Ordering::Relaxed);
            // SAFETY: a plain syscall on a descriptor we own; it only starts writeback (failure
            // is harmless: the fdatasync at commit still makes the data durable).
            unsafe {
                libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), BlobError> {
        self.file.set_len(len).map_err(|source| BlobError::Io {
            id: self.id,
            source,
        })
    }

    fn sync(&self) -> Result<(), BlobError> {
        let io = |source| BlobError::Io {
            id: self.id,
            source,
        };
        self.file.sync_data().map_err(io)?;
        if let Some(dir) = &self.dir
            && !self.dir_synced.load(Ordering::Acquire)
        {
            sync_dir(dir).map_err(io)?;
            self.dir_synced.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn finish(&self) -> Result<Option<[u8; 32]>, BlobError> {
        Ok(None)
    }
}

/// Copies `from` into the empty `to` range by range of data (`SEEK_DATA`/`SEEK_HOLE`), so
/// that the holes of a sparse blob stay holes in the copy instead of becoming written zeros.
fn copy_keeping_holes(from: &mut File, to: &File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = from.metadata()?.len();
    let fd = from.as_raw_fd();
    let mut pos: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    while pos < len {
        // SAFETY: lseek on a descriptor we own; no memory is passed.
        let data = unsafe { libc::lseek(fd, pos as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            match std::io::Error::last_os_error() {
                // No data after `pos`: the rest is a hole.
                e if e.raw_os_error() == Some(libc::ENXIO) => break,
                e => return Err(e),
            }
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let (mut at, end) = (data as u64, (hole as u64).min(len));
        from.seek(SeekFrom::Start(at))?;
        while at < end {
            let n = ((end - at) as usize).min(buf.len());
            from.read_exact(&mut buf[..n])?;
            to.write_all_at(&buf[..n], at)?;
            at += n as u64;
        }
        pos = end;
    }
    to.set_len(len)
}

impl BlobStore for LocalBlobStore {
    fn create_at(&self, id: BlobId) -> Result<Box<dyn BlobWriter>, BlobError> {
        let (file, dir) = self.create_file(id)?;
        Ok(Box::new(LocalBlob::new(id, file, Some(dir))))
    }

    fn create_copy(&self, source: BlobId) -> Result<(BlobId, Box<dyn BlobWriter>), BlobError> {
        let mut from = File::open(self.path_of(source)).map_err(|e| not_found_or_io(source, e))?;
        let id = BlobId::random();
        let (file, dir) = self.create_file(id)?;
        copy_keeping_holes(&mut from, &file).map_err(|source| BlobError::Io { id, source })?;
        Ok((id, Box::new(LocalBlob::new(id, file, Some(dir)))))
    }

    fn open(&self, id: BlobId) -> Result<Box<dyn BlobReader>, BlobError> {
        let file = File::open(self.path_of(id)).map_err(|e| not_found_or_io(id, e))?;
        Ok(Box::new(LocalBlob::new(id, file, None)))
    }

    fn remove(&self, id: BlobId) -> Result<(), BlobError> {
        match fs::remove_file(self.path_of(id)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(BlobError::Io { id, source: e }),
            _ => Ok(()),
        }
    }

    fn retire(&self, id: BlobId) -> Result<(), BlobError> {
        let previous = self
            .retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(id);
        match previous {
            Some(old) => self.remove(old),
            None => Ok(()),
        }
    }

    fn release_retired(&self, id: BlobId) -> Result<(), BlobError> {
        match self.take_retired(Some(id)) {
            Some(old) => self.remove(old),
            None => Ok(()),
        }
    }

    fn owner(&self) -> Result<Option<String>, BlobError> {
        use std::io::Read as _;
        let store_err = |source| BlobError::Store {
            path: self.root.display().to_string(),
            source,
        };
        let file = match File::open(self.root.join(OWNER_FILE)) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            other => other.map_err(store_err)?,
        };
        let mut mark = String::new();
        file.take(MAX_OWNER_LEN)
            .read_to_string(&mut mark)
            .map_err(store_err)?;
        let mark = mark.trim();
        Ok((!mark.is_empty()).then(|| mark.to_owned()))
    }

    fn mark_owner(&self, owner: &str) -> Result<(), BlobError> {
        let store_err = |source| BlobError::Store {
            path: self.root.display().to_string(),
            source,
        };
        let (path, staged) = (self.root.join(OWNER_FILE), self.root.join("owner.new"));
        let write = || {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&staged)?;
            std::io::Write::write_all(&mut file, format!("{owner}\n").as_bytes())?;
            file.sync_all()?;
            fs::rename(&staged, &path)?;
            sync_dir(&self.root)
        };
        write().map_err(store_err)
    }

    fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        let store_err = |source| BlobError::Store {
            path: self.root.display().to_string(),
            source,
        };
        let mut ids = Vec::new();
        for fan in fs::read_dir(&self.root).map_err(store_err)? {
            let fan = fan.map_err(store_err)?;
            let prefix = fan.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !fan.path().is_dir() {
                continue;
            }
            for entry in fs::read_dir(fan.path()).map_err(store_err)? {
                let name = entry.map_err(store_err)?.file_name();
                if let Ok(id) = BlobId::from_hex(&format!("{prefix}{}", name.to_string_lossy())) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }
}

fn not_found_or_io(id: BlobId, e: std::io::Error) -> BlobError {
    if e.kind() == ErrorKind::NotFound {
        BlobError::NotFound(id)
    } else {
        BlobError::Io { id, source: e }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn write_copy_read_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let (id, w) = store.create().unwrap();
        w.write_at(b"hello world", 0).unwrap();
        w.write_at(b"W", 6).unwrap();
        w.sync().unwrap();
        let mode = fs::metadata(store.path_of(id))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let (copy, cw) = store.create_copy(id).unwrap();
        cw.set_len(5).unwrap();
        let mut buf = [0u8; 32];
        let r = store.open(id).unwrap();
        assert_eq!(r.read_at(&mut buf, 0).unwrap(), 11);
        assert_eq!(&buf[..11], b"hello World");
        assert_eq!(store.open(copy).unwrap().size().unwrap(), 5);

        let mut ids = store.list().unwrap();
        ids.sort();
        let mut want = vec![id, copy];
        want.sort();
        assert_eq!(ids, want);
        store.remove(id).unwrap();
        store.remove(id).unwrap();
        assert!(matches!(store.open(id), Err(BlobError::NotFound(_))));
    }

    /// A retired blob stays until the next blob is created, it is released by id, or the store
    /// is dropped; one at a time.
    #[test]
    fn a_retired_blob_goes_at_the_next_creation_its_release_or_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let kept = |id| store.open(id).is_ok();
        let (a, _) = store.create().unwrap();
        store.retire(a).unwrap();
        assert!(kept(a));
        let (b, _) = store.create().unwrap();
        assert!(!kept(a), "gone when the next blob is created");
        let (c, _) = store.create().unwrap();
        store.retire(b).unwrap();
        store.retire(c).unwrap();
        assert!(!kept(b) && kept(c), "one at a time");
        store.release_retired(b).unwrap();
        assert!(kept(c), "released only by its own id");
        store.release_retired(c).unwrap();
        assert!(!kept(c));
        let (d, _) = store.create().unwrap();
        store.retire(d).unwrap();
        drop(store);
        let store = LocalBlobStore::open(dir.path()).unwrap();
        assert_eq!(store.list().unwrap(), []);
    }

    /// The owner's mark: none at first, then the one written (0600), never taken for a blob.
    #[test]
    fn the_owners_mark_is_kept_beside_the_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        assert_eq!(store.owner().unwrap(), None);
        store.mark_owner("0a1b").unwrap();
        assert_eq!(store.owner().unwrap().as_deref(), Some("0a1b"));
        let mode = fs::metadata(dir.path().join(OWNER_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        store.mark_owner("2c3d").unwrap();
        assert_eq!(store.owner().unwrap().as_deref(), Some("2c3d"));
        assert!(store.list().unwrap().is_empty());
        assert!(!dir.path().join("owner.new").exists());
    }

    #[test]
    fn hex_round_trip_and_bad_ids() {
        let id = BlobId::random();
        assert_eq!(BlobId::from_hex(&id.to_hex()).unwrap(), id);
        assert!(BlobId::from_hex("../../etc/passwd").is_err());
    }
}
