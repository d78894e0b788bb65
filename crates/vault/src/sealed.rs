//! Plaintext reads and writes at any offset over a raw blob in the sealed format (`seal`).
//!
//! The writer keeps the last, partly written chunk in memory so that a sequential upload seals
//! each chunk once; any other chunk it touches is read, verified, modified and re-sealed with a
//! fresh nonce. `finish` writes the tag table and returns the root the catalog commits. The
//! reader checks the header, the tag table against the root, and every chunk it returns.

use std::sync::{Arc, Mutex};

use crate::keys::DataKey;
use crate::seal::{self, CHUNK_SIZE, HOLE, SealError, TagTable};
use crate::{BlobError, BlobId, BlobReader, BlobWriter};

fn integrity(id: BlobId, e: SealError) -> BlobError {
    BlobError::Integrity { id, reason: e }
}

/// Reads stored chunk `index` of a file of `size` bytes and returns its verified plaintext.
fn read_chunk(
    raw: &dyn BlobReader,
    id: BlobId,
    key: &DataKey,
    size: u64,
    tags: &TagTable,
    index: u64,
) -> Result<Vec<u8>, BlobError> {
    let len = seal::chunk_len(size, index);
    let expected = tags
        .get(index)
        .ok_or(integrity(id, SealError::Truncated(index)))?;
    if *expected == HOLE {
        // Never written: zeros, not stored (the root commits to the hole).
        return Ok(vec![0; len]);
    }
    let mut stored = vec![0u8; len + seal::CHUNK_OVERHEAD];
    let n = raw.read_at(&mut stored, seal::chunk_offset(index))?;
    if n != stored.len() {
        return Err(integrity(id, SealError::Truncated(index)));
    }
    let plain =
        seal::open_chunk(key, index, &mut stored, expected).map_err(|e| integrity(id, e))?;
    Ok(plain.to_vec())
}

/// Copies plaintext for `[offset, offset + buf.len())` out of verified chunks.
fn read_range(
    buf: &mut [u8],
    offset: u64,
    size: u64,
    mut chunk: impl FnMut(u64) -> Result<Arc<Vec<u8>>, BlobError>,
) -> Result<usize, BlobError> {
    if offset >= size {
        return Ok(0);
    }
    let want = (buf.len() as u64).min(size - offset) as usize;
    let mut done = 0;
    while done < want {
        let pos = offset + done as u64;
        let index = pos / CHUNK_SIZE as u64;
        let within = (pos % CHUNK_SIZE as u64) as usize;
        let plain = chunk(index)?;
        let n = (plain.len().saturating_sub(within)).min(want - done);
        if n == 0 {
            return Err(BlobError::Integrity {
                id: BlobId([0; 16]),
                reason: SealError::Truncated(index),
            });
        }
        buf[done..done + n].copy_from_slice(&plain[within..within + n]);
        done += n;
    }
    Ok(done)
}

pub struct SealedReader {
    id: BlobId,
    raw: Box<dyn BlobReader>,
    key: DataKey,
    size: u64,
    tags: TagTable,
    /// The last chunk opened: SFTP reads of 255 KiB straddle chunk boundaries.
    last: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
}

impl SealedReader {
    /// Opens a committed file: checks the header and that the tag table matches `root`.
    pub fn open(
        id: BlobId,
        raw: Box<dyn BlobReader>,
        key: DataKey,
        size: u64,
        root: &[u8],
    ) -> Result<Self, BlobError> {
        let mut header = [0u8; seal::HEADER_LEN as usize];
        if raw.read_at(&mut header, 0)? != header.len() {
            return Err(integrity(id, SealError::BadHeader));
        }
        seal::check_header(&header, &key.id).map_err(|e| integrity(id, e))?;
        if size > seal::MAX_FILE_SIZE {
            return Err(integrity(id, SealError::RootMismatch));
        }
        let table_at = seal::data_end(size);
        let tags = TagTable::read(seal::chunk_count(size), |at, buf| {
            match raw.read_at(buf, table_at + at)? == buf.len() {
                true => Ok(()),
                false => Err(integrity(id, SealError::RootMismatch)),
            }
        })?;
        if tags.root(&key.id, size).as_slice() != root {
            return Err(integrity(id, SealError::RootMismatch));
        }
        Ok(Self {
            id,
            raw,
            key,
            size,
            tags,
            last: Mutex::new(None),
        })
    }

    pub fn tags(&self) -> &TagTable {
        &self.tags
    }
}

