//! Excel binary workbooks (`.xlsb`): a ZIP package like an XLSX workbook's, whose parts are
//! BIFF12 records instead of XML. Each part the workbook's data is in is written out, as its
//! records stream, as the SpreadsheetML an XLSX workbook's part holds (a worksheet's cells,
//! the shared strings, the cells' comments), which the archive then reads as it reads an
//! XLSX workbook's ([`crate::sheet`], and a scanner for what the text holds); so an `.xlsb`
//! counts what the same workbook saved as `.xlsx` does. The parts that hold no cell's value
//! (the workbook's sheet list, its styles, its calculation chain, a sheet's index) are read as
//! records too and write nothing, so they do not leave the workbook read in part; other binary
//! parts (macros, a pivot table's cache) are entries that are not text, as in an XLSX package.
//!
//! A record is its type (one or two bytes, seven bits each), its size (one to four bytes, seven
//! bits each) and its data ([MS-XLSB] 2.1.4). Cells are `BrtCell*` records (a column, a style,
//! a value) under a `BrtRowHdr` (the row), or their short forms (Excel 2016 and later, and
//! SheetJS: no column, the one after the previous cell's).
//!
//! Pure and bounded: bytes in any chunks; a record is kept only where its data is read (a
//! cell's, a shared string's, a comment's) and only up to [`MAX_RECORD`] bytes (a cell's
//! 32,767 characters need 64 KiB); a longer one is passed over and the part is read in part
//! ([`Records::cut`]). Never here: the archive's structure (the `archive` module hands each
//! entry's contents over).

use crate::little_endian::{f64_at, u32_at};
use crate::sheet::{CellValue, Part, SheetWriter, escape};

/// Most bytes of a record kept to be read (a cell's or a shared string's longest text, 32,767
/// characters of two bytes, with its runs and phonetic data).
pub(crate) const MAX_RECORD: usize = 256 << 10;

const ROW_HDR: u16 = 0;
/// `BrtCellBlank` … `BrtFmlaError`: a cell with its column.
const CELLS: std::ops::RangeInclusive<u16> = 1..=11;
/// `BrtShortBlank` … `BrtShortIsst`: a cell in the column after the previous one.
const SHORT_CELLS: std::ops::RangeInclusive<u16> = 12..=18;
const CELL_RK: u16 = 2;
const CELL_REAL: u16 = 5;
const CELL_ST: u16 = 6;
const CELL_ISST: u16 = 7;
const FMLA_STRING: u16 = 8;
const FMLA_NUM: u16 = 9;
/// The short forms are the long ones' types plus this.
const SHORT: u16 = 11;
const SST_ITEM: u16 = 19;
const COMMENT_TEXT: u16 = 637;

/// What a part of an `.xlsb` package holds, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// A worksheet's cells (`xl/worksheets/sheet1.bin`).
    Cells,
    /// The shared strings (`xl/sharedStrings.bin`).
    SharedStrings,
    /// Cells' comments (`xl/comments1.bin`).
    Comments,
    /// No cell's value: the workbook's sheets and names, its styles, its calculation chain, a
    /// sheet's index, a chart's sheet.
    Structure,
}

impl Holds {
    fn of(name: &[u8]) -> Option<Holds> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        let (dir, file) = name.rsplit_once('/')?;
        let stem = file.strip_suffix(".bin")?;
        match (dir, stem) {
            ("xl/worksheets", s) if s.starts_with("sheet") => Some(Holds::Cells),
            ("xl/worksheets", s) if s.starts_with("binaryindex") => Some(Holds::Structure),
            ("xl/chartsheets", _) => Some(Holds::Structure),
            ("xl", "sharedstrings") => Some(Holds::SharedStrings),
            ("xl", s) if s.starts_with("comments") => Some(Holds::Comments),
            ("xl", "workbook" | "styles" | "calcchain") => Some(Holds::Structure),
            _ => None,
        }
    }
}

