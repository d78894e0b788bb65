//! Excel 97-2003 workbooks (`.xls`, BIFF8), read from their compound file's `Workbook`
//! stream ([`crate::compound`]): the shared strings table (`SST`, split over `CONTINUE`
//! records as Excel writes it) and each worksheet's cells (shared strings, text, numbers,
//! formulas' cached values) are written out as the SpreadsheetML an XLSX workbook holds and
//! read by the same readers ([`crate::sheet`], and a scanner for what the text holds), so a
//! `.xls` counts what the same workbook saved as `.xlsx` does. A workbook protected by a
//! password (a `FILEPASS` record) is `encrypted:office`.
//!
//! Pure: the stream's bytes in, what its sheets hold out; every record length is checked
//! against the stream, every count only counts down what is there.

use std::sync::Arc;

use crate::Format;
use crate::little_endian::{f64_at, u16_at, u32_at};
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};
use crate::sheet::{CellValue, SheetWriter, Workbook, escape};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FILEPASS: u16 = 0x002F;
const SST: u16 = 0x00FC;
const CONTINUE: u16 = 0x003C;
const LABELSST: u16 = 0x00FD;
const LABEL: u16 = 0x0204;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;
/// A `BOF` record's substream type: a worksheet (others are charts and macro sheets).
const WORKSHEET: u16 = 0x0010;
/// Rows of SpreadsheetML handed to the readers at a time.
const FLUSH: usize = 64 << 10;

/// What a `Workbook` stream holds: its classes, or that it is encrypted.
pub(crate) enum Read {
    Classified(Classification),
    Encrypted,
}

/// The records of a BIFF stream: type and data.
fn records(stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let head = stream.get(at..at + 4)?;
        let kind = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((kind, data))
    })
}

/// Where a stream's records end: at its end, or before a record that runs past it (what
/// follows cannot be read).
fn records_end(stream: &[u8]) -> usize {
    let mut at = 0;
    while let Some(head) = stream.get(at..at + 4) {
        let next = at + 4 + usize::from(u16::from_le_bytes([head[2], head[3]]));
        if next > stream.len() {
            break;
        }
        at = next;
    }
    at
}

/// Reads a `Workbook` stream (`whole`: all of it was kept).
pub(crate) fn read(stream: &[u8], whole: bool, patterns: Option<Arc<Patterns>>) -> Read {
    // (A stream's last sector may be padded past its last record: fewer than 4 bytes.)
    let whole = whole && stream.len() - records_end(stream) < 4;
    let mut book = Book::new(patterns);
    let mut iter = records(stream).peekable();
    // The globals, up to their EOF: the shared strings (read after the sheets, as an XLSX
    // workbook's follow its sheets: a string that cells show more than once is then known).
    let mut shared = None;
    while let Some((kind, data)) = iter.next() {
        match kind {
            FILEPASS => return Read::Encrypted,
            SST => {
                let mut segments = vec![data];
                while let Some(&(CONTINUE, more)) = iter.peek() {
                    segments.push(more);
                    iter.next();
                }
                shared = Some(segments);
            }
            EOF => break,
            _ => {}
        }
    }
    // The sheets, each from its BOF to its EOF.
    let mut in_sheet = false;
    let mut formula_text: Option<(u16, u16)> = None;
    for (kind, data) in iter {
        let cell =
            |data: &[u8]| -> Option<(u16, u16)> { Some((u16_at(data, 0)?, u16_at(data, 2)?)) };
        match kind {
            BOF => {
                in_sheet = u16_at(data, 2) == Some(WORKSHEET);
                if in_sheet {
                    book.begin_sheet();
                }
            }
            EOF if in_sheet => {
                book.end_sheet();
                in_sheet = false;
            }
            _ if !in_sheet => {}
            LABELSST => {
                if let (Some((row, col)), Some(index)) = (cell(data), u32_at(data, 6)) {
                    book.cell(row, col, CellValue::Shared(index));
                }
            }
            NUMBER => {
                if let (Some((row, col)), Some(v)) = (cell(data), f64_at(data, 6)) {
                    book.cell(row, col, CellValue::Number(v));
                }
            }
            RK => {
                if let (Some((row, col)), Some(rk)) = (cell(data), u32_at(data, 6)) {
                    book.cell(row, col, CellValue::Number(rk_value(rk)));
                }
            }
            MULRK => {
                if let Some((row, first)) = cell(data) {
                    let values = data
                        .get(4..data.len().saturating_sub(2))
                        .unwrap_or_default();
                    for (i, v) in values.chunks_exact(6).enumerate() {
                        let rk = u32::from_le_bytes([v[2], v[3], v[4], v[5]]);
                        let col = first.saturating_add(i as u16);
                        book.cell(row, col, CellValue::Number(rk_value(rk)));
                    }
                }
            }
            LABEL => {
                if let Some((row, col)) = cell(data) {
                    let text = data.get(6..).map(unicode_string).unwrap_or_default();
                    book.cell(row, col, CellValue::Text(&text));
                }
            }
            FORMULA => {
                // Its cached value: a number, or text in the STRING record after it.
                if let (Some((row, col)), Some(result)) = (cell(data), data.get(6..14)) {
                    if result[6..8] == [0xFF, 0xFF] {
                        formula_text = (result[0] == 0).then_some((row, col));
                    } else if let Some(v) = f64_at(data, 6) {
                        book.cell(row, col, CellValue::Number(v));
                    }
                }
            }
            STRING => {
                if let Some((row, col)) = formula_text.take() {
                    let text = unicode_string(data);
                    book.cell(row, col, CellValue::Text(&text));
                }
            }
            _ => {}
        }
    }
    if in_sheet {
        book.end_sheet();
    }
    if let Some(segments) = shared {
        book.shared_strings(&segments);
    }
    Read::Classified(book.finish(!whole))
}

