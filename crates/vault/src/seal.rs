//! The sealed blob format (version 1). Pure: bytes, keys and nonces in; bytes out.
//!
//! ```text
//! offset 0   header (32 bytes): version 0x01 | "SRBLOB\0" | chunk shift (16) | 7 zero bytes
//!                               | key id (16 bytes, the file's data key id)
//! offset 32  chunk 0: nonce (12) | AES-256-GCM ciphertext of up to 64 KiB | tag (16)
//!            chunk i at 32 + i * (65536 + 28); every chunk but the last holds 64 KiB
//! data end   tag table: the 16-byte tag of every chunk, in order (written at commit)
//! ```
//!
//! A chunk that was never written (a hole left by a write past the end, or by a size change)
//! is not stored: its entry in the tag table is 16 zero bytes ([`HOLE`]) and it reads as zeros.
//! The table is committed by the root like any other, so a stored chunk cannot be turned into
//! a hole, nor a hole into data, without the root changing. Holes cost nothing on disk (the
//! blob file is sparse there) and a table piece made only of holes is not written either.
//!
//! Each chunk is sealed with a fresh random nonce on every write, under the file's data key,
//! with AAD = version | key id | chunk index (u64 BE): a chunk moved to another index or another
//! file does not open. The catalog keeps the *root* = SHA-256("strongroom tag table v1" | key id
//! | plaintext size | tag table); a reader checks the table against the root and each chunk's tag
//! against the table, so a chunk rolled back to an older sealed version (valid on its own) is
//! caught too. Plaintext is returned only after its tag verified.

use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
use aws_lc_rs::digest;

use crate::keys::{DataKey, KEY_ID_LEN};

pub const FORMAT_VERSION: u8 = 1;
pub const CHUNK_SHIFT: u32 = 16;
/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 1 << CHUNK_SHIFT;
pub const TAG_LEN: usize = 16;
/// Stored bytes a chunk adds to its plaintext.
pub const CHUNK_OVERHEAD: usize = NONCE_LEN + TAG_LEN;
pub const HEADER_LEN: u64 = 32;
const STRIDE: u64 = (CHUNK_SIZE + CHUNK_OVERHEAD) as u64;
const MAGIC: &[u8; 7] = b"SRBLOB\0";

pub type Tag = [u8; TAG_LEN];

/// The tag-table entry of a chunk that is not stored and reads as zeros. A sealed chunk never
/// has this tag (the writer reseals it under another nonce in the 2^-128 case).
pub const HOLE: Tag = [0; TAG_LEN];

/// The largest plaintext size of a sealed file: bounds the tag table (16 bytes per 64 KiB
/// chunk, holes included) that a writer or reader walks and hashes.
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// Tag-table entries per piece when the table is written or read (64 KiB).
const TABLE_PIECE: u64 = 4096;

/// The tag of every chunk of a file, with holes left out: its memory follows the chunks
/// stored, not the file's size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagTable {
    count: u64,
    stored: std::collections::BTreeMap<u64, Tag>,
}

impl TagTable {
    /// Number of chunks, holes included.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The tag of chunk `index`: `None` past the end, `Some(HOLE)` for a hole.
    pub fn get(&self, index: u64) -> Option<&Tag> {
        if index >= self.count {
            return None;
        }
        Some(self.stored.get(&index).unwrap_or(&HOLE))
    }

    /// Sets chunk `index`'s tag (a stored chunk, or [`HOLE`]), growing the table with holes.
    pub fn set(&mut self, index: u64, tag: Tag) {
        self.count = self.count.max(index + 1);
        if tag == HOLE {
            self.stored.remove(&index);
        } else {
            self.stored.insert(index, tag);
        }
    }

    /// Grows (with holes) or shrinks the table to `count` chunks.
    pub fn resize(&mut self, count: u64) {
        if count < self.count {
            self.stored.split_off(&count);
        }
        self.count = count;
    }

    /// Chunks actually stored (not holes).
    pub fn stored(&self) -> usize {
        self.stored.len()
    }