/// Where the reader is in the records.
enum Step {
    /// Reading a record's type and size (the bytes so far: at most six).
    Head,
    /// Keeping a record's data: `left` bytes to come.
    Keep { kind: u16, left: usize },
    /// Passing a record's data over.
    Skip { left: usize },
}

/// One `.xlsb` part's records, written out as SpreadsheetML as they come.
pub(crate) struct Records {
    holds: Holds,
    step: Step,
    head: [u8; 6],
    head_len: usize,
    kept: Vec<u8>,
    begun: bool,
    writer: SheetWriter,
    /// The row of the cells that follow, and the column of the last cell.
    row: u32,
    col: Option<u32>,
    /// A record was passed over that held data, or the part ended inside a record.
    pub(crate) cut: bool,
}

impl Records {
    /// A reader for the part named `name`, if it is one of an `.xlsb` package's that are
    /// records.
    pub(crate) fn of(name: &[u8]) -> Option<Records> {
        Some(Records {
            holds: Holds::of(name)?,
            step: Step::Head,
            head: [0; 6],
            head_len: 0,
            kept: Vec::new(),
            begun: false,
            writer: SheetWriter::default(),
            row: 0,
            col: None,
            cut: false,
        })
    }

    /// Which of a workbook's parts the SpreadsheetML it writes is, for the readers of
    /// [`crate::sheet`].
    pub(crate) fn part(&self) -> Option<Part> {
        match self.holds {
            Holds::Cells => Some(Part::Worksheet),
            Holds::SharedStrings => Some(Part::SharedStrings),
            Holds::Comments | Holds::Structure => None,
        }
    }