/// A workbook being written out as SpreadsheetML to the readers of [`crate::sheet`].
struct Book {
    workbook: Workbook,
    sheet: Option<crate::sheet::Sheet>,
    /// What the text holds beyond the columns (IBANs, e-mail addresses, printed card
    /// numbers), as in an XLSX workbook's parts.
    text: Scanner,
    /// The SpreadsheetML not yet handed over, and its writer.
    xml: Vec<u8>,
    writer: SheetWriter,
    /// The tenant's patterns, counted in the shared strings' repeated cells too.
    patterns: Option<Arc<Patterns>>,
    cut: bool,
}

impl Book {
    fn new(patterns: Option<Arc<Patterns>>) -> Self {
        let mut text = Scanner::with_patterns(patterns.clone());
        text.inside_archive(
            crate::encoding::Budget::with(0, 0),
            crate::encoding::MAX_DEPTH,
        );
        text.in_workbook();
        text.feed(b"<?xml version=\"1.0\"?>\n");
        Book {
            workbook: Workbook::default(),
            sheet: None,
            text,
            xml: Vec::new(),
            writer: SheetWriter::default(),
            patterns,
            cut: false,
        }
    }

    /// The shared strings table, from its record and the `CONTINUE` records after it.
    fn shared_strings(&mut self, segments: &[&[u8]]) {
        let mut shared = self.workbook.shared_strings(self.patterns.clone());
        let mut reader = Segments {
            segments,
            segment: 0,
            at: 8, // the table's total and unique counts
        };
        let mut xml = b"<sst>".to_vec();
        while let Some(text) = reader.rich_string() {
            xml.extend_from_slice(b"<si><t>");
            escape(&text, &mut xml);
            xml.extend_from_slice(b"</t></si>");
            if xml.len() >= FLUSH {
                shared.feed(&xml);
                self.text.feed(&xml);
                xml.clear();
            }
        }
        xml.extend_from_slice(b"</sst>\n");
        shared.feed(&xml);
        self.text.feed(&xml);
        self.workbook.add_shared_strings(shared);
    }

    fn begin_sheet(&mut self) {
        self.end_sheet();
        self.sheet = Some(self.workbook.sheet(false));
        self.xml.extend_from_slice(SheetWriter::BEGIN);
    }

