//! Primitive SSH wire types (RFC 4251 §5): a bounded reader over a [`Bytes`] frame and writer
//! helpers over [`BytesMut`]. A string's length is checked against the bytes remaining before it
//! is sliced, so no length from the wire ever drives an allocation.

use bytes::{BufMut, Bytes, BytesMut};

/// Why a packet could not be decoded. Carries no packet content (it may be logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("packet truncated: needed {needed} more bytes for {field}")]
    Truncated { field: &'static str, needed: usize },
    #[error("unknown packet type {0}")]
    UnknownType(u8),
    #[error("empty packet")]
    Empty,
    #[error("{field} is {len} bytes, over the limit of {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

/// Reads SSH wire types from one frame. Slices share the frame's buffer (no copies).
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated {
                field,
                needed: n - self.buf.len(),
            });
        }
        Ok(self.buf.split_to(n))
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let b = self.take(1, field)?;
        Ok(b[0])
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&b);
        Ok(u64::from_be_bytes(a))
    }

    /// A length-prefixed byte string; the length is bounded by the bytes present.
    pub fn string(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    /// A string that must also fit `max` bytes (paths, handles).
    pub fn bounded_string(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Bytes, DecodeError> {
        let s = self.string(field)?;
        if s.len() > max {
            return Err(DecodeError::TooLong {
                field,
                len: s.len(),
                max,
            });
        }
        Ok(s)
    }

    /// Everything left (the payload of an unknown extension).
    pub fn rest(&mut self) -> Bytes {
        self.buf.split_off(0)
    }
}

pub fn put_string(out: &mut BytesMut, s: &[u8]) {
    out.put_u32(s.len() as u32);
    out.put_slice(s);
}