    /// The memory it keeps between chunks.
    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.kept)
    }

    /// The part's next bytes: the SpreadsheetML they write, appended to `out`.
    pub(crate) fn convert(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if !self.begun {
            self.begun = true;
            out.extend_from_slice(b"<?xml version=\"1.0\"?>\n");
            out.extend_from_slice(match self.holds {
                Holds::Cells => SheetWriter::BEGIN,
                Holds::SharedStrings => b"<sst>",
                Holds::Comments => b"<comments>",
                Holds::Structure => b"",
            });
        }
        while !data.is_empty() {
            match &mut self.step {
                Step::Head => {
                    let had = self.head_len;
                    let take = (self.head.len() - had).min(data.len());
                    self.head[had..had + take].copy_from_slice(&data[..take]);
                    match record_head(&self.head[..had + take]) {
                        Some((kind, size, used)) => {
                            data = &data[used - had..];
                            self.head_len = 0;
                            self.begin_record(kind, size, &mut data, out);
                        }
                        None => {
                            self.head_len = had + take;
                            data = &data[take..];
                        }
                    }
                }
                Step::Keep { kind, left } => {
                    let (kind, n) = (*kind, (*left).min(data.len()));
                    self.kept.extend_from_slice(&data[..n]);
                    *left -= n;
                    data = &data[n..];
                    if *left == 0 {
                        self.step = Step::Head;
                        let kept = std::mem::take(&mut self.kept);
                        self.record(kind, &kept, out);
                        self.kept = kept;
                        self.kept.clear();
                    }
                }
                Step::Skip { left } => {
                    let n = (*left).min(data.len());
                    *left -= n;
                    data = &data[n..];
                    if *left == 0 {
                        self.step = Step::Head;
                    }
                }
            }
        }
    }

    /// The part's end: what closes its SpreadsheetML, appended to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.begun {
            self.convert(&[], out);
        }
        self.cut |= self.head_len > 0 || !matches!(self.step, Step::Head);
        match self.holds {
            Holds::Cells => self.writer.end(out),
            Holds::SharedStrings => out.extend_from_slice(b"</sst>\n"),
            Holds::Comments => out.extend_from_slice(b"</comments>\n"),
            Holds::Structure => {}
        }
    }

    /// A record of type `kind` and `size` bytes begins: it is read at once where all of it is
    /// in `data` (and passed), kept where it is read and comes in later chunks, else passed
    /// over.
    fn begin_record(&mut self, kind: u16, size: usize, data: &mut &[u8], out: &mut Vec<u8>) {
        if !self.reads(kind) {
            self.step = Step::Skip { left: size };
        } else if size > MAX_RECORD {
            self.cut = true;
            self.step = Step::Skip { left: size };
        } else if size <= data.len() {
            self.record(kind, &data[..size], out);
            *data = &data[size..];
            return;
        } else {
            self.step = Step::Keep { kind, left: size };
        }
        if size == 0 {
            self.step = Step::Head;
        }
    }

    /// Whether the part's records of type `kind` are read.
    fn reads(&self, kind: u16) -> bool {
        match self.holds {
            Holds::Cells => kind == ROW_HDR || CELLS.contains(&kind) || SHORT_CELLS.contains(&kind),
            Holds::SharedStrings => kind == SST_ITEM,
            Holds::Comments => kind == COMMENT_TEXT,
            Holds::Structure => false,
        }
    }

    /// A whole record read.
    fn record(&mut self, kind: u16, data: &[u8], out: &mut Vec<u8>) {
        match self.holds {
            Holds::Cells => self.cell(kind, data, out),
            Holds::SharedStrings | Holds::Comments => {
                // A `RichStr`: a byte of flags, then the text (runs and phonetic data after
                // it are not read).
                let text = data.get(1..).and_then(wide_string).unwrap_or_default();
                let (open, close): (&[u8], &[u8]) = if self.holds == Holds::SharedStrings {
                    (b"<si><t>", b"</t></si>")
                } else {
                    (b"<comment><t>", b"</t></comment>\n")
                };
                out.extend_from_slice(open);
                escape(&text, out);
                out.extend_from_slice(close);
            }
            Holds::Structure => {}
        }
    }

    /// A worksheet's record: a row's header, or a cell.
    fn cell(&mut self, kind: u16, data: &[u8], out: &mut Vec<u8>) {
        if kind == ROW_HDR {
            if let Some(row) = u32_at(data, 0) {
                self.row = row;
                self.col = None;
            }
            return;
        }
        let (col, value, long) = if CELLS.contains(&kind) {
            let Some(col) = u32_at(data, 0) else {
                return;
            };
            (col, 8, kind)
        } else {
            (self.col.map_or(0, |c| c.saturating_add(1)), 4, kind - SHORT)
        };
        self.col = Some(col);
        let value = match long {
            CELL_RK => u32_at(data, value).map(|rk| CellValue::Number(crate::xls::rk_value(rk))),
            CELL_REAL | FMLA_NUM => f64_at(data, value).map(CellValue::Number),
            CELL_ISST => u32_at(data, value).map(CellValue::Shared),
            CELL_ST | FMLA_STRING => {
                let text = data.get(value..).and_then(wide_string).unwrap_or_default();
                self.writer.cell(self.row, col, CellValue::Text(&text), out);
                return;
            }
            _ => None,
        };
        if let Some(value) = value {
            self.writer.cell(self.row, col, value, out);
        }
    }
}