impl BlobReader for SealedReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        read_range(buf, offset, self.size, |index| {
            if let Some((i, plain)) = last.as_ref()
                && *i == index
            {
                return Ok(plain.clone());
            }
            let plain = Arc::new(read_chunk(
                self.raw.as_ref(),
                self.id,
                &self.key,
                self.size,
                &self.tags,
                index,
            )?);
            *last = Some((index, plain.clone()));
            Ok(plain)
        })
        .map_err(|e| with_id(e, self.id))
    }

    fn size(&self) -> Result<u64, BlobError> {
        Ok(self.size)
    }
}

fn with_id(e: BlobError, id: BlobId) -> BlobError {
    match e {
        BlobError::Integrity { reason, .. } => BlobError::Integrity { id, reason },
        other => other,
    }
}

struct WriterState {
    size: u64,
    tags: TagTable,
    /// A chunk written in part, not yet sealed: (index, plaintext).
    dirty: Option<(u64, Vec<u8>)>,
}

impl WriterState {
    /// Whether `n` bytes at `within` of chunk `index` leave nothing of what the chunk stores
    /// to keep (they start it and reach the file's end, or the chunk is past the end): a write
    /// there starts the chunk afresh, without reading it back.
    fn starts_afresh(&self, index: u64, within: usize, n: usize) -> bool {
        let start = index * CHUNK_SIZE as u64;
        (within == 0 && start + n as u64 >= self.size) || index >= seal::chunk_count(self.size)
    }
}

pub struct SealedWriter {
    id: BlobId,
    raw: Box<dyn BlobWriter>,
    key: DataKey,
    state: Mutex<WriterState>,
}

impl SealedWriter {
    /// A new, empty sealed file.
    pub fn create(id: BlobId, raw: Box<dyn BlobWriter>, key: DataKey) -> Result<Self, BlobError> {
        raw.write_at(&seal::header(&key.id), 0)?;
        Ok(Self::with_state(id, raw, key, 0, TagTable::default()))
    }

    /// Continues a raw copy of a committed sealed file whose verified tags are `tags`.
    pub fn resume(
        id: BlobId,
        raw: Box<dyn BlobWriter>,
        key: DataKey,
        size: u64,
        tags: TagTable,
    ) -> Self {
        Self::with_state(id, raw, key, size, tags)
    }