    fn cell(&mut self, row: u16, col: u16, value: CellValue<'_>) {
        if self.sheet.is_none() {
            return;
        }
        self.writer
            .cell(row.into(), col.into(), value, &mut self.xml);
        // (Handed over as it grows, within a row too: the readers take any chunks, and a
        // stream may give one row any number of cells.)
        if self.xml.len() >= FLUSH {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if let Some(sheet) = self.sheet.as_mut() {
            let room = self.workbook.sheet_room(self.xml.len());
            sheet.feed(&self.xml[..room]);
            self.text.feed(&self.xml);
        }
        self.xml.clear();
    }

    fn end_sheet(&mut self) {
        if self.sheet.is_none() {
            return;
        }
        self.writer.end(&mut self.xml);
        self.hand_over();
        if let Some(sheet) = self.sheet.take() {
            self.workbook.add_sheet(sheet);
        }
    }

    fn finish(mut self, cut: bool) -> Classification {
        self.end_sheet();
        let mut found = self.text.finish();
        for (name, n) in self.workbook.custom_again() {
            *found.custom.entry(name).or_default() += n;
        }
        self.cut |= self.workbook.finish(&mut found.counts, &mut found.distinct) || cut;
        found.formats.retain(|f| *f != Format::ScannedInPart);
        found.formats.push(Format::Xls);
        if self.cut {
            found.formats.push(Format::ScannedInPart);
        }
        found
    }
}

/// An RK number: an integer or the high 30 bits of a double, divided by 100 when flagged.
pub(crate) fn rk_value(rk: u32) -> f64 {
    let v = if rk & 2 != 0 {
        f64::from((rk as i32) >> 2)
    } else {
        f64::from_bits(u64::from(rk & 0xFFFF_FFFC) << 32)
    };
    if rk & 1 != 0 { v / 100.0 } else { v }
}

/// A record's string (`XLUnicodeString`: a 16-bit count, a flag byte, the characters in one
/// byte or two each).
fn unicode_string(data: &[u8]) -> String {
    let segments = [data];
    let mut reader = Segments {
        segments: &segments,
        segment: 0,
        at: 0,
    };
    reader.plain_string().unwrap_or_default()
}

/// The shared strings table's bytes over its record and the `CONTINUE` records after it: a
/// string's characters that cross into the next record begin there with a flag byte of their
/// own (one byte or two per character), other fields cross without one.
struct Segments<'a> {
    segments: &'a [&'a [u8]],
    segment: usize,
    at: usize,
}