/// A record's head at the start of `h`: its type, its size and the bytes they took; `None`
/// while `h` holds only part of it.
fn record_head(h: &[u8]) -> Option<(u16, usize, usize)> {
    let first = *h.first()?;
    let mut kind = u16::from(first & 0x7F);
    let mut at = 1;
    if first & 0x80 != 0 {
        kind |= u16::from(*h.get(1)? & 0x7F) << 7;
        at = 2;
    }
    let mut size = 0;
    for i in 0..4 {
        let b = *h.get(at)?;
        at += 1;
        size |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    Some((kind, size, at))
}

/// An `XLWideString`: a count of characters, then that many UTF-16 code units (a count past
/// the data reads what is there).
fn wide_string(data: &[u8]) -> Option<String> {
    let count = u32_at(data, 0)? as usize;
    let units = data[4..]
        .chunks_exact(2)
        .take(count)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    Some(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use proptest::prelude::*;

    /// A record as Excel writes it.
    pub(crate) fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if kind < 0x80 {
            out.push(kind as u8);
        } else {
            out.extend([(kind & 0x7F) as u8 | 0x80, (kind >> 7) as u8]);
        }
        let mut size = data.len();
        loop {
            let b = (size & 0x7F) as u8;
            size >>= 7;
            if size == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(data);
        out
    }

    fn wide(text: &str) -> Vec<u8> {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut out = (units.len() as u32).to_le_bytes().to_vec();
        out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        out
    }

    /// A long cell record: column, style and flags, value.
    fn cell(kind: u16, col: u32, value: &[u8]) -> Vec<u8> {
        let mut data = col.to_le_bytes().to_vec();
        data.extend([0; 4]);
        data.extend_from_slice(value);
        record(kind, &data)
    }

    fn row(r: u32) -> Vec<u8> {
        let mut data = r.to_le_bytes().to_vec();
        data.extend([0; 13]);
        record(ROW_HDR, &data)
    }

    fn sheet() -> Vec<u8> {
        let mut bin = record(129, &[]); // BrtBeginSheet
        bin.extend(record(148, &[0; 16])); // BrtWsDim
        bin.extend(record(145, &[])); // BrtBeginSheetData
        bin.extend(row(0));
        bin.extend(cell(CELL_ISST, 0, &0u32.to_le_bytes()));
        bin.extend(cell(CELL_ST, 1, &wide("Routing & <ABA>")));
        bin.extend(row(1));
        bin.extend(cell(CELL_REAL, 0, &4111111111111111f64.to_le_bytes()));
        bin.extend(cell(CELL_RK, 1, &((21000021u32 << 2) | 2).to_le_bytes()));
        bin.extend(cell(FMLA_STRING, 2, &[wide("é"), vec![0; 6]].concat()));
        // Short forms: the columns after the last.
        bin.extend(record(
            CELL_ISST + SHORT,
            &[[0u8; 4], 7u32.to_le_bytes()].concat(),
        ));
        bin.extend(record(
            CELL_REAL + SHORT,
            &[&[0u8; 4][..], &2.5f64.to_le_bytes()].concat(),
        ));
        bin.extend(record(146, &[])); // BrtEndSheetData
        bin.extend(record(130, &[])); // BrtEndSheet
        bin
    }

    fn converted(name: &str, bin: &[u8], chunk: usize) -> (String, bool) {
        let mut r = Records::of(name.as_bytes()).unwrap();
        let mut out = Vec::new();
        for c in bin.chunks(chunk.max(1)) {
            r.convert(c, &mut out);
        }
        r.finish(&mut out);
        (String::from_utf8(out).unwrap(), r.cut)
    }

    #[test]
    fn a_worksheets_cells_are_written_as_spreadsheetml() {
        let want = concat!(
            "<?xml version=\"1.0\"?>\n<worksheet><sheetData>",
            "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>",
            "<c r=\"B1\" t=\"inlineStr\"><is><t>Routing &amp; &lt;ABA&gt;</t></is></c></row>",
            "<row r=\"2\"><c r=\"A2\"><v>4111111111111111</v></c><c r=\"B2\"><v>21000021</v></c>",
            "<c r=\"C2\" t=\"inlineStr\"><is><t>é</t></is></c><c r=\"D2\" t=\"s\"><v>7</v></c>",
            "</row></sheetData></worksheet>\n",
        );
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(
                converted("xl/worksheets/sheet1.bin", &sheet(), chunk),
                (want.to_string(), false),
                "{chunk}"
            );
        }
    }

    #[test]
    fn shared_strings_and_comments_are_their_text() {
        let mut sst = record(159, &[2, 0, 0, 0, 2, 0, 0, 0]);
        sst.extend(record(SST_ITEM, &[&[0][..], &wide("Account No")].concat()));
        // A rich string: its runs after the text are not read.
        sst.extend(record(
            SST_ITEM,
            &[
                &[1][..],
                &wide("GB82WEST12345698765432"),
                &[1, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat(),
        ));
        sst.extend(record(160, &[]));
        assert_eq!(
            converted("xl/sharedStrings.bin", &sst, 5).0,
            "<?xml version=\"1.0\"?>\n<sst><si><t>Account No</t></si><si><t>GB82WEST12345698765432</t></si></sst>\n"
        );
        let comments = record(COMMENT_TEXT, &[&[0][..], &wide("SSN 123-45-6789")].concat());
        assert_eq!(
            converted("xl/comments1.bin", &comments, 3).0,
            "<?xml version=\"1.0\"?>\n<comments><comment><t>SSN 123-45-6789</t></comment>\n</comments>\n"
        );
    }

    #[test]
    fn parts_are_told_by_their_names() {
        for (name, holds) in [
            ("xl/worksheets/sheet1.bin", Some(Holds::Cells)),
            ("xl/worksheets/Sheet12.bin", Some(Holds::Cells)),
            ("xl/worksheets/binaryIndex1.bin", Some(Holds::Structure)),
            ("xl/sharedStrings.bin", Some(Holds::SharedStrings)),
            ("xl/comments3.bin", Some(Holds::Comments)),
            ("xl/workbook.bin", Some(Holds::Structure)),
            ("xl/styles.bin", Some(Holds::Structure)),
            ("xl/chartsheets/sheet1.bin", Some(Holds::Structure)),
            ("xl/vbaProject.bin", None),
            ("xl/printerSettings/printerSettings1.bin", None),
            ("xl/pivotCache/pivotCacheRecords1.bin", None),
            ("xl/worksheets/sheet1.xml", None),
            ("other/xl/workbook.bin", None),
        ] {
            assert_eq!(Holds::of(name.as_bytes()), holds, "{name}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        // A record that breaks off at the part's end.
        let mut bin = sheet();
        bin.truncate(bin.len() - 5);
        assert!(converted("xl/worksheets/sheet1.bin", &bin, 4).1);
        // A cell longer than is kept is passed over, and the part read in part.
        let mut big = row(0);
        big.extend(cell(CELL_ST, 0, &vec![b'a'; MAX_RECORD]));
        big.extend(cell(CELL_ISST, 1, &3u32.to_le_bytes()));
        let (xml, cut) = converted("xl/worksheets/sheet1.bin", &big, 4096);
        assert!(cut);
        assert!(xml.contains("<c r=\"B1\" t=\"s\"><v>3</v></c>"), "{xml}");
        // Records that are not read, however long, are passed over whole.
        let mut structure = record(156, &vec![7; 1 << 20]);
        structure.extend(record(0x2B, &[1; 3]));
        assert_eq!(
            converted("xl/workbook.bin", &structure, 1000),
            ("<?xml version=\"1.0\"?>\n".to_string(), false)
        );
    }

    proptest! {
        /// Any bytes in any chunks: no panic, the same SpreadsheetML whatever the chunks, and
        /// no more kept than a record's bound.
        #[test]
        fn any_bytes_in_any_chunks(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            cut in 1usize..40,
        ) {
            let whole = converted("xl/worksheets/sheet1.bin", &bytes, bytes.len().max(1));
            prop_assert_eq!(converted("xl/worksheets/sheet1.bin", &bytes, cut), whole);
            let whole = converted("xl/sharedStrings.bin", &bytes, bytes.len().max(1));
            prop_assert_eq!(converted("xl/sharedStrings.bin", &bytes, cut), whole);
        }
    }
}
