//! Splits the channel's byte stream into SFTP packets. The 4-byte length prefix is checked
//! against [`MAX_PACKET_LEN`] before any byte of the packet is buffered for it.

use bytes::{Buf, Bytes, BytesMut};

use crate::limits::MAX_PACKET_LEN;

/// The stream cannot be framed; the channel must be closed (its position is lost).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("packet length {0} exceeds the limit of {MAX_PACKET_LEN} bytes")]
    Oversized(u32),
    #[error("zero-length packet")]
    Empty,
}

/// Accumulates inbound bytes and yields whole packets (without the length prefix).
#[derive(Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the channel.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet returned as packets.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole packet, `Ok(None)` if more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if len > MAX_PACKET_LEN {
            return Err(FrameError::Oversized(len));
        }
        let total = 4 + len as usize;
        if self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(len as usize).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_packets_across_pushes() {
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 3, 1]);
        assert_eq!(d.next_packet().unwrap(), None);
        d.push(&[2, 3, 0, 0, 0, 1, 9]);
        assert_eq!(d.next_packet().unwrap().unwrap().as_ref(), &[1, 2, 3]);
        assert_eq!(d.next_packet().unwrap().unwrap().as_ref(), &[9]);
        assert_eq!(d.next_packet().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn rejects_oversized_before_buffering() {
        let mut d = FrameDecoder::new();
        d.push(&[0x7f, 0xff, 0xff, 0xff]);
        assert_eq!(d.next_packet(), Err(FrameError::Oversized(0x7fff_ffff)));
        assert!(d.buf.capacity() < 1024);
    }

    #[test]
    fn rejects_empty_packet() {
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 0]);
        assert_eq!(d.next_packet(), Err(FrameError::Empty));
    }
}
