//! A new blob that stays in memory while it is small and moves to the store once it grows past
//! [`INLINE_MAX`] raw bytes. A small upload is committed inside its catalog
//! row ([`BlobWriter::take_inline`]) and never becomes a file; a large one becomes a file
//! after its first 64 KiB, as if it had been one from the start (same id, same bytes).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::{BlobError, BlobId, BlobReader, BlobStore, BlobWriter, INLINE_MAX};

enum State {
    Memory(Vec<u8>),
    Stored(Box<dyn BlobWriter>),
}

pub(crate) struct SpillBlob {
    id: BlobId,
    store: Arc<dyn BlobStore>,
    state: Mutex<State>,
}

impl SpillBlob {
    pub(crate) fn new(id: BlobId, store: Arc<dyn BlobStore>, raw: Vec<u8>) -> Self {
        Self {
            id,
            store,
            state: Mutex::new(State::Memory(raw)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The blob in the store, created (with what memory held) if it is not there yet.
    fn stored<'s>(&self, st: &'s mut State) -> Result<&'s dyn BlobWriter, BlobError> {
        if let State::Memory(bytes) = st {
            let w = self.store.create_at(self.id)?;
            w.write_at(bytes, 0)?;
            *st = State::Stored(w);
        }
        match st {
            State::Stored(w) => Ok(&**w),
            State::Memory(_) => Err(BlobError::Io {
                id: self.id,
                source: std::io::Error::other("blob was not stored"),
            }),
        }
    }
}

/// Whether `end` bytes still fit in memory.
fn fits(end: u64) -> bool {
    end <= INLINE_MAX as u64
}

impl BlobReader for SpillBlob {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError> {
        match &*self.lock() {
            State::Memory(bytes) => Ok(crate::read_in_memory(bytes, buf, offset)),
            State::Stored(w) => w.read_at(buf, offset),
        }
    }

    fn size(&self) -> Result<u64, BlobError> {
        match &*self.lock() {
            State::Memory(bytes) => Ok(bytes.len() as u64),
            State::Stored(w) => w.size(),
        }
    }
}

impl BlobWriter for SpillBlob {
    fn write_at(&self, data: &[u8], offset: u64) -> Result<(), BlobError> {
        let mut st = self.lock();
        let end = offset.saturating_add(data.len() as u64);
        if let State::Memory(bytes) = &mut *st
            && fits(end)
        {
            let (start, end) = (offset as usize, end as usize);
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(data);
            return Ok(());
        }
        self.stored(&mut st)?.write_at(data, offset)
    }

    fn set_len(&self, len: u64) -> Result<(), BlobError> {
        let mut st = self.lock();
        if let State::Memory(bytes) = &mut *st
            && fits(len)
        {
            bytes.resize(len as usize, 0);
            return Ok(());
        }
        self.stored(&mut st)?.set_len(len)
    }

    /// Durable means in the store: a blob still in memory is written there first. (A small
    /// upload's commit does not sync; it takes the bytes with [`BlobWriter::take_inline`].)
    fn sync(&self) -> Result<(), BlobError> {
        let mut st = self.lock();
        self.stored(&mut st)?.sync()
    }

    fn finish(&self) -> Result<Option<[u8; 32]>, BlobError> {
        match &*self.lock() {
            State::Memory(_) => Ok(None),
            State::Stored(w) => w.finish(),
        }
    }

    fn in_memory(&self) -> bool {
        matches!(&*self.lock(), State::Memory(_))
    }

    fn take_inline(&self) -> Option<Vec<u8>> {
        match &*self.lock() {
            State::Memory(bytes) => Some(bytes.clone()),
            State::Stored(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalBlobStore;

    #[test]
    fn stays_in_memory_until_it_outgrows_inline_then_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::open(dir.path()).unwrap());
        let id = BlobId::random();
        let b = SpillBlob::new(id, store.clone(), b"head".to_vec());
        b.write_at(b"-tail", 4).unwrap();
        b.write_at(b"!", 20).unwrap();
        assert_eq!(b.size().unwrap(), 21);
        assert_eq!(
            b.take_inline().unwrap(),
            b"head-tail\0\0\0\0\0\0\0\0\0\0\0!".to_vec()
        );
        assert!(
            store.list().unwrap().is_empty(),
            "a small blob touched the disk"
        );

        let big = vec![9u8; INLINE_MAX];
        b.write_at(&big, 21).unwrap();
        assert!(b.take_inline().is_none());
        assert_eq!(store.list().unwrap(), vec![id]);
        let mut back = vec![0u8; 21 + INLINE_MAX];
        assert_eq!(b.read_at(&mut back, 0).unwrap(), back.len());
        assert_eq!(&back[..9], b"head-tail");
        assert_eq!(back[20], b'!');
        assert!(back[21..].iter().all(|&x| x == 9));
        // Stored now: shrinking keeps it a file.
        b.set_len(5).unwrap();
        assert!(b.take_inline().is_none());
        assert_eq!(b.size().unwrap(), 5);
    }
}
