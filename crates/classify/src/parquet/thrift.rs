//! Thrift's compact protocol, as a Parquet file's footer and page headers are written in it:
//! structures read field by field, what is not asked for skipped, nesting bounded by
//! [`super::MAX_NESTING`]. Never here: what the fields mean (`super`).

use super::MAX_NESTING;

pub(super) const TRUE: u8 = 1;
pub(super) const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
pub(super) const I32: u8 = 5;
pub(super) const I64: u8 = 6;
const DOUBLE_T: u8 = 7;
pub(super) const BINARY: u8 = 8;
pub(super) const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
pub(super) const STRUCT: u8 = 12;

/// A reader of Thrift's compact protocol over bytes: structures field by field, what is not
/// asked for skipped, nesting bounded by [`MAX_NESTING`].
pub(super) struct Thrift<'a> {
    bytes: &'a [u8],
    pub(super) at: usize,
    depth: u8,
}

impl<'a> Thrift<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Thrift {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    pub(super) fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// A zigzag-encoded integer (i16, i32 or i64).
    pub(super) fn int(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    pub(super) fn binary(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let v = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(v)
    }

    /// A list's (or set's) header: its length, its elements' type `want` (each takes a byte
    /// at least, so the length is bounded by the bytes left).
    pub(super) fn list(&mut self, want: u8) -> Option<u64> {
        let (n, ty) = self.list_header()?;
        (ty == want).then_some(n)
    }

    fn list_header(&mut self) -> Option<(u64, u8)> {
        let h = self.byte()?;
        let n = match h >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        (n <= (self.bytes.len() - self.at) as u64).then_some((n, h & 0x0F))
    }

    /// Reads a structure's fields, handing each (its id and type) to `field`, which reads or
    /// skips its value.
    pub(super) fn read_struct(
        &mut self,
        mut field: impl FnMut(&mut Self, i16, u8) -> Option<()>,
    ) -> Option<()> {
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let mut id: i16 = 0;
        loop {
            let h = self.byte()?;
            let ty = h & 0x0F;
            if ty == 0 {
                break;
            }
            id = match h >> 4 {
                0 => i16::try_from(self.int()?).ok()?,
                delta => id.checked_add(i16::from(delta))?,
            };
            field(self, id, ty)?;
        }
        self.depth -= 1;
        Some(())
    }

    /// Passes over a value of type `ty`.
    pub(super) fn skip(&mut self, ty: u8) -> Option<()> {
        match ty {
            TRUE | FALSE => {}
            BYTE => {
                self.byte()?;
            }
            I16 | I32 | I64 => {
                self.varint()?;
            }
            DOUBLE_T => {
                self.bytes.get(self.at..self.at.checked_add(8)?)?;
                self.at += 8;
            }
            BINARY => {
                self.binary()?;
            }
            LIST | SET => {
                let (n, ty) = self.list_header()?;
                self.nested(|r| {
                    for _ in 0..n {
                        // A list's booleans take a byte each.
                        if matches!(ty, TRUE | FALSE) {
                            r.byte()?;
                        } else {
                            r.skip(ty)?;
                        }
                    }
                    Some(())
                })?;
            }
            MAP => {
                let n = self.varint()?;
                if n > 0 {
                    if n > (self.bytes.len() - self.at) as u64 {
                        return None;
                    }
                    let kv = self.byte()?;
                    self.nested(|r| {
                        for _ in 0..n {
                            r.skip(kv >> 4)?;
                            r.skip(kv & 0x0F)?;
                        }
                        Some(())
                    })?;
                }
            }
            STRUCT => self.read_struct(|r, _, ty| r.skip(ty))?,
            _ => return None,
        }
        Some(())
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Option<()>) -> Option<()> {
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        f(self)?;
        self.depth -= 1;
        Some(())
    }
}
