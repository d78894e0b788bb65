//! Cells of the binary workbooks (`.xls`, `.xlsb`) written out as the SpreadsheetML an XLSX
//! worksheet holds, for the readers of this module. Never here: reading them.

/// A cell's value as a binary workbook's record holds it (an `.xls` workbook's BIFF8, an
/// `.xlsb` workbook's BIFF12).
pub(crate) enum CellValue<'a> {
    /// An index into the shared strings.
    Shared(u32),
    Number(f64),
    Text(&'a str),
}

/// Writes a binary workbook's cells as the SpreadsheetML an XLSX worksheet holds (rows opened
/// and closed as the cells' rows change), so that the readers here, and a scanner for what
/// the text holds, read them as they read an XLSX workbook's.
#[derive(Default)]
pub(crate) struct SheetWriter {
    row: Option<u32>,
}

impl SheetWriter {
    /// What a worksheet's SpreadsheetML begins with.
    pub(crate) const BEGIN: &'static [u8] = b"<worksheet><sheetData>";

    /// A cell (row and column from 0).
    pub(crate) fn cell(&mut self, row: u32, col: u32, value: CellValue<'_>, out: &mut Vec<u8>) {
        use std::io::Write as _;
        if self.row != Some(row) {
            if self.row.is_some() {
                out.extend_from_slice(b"</row>");
            }
            let _ = write!(out, "<row r=\"{}\">", u64::from(row) + 1);
            self.row = Some(row);
        }
        let mut at = Vec::with_capacity(12);
        column_name(col, &mut at);
        let _ = write!(at, "{}", u64::from(row) + 1);
        let at = String::from_utf8_lossy(&at);
        match value {
            CellValue::Shared(index) => {
                let _ = write!(out, "<c r=\"{at}\" t=\"s\"><v>{index}</v></c>");
            }
            CellValue::Number(v) => {
                // Whole numbers as Excel writes them in XLSX; others have no digits that
                // count.
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e17 {
                    let _ = write!(out, "<c r=\"{at}\"><v>{}</v></c>", v as i64);
                }
            }
            CellValue::Text(text) => {
                let _ = write!(out, "<c r=\"{at}\" t=\"inlineStr\"><is><t>");
                escape(text, out);
                out.extend_from_slice(b"</t></is></c>");
            }
        }
    }

    /// The worksheet's end: its last row closed.
    pub(crate) fn end(&mut self, out: &mut Vec<u8>) {
        if self.row.take().is_some() {
            out.extend_from_slice(b"</row>");
        }
        out.extend_from_slice(b"</sheetData></worksheet>\n");
    }
}

/// A column's letters (`A`, …, `Z`, `AA`, …, `XFD`, the last of an XLSX sheet's 16,384).
pub(crate) fn column_name(col: u32, out: &mut Vec<u8>) {
    let mut n = col.min(16_383) + 1;
    let mut letters = [0u8; 3];
    let mut i = letters.len();
    while n > 0 {
        n -= 1;
        i -= 1;
        letters[i] = b'A' + (n % 26) as u8;
        n /= 26;
    }
    out.extend_from_slice(&letters[i..]);
}

/// Text for SpreadsheetML: `&`, `<` and `>` as entities.
pub(crate) fn escape(text: &str, out: &mut Vec<u8>) {
    for b in text.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b => out.push(b),
        }
    }
}
