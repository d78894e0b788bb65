//! dBase tables (`.dbf`: dBase III and IV, FoxPro, Visual FoxPro, Clipper; what older core and
//! branch systems, ERP exports and GIS tools still write): a header of field descriptors (each
//! field's name, type and width), then fixed-width records. Read as they stream (`Dbf`): the
//! header kept until it is whole, then record by record, each written as a row under a header
//! of the fields' names to a scanner of its own ([`crate::sql::Tables`]), as a delimited
//! export's. Text, numbers, dates and logicals are written as they stand (trimmed); Visual
//! FoxPro's binary integers, currency and doubles as numbers; memo pointers (the memo file is
//! another file), binary and general fields are left out. A deleted record (`*`) still holds
//! its data and is read. Named `dbf` with the rows' formats.
//!
//! Pure: bytes in, classes out. The header's sizes are checked against each other before
//! anything is kept ([`MAX_HEADER`], [`MAX_FIELDS`]); a record is kept to its length; the
//! rows' text draws on the file's budget.

use std::sync::Arc;

use crate::Format;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::Classification;
use crate::sql::Tables;

/// Most bytes of a header (32 bytes, 32 per field, Visual FoxPro's 263-byte backlink).
pub const MAX_HEADER: usize = 32 + 32 * MAX_FIELDS + 1 + 263;
/// Fields a table has at most (dBase's limit is 255; Visual FoxPro's 255 too).
pub const MAX_FIELDS: usize = 255;
/// Rows' text handed on at a time.
const OUT: usize = 64 << 10;
/// The versions (first byte) of the tables read: dBase III (with a memo or not), dBase IV,
/// FoxPro, Visual FoxPro (with autoincrement, varchar), dBase 7.
const VERSIONS: [u8; 12] = [
    0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x83, 0x8B, 0x8E, 0xF5,
];

/// A field: its name, type and width.
struct Field {
    name: Vec<u8>,
    kind: u8,
    width: usize,
}

/// What a header says: its length, a record's, and the fields.
struct Header {
    length: usize,
    record: usize,
    records: u64,
    fields: Vec<Field>,
}

/// Reads a header's fixed part and its field descriptors from `bytes`: `None` where they are
/// no dBase table's (`whole`: the header is all there; else the descriptors there are judged,
/// and the widths' sum is not).
fn header(bytes: &[u8], whole: bool) -> Option<Header> {
    let version = *bytes.first()?;
    if !VERSIONS.contains(&version) {
        return None;
    }
    let (month, day) = (*bytes.get(2)?, *bytes.get(3)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let records = u64::from(u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?));
    let length = usize::from(u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?));
    let record = usize::from(u16::from_le_bytes(bytes.get(10..12)?.try_into().ok()?));
    if !(33..=MAX_HEADER).contains(&length) || record < 2 {
        return None;
    }
    // Field descriptors to the terminator (0x0D), within the header.
    let mut fields = Vec::new();
    let mut at = 32;
    let mut width = 1;
    loop {
        let Some(d) = bytes.get(at..at + 32).filter(|d| d[0] != 0x0D) else {
            if bytes.get(at) == Some(&0x0D) {
                break;
            }
            // The head ends before the descriptors do.
            return (!whole && !fields.is_empty()).then_some(Header {
                length,
                record,
                records,
                fields,
            });
        };
        let name_len = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let name = &d[..name_len];
        let kind = d[11];
        let w = if kind == b'C' {
            // Character fields wider than 255 keep the high byte in the decimal count.
            usize::from(d[16]) | usize::from(d[17]) << 8
        } else {
            usize::from(d[16])
        };
        if name.is_empty()
            || !name.iter().all(|b| b.is_ascii_graphic())
            || !b"CNFDLMIBYTGPVWQ@O+0".contains(&kind)
            || fields.len() >= MAX_FIELDS
            || at + 32 >= length
        {
            return None;
        }
        width += w;
        fields.push(Field {
            name: name.to_ascii_lowercase(),
            kind,
            width: w,
        });
        at += 32;
    }
    // The records' width is the fields' and the deletion flag's.
    (width == record && !fields.is_empty()).then_some(Header {
        length,
        record,
        records,
        fields,
    })
}

/// Whether a file's first bytes are a dBase table's header (its descriptors checked against
/// its sizes; a header longer than the bytes given is judged by those it has).
pub(crate) fn magic(head: &[u8]) -> bool {
    header(head, false).is_some()
}

/// A dBase table being read, chunk by chunk.
pub(crate) struct Dbf {
    tables: Tables,
    budget: Budget,
    /// The header until it is read, then a record's bytes short of its length.
    kept: Vec<u8>,
    header: Option<Header>,
    /// Records read, and whether the file ended in one.
    read: u64,
    done: bool,
    cut: bool,
}

