//! Parquet's encodings and compressions below the page: LZ4 (bare and in Hadoop's framing),
//! a dictionary page's values, plain values, bit-packed runs, the delta encodings and the
//! RLE/bit-packed hybrid of levels and dictionary indexes. Pure; every length bounded by the
//! bytes there are. Never here: pages, columns or rows (`super`).

use super::thrift::Thrift;
use super::{Dictionary, Kind, MAX_DELTA_BLOCK};

/// A bare LZ4 block that inflates to `len` bytes.
pub(super) fn lz4_block(body: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0; len];
    let n = lz4_flex::block::decompress_into(body, &mut out).ok()?;
    (n == len).then_some(out)
}

/// LZ4 blocks in Hadoop's framing (each: its inflated and compressed sizes, big-endian, then
/// the block) that inflate to `len` bytes in all.
pub(super) fn lz4_hadoop(mut body: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    while !body.is_empty() {
        let inflated = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
        let compressed = u32::from_be_bytes(body.get(4..8)?.try_into().ok()?) as usize;
        let block = body.get(8..8usize.checked_add(compressed)?)?;
        if inflated > len - out.len() {
            return None;
        }
        out.extend(lz4_block(block, inflated)?);
        body = &body[8 + compressed..];
    }
    (out.len() == len).then_some(out)
}

/// Bits a level of at most `max` takes.
pub(super) fn bit_width(max: u8) -> u8 {
    (8 - max.leading_zeros()) as u8
}

impl Dictionary {
    pub(super) fn read(data: &[u8], n: u32, kind: Kind) -> Option<Dictionary> {
        let mut d = Dictionary::default();
        let mut at = 0;
        for _ in 0..n {
            plain_value(data, &mut at, kind, &mut d.text)?;
            d.ends.push(u32::try_from(d.text.len()).ok()?);
        }
        Some(d)
    }

    pub(super) fn value(&self, i: u64) -> Option<&[u8]> {
        let i = usize::try_from(i).ok()?;
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }
}

/// Writes the plain-encoded value at `at` in `data` as text, and moves past it.
pub(super) fn plain_value(
    data: &[u8],
    at: &mut usize,
    kind: Kind,
    out: &mut Vec<u8>,
) -> Option<()> {
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let v = data.get(*at..at.checked_add(n)?)?;
        *at += n;
        Some(v)
    };
    match kind {
        Kind::Bytes => {
            let len = u32::from_le_bytes(take(at, 4)?.try_into().ok()?) as usize;
            push_bytes(out, take(at, len)?, kind);
        }
        Kind::Int { width, scale } => {
            let v = take(at, width as usize)?;
            let n = if width == 4 {
                i128::from(i32::from_le_bytes(v.try_into().ok()?))
            } else {
                i128::from(i64::from_le_bytes(v.try_into().ok()?))
            };
            crate::cell::decimal(out, n, scale);
        }
        Kind::Float { width } => {
            let v = take(at, width as usize)?;
            let f = if width == 4 {
                f64::from(f32::from_le_bytes(v.try_into().ok()?))
            } else {
                f64::from_le_bytes(v.try_into().ok()?)
            };
            crate::cell::float(out, f);
        }
        Kind::Decimal { fixed, .. } => {
            let len = match fixed {
                Some(n) => n as usize,
                None => u32::from_le_bytes(take(at, 4)?.try_into().ok()?) as usize,
            };
            push_bytes(out, take(at, len)?, kind);
        }
    }
    Some(())
}

/// Writes a byte array's value as text: its bytes, or the decimal they hold (big-endian
/// two's complement; one of more than 16 bytes is not written).
pub(super) fn push_bytes(out: &mut Vec<u8>, v: &[u8], kind: Kind) {
    match kind {
        Kind::Decimal { scale, .. } => crate::cell::big_endian_decimal(out, v, scale),
        _ => crate::cell::text(out, v),
    }
}

/// `width` bits (at most 64) at bit `bit` of `data`, least significant first.
fn bits_at(data: &[u8], bit: u64, width: u8) -> Option<u64> {
    if width == 0 {
        return Some(0);
    }
    let end = usize::try_from((bit + u64::from(width)).div_ceil(8)).ok()?;
    let byte = usize::try_from(bit / 8).ok()?;
    let bytes = data.get(byte..end)?;
    let mut le = [0u8; 16];
    le[..bytes.len()].copy_from_slice(bytes);
    let v = u128::from_le_bytes(le) >> (bit % 8);
    Some((v & ((1u128 << width) - 1)) as u64)
}

/// Whole numbers written as `DELTA_BINARY_PACKED`: a first value, then blocks of deltas
/// (each block's least delta, and its miniblocks' bit widths), read one by one.
pub(super) struct Delta {
    /// Where the next block begins.
    at: usize,
    miniblocks: u64,
    per_miniblock: u64,
    /// Values left, and the last one (the first, until one is read).
    left: u64,
    last: i64,
    first: bool,
    /// The block being read: its least delta, where its widths are, its miniblock, values
    /// left in that miniblock and where the next is in bits.
    min_delta: i64,
    widths: usize,
    miniblock: u64,
    in_miniblock: u64,
    bit: u64,
}