    fn with_state(
        id: BlobId,
        raw: Box<dyn BlobWriter>,
        key: DataKey,
        size: u64,
        tags: TagTable,
    ) -> Self {
        Self {
            id,
            raw,
            key,
            state: Mutex::new(WriterState {
                size,
                tags,
                dirty: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WriterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn seal_and_store(
        &self,
        st: &mut WriterState,
        index: u64,
        plain: &[u8],
    ) -> Result<(), BlobError> {
        let (stored, tag) = loop {
            let (stored, tag) = seal::seal_chunk(&self.key, index, plain, rand::random());
            // An all-zero tag would read as a hole: seal again under another nonce.
            if tag != HOLE {
                break (stored, tag);
            }
        };
        self.raw.write_at(&stored, seal::chunk_offset(index))?;
        st.tags.set(index, tag);
        Ok(())
    }

    fn flush(&self, st: &mut WriterState) -> Result<(), BlobError> {
        if let Some((index, plain)) = st.dirty.take() {
            self.seal_and_store(st, index, &plain)?;
        }
        Ok(())
    }

    /// The current plaintext of chunk `index` (empty past the end).
    fn chunk_plain(&self, st: &WriterState, index: u64) -> Result<Vec<u8>, BlobError> {
        if let Some((i, plain)) = &st.dirty
            && *i == index
        {
            return Ok(plain.clone());
        }
        if index >= seal::chunk_count(st.size) {
            return Ok(Vec::new());
        }
        read_chunk(
            self.raw.as_ref(),
            self.id,
            &self.key,
            st.size,
            &st.tags,
            index,
        )
    }

    fn write_locked(
        &self,
        st: &mut WriterState,
        data: &[u8],
        offset: u64,
    ) -> Result<(), BlobError> {
        if offset > st.size {
            // The gap becomes holes (stored as nothing), the old last chunk padded with zeros.
            self.resize_locked(st, offset)?;
        }
        let end = offset + data.len() as u64;
        let mut pos = offset;
        while pos < end {
            let index = pos / CHUNK_SIZE as u64;
            let start = index * CHUNK_SIZE as u64;
            let within = (pos - start) as usize;
            let n = ((end - pos) as usize).min(CHUNK_SIZE - within);
            let src = (pos - offset) as usize;
            if n == CHUNK_SIZE {
                // A whole chunk: sealed straight from the request, replacing any buffered one.
                match &st.dirty {
                    Some((i, _)) if *i == index => st.dirty = None,
                    Some(_) => self.flush(st)?,
                    None => {}
                }
                self.seal_and_store(st, index, &data[src..src + n])?;
                st.size = st.size.max(start + CHUNK_SIZE as u64);
                pos += n as u64;
                continue;
            }
            // The buffered chunk, when it is this one, taken (not copied); else a new one, or
            // the stored one read back.
            let mut plain = match st.dirty.take() {
                Some((i, plain)) if i == index => plain,
                other => {
                    st.dirty = other;
                    if st.starts_afresh(index, within, n) {
                        Vec::with_capacity(CHUNK_SIZE)
                    } else {
                        self.chunk_plain(st, index)?
                    }
                }
            };
            if plain.len() < within + n {
                plain.resize(within + n, 0);
            }
            plain[within..within + n].copy_from_slice(&data[src..src + n]);
            st.size = st.size.max(start + plain.len() as u64);
            if matches!(&st.dirty, Some((i, _)) if *i != index) {
                self.flush(st)?;
            }
            if plain.len() == CHUNK_SIZE {
                st.dirty = None;
                self.seal_and_store(st, index, &plain)?;
            } else {
                st.dirty = Some((index, plain));
            }
            pos += n as u64;
        }
        Ok(())
    }

    fn resize_locked(&self, st: &mut WriterState, len: u64) -> Result<(), BlobError> {
        self.flush(st)?;
        if len < st.size {
            let n = seal::chunk_count(len);
            let tail = seal::chunk_len(len, n.saturating_sub(1));
            if n > 0 && tail < CHUNK_SIZE && st.tags.get(n - 1) != Some(&HOLE) {
                let mut plain = self.chunk_plain(st, n - 1)?;
                plain.truncate(tail);
                self.seal_and_store(st, n - 1, &plain)?;
            }
            st.tags.resize(n);
            st.size = len;
            self.raw.set_len(seal::data_end(len))?;
        } else if len > st.size {
            // The last chunk, if partly filled, is padded with zeros (up to its end or `len`);
            // every chunk after it is a hole: nothing is written for it.
            let index = st.size / CHUNK_SIZE as u64;
            let start = index * CHUNK_SIZE as u64;
            if st.size > start && st.tags.get(index) != Some(&HOLE) {
                let mut plain = self.chunk_plain(st, index)?;
                plain.resize(((len - start) as usize).min(CHUNK_SIZE), 0);
                self.seal_and_store(st, index, &plain)?;
            }
            st.size = len;
            st.tags.resize(seal::chunk_count(len));
        }
        Ok(())
    }
}

impl BlobReader for SealedWriter {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, BlobError> {
        // Read through the buffered chunk instead of sealing it early just to read it back.
        let st = self.lock();
        read_range(buf, offset, st.size, |index| {
            self.chunk_plain(&st, index).map(Arc::new)
        })
        .map_err(|e| with_id(e, self.id))
    }

    fn size(&self) -> Result<u64, BlobError> {
        Ok(self.lock().size)
    }
}

impl BlobWriter for SealedWriter {
    fn write_at(&self, data: &[u8], offset: u64) -> Result<(), BlobError> {
        let mut st = self.lock();
        self.write_locked(&mut st, data, offset)
    }

    fn set_len(&self, len: u64) -> Result<(), BlobError> {
        let mut st = self.lock();
        self.resize_locked(&mut st, len)
    }

    fn sync(&self) -> Result<(), BlobError> {
        let mut st = self.lock();
        self.flush(&mut st)?;
        self.raw.sync()
    }

    fn take_inline(&self) -> Option<Vec<u8>> {
        self.raw.take_inline()
    }

    fn in_memory(&self) -> bool {
        self.raw.in_memory()
    }

    /// A write that stays within one chunk without completing it, where that chunk is the one
    /// buffered, or one it starts afresh (as `Self::write_locked` decides, with
    /// `WriterState::starts_afresh`), only adds to the buffered chunk: the first half of every
    /// 64 KiB of a sequential upload in 32 KiB writes.
    fn buffers(&self, offset: u64, len: usize) -> bool {
        let st = self.lock();
        let index = offset / CHUNK_SIZE as u64;
        let within = (offset % CHUNK_SIZE as u64) as usize;
        if len == 0 || offset > st.size || within + len >= CHUNK_SIZE {
            // Nothing to buffer, a gap to fill first, or a chunk completed (sealed and stored).
            return false;
        }
        match &st.dirty {
            Some((i, _)) => *i == index,
            None => st.starts_afresh(index, within, len),
        }
    }

    fn finish(&self) -> Result<Option<[u8; 32]>, BlobError> {
        let mut st = self.lock();
        self.flush(&mut st)?;
        let end = seal::data_end(st.size);
        for (at, piece) in st.tags.pieces() {
            self.raw.write_at(&piece, end + at)?;
        }
        self.raw
            .set_len(end + st.tags.count() * seal::TAG_LEN as u64)?;
        Ok(Some(st.tags.root(&self.key.id, st.size)))
    }
}