impl Dbf {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Dbf {
            tables: Tables::new(patterns, budget.clone(), depth),
            budget,
            kept: Vec::new(),
            header: None,
            read: 0,
            done: false,
            cut: false,
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.tables.held_bytes() + crate::encoding::held(&self.kept)
    }

    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        if self.done {
            return;
        }
        if self.header.is_none() {
            let room = MAX_HEADER.saturating_sub(self.kept.len());
            let take = room.min(data.len());
            self.kept.extend_from_slice(&data[..take]);
            data = &data[take..];
            // The header whole: its length given, its descriptors read.
            let Some(length) = self
                .kept
                .get(8..10)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            else {
                return;
            };
            if self.kept.len() < length {
                if take == room {
                    self.stop();
                }
                return;
            }
            let Some(h) = header(&self.kept, true) else {
                return self.stop();
            };
            let names: Vec<Vec<u8>> = h.fields.iter().map(|f| f.name.clone()).collect();
            self.tables.begin(b"dbf".to_vec(), Some(&names));
            let rest = self.kept.split_off(h.length);
            self.kept = rest;
            self.header = Some(h);
            let kept = std::mem::take(&mut self.kept);
            self.records(&kept);
        }
        self.records(data);
    }

    /// Reads records from `data` (after the bytes kept short of one).
    fn records(&mut self, mut data: &[u8]) {
        let Some(record) = self.header.as_ref().map(|h| h.record) else {
            return;
        };
        while !data.is_empty() && !self.done {
            if self.header.as_ref().is_some_and(|h| self.read >= h.records) {
                // Past the records the header counts: the end-of-file mark, or padding.
                return;
            }
            let take = (record - self.kept.len()).min(data.len());
            self.kept.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.kept.len() < record {
                return;
            }
            let bytes = std::mem::take(&mut self.kept);
            self.row(&bytes);
            self.kept = bytes;
            self.kept.clear();
            self.read += 1;
        }
    }

    /// A record whole: a row of its fields.
    fn row(&mut self, bytes: &[u8]) {
        let Some(h) = self.header.as_ref() else {
            return;
        };
        let out = &mut self.tables.rows_out;
        let from = out.len();
        let mut at = 1;
        for (n, f) in h.fields.iter().enumerate() {
            if n > 0 {
                out.push(b'\t');
            }
            let v = &bytes[at..at + f.width];
            at += f.width;
            match f.kind {
                b'C' | b'N' | b'F' | b'D' | b'L' | b'V' => crate::cell::text(out, v.trim_ascii()),
                b'I' | b'+' if f.width == 4 => {
                    let n = i32::from_le_bytes(v.try_into().unwrap_or([0; 4]));
                    crate::cell::decimal(out, i128::from(n), 0);
                }
                // Currency: ten-thousandths.
                b'Y' if f.width == 8 => {
                    let n = i64::from_le_bytes(v.try_into().unwrap_or([0; 8]));
                    crate::cell::decimal(out, i128::from(n), 4);
                }
                b'B' | b'O' if f.width == 8 => {
                    crate::cell::float(out, f64::from_le_bytes(v.try_into().unwrap_or([0; 8])));
                }
                _ => {}
            }
        }
        out.push(b'\n');
        let n = (out.len() - from) as u64;
        if self.budget.bytes(n) < n {
            self.tables.rows_out.truncate(from);
            self.stop();
            return;
        }
        if self.tables.rows_out.len() >= OUT {
            self.tables.hand_rows();
        }
    }

    fn stop(&mut self) {
        self.done = true;
        self.cut = true;
        self.kept = Vec::new();
    }

    pub(crate) fn finish(mut self) -> Classification {
        let Some(h) = self.header.as_ref() else {
            return Classification {
                formats: vec![Format::Binary, Format::Dbf],
                ..Classification::default()
            };
        };
        // Fewer records than the header counts: the file was cut.
        self.tables.cut |= self.cut || self.read < h.records;
        self.tables.finish(Format::Dbf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};
    use crate::sql::tests::{CUSTOMERS, counts, names};

    fn fixture(name: &str) -> Vec<u8> {
        crate::tests::fixture_in("dbf", name)
    }

    const TABLES: [&str; 2] = ["customers-db3.dbf", "customers-vfp.dbf"];

    /// The `dbf` package's dBase III and Visual FoxPro tables (`tests/dbf/make.py`: text,
    /// numeric, binary integer, currency and double fields; a deleted record): the fields'
    /// names name their values, the deleted record counts, in any chunks.
    #[test]
    fn dbase_tables_count_their_records_by_their_fields_names() {
        for name in TABLES {
            let bytes = fixture(name);
            assert!(magic(&bytes), "{name}");
            for size in [1, 33, 4096, bytes.len()] {
                let found = in_chunks(&bytes, size);
                assert_eq!(counts(&found), CUSTOMERS, "{name} in chunks of {size}");
                assert_eq!(names(&found), ["account_table", "dbf"], "{name}");
            }
        }
    }

    /// Text and other binary files are no tables; a table cut short says so.
    #[test]
    fn only_a_header_that_holds_together_is_a_table() {
        assert!(!magic(b"0,1,2\n3,4,5\n"));
        assert!(!magic(b"\x03\x7e\x0c\x05 not a header at all"));
        let bytes = fixture(TABLES[0]);
        let found = classify(&bytes[..bytes.len() - 300]);
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert!(found.counts.get(Class::Email) > 0, "{found:?}");
        assert_eq!(names(&classify(&bytes[..200])), ["binary", "dbf"]);
    }

    proptest::proptest! {
        /// Tables with any bytes changed, cut anywhere, in any chunks: a verdict, never a
        /// panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..TABLES.len(),
            changes in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(TABLES[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
        }
    }
}