    /// The table as stored, piece by piece: `(offset into the table, bytes)`, pieces made
    /// only of holes left out (they read back as zeros from a sparse file).
    pub fn pieces(&self) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
        (0..self.count.div_ceil(TABLE_PIECE)).filter_map(move |p| {
            let first = p * TABLE_PIECE;
            let end = (first + TABLE_PIECE).min(self.count);
            let mut run = self.stored.range(first..end).peekable();
            run.peek()?;
            let mut bytes = vec![0u8; ((end - first) as usize) * TAG_LEN];
            for (i, t) in run {
                let at = ((i - first) as usize) * TAG_LEN;
                bytes[at..at + TAG_LEN].copy_from_slice(t);
            }
            Some((first * TAG_LEN as u64, bytes))
        })
    }

    /// Reads a stored table of `count` entries through `read(offset into the table, buf)`,
    /// which must fill `buf` whole, piece by piece.
    pub fn read<E>(
        count: u64,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut table = TagTable {
            count,
            stored: Default::default(),
        };
        let mut buf = vec![0u8; (TABLE_PIECE as usize) * TAG_LEN];
        for p in 0..count.div_ceil(TABLE_PIECE) {
            let first = p * TABLE_PIECE;
            let n = (TABLE_PIECE.min(count - first) as usize) * TAG_LEN;
            read(first * TAG_LEN as u64, &mut buf[..n])?;
            for (k, t) in buf[..n].chunks_exact(TAG_LEN).enumerate() {
                if t != HOLE {
                    let mut tag = HOLE;
                    tag.copy_from_slice(t);
                    table.stored.insert(first + k as u64, tag);
                }
            }
        }
        Ok(table)
    }

    /// The commitment to a whole file that the catalog stores: SHA-256 over a label, the key
    /// id, the plaintext size and every entry of the table (holes as zeros).
    pub fn root(&self, key_id: &[u8; KEY_ID_LEN], size: u64) -> [u8; 32] {
        const ZEROS: [u8; 4096] = [0; 4096];
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"strongroom tag table v1");
        ctx.update(key_id);
        ctx.update(&size.to_be_bytes());
        let holes = |ctx: &mut digest::Context, mut n: u64| {
            while n > 0 {
                let k = n.min((ZEROS.len() / TAG_LEN) as u64);
                ctx.update(&ZEROS[..k as usize * TAG_LEN]);
                n -= k;
            }
        };
        let mut next = 0;
        for (&i, t) in &self.stored {
            holes(&mut ctx, i - next);
            ctx.update(t);
            next = i + 1;
        }
        holes(&mut ctx, self.count - next);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

/// Why sealed bytes were refused. Never carries plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("not a sealed blob of a known version")]
    BadHeader,
    #[error("the blob belongs to another file")]
    WrongFile,
    #[error("chunk {0} is missing or truncated")]
    Truncated(u64),
    #[error("chunk {0} failed authentication (modified or moved)")]
    Tampered(u64),
    #[error("chunk {0} is an older version than the committed one")]
    RolledBack(u64),
    #[error("the chunk table does not match the committed file")]
    RootMismatch,
}

pub fn header(key_id: &[u8; KEY_ID_LEN]) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0] = FORMAT_VERSION;
    h[1..8].copy_from_slice(MAGIC);
    h[8] = CHUNK_SHIFT as u8;
    h[16..32].copy_from_slice(key_id);
    h
}

pub fn check_header(h: &[u8], key_id: &[u8; KEY_ID_LEN]) -> Result<(), SealError> {
    if h.len() != HEADER_LEN as usize
        || h[0] != FORMAT_VERSION
        || &h[1..8] != MAGIC
        || h[8] != CHUNK_SHIFT as u8
    {
        return Err(SealError::BadHeader);
    }
    if &h[16..32] != key_id {
        return Err(SealError::WrongFile);
    }
    Ok(())
}

/// Number of chunks holding `size` plaintext bytes.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64)
}

/// Plaintext length of chunk `index` of a file of `size` bytes.
pub fn chunk_len(size: u64, index: u64) -> usize {
    let start = index * CHUNK_SIZE as u64;
    size.saturating_sub(start).min(CHUNK_SIZE as u64) as usize
}

/// Where chunk `index` is stored.
pub fn chunk_offset(index: u64) -> u64 {
    HEADER_LEN + index * STRIDE
}

/// Where the chunks of a file of `size` bytes end (and the tag table begins).
pub fn data_end(size: u64) -> u64 {
    match chunk_count(size) {
        0 => HEADER_LEN,
        n => chunk_offset(n - 1) + (chunk_len(size, n - 1) + CHUNK_OVERHEAD) as u64,
    }
}