impl Segments<'_> {
    fn byte(&mut self) -> Option<u8> {
        loop {
            let s = self.segments.get(self.segment)?;
            if let Some(&b) = s.get(self.at) {
                self.at += 1;
                return Some(b);
            }
            self.segment += 1;
            self.at = 0;
        }
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }

    /// Passes `n` bytes (a rich string's runs, its phonetic data).
    fn skip(&mut self, mut n: usize) -> Option<()> {
        while n > 0 {
            let s = self.segments.get(self.segment)?;
            let here = (s.len() - self.at.min(s.len())).min(n);
            if here == 0 {
                self.segment += 1;
                self.at = 0;
                continue;
            }
            self.at += here;
            n -= here;
        }
        Some(())
    }

    /// `count` characters, one byte each or two (`wide`); at a record's end the next one says
    /// again which.
    fn chars(&mut self, count: u16, mut wide: bool) -> Option<String> {
        let mut units = Vec::with_capacity(usize::from(count.min(1024)));
        for _ in 0..count {
            let s = self.segments.get(self.segment)?;
            if self.at >= s.len() {
                self.segment += 1;
                self.at = 0;
                wide = self.byte()? & 1 != 0;
            }
            let unit = if wide {
                self.u16()?
            } else {
                u16::from(self.byte()?)
            };
            units.push(unit);
        }
        Some(String::from_utf16_lossy(&units))
    }

    /// A string of a record: count, flags, characters.
    fn plain_string(&mut self) -> Option<String> {
        let count = self.u16()?;
        let flags = self.byte()?;
        self.chars(count, flags & 1 != 0)
    }

    /// A shared string (`XLUnicodeRichExtendedString`): count, flags, the runs' count and the
    /// phonetic data's size where flagged, the characters, then those passed over.
    fn rich_string(&mut self) -> Option<String> {
        let count = self.u16()?;
        let flags = self.byte()?;
        let runs = if flags & 8 != 0 { self.u16()? } else { 0 };
        let phonetic = if flags & 4 != 0 { self.u32()? } else { 0 };
        let text = self.chars(count, flags & 1 != 0)?;
        self.skip(4 * usize::from(runs))?;
        self.skip(usize::try_from(phonetic).ok()?)?;
        Some(text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BIFF record.
    pub(crate) fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    /// A cell record's row, column and format.
    fn at(row: u16, col: u16) -> Vec<u8> {
        [row.to_le_bytes(), col.to_le_bytes(), 0u16.to_le_bytes()].concat()
    }

    fn bof(kind: u16) -> Vec<u8> {
        record(
            BOF,
            &[&0x0600u16.to_le_bytes()[..], &kind.to_le_bytes(), &[0; 12]].concat(),
        )
    }

    /// A workbook stream: the shared strings (the table split in two records, the second
    /// string's characters crossing into the CONTINUE in two-byte form), a sheet of a heading
    /// row and `rows` customers (an SSN as an RK integer, a routing number as a shared string,
    /// an account as a NUMBER, a card number as a LABEL), and a chart substream.
    pub(crate) fn workbook_stream(rows: u16) -> Vec<u8> {
        let strings = [
            "SSN",
            "Routing Number",
            "Account Number",
            "Card",
            "021000021",
        ];
        let mut table = Vec::new();
        for s in &strings {
            table.extend((s.len() as u16).to_le_bytes());
            table.push(0);
            table.extend(s.as_bytes());
        }
        // Cut inside "Routing Number" (after "Rout"): the CONTINUE says two bytes a character.
        let cut = 3 + 3 + 3 + 4;
        let mut sst = 5u32.to_le_bytes().to_vec();
        sst.extend(5u32.to_le_bytes());
        sst.extend(&table[..cut]);
        let mut cont = vec![1u8];
        for c in &table[cut..cut + 10] {
            cont.extend([*c, 0]);
        }
        cont.extend(&table[cut + 10..]);
        let mut out = bof(0x0005);
        out.extend(record(SST, &sst));
        out.extend(record(CONTINUE, &cont));
        out.extend(record(EOF, &[]));
        out.extend(bof(WORKSHEET));
        for (col, index) in [(0u16, 0u32), (1, 1), (2, 2), (3, 3)] {
            out.extend(record(
                LABELSST,
                &[at(0, col), index.to_le_bytes().to_vec()].concat(),
            ));
        }
        for r in 1..=rows {
            let ssn = 123_456_000 + u32::from(r);
            let rk = (ssn << 2) | 2;
            out.extend(record(RK, &[at(r, 0), rk.to_le_bytes().to_vec()].concat()));
            out.extend(record(
                LABELSST,
                &[at(r, 1), 4u32.to_le_bytes().to_vec()].concat(),
            ));
            let account = f64::from(40_000_000 + u32::from(r));
            out.extend(record(
                NUMBER,
                &[at(r, 2), account.to_le_bytes().to_vec()].concat(),
            ));
            let card = "4111111111111111";
            let label = [
                &(card.len() as u16).to_le_bytes()[..],
                &[0],
                card.as_bytes(),
            ]
            .concat();
            out.extend(record(LABEL, &[at(r, 3), label].concat()));
        }
        out.extend(record(EOF, &[]));
        out.extend(bof(0x0020));
        out.extend(record(
            LABEL,
            &[at(0, 0), vec![3, 0, 0], b"123456789".to_vec()].concat(),
        ));
        out.extend(record(EOF, &[]));
        out
    }

    #[test]
    fn a_workbook_counts_by_its_columns_as_its_xlsx_would() {
        let Read::Classified(found) = read(&workbook_stream(20), true, None) else {
            panic!("not encrypted");
        };
        use crate::scan::Class;
        assert_eq!(found.counts.get(Class::UsSsn), 20, "{found:?}");
        assert_eq!(found.counts.get(Class::AbaRouting), 20);
        assert_eq!(found.counts.get(Class::UsBankAccount), 20);
        assert_eq!(found.counts.get(Class::CardNumber), 20);
        assert_eq!(found.formats, vec![Format::Xls]);
        // Cut short: what was read, and said.
        let stream = workbook_stream(20);
        let Read::Classified(cut) = read(&stream[..stream.len() * 2 / 3], false, None) else {
            panic!()
        };
        assert!(cut.formats.contains(&Format::ScannedInPart));
        assert!(cut.counts.get(Class::UsSsn) < 20);
        // A password: encrypted.
        let mut locked = bof(0x0005);
        locked.extend(record(FILEPASS, &[1, 0]));
        assert!(matches!(read(&locked, true, None), Read::Encrypted));
    }

    /// A shared strings table of `strings` over records cut where `cuts` say (each a place in
    /// the table's bytes, moved to the next string's start or kept inside a string's
    /// characters, where a CONTINUE record begins with the flag byte of the characters after
    /// it, as Excel writes them).
    fn sst_records(strings: &[String], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut records = vec![[5u32.to_le_bytes(), (strings.len() as u32).to_le_bytes()].concat()];
        let mut cuts = cuts.iter().copied().peekable();
        let mut written = 0;
        for s in strings {
            let units: Vec<u16> = s.encode_utf16().collect();
            let wide = units.iter().any(|&u| u > 0xFF);
            let last = records.last_mut().unwrap();
            last.extend((units.len() as u16).to_le_bytes());
            last.push(u8::from(wide));
            written += 3;
            for (i, &u) in units.iter().enumerate() {
                if cuts.next_if(|&c| c <= written).is_some() {
                    // A new record inside the characters: its flag byte says their form.
                    let rest_wide = units[i..].iter().any(|&u| u > 0xFF);
                    records.push(vec![u8::from(rest_wide)]);
                    let last = records.last_mut().unwrap();
                    push_unit(last, u, rest_wide);
                    // (The rest of this string in the new form.)
                    for &u in &units[i + 1..] {
                        push_unit(records.last_mut().unwrap(), u, rest_wide);
                    }
                    written += units.len() - i;
                    break;
                }
                push_unit(records.last_mut().unwrap(), u, wide);
                written += 1;
            }
            // A cut between strings: the next record begins with the next string's header.
            if cuts.next_if(|&c| c <= written).is_some() {
                records.push(Vec::new());
            }
        }
        records
    }

    fn push_unit(record: &mut Vec<u8>, u: u16, wide: bool) {
        if wide {
            record.extend(u.to_le_bytes());
        } else {
            record.push(u as u8);
        }
    }

    proptest::proptest! {
        /// However a shared strings table is cut into CONTINUE records (inside a string's
        /// characters, whose form the new record says again, or between strings), its strings
        /// are read as they were written.
        #[test]
        fn shared_strings_survive_any_cuts(
            strings in proptest::collection::vec("[a-zA-Z0-9 éü王€]{0,40}", 0..30),
            mut cuts in proptest::collection::vec(0usize..1500, 0..12),
        ) {
            cuts.sort_unstable();
            let records = sst_records(&strings, &cuts);
            let segments: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
            let mut reader = Segments { segments: &segments, segment: 0, at: 8 };
            let mut read = Vec::new();
            while let Some(s) = reader.rich_string() {
                read.push(s);
            }
            proptest::prop_assert_eq!(read, strings);
        }
    }

    #[test]
    fn numbers_and_strings_are_read_as_excel_writes_them() {
        assert_eq!(rk_value((1234 << 2) | 2), 1234.0);
        assert_eq!(rk_value((1234 << 2) | 3), 12.34);
        let bits = 123_456_789.0f64.to_bits();
        assert_eq!(
            rk_value((bits >> 32) as u32 & !3),
            f64::from_bits(bits & 0xFFFF_FFFC_0000_0000)
        );
        assert_eq!(unicode_string(&[3, 0, 1, b'a', 0, 0xE9, 0, b'z', 0]), "aéz");
        assert_eq!(unicode_string(&[9, 0, 0, b'a']), "");
        // Rich and phonetic data after a string's characters are passed over.
        let data = [
            2, 0, 0x0C, 1, 0, 4, 0, 0, 0, b'h', b'i', 9, 9, 9, 9, 7, 7, 7, 7,
        ];
        let segments = [&data[..]];
        let mut r = Segments {
            segments: &segments,
            segment: 0,
            at: 0,
        };
        assert_eq!(r.rich_string().as_deref(), Some("hi"));
        assert_eq!(r.byte(), None);
    }
}