impl Delta {
    /// The stream at `at` of `data`, with at most `most` values (its page's), and where the
    /// bytes after it begin.
    pub(super) fn new(data: &[u8], at: usize, most: u32) -> Option<(Delta, usize)> {
        let mut r = Thrift::new(data.get(at..)?);
        let per_block = r.varint()?;
        let miniblocks = r.varint()?;
        let total = r.varint()?;
        let first = r.int()?;
        if per_block == 0
            || per_block % 128 != 0
            || per_block > MAX_DELTA_BLOCK
            || miniblocks == 0
            || per_block % miniblocks != 0
            || (per_block / miniblocks) % 8 != 0
            || total > u64::from(most)
        {
            return None;
        }
        let delta = Delta {
            at: at + r.at,
            miniblocks,
            per_miniblock: per_block / miniblocks,
            left: total,
            last: first,
            first: true,
            min_delta: 0,
            widths: 0,
            miniblock: miniblocks,
            in_miniblock: 0,
            bit: 0,
        };
        let end = delta.end(data)?;
        Some((delta, end))
    }

    /// Where the stream ends: its blocks walked by their widths, no value read.
    fn end(&self, data: &[u8]) -> Option<usize> {
        let mut deltas = self.left.saturating_sub(1);
        let mut at = self.at;
        while deltas > 0 {
            let mut r = Thrift::new(data.get(at..)?);
            r.int()?;
            at += r.at;
            let widths = data.get(at..at.checked_add(self.miniblocks as usize)?)?;
            at += widths.len();
            for &w in widths {
                if deltas == 0 {
                    break;
                }
                if w > 64 {
                    return None;
                }
                at =
                    at.checked_add(usize::try_from(self.per_miniblock * u64::from(w) / 8).ok()?)?;
                deltas = deltas.saturating_sub(self.per_miniblock);
            }
        }
        (at <= data.len()).then_some(at)
    }

    pub(super) fn next(&mut self, data: &[u8]) -> Option<i64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if std::mem::replace(&mut self.first, false) {
            return Some(self.last);
        }
        if self.in_miniblock == 0 {
            if self.miniblock + 1 >= self.miniblocks {
                // A block begins: its least delta and its miniblocks' widths.
                let mut r = Thrift::new(data.get(self.at..)?);
                self.min_delta = r.int()?;
                self.widths = self.at + r.at;
                self.at = self.widths.checked_add(self.miniblocks as usize)?;
                self.miniblock = 0;
            } else {
                self.miniblock += 1;
            }
            let width = *data.get(self.widths + self.miniblock as usize)?;
            if width > 64 {
                return None;
            }
            self.bit = (self.at as u64).checked_mul(8)?;
            let bytes = usize::try_from(self.per_miniblock * u64::from(width) / 8).ok()?;
            self.at = self.at.checked_add(bytes)?;
            self.in_miniblock = self.per_miniblock;
        }
        let width = *data.get(self.widths + self.miniblock as usize)?;
        let v = bits_at(data, self.bit, width)?;
        self.bit += u64::from(width);
        self.in_miniblock -= 1;
        self.last = self
            .last
            .wrapping_add(self.min_delta)
            .wrapping_add(v as i64);
        Some(self.last)
    }
}

/// Parquet's hybrid of run-length and bit-packed runs (levels and dictionary indices), read
/// from `data[at..end]` value by value.
pub(super) struct Hybrid {
    at: usize,
    end: usize,
    width: u8,
    /// Values left in the current run, and the run's value when it is a repeated one.
    left: u64,
    repeated: Option<u64>,
    /// Where the next bit-packed value is, in bits from the data's start.
    bit: u64,
}

impl Hybrid {
    pub(super) fn new(at: usize, end: usize, width: u8) -> Hybrid {
        Hybrid {
            at,
            end,
            width,
            left: 0,
            repeated: None,
            bit: 0,
        }
    }

    pub(super) fn next(&mut self, data: &[u8]) -> Option<u64> {
        let data = data.get(..self.end)?;
        if self.left == 0 {
            let mut r = Thrift::new(data.get(self.at..)?);
            let header = r.varint()?;
            self.at += r.at;
            if header & 1 == 0 {
                let bytes = usize::from(self.width).div_ceil(8);
                let v = data.get(self.at..self.at + bytes)?;
                let mut le = [0u8; 8];
                le[..bytes].copy_from_slice(v);
                self.at += bytes;
                self.repeated = Some(u64::from_le_bytes(le));
                self.left = header >> 1;
            } else {
                let groups = header >> 1;
                let bytes = groups.checked_mul(u64::from(self.width))?;
                // A run may be cut short by the data's end (its last values padding).
                self.repeated = None;
                self.bit = (self.at as u64).checked_mul(8)?;
                self.left = groups.checked_mul(8)?;
                self.at = self
                    .at
                    .saturating_add(usize::try_from(bytes).unwrap_or(usize::MAX))
                    .min(self.end);
            }
            if self.left == 0 {
                return None;
            }
        }
        self.left -= 1;
        if let Some(v) = self.repeated {
            return Some(v);
        }
        let v = bits_at(data, self.bit, self.width)?;
        self.bit += u64::from(self.width);
        Some(v)
    }
}