fn aad(key_id: &[u8; KEY_ID_LEN], index: u64) -> [u8; 25] {
    let mut a = [0u8; 25];
    a[0] = FORMAT_VERSION;
    a[1..17].copy_from_slice(key_id);
    a[17..25].copy_from_slice(&index.to_be_bytes());
    a
}

/// Seals chunk `index`: returns the stored bytes (nonce | ciphertext | tag) and the tag.
pub fn seal_chunk(
    key: &DataKey,
    index: u64,
    plain: &[u8],
    nonce: [u8; NONCE_LEN],
) -> (Vec<u8>, Tag) {
    let mut out = Vec::with_capacity(plain.len() + CHUNK_OVERHEAD);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .aead()
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(&key.id, index)),
            &mut out[NONCE_LEN..],
        )
        .unwrap_or_else(|_| unreachable!("sealing at most 64 KiB cannot fail"));
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag.as_ref());
    out.extend_from_slice(&t);
    (out, t)
}

/// Opens stored chunk `index` in place; returns its plaintext (a prefix of `stored[12..]`).
pub fn open_chunk<'a>(
    key: &DataKey,
    index: u64,
    stored: &'a mut [u8],
    expected: &Tag,
) -> Result<&'a [u8], SealError> {
    if stored.len() < CHUNK_OVERHEAD {
        return Err(SealError::Truncated(index));
    }
    if &stored[stored.len() - TAG_LEN..] != expected {
        return Err(SealError::RolledBack(index));
    }
    let (nonce, body) = stored.split_at_mut(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Tampered(index))?;
    key.aead()
        .open_in_place(nonce, Aad::from(aad(&key.id, index)), body)
        .map(|p| &*p)
        .map_err(|_| SealError::Tampered(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;

    fn key() -> DataKey {
        MasterKey::generate()
            .new_tenant_key(1, 1)
            .0
            .new_data_key()
            .0
    }

    #[test]
    fn layout_arithmetic() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(65536), 1);
        assert_eq!(chunk_count(65537), 2);
        assert_eq!(chunk_len(65537, 1), 1);
        assert_eq!(data_end(0), 32);
        assert_eq!(data_end(10), 32 + 10 + 28);
        assert_eq!(data_end(65537), 32 + 65536 + 28 + 1 + 28);
    }

    #[test]
    fn chunks_open_only_where_they_were_sealed() {
        let k = key();
        let (mut stored, tag) = seal_chunk(&k, 3, b"statement", [1; 12]);
        assert!(!stored.windows(9).any(|w| w == b"statement"));
        let mut copy = stored.clone();
        assert_eq!(open_chunk(&k, 3, &mut copy, &tag).unwrap(), b"statement");
        // Moved to another index, or sealed under another file's key: refused.
        let mut moved = stored.clone();
        assert_eq!(
            open_chunk(&k, 4, &mut moved, &tag),
            Err(SealError::Tampered(4))
        );
        let mut other = stored.clone();
        assert_eq!(
            open_chunk(&key(), 3, &mut other, &tag),
            Err(SealError::Tampered(3))
        );
        // A flipped bit anywhere.
        for i in 0..stored.len() - TAG_LEN {
            let mut bad = stored.clone();
            bad[i] ^= 1;
            assert_eq!(
                open_chunk(&k, 3, &mut bad, &tag),
                Err(SealError::Tampered(3)),
                "byte {i}"
            );
        }
        // An older, valid version of the chunk is caught by the expected tag.
        let (mut old, _) = seal_chunk(&k, 3, b"older", [2; 12]);
        assert_eq!(
            open_chunk(&k, 3, &mut old, &tag),
            Err(SealError::RolledBack(3))
        );
        stored.truncate(10);
        assert_eq!(
            open_chunk(&k, 3, &mut stored, &tag),
            Err(SealError::Truncated(3))
        );
    }

    #[test]
    fn header_names_the_file() {
        let k = key();
        let h = header(&k.id);
        assert_eq!(h[0], FORMAT_VERSION);
        check_header(&h, &k.id).unwrap();
        assert_eq!(check_header(&h, &key().id), Err(SealError::WrongFile));
        let mut bad = h;
        bad[0] = 9;
        assert_eq!(check_header(&bad, &k.id), Err(SealError::BadHeader));
    }
}
