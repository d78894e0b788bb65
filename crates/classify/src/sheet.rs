//! Spreadsheets (XLSX: SpreadsheetML in a ZIP archive; OpenDocument's `content.xml`, whose
//! tables are read alike: [`Sheet::open_document`]) read by their columns. A worksheet's
//! cells name their column (`<c r="C2">`) and a row of headings near its top names what the
//! columns hold, as a delimited table's header does; but the sheet's XML is one long line of elements,
//! and the text of a heading may sit in the shared strings (`xl/sharedStrings.xml`), which an
//! archive usually holds after its worksheets. So a worksheet's bare numbers are weighed per
//! column as they stream ([`Sheet`]), and counted at the archive's end, once the headings' text
//! is known ([`Workbook::finish`]): a column named for routing numbers counts its numbers that
//! pass the ABA checksum, one named for SSNs those that pass the allocation rules, one named
//! for cards its valid card numbers (a column of card-length numbers that validate throughout
//! counts them unnamed), and a routing number pairs with the account number of its row's
//! account column (after it first, then before, no bank's column between) as in a delimited
//! table ([`crate::account::pairable`]). A text cell also names the value after it in its row
//! (a form's `ABA` | `021000021`), and a routing number so named pairs with an account number
//! so named up to four rows away (a wire form's lines).
//!
//! A cell of text may keep its value in the shared strings (a routing number typed as text to
//! keep its leading zero): such cells are kept as their string's index and column
//! ([`MAX_SHARED_CELLS`] per workbook), and judged at the end by what the shared strings say of
//! each string ([`MAX_SHARED_VALUES`] kept), each cell once.
//!
//! Only what the rest of the scanner cannot tell is decided here: a cell whose whole value is
//! a bare number of nine digits or of a card number's length (the scanner of a worksheet or of
//! the shared strings leaves those to this module), and account numbers. IBANs, e-mail
//! addresses and numbers printed in groups are found by the entry's scanner as in any markup.
//!
//! Pure: bytes in any chunks, counts out; every buffer bounded ([`MAX_TAG`], [`MAX_VALUE`],
//! [`MAX_HEADING`], [`MAX_COLUMNS`], [`MAX_SHAPES`], [`MAX_SHARED_NAMES`],
//! [`MAX_SHARED_VALUES`], [`MAX_SHARED_CELLS`], [`MAX_LABELLED`], [`MAX_SHEETS`],
//! [`MAX_SHEET_BYTES`]); beyond them the file is `scanned_in_part`. Never here: the archive's
//! structure (the `archive` module hands each entry's contents over).
//!
//! Here a sheet's cells are read ([`Sheet`]); `workbook.rs` holds the shared strings and judges
//! the sheets' evidence at the end, `pivot.rs` the pivot caches, `writer.rs` the SpreadsheetML
//! that the binary workbooks' readers write.

mod pivot;
mod workbook;
mod writer;

pub(crate) use pivot::{PIVOT_HEAD, PivotCaches, PivotPart, from_own_sheet, pivot_part};
pub(crate) use workbook::{FlatSpreadsheet, SharedStrings, Workbook};
pub(crate) use writer::{CellValue, SheetWriter, escape};

use crate::account::heading_names;
use crate::encoding::held;
use crate::scan::{ROUTING, SSN};
use crate::validate;

/// Most bytes of a tag kept (its name and the attributes a cell has come first).
const MAX_TAG: usize = 128;
/// Most bytes of a cell's value kept: a number that can be a candidate is shorter.
const MAX_VALUE: usize = 32;
/// Most bytes of a heading's text kept.
const MAX_HEADING: usize = 256;
/// Columns weighed (the first 256 of a sheet).
const MAX_COLUMNS: usize = 256;
/// Columns whose routing and account numbers pair (the first 64: one bit each in a row's
/// shape).
const PAIRED_COLUMNS: usize = 64;
/// Rows of a sheet's beginning any of which may be its heading row, and how many of them with
/// two or more text cells are kept as candidates.
const HEADING_ROWS: usize = 64;
const HEADING_CANDIDATES: usize = 8;
/// Distinct row shapes kept per sheet ([`Sheet::shapes`]).
const MAX_SHAPES: usize = 256;
/// Shared strings whose names are kept: the first ones, where a sheet's headings are (a
/// workbook numbers its strings as it first meets them, the first row first).
const MAX_SHARED_NAMES: usize = 1024;
/// Shared strings whose values are judged (a byte each).
const MAX_SHARED_VALUES: usize = 1 << 20;
/// Cells of shared strings kept per workbook, to be judged at the end (four bytes each, and
/// four more per row that has any).
const MAX_SHARED_CELLS: usize = 1 << 20;
/// Bytes of a workbook's worksheets read by their columns, in all (some two million cells).
const MAX_SHEET_BYTES: u64 = 256 << 20;
/// Cells after a label kept per workbook (24 bytes each).
const MAX_LABELLED: usize = 1 << 16;
/// Worksheets weighed per workbook (those with evidence in them).
const MAX_SHEETS: usize = 256;
/// Bytes of shared strings' text kept to count again for the cells of sheets read after
/// them (the strings that can hold a class beyond their columns' numbers: e-mail addresses,
/// IBANs, numbers printed in groups; all, where the tenant has patterns).
const MAX_KEPT: usize = 8 << 20;
/// A kept entry's class byte with this bit is a tenant's pattern's index.
const PATTERN: u8 = 0x80;

/// Which part of a workbook an archive's entry is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Worksheet,
    SharedStrings,
    /// An OpenDocument file's contents (`content.xml`): a spreadsheet's tables, each a sheet.
    OpenDocument,
}

impl Part {
    pub(crate) fn of(name: &[u8]) -> Option<Part> {
        if name.eq_ignore_ascii_case(b"xl/sharedStrings.xml") {
            Some(Part::SharedStrings)
        } else if name.len() > 18
            && name[..14].eq_ignore_ascii_case(b"xl/worksheets/")
            && name[name.len() - 4..].eq_ignore_ascii_case(b".xml")
            && !name[14..].contains(&b'/')
        {
            Some(Part::Worksheet)
        } else if name == b"content.xml" {
            Some(Part::OpenDocument)
        } else {
            None
        }
    }
}

/// A tag of the XML being read: its local name (any namespace prefix off), whether it closes
/// an element, whether it is empty (`<c r="A1"/>`), and its bytes after the name.
struct Tag<'a> {
    name: &'a [u8],
    closing: bool,
    empty: bool,
    rest: &'a [u8],
}

impl<'a> Tag<'a> {
    fn parse(t: &'a [u8]) -> Option<Tag<'a>> {
        let (closing, t) = match t.first()? {
            b'/' => (true, &t[1..]),
            b'?' | b'!' => return None,
            _ => (false, t),
        };
        let empty = t.last() == Some(&b'/');
        let end = t
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == b'/')
            .unwrap_or(t.len());
        let qualified = &t[..end];
        let name = match qualified.iter().position(|&c| c == b':') {
            Some(p) => &qualified[p + 1..],
            None => qualified,
        };
        Some(Tag {
            name,
            closing,
            empty,
            rest: &t[end..],
        })
    }

    /// The value of attribute `want` (no namespace prefix), quoted either way.
    fn attribute(&self, want: &[u8]) -> Option<&'a [u8]> {
        let mut s = self.rest;
        loop {
            let p = s.iter().position(|c| !c.is_ascii_whitespace())?;
            s = &s[p..];
            let eq = s.iter().position(|&c| c == b'=')?;
            let name = s[..eq].trim_ascii();
            let after = s[eq + 1..].trim_ascii_start();
            let quote = *after.first()?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let close = after[1..].iter().position(|&c| c == quote)?;
            let value = &after[1..1 + close];
            if name == want {
                return Some(value);
            }
            s = &after[close + 2..];
        }
    }
}

/// Tags and text of a stream of XML, as they arrive: each tag whole (its first [`MAX_TAG`]
/// bytes) and the text between tags, in pieces. Comments and CDATA are read as tags and text
/// are (an `>` inside one ends it early: at worst a cell is misread, never an allocation).
#[derive(Default)]
struct Tokens {
    in_tag: bool,
    tag: Vec<u8>,
}

enum Token<'a> {
    Tag(&'a [u8]),
    Text(&'a [u8]),
}

impl Tokens {
    /// Tags and text are short in a workbook's XML (a few bytes to a few dozen): they are found
    /// by plain loops (a library search's setup costs more at that length), and a tag is
    /// copied only when it is cut by the chunk's end.
    fn feed(&mut self, mut data: &[u8], mut each: impl FnMut(Token<'_>)) {
        while !data.is_empty() {
            if self.in_tag {
                let end = data.iter().position(|&c| c == b'>');
                let part = &data[..end.unwrap_or(data.len())];
                let Some(end) = end else {
                    let room = MAX_TAG.saturating_sub(self.tag.len());
                    self.tag.extend_from_slice(&part[..part.len().min(room)]);
                    return;
                };
                if self.tag.is_empty() {
                    each(Token::Tag(&part[..part.len().min(MAX_TAG)]));
                } else {
                    let room = MAX_TAG.saturating_sub(self.tag.len());
                    self.tag.extend_from_slice(&part[..part.len().min(room)]);
                    each(Token::Tag(&self.tag));
                    self.tag.clear();
                }
                self.in_tag = false;
                data = &data[end + 1..];
            } else {
                let start = data.iter().position(|&c| c == b'<');
                let text = &data[..start.unwrap_or(data.len())];
                if !text.is_empty() {
                    each(Token::Text(text));
                }
                let Some(start) = start else {
                    return;
                };
                self.in_tag = true;
                data = &data[start + 1..];
            }
        }
    }
}

/// A cell after a text cell that may name it: the label, the cell's column and row (the
/// sheet's rows counted from 1), and its value.
#[derive(Debug, Clone, Copy)]
struct Labelled {
    label: Heading,
    column: u16,
    row: u32,
    value: Value,
    /// Its value's fingerprints ([`value_print`]), for a value of its own (a shared string's
    /// are the strings').
    prints: (u64, u64),
}

/// Rows apart that a labelled account number and a labelled routing number pair across (a
/// wire form's lines, as in text: [`crate::account`]).
const LABELLED_ROWS_APART: u32 = 4;
/// Rows of a sheet whose labelled account numbers are kept (a wire form's).
const LABELLED_ACCOUNT_ROWS: usize = 1024;

/// A value kept to be judged at the end: what it may be, or the index of its shared string.
#[derive(Debug, Clone, Copy)]
enum Value {
    Kind(u8),
    Shared(u32),
}

/// A heading as the sheet gives it: its text's names, or the index of a shared string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heading {
    Names(u8),
    Shared(u32),
}

/// Per column of a worksheet, its bare numbers: of nine digits, how many, and those that pass
/// the ABA checksum, the SSN rules, and both; of a card number's length, how many, and how many
/// pass the issuer and Luhn checks; and its codes with a BIC's structure.
#[derive(Debug, Clone, Copy, Default)]
struct ColumnValues {
    nine: u64,
    aba: u64,
    ssn: u64,
    both: u64,
    card_length: u64,
    card: u64,
    bic: u64,
}

/// Sketches a workbook's sheets keep, in all, between them (each some 1 KiB: 2 MiB); past them
/// the values of further columns are counted, not sketched (the report says how many).
pub(crate) const MAX_SKETCHES: usize = 2048;

/// A sheet's values sketched by column ([`crate::distinct`]): per column, its valid values
/// by what they may be (routing numbers, SSNs, card numbers, BICs), counted with them when the
/// column is; and, in the first [`PAIRED_COLUMNS`] columns, the account numbers' digits, counted
/// when a routing number pairs with them. At most `room` more sketches are made.
#[derive(Debug, Default)]
pub(crate) struct ColumnSketches {
    values: Vec<crate::Distinct>,
    accounts: Vec<crate::Distinct>,
    room: usize,
}

impl ColumnSketches {
    fn new(room: usize) -> Self {
        ColumnSketches {
            room,
            ..Default::default()
        }
    }

    /// The value whose fingerprint before its class is `print`, of `class`, in the sketches of
    /// `column` (of its account numbers, or of its other values), unless a new sketch would go
    /// past the room.
    pub(crate) fn add(&mut self, accounts: bool, column: usize, class: crate::Class, print: u64) {
        let of = if accounts {
            &mut self.accounts
        } else {
            &mut self.values
        };
        if of.get(column).and_then(|d| d.sketch(class)).is_none() {
            if self.room == 0 {
                return;
            }
            self.room -= 1;
        }
        if of.len() <= column {
            of.resize(column + 1, crate::Distinct::default());
        }
        of[column].insert_fingerprint(class, crate::distinct::of_class(print, class));
    }

    /// Those of column `column` (of its account numbers, or of its other values).
    pub(crate) fn of(&self, accounts: bool, column: usize) -> Option<&crate::Distinct> {
        if accounts {
            self.accounts.get(column)
        } else {
            self.values.get(column)
        }
    }

    /// How many sketches it holds.
    pub(crate) fn count(&self) -> usize {
        self.values
            .iter()
            .chain(&self.accounts)
            .map(|d| {
                crate::Class::ALL
                    .iter()
                    .filter(|c| d.sketch(**c).is_some())
                    .count()
            })
            .sum()
    }

    fn held_bytes(&self) -> usize {
        held(&self.values)
            + held(&self.accounts)
            + self
                .values
                .iter()
                .chain(&self.accounts)
                .map(crate::Distinct::held_bytes)
                .sum::<usize>()
    }
}

/// A value (what [`value_kind`] says it may be; `print`: its [`value_print`]) in `column`:
/// weighed with its column's, and the columns of its row that hold a routing number and an
/// account number's digits (an account number is sketched by the caller, once its row shows a
/// routing number it may pair with).
fn weigh(
    columns: &mut Vec<ColumnValues>,
    sketches: &mut ColumnSketches,
    column: usize,
    kind: u8,
    print: u64,
) -> (u64, u64) {
    if kind & (VALUE_NINE | VALUE_CARD_LENGTH | VALUE_BIC) != 0 {
        if columns.len() <= column {
            columns.resize(column + 1, ColumnValues::default());
        }
        let c = &mut columns[column];
        let (aba, ssn) = (kind & VALUE_ABA != 0, kind & VALUE_SSN != 0);
        c.nine += u64::from(kind & VALUE_NINE != 0);
        c.aba += u64::from(aba);
        c.ssn += u64::from(ssn);
        c.both += u64::from(aba && ssn);
        c.card_length += u64::from(kind & VALUE_CARD_LENGTH != 0);
        c.card += u64::from(kind & VALUE_CARD != 0);
        c.bic += u64::from(kind & VALUE_BIC != 0);
        for (bit, class) in [
            (VALUE_ABA, crate::Class::AbaRouting),
            (VALUE_SSN, crate::Class::UsSsn),
            (VALUE_CARD, crate::Class::CardNumber),
            (VALUE_BIC, crate::Class::SwiftBic),
        ] {
            if kind & bit != 0 {
                sketches.add(false, column, class, print);
            }
        }
    }
    let paired = column < PAIRED_COLUMNS;
    let bit = |v: u8| {
        if kind & v != 0 && paired {
            1u64 << column
        } else {
            0
        }
    };
    (bit(VALUE_ABA), bit(VALUE_ACCOUNT))
}

/// What a value says it may be: a bare nine-digit number passing the ABA checksum, one
/// passing the SSN rules, the digits of an account number, a number of a card number's
/// length, one passing the card checks; a code with a BIC's structure; a number of nine digits
/// (a number cell's of seven or eight: its leading zeros lost), whatever its checksum; one that
/// is a record's, not a heading's, in a sheet's first row (nine digits as written, or a number
/// cell's fewer that pass the ABA checksum).
const VALUE_ABA: u8 = 1;
const VALUE_SSN: u8 = 2;
const VALUE_ACCOUNT: u8 = 4;
const VALUE_CARD_LENGTH: u8 = 8;
const VALUE_CARD: u8 = 16;
const VALUE_BIC: u8 = 32;
const VALUE_NINE: u8 = 64;
const VALUE_RECORD: u8 = 128;

/// What `digits` (a cell's whole value, digits only) may be; `number` when the cell is a
/// number (which loses its leading zeros: `021000021` is kept as 21000021).
fn value_kind(digits: &[u8], number: bool) -> u8 {
    let mut kind = 0;
    if validate::us_account(digits) {
        kind |= VALUE_ACCOUNT;
    }
    if (13..=19).contains(&digits.len()) {
        kind |= VALUE_CARD_LENGTH;
        if validate::card_number_of_digits(digits) {
            kind |= VALUE_CARD;
        }
    }
    let mut nine = [b'0'; 9];
    let nine = match digits.len() {
        9 => digits,
        7 | 8 if number => {
            nine[9 - digits.len()..].copy_from_slice(digits);
            &nine[..]
        }
        _ => return kind,
    };
    kind |= VALUE_NINE;
    if validate::aba_routing(nine) {
        kind |= VALUE_ABA | VALUE_RECORD;
    }
    if digits.len() == 9 {
        kind |= VALUE_RECORD;
    }
    if validate::us_ssn(&nine[..3], &nine[3..5], &nine[5..]) {
        kind |= VALUE_SSN;
    }
    kind
}

/// What a cell's value (blanks around it off) may be, if it can be anything: its digits'
/// kinds ([`value_kind`]; `number`: the cell is a number), or a BIC.
fn cell_kind(value: &[u8], number: bool) -> Option<u8> {
    match digits_of(value) {
        Some(digits) => Some(value_kind(digits, number)),
        None => validate::bic(value.trim_ascii()).then_some(VALUE_BIC),
    }
}

/// The fingerprints, before their class ([`crate::distinct::unclassed`]), of a cell's value
/// that [`cell_kind`] found may count (`kind`): as a routing number, an SSN, a card number or a
/// BIC (its nine digits with a number cell's lost leading zeros put back, its digits, the
/// code), and as an account number (its digits as they are); 0 for what it may not be.
fn value_print(value: &[u8], number: bool, kind: u8) -> (u64, u64) {
    let digits = digits_of(value);
    let account = match digits {
        Some(d) if kind & VALUE_ACCOUNT != 0 => crate::distinct::unclassed(d, 0),
        _ => 0,
    };
    if kind & (VALUE_ABA | VALUE_SSN | VALUE_CARD | VALUE_BIC) == 0 {
        return (0, account);
    }
    let print = match digits {
        Some(digits) if number && matches!(digits.len(), 7 | 8) => {
            let mut nine = [b'0'; 9];
            nine[9 - digits.len()..].copy_from_slice(digits);
            crate::distinct::unclassed(&nine, 0)
        }
        Some(digits) => crate::distinct::unclassed(digits, 0),
        None => crate::distinct::unclassed(value.trim_ascii(), 0),
    };
    (print, account)
}

/// A cell's value with blanks around it off, if it is digits only.
fn digits_of(value: &[u8]) -> Option<&[u8]> {
    let v = value.trim_ascii();
    (!v.is_empty() && v.iter().all(u8::is_ascii_digit)).then_some(v)
}

/// A worksheet being read: its headings and what its columns hold.
#[derive(Default)]
pub(crate) struct Sheet {
    tokens: Tokens,
    /// The column of the cell being read (from 0; a cell without a reference is the one after
    /// the last), its type attribute (`s`: a shared string's index; `inlineStr`, `str`: text),
    /// and whether its value is being read.
    column: usize,
    shared: bool,
    text: bool,
    in_cell: bool,
    in_value: bool,
    value: Vec<u8>,
    value_cut: bool,
    /// The row being read: its string cells (a heading row has two or more), its headings,
    /// which columns hold a valid routing number and which an account number's digits.
    strings: usize,
    row_headings: Vec<(usize, Heading)>,
    routing_bits: u64,
    account_bits: u64,
    /// Rows of two or more strings among a sheet's first rows, each of which may be its heading
    /// row (the one whose headings name the most columns is, once their text is known: a title
    /// block's `Branch` | `001` above a table's header is not); and how many rows began.
    candidates: Vec<Vec<(usize, Heading)>>,
    rows: usize,
    columns: Vec<ColumnValues>,
    sketches: ColumnSketches,
    /// The row's account numbers' columns and fingerprints, sketched when the row holds a
    /// routing number (or shared strings, which may be one).
    row_accounts: Vec<(u8, u64)>,
    /// Rows with a valid routing number: which columns held one and which an account number,
    /// and how many rows had that shape (a sheet's rows have few shapes).
    shapes: Vec<(u64, u64, u64)>,
    /// Cells whose values are shared strings: the string's index and the column; and per row
    /// that has any, what its other cells hold and where its shared cells end.
    shared_cells: Vec<u32>,
    shared_rows: Vec<u32>,
    /// Of those rows, the ones whose other cells hold a routing or account number: the row's
    /// place in `shared_rows`, the routing and the account columns.
    shared_rows_known: Vec<(u32, u64, u64)>,
    row_shared: bool,
    /// The last text cell of the row (its column and what it names), and the cells after a
    /// text cell that may name them ([`Labelled`]).
    label: Option<(usize, Heading)>,
    labelled: Vec<Labelled>,
    /// The row being read: its cells, whether one holds a record's nine-digit number
    /// ([`VALUE_RECORD`]), and where its shared cells begin in `shared_cells`; and the sheet's
    /// first [`LEADING_ROWS`] rows with cells, each as ([`LeadingRow`]): the first of them with
    /// two or more cells or a record's number (a title's row of one cell above it passed over)
    /// tells a sheet without a heading row, whose columns of routing numbers are weighed by
    /// their checksums, once its shared strings are known.
    row_cells: u32,
    row_record: bool,
    row_shared_from: u32,
    leading: Vec<LeadingRow>,
    /// Some rows' shapes or cells were not kept.
    pub(crate) cut: bool,
    /// OpenDocument's tables rather than a worksheet's SpreadsheetML; the tables it read
    /// before the one being read.
    open_document: bool,
    done: Vec<SheetEvidence>,
    /// Columns the cell being read stands for after its own (OpenDocument's repeated cells).
    skip: usize,
    /// Shared cells and labelled cells the workbook's sheets before this one keep: the limits
    /// are the workbook's.
    cells_before: usize,
    labelled_before: usize,
}

/// Most columns one OpenDocument cell stands for (`table:number-columns-repeated`).
const MAX_REPEATED: usize = MAX_COLUMNS;

/// Rows with cells at a sheet's top kept to tell whether it has a heading row (a report's
/// title rows of one cell above its records).
const LEADING_ROWS: usize = 8;

/// One of a sheet's first rows with cells: how many, whether one holds a record's nine-digit
/// number inline, and the range of its shared cells in `shared_cells`.
#[derive(Debug, Clone, Copy)]
struct LeadingRow {
    cells: u32,
    record: bool,
    shared: (u32, u32),
}

impl Sheet {
    /// The memory it keeps: its cells and rows kept for the end, its tables' before.
    pub(crate) fn held_bytes(&self) -> usize {
        held(&self.tokens.tag)
            + held(&self.value)
            + held(&self.row_headings)
            + held(&self.candidates)
            + self.candidates.iter().map(held).sum::<usize>()
            + held(&self.columns)
            + self.sketches.held_bytes()
            + held(&self.row_accounts)
            + held(&self.shapes)
            + held(&self.leading)
            + held(&self.shared_cells)
            + held(&self.shared_rows)
            + held(&self.shared_rows_known)
            + held(&self.labelled)
            + held(&self.done)
            + self
                .done
                .iter()
                .map(SheetEvidence::held_bytes)
                .sum::<usize>()
    }

    /// A reader of an OpenDocument spreadsheet's tables (`content.xml`): rows are
    /// `table:table-row`, cells `table:table-cell` (their columns by order, one cell standing
    /// for several where it is repeated), a number's value in `office:value` and text in the
    /// cell's paragraphs; each `table:table` is a sheet of its own.
    pub(crate) fn open_document() -> Sheet {
        Sheet {
            open_document: true,
            ..Sheet::default()
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        let mut tokens = std::mem::take(&mut self.tokens);
        tokens.feed(data, |token| match token {
            Token::Tag(t) => self.tag(t),
            Token::Text(t) => {
                if self.in_value {
                    let room = self.room();
                    self.value.extend_from_slice(&t[..t.len().min(room)]);
                    self.value_cut |= t.len() > room;
                }
            }
        });
        self.tokens = tokens;
    }

    fn room(&self) -> usize {
        let most = if self.heading_rows() {
            MAX_HEADING
        } else {
            MAX_VALUE
        };
        most.saturating_sub(self.value.len())
    }

    fn tag(&mut self, t: &[u8]) {
        let Some(tag) = Tag::parse(t) else {
            return;
        };
        if self.open_document {
            self.open_document_tag(&tag);
            return;
        }
        match (tag.name, tag.closing) {
            (b"row", false) => self.begin_row(tag.empty),
            (b"row", true) | (b"sheetData", true) => self.end_row(),
            (b"c", false) => {
                self.column = tag
                    .attribute(b"r")
                    .and_then(column_of)
                    .unwrap_or(self.column);
                let kind = tag.attribute(b"t").unwrap_or(b"n");
                self.begin_cell(matches!(kind, b"s" | b"inlineStr" | b"str"), kind == b"s");
                if tag.empty {
                    self.end_cell();
                }
            }
            (b"c", true) => self.end_cell(),
            (b"v" | b"t", false) if self.in_cell && !tag.empty => self.in_value = true,
            (b"v" | b"t", true) => self.in_value = false,
            _ => {}
        }
    }

    /// A tag of an OpenDocument spreadsheet's tables.
    fn open_document_tag(&mut self, tag: &Tag<'_>) {
        match (tag.name, tag.closing) {
            (b"table-row", false) => self.begin_row(tag.empty),
            (b"table-row", true) => self.end_row(),
            (b"table-cell" | b"covered-table-cell", false) => {
                self.end_cell();
                let kind = tag.attribute(b"office:value-type").unwrap_or(b"");
                self.begin_cell(kind == b"string", false);
                // A number's value is its attribute (its paragraph is as formatted); text is
                // the paragraphs' (a cell of another type, a date, is neither).
                let number = matches!(kind, b"float" | b"percentage" | b"currency");
                match tag.attribute(b"office:value").filter(|_| number) {
                    Some(v) => self
                        .value
                        .extend_from_slice(&v[..v.len().min(MAX_VALUE + 1)]),
                    None => self.in_value = self.text,
                }
                // The cells a repeated one stands for hold the same: the first is weighed, the
                // others are passed over.
                self.skip = tag
                    .attribute(b"table:number-columns-repeated")
                    .and_then(|r| std::str::from_utf8(r).ok()?.parse::<usize>().ok())
                    .map_or(0, |r| r.clamp(1, MAX_REPEATED) - 1);
                if tag.empty {
                    self.end_cell();
                }
            }
            (b"table-cell" | b"covered-table-cell", true) => self.end_cell(),
            (b"table", true) => {
                // A table ends: a sheet of its own.
                self.end_row();
                let done = std::mem::take(&mut self.done);
                let table = std::mem::replace(self, Sheet::open_document());
                self.cut = table.cut;
                // (What room the tables before left, less what this one keeps.)
                self.sketches = ColumnSketches::new(table.sketches.room);
                self.done = done;
                self.cells_before = table.cells_before + table.shared_cells.len();
                self.labelled_before = table.labelled_before + table.labelled.len();
                if let Some(evidence) = table.finish() {
                    if self.done.len() < MAX_SHEETS {
                        self.done.push(evidence);
                    } else {
                        self.cut = true;
                    }
                }
            }
            _ => {}
        }
    }

    /// A row begins (an empty one ends at once).
    fn begin_row(&mut self, empty: bool) {
        self.end_row();
        self.rows += 1;
        self.column = 0;
        if empty {
            self.end_row();
        }
    }

    /// A cell begins: text or not, a shared string's index or not.
    fn begin_cell(&mut self, text: bool, shared: bool) {
        self.text = text;
        self.shared = shared;
        self.in_cell = true;
        self.value.clear();
        self.value_cut = false;
    }

    fn end_cell(&mut self) {
        if !self.in_cell {
            return;
        }
        self.in_cell = false;
        self.in_value = false;
        let column = self.column;
        self.column += 1 + std::mem::take(&mut self.skip);
        if self.text {
            self.strings += 1;
        }
        let buffer = std::mem::take(&mut self.value);
        self.cell(column, buffer.trim_ascii());
        self.value = buffer;
    }

    /// A cell's value (blanks around it off), in column `column`.
    fn cell(&mut self, column: usize, value: &[u8]) {
        // What the value may be: a shared string's index, or what its digits may be.
        let judged = if self.shared {
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
                .map(Value::Shared)
        } else {
            cell_kind(value, !self.text).map(Value::Kind)
        };
        self.row_cells += 1;
        if let Some(Value::Kind(kind)) = judged {
            self.row_record |= kind & VALUE_RECORD != 0 && !self.value_cut;
        }
        // A text cell names its column in the heading row, and may label the cell after it in
        // any row (`ABA` | `021000021`).
        let label_before = self.label.take().filter(|l| l.0 + 1 == column).map(|l| l.1);
        let heading = match judged {
            Some(Value::Shared(i)) => Some(Heading::Shared(i)),
            _ if self.text && !self.shared && !value.is_empty() => {
                Some(Heading::Names(heading_names(value)))
            }
            _ => None,
        };
        self.label = heading.map(|h| (column, h));
        // (A shared label past the strings whose names are kept names nothing.)
        let names_something = |l: &Heading| match *l {
            Heading::Names(n) => n != 0,
            Heading::Shared(i) => (i as usize) < MAX_SHARED_NAMES,
        };
        if let Some(label) = label_before.filter(names_something)
            && let Some(judged) = judged.filter(|_| !self.value_cut)
        {
            let prints = match judged {
                Value::Kind(kind) => value_print(value, !self.text, kind),
                Value::Shared(_) => (0, 0),
            };
            self.beside(label, column, judged, prints);
        }
        // (Rows before the heading row are weighed too: a list of card numbers has none.)
        if self.heading_rows()
            && let Some(h) = heading.filter(|_| column < MAX_COLUMNS)
        {
            self.row_headings.push((column, h));
        }
        if self.value_cut {
            return;
        }
        match judged {
            // Not weighed: a number there that could count makes the sheet read in part.
            Some(Value::Kind(kind)) if column >= MAX_COLUMNS => self.cut |= kind != 0,
            _ if column >= MAX_COLUMNS => {}
            // A shared string's text is elsewhere: its index is kept, to be judged at the end.
            Some(Value::Shared(i))
                if self.cells_before + self.shared_cells.len() < MAX_SHARED_CELLS
                    && (i as usize) < MAX_SHARED_VALUES =>
            {
                // The index and the column in one word (20 bits and 8).
                self.shared_cells.push(i << 8 | column as u32);
                self.row_shared = true;
            }
            Some(Value::Shared(_)) => self.cut = true,
            Some(Value::Kind(kind)) => {
                let print = value_print(value, !self.text, kind);
                let (routing, account) =
                    weigh(&mut self.columns, &mut self.sketches, column, kind, print.0);
                if account != 0 {
                    self.row_accounts.push((column as u8, print.1));
                }
                self.routing_bits |= routing;
                self.account_bits |= account;
            }
            None => {}
        }
    }

    /// A cell after a text cell that may name it (`label`): where its value may be a routing
    /// number, an SSN or an account number, kept to be judged at the end (when the label's text
    /// and a shared value are known), unless its column's heading counts it.
    fn beside(&mut self, label: Heading, column: usize, value: Value, prints: (u64, u64)) {
        let kept = match value {
            Value::Shared(_) => true,
            Value::Kind(kind) => {
                kind & (VALUE_ABA | VALUE_SSN | VALUE_BIC) != 0
                // An account number only in a form's first rows (a wire form is short; a
                // table's rows would fill the limit with numbers a label names by chance).
                || kind & VALUE_ACCOUNT != 0 && self.rows <= LABELLED_ACCOUNT_ROWS
            }
        };
        if !kept {
            return;
        }
        if self.labelled_before + self.labelled.len() < MAX_LABELLED {
            self.labelled.push(Labelled {
                label,
                column: column.min(usize::from(u16::MAX)) as u16,
                row: self.rows.min(u32::MAX as usize) as u32,
                value,
                prints,
            });
        } else if let (Heading::Names(names), Value::Kind(kind)) = (label, value)
            && (names & ROUTING != 0 && kind & VALUE_ABA != 0
                || names & SSN != 0 && kind & VALUE_SSN != 0)
        {
            // A routing number or an SSN its label names, not counted.
            self.cut = true;
        }
        // (Past the limit, what might count only with what is known later is not weighed: a
        // label that is a shared string (a table that repeats a string in a column, a bank's
        // name, beside a column of shared values fills the limit row by row; a form's labels
        // are met first), an account number a routing number might pair with.)
    }

    /// Whether the row being read may be the heading row: among the first [`HEADING_ROWS`]
    /// rows, and fewer than [`HEADING_CANDIDATES`] found.
    fn heading_rows(&self) -> bool {
        self.rows <= HEADING_ROWS && self.candidates.len() < HEADING_CANDIDATES
    }

    fn end_row(&mut self) {
        self.end_cell();
        self.label = None;
        let shared_end = self.shared_cells.len() as u32;
        if self.row_cells > 0 && self.leading.len() < LEADING_ROWS {
            self.leading.push(LeadingRow {
                cells: self.row_cells,
                record: self.row_record,
                shared: (self.row_shared_from, shared_end),
            });
        }
        (self.row_cells, self.row_record, self.row_shared_from) = (0, false, shared_end);
        let headings = std::mem::take(&mut self.row_headings);
        if self.strings >= 2 && self.heading_rows() {
            self.candidates.push(headings);
        }
        if self.row_shared {
            // Judged at the end, with its shared strings.
            if self.routing_bits | self.account_bits != 0 {
                let row = self.shared_rows.len() as u32;
                self.shared_rows_known
                    .push((row, self.routing_bits, self.account_bits));
            }
            self.shared_rows.push(self.shared_cells.len() as u32);
        } else if self.routing_bits != 0 {
            let shape = (self.routing_bits, self.account_bits);
            match self.shapes.iter().position(|s| (s.0, s.1) == shape) {
                Some(i) => self.shapes[i].2 += 1,
                None if self.shapes.len() < MAX_SHAPES => self.shapes.push((shape.0, shape.1, 1)),
                None => self.cut = true,
            }
        }
        if self.routing_bits != 0 || self.row_shared {
            for &(column, print) in &self.row_accounts {
                let class = crate::Class::UsBankAccount;
                self.sketches.add(true, usize::from(column), class, print);
            }
        }
        self.row_accounts.clear();
        self.strings = 0;
        self.row_shared = false;
        self.routing_bits = 0;
        self.account_bits = 0;
    }

    /// The end of the worksheet: what it needs kept until the headings' text is known, or
    /// `None` when nothing in it can count.
    pub(crate) fn finish(mut self) -> Option<SheetEvidence> {
        self.end_row();
        let headings = self.candidates;
        if self.columns.is_empty() && self.shared_rows.is_empty() && self.labelled.is_empty() {
            return None;
        }
        Some(SheetEvidence {
            headings,
            leading: self.leading,
            labelled: self.labelled,
            columns: self.columns,
            sketches: self.sketches,
            shapes: self.shapes,
            shared_cells: self.shared_cells,
            shared_rows: self.shared_rows,
            shared_rows_known: self.shared_rows_known,
        })
    }
}

/// The column (from 0) a cell reference names (`C2`: 2; `AA10`: 26).
fn column_of(r: &[u8]) -> Option<usize> {
    let letters = r.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let n = r[..letters].iter().fold(0usize, |n, c| {
        n * 26 + usize::from(c.to_ascii_uppercase() - b'A') + 1
    });
    Some(n - 1)
}

/// What a worksheet leaves for the end of its workbook.
pub(crate) struct SheetEvidence {
    headings: Vec<Vec<(usize, Heading)>>,
    leading: Vec<LeadingRow>,
    labelled: Vec<Labelled>,
    columns: Vec<ColumnValues>,
    sketches: ColumnSketches,
    shapes: Vec<(u64, u64, u64)>,
    shared_cells: Vec<u32>,
    shared_rows: Vec<u32>,
    shared_rows_known: Vec<(u32, u64, u64)>,
}

impl SheetEvidence {
    /// The bytes of its columns' sketches (apart from [`SheetEvidence::held_bytes`]).
    pub(crate) fn sketches_held(&self) -> usize {
        self.sketches.held_bytes()
    }

    fn held_bytes(&self) -> usize {
        held(&self.headings)
            + self.headings.iter().map(held).sum::<usize>()
            + held(&self.labelled)
            + held(&self.columns)
            + self.sketches.held_bytes()
            + held(&self.shapes)
            + held(&self.leading)
            + held(&self.shared_cells)
            + held(&self.shared_rows)
            + held(&self.shared_rows_known)
    }
}

#[cfg(test)]
mod tests {
    use super::writer::column_name;
    use super::*;
    use crate::scan::{Class, Counts};

    use proptest::prelude::*;

    /// Pieces of a workbook's XML, well formed or not, from which the property tests build
    /// sheets and shared strings.
    const PIECES: [&str; 28] = [
        "<row>",
        "</row>",
        "<row r=\"9\"/>",
        "<c r=\"A1\">",
        "<c r=\"B2\" t=\"s\">",
        "<c t=\"inlineStr\">",
        "<c r=\"C3\" t='str'>",
        "<x:c r=\"AA7\">",
        "<c/>",
        "</c>",
        "<is>",
        "</is>",
        "<t>",
        "</t>",
        "<v>",
        "</v>",
        "<si>",
        "</si>",
        "021000021",
        "234567890",
        "21000021",
        "4121234567",
        "0",
        "1",
        "ABA",
        "SSN Account",
        "<",
        ">",
    ];

    /// Values of cells and shared strings.
    const VALUES: [&str; 8] = [
        "ABA",
        "SSN",
        "Account No",
        "021000021",
        "21000021",
        "234567890",
        "4121234567",
        "3",
    ];

    /// A cell: number, inline text or shared string (its index among the first few), holding
    /// one of [`VALUES`] (or an index).
    fn cell() -> impl Strategy<Value = String> {
        (0..3usize, 0..VALUES.len()).prop_map(|(kind, v)| match kind {
            0 => format!("<c><v>{}</v></c>", VALUES[v]),
            1 => format!("<c t=\"inlineStr\"><is><t>{}</t></is></c>", VALUES[v]),
            _ => format!("<c t=\"s\"><v>{v}</v></c>"),
        })
    }

    /// Rows of cells, shared strings of values, and pieces between them.
    fn xml() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            3 => proptest::collection::vec(cell(), 1..5)
                .prop_map(|cells| format!("<row>{}</row>", cells.concat())),
            2 => (0..VALUES.len()).prop_map(|v| format!("<si><t>{}</t></si>", VALUES[v])),
            1 => (0..PIECES.len()).prop_map(|i| PIECES[i].to_owned()),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        /// Whatever the XML and however it is cut into chunks, a sheet and shared strings read
        /// in chunks count what they count read whole, and nothing panics.
        #[test]
        fn chunks_change_nothing(sheet in xml(), shared in xml(), cut in 1usize..40) {
            let (sheets, shared) = (&[sheet.as_str()], Some(shared.as_str()));
            let whole = read(sheets, shared, usize::MAX, Sheet::default);
            prop_assert_eq!(read(sheets, shared, cut, Sheet::default), whole);
        }

        /// The same of OpenDocument's tables.
        #[test]
        fn open_document_chunks_change_nothing(content in open_document(), cut in 1usize..40) {
            let tables = &[content.as_str()];
            let whole = read(tables, None, usize::MAX, Sheet::open_document);
            prop_assert_eq!(read(tables, None, cut, Sheet::open_document), whole);
        }
    }

    /// What a workbook of `sheets` (each read by a reader `new` makes) and `shared` strings
    /// holds, all fed in chunks of `cut` bytes; and whether it was read in part.
    fn read(
        sheets: &[&str],
        shared: Option<&str>,
        cut: usize,
        new: fn() -> Sheet,
    ) -> (Counts, bool) {
        let mut book = Workbook::default();
        if let Some(shared) = shared {
            let mut s = SharedStrings::default();
            for chunk in shared.as_bytes().chunks(cut) {
                s.feed(chunk);
            }
            book.add_shared_strings(s);
        }
        for xml in sheets {
            let mut sheet = new();
            for chunk in xml.as_bytes().chunks(cut) {
                sheet.feed(chunk);
            }
            book.add_sheet(sheet);
        }
        let mut c = Counts::default();
        let part = book.finish(&mut c, &mut crate::Distinct::default());
        (c, part)
    }

    /// What [`read`] finds in worksheets read whole, the same in chunks of 1 to 64 bytes.
    fn counted(sheets: &[&str], shared: Option<&str>) -> Counts {
        let whole = read(sheets, shared, usize::MAX, Sheet::default);
        for cut in [1, 2, 3, 7, 17, 64] {
            assert_eq!(
                read(sheets, shared, cut, Sheet::default),
                whole,
                "chunks of {cut}"
            );
        }
        whole.0
    }

    /// Tables of rows of number and text cells (some repeated over columns), as OpenDocument
    /// writes them, with stray pieces between.
    fn open_document() -> impl Strategy<Value = String> {
        let cell = (0..3usize, 0..VALUES.len()).prop_map(|(kind, v)| match kind {
            0 => format!(
                r#"<table:table-cell office:value-type="float" office:value="{}"><text:p>x</text:p></table:table-cell>"#,
                VALUES[v]
            ),
            1 => format!(
                r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
                VALUES[v]
            ),
            _ => format!(r#"<table:table-cell table:number-columns-repeated="{v}"/>"#),
        });
        let piece = prop_oneof![
            4 => proptest::collection::vec(cell, 1..5)
                .prop_map(|cells| format!("<table:table-row>{}</table:table-row>", cells.concat())),
            1 => Just("</table:table><table:table>".to_owned()),
            1 => (0..PIECES.len()).prop_map(|i| PIECES[i].to_owned()),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    fn sheet_xml(rows: &[&[(&str, &str)]]) -> String {
        let mut s = String::from(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (i, row) in rows.iter().enumerate() {
            s.push_str(&format!(r#"<row r="{}">"#, i + 1));
            for (j, (kind, v)) in row.iter().enumerate() {
                let r = format!("{}{}", (b'A' + j as u8) as char, i + 1);
                match *kind {
                    "n" => s.push_str(&format!(r#"<c r="{r}"><v>{v}</v></c>"#)),
                    "s" => s.push_str(&format!(r#"<c r="{r}" t="s"><v>{v}</v></c>"#)),
                    _ => s.push_str(&format!(
                        r#"<c r="{r}" t="inlineStr"><is><t>{v}</t></is></c>"#
                    )),
                }
            }
            s.push_str("</row>");
        }
        s.push_str("</sheetData></worksheet>");
        s
    }

    #[test]
    fn columns_named_by_inline_headings_count_their_numbers() {
        let xml = sheet_xml(&[
            &[
                ("i", "Name"),
                ("i", "SSN"),
                ("i", "Routing Number"),
                ("i", "Account Number"),
                ("i", "Ref"),
            ],
            &[
                ("i", "Ann"),
                ("n", "123456789"),
                ("i", "021000021"),
                ("n", "4121234567"),
                ("n", "111000025"),
            ],
            &[
                ("i", "Bob"),
                ("n", "234567890"),
                ("n", "21000021"),
                ("n", "55512345"),
                ("n", "123456789"),
            ],
            // Near misses: an SSN of area 666, a routing number whose checksum fails.
            &[
                ("i", "Cy"),
                ("n", "666123456"),
                ("i", "021000022"),
                ("n", "4121234567"),
                ("n", "1"),
            ],
        ]);
        let c = counted(&[&xml], None);
        assert_eq!(c.get(Class::UsSsn), 2);
        assert_eq!(c.get(Class::AbaRouting), 2);
        assert_eq!(c.get(Class::UsBankAccount), 2);
    }

    /// A heading `A/C No` names its column's accounts (banks' abbreviation of an account).
    #[test]
    fn an_a_c_heading_names_accounts() {
        let xml = sheet_xml(&[
            &[("i", "ABA"), ("i", "A/C No"), ("i", "Name")],
            &[("i", "021000021"), ("n", "4121234567"), ("i", "Ann")],
            &[("i", "011000015"), ("n", "55512345"), ("i", "Bob")],
        ]);
        let c = counted(&[&xml], None);
        assert_eq!(c.get(Class::AbaRouting), 2);
        assert_eq!(c.get(Class::UsBankAccount), 2);
    }

    #[test]
    fn headings_in_shared_strings_are_resolved_at_the_end() {
        let xml = sheet_xml(&[
            &[("s", "0"), ("s", "1"), ("s", "2")],
            &[("n", "021000021"), ("n", "4121234567"), ("n", "123456789")],
            &[("n", "011000015"), ("n", "98765432"), ("n", "123456789")],
        ]);
        let shared = r#"<sst count="3" uniqueCount="3"><si><t>ABA</t></si><si><r><rPr><b/></rPr><t>Acct</t></r><r><t> No</t></r></si><si><t xml:space="preserve">Batch</t></si></sst>"#;
        let c = counted(&[&xml], Some(shared));
        assert_eq!(c.get(Class::AbaRouting), 2);
        assert_eq!(c.get(Class::UsBankAccount), 2);
        // The third column names nothing: its numbers are not SSNs.
        assert_eq!(c.get(Class::UsSsn), 0);
        // Without the shared strings the headings name nothing.
        assert!(counted(&[&xml], None).is_empty());
    }

    #[test]
    fn values_in_shared_strings_are_judged_at_the_end_in_their_rows() {
        // As Excel and xlsxwriter write them: headings and text in the shared strings, which
        // follow the sheet; the same routing number shared by two rows.
        let xml = sheet_xml(&[
            &[("s", "0"), ("s", "1"), ("s", "2"), ("s", "3")],
            &[("s", "4"), ("s", "5"), ("s", "6"), ("n", "234567890")],
            &[("s", "7"), ("s", "5"), ("s", "8"), ("n", "234567891")],
            // A routing number whose checksum fails, and one with no account in its row.
            &[("s", "4"), ("s", "9"), ("s", "6"), ("n", "1")],
            &[("s", "4"), ("s", "5"), ("s", "4"), ("s", "10")],
        ]);
        let strings = [
            "Payee",
            "Routing Number",
            "Account Number",
            "SSN",
            "Ann",
            "021000021",
            "0004121234567",
            "Bob",
            "55512345",
            "021000022",
            "999-99-9999",
        ];
        let shared: String = strings
            .iter()
            .map(|t| format!("<si><t>{t}</t></si>"))
            .collect();
        let shared = format!("<sst>{shared}</sst>");
        let c = counted(&[&xml], Some(&shared));
        assert_eq!(c.get(Class::AbaRouting), 3);
        assert_eq!(c.get(Class::UsBankAccount), 2);
        assert_eq!(c.get(Class::UsSsn), 2);
    }

    /// A column headed `SWIFT BIC` counts its codes of a BIC's structure, shared or inline,
    /// each cell once (one BIC in two rows is two); a column of codes of that shape under a
    /// heading that names nothing counts none; a label names the BIC after it.
    #[test]
    fn bics_count_by_their_columns_heading_or_their_label() {
        let xml = sheet_xml(&[
            &[("s", "0"), ("s", "1"), ("s", "2")],
            &[("s", "3"), ("s", "4"), ("s", "5")],
            &[("s", "3"), ("s", "4"), ("i", "NWBKGB2LXXX")],
            // No country `ZZ`: no BIC.
            &[("s", "3"), ("i", "CHASZZ33"), ("s", "5")],
            &[("i", "SWIFT"), ("i", "DEUTDEFF"), ("i", "x")],
        ]);
        let strings = [
            "Payee",
            "SWIFT BIC",
            "Region",
            "Ann",
            "CHASUS33",
            "EASTUSNY",
        ];
        let shared: String = strings
            .iter()
            .map(|t| format!("<si><t>{t}</t></si>"))
            .collect();
        let c = counted(&[&xml], Some(&format!("<sst>{shared}</sst>")));
        assert_eq!(c.get(Class::SwiftBic), 3);
    }

    #[test]
    fn a_text_cell_names_the_value_after_it_once() {
        // A heading row naming the second column for routing numbers, where a label beside a
        // value adds nothing; after it labels and values in the columns it does not name.
        let xml = sheet_xml(&[
            &[("i", "Label"), ("i", "Routing")],
            &[("i", "ABA"), ("n", "026009593")],
            &[("i", "x"), ("i", "ABA Routing"), ("n", "21000021")],
            &[("i", "x"), ("s", "0"), ("n", "234567890")],
            &[("i", "x"), ("i", "Routing number"), ("s", "1")],
            &[("i", "x"), ("i", "Note"), ("n", "011000015")],
        ]);
        let shared = "<sst><si><t>Social Security</t></si><si><t>061000104</t></si></sst>";
        let c = counted(&[&xml], Some(shared));
        assert_eq!(c.get(Class::AbaRouting), 3);
        assert_eq!(c.get(Class::UsSsn), 1);
        // A form of labels and numbers only: no heading row at all.
        let form = sheet_xml(&[
            &[("i", "ABA"), ("n", "21000021")],
            &[("i", "SSN"), ("n", "234567890")],
        ]);
        let c = counted(&[&form], None);
        assert_eq!((c.get(Class::AbaRouting), c.get(Class::UsSsn)), (1, 1));
    }

    /// A sheet without a heading row (a query's output saved as a workbook): a column of
    /// routing numbers counts by its checksums as a headerless delimited table's does, typed
    /// as numbers (their leading zeros lost), as text or as shared strings, with the account
    /// numbers of the column after it. Three rows are too few; an id before the routing number
    /// is no account; random nine-digit numbers, and a column under a heading that names
    /// nothing, count nothing.
    #[test]
    fn a_sheet_without_headings_counts_its_routing_column_by_its_checksums() {
        let routings = crate::tests::ROUTINGS;
        let accounts: Vec<String> = (0..40)
            .map(|i| (10_000_000 + 7919 * i).to_string())
            .collect();
        let ids: Vec<String> = (0..40).map(|i| (1000 + i).to_string()).collect();
        // As numbers (`21000021`), as inline text, as shared strings (index = i % 5).
        let as_number: Vec<String> = routings
            .iter()
            .map(|r| r.trim_start_matches('0').to_owned())
            .collect();
        let shared = format!(
            "<sst>{}</sst>",
            routings
                .iter()
                .map(|r| format!("<si><t>{r}</t></si>"))
                .collect::<String>()
        );
        let index: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        for (form, kind, values) in [
            ("number", "n", &as_number),
            ("text", "i", &routings.map(str::to_owned).to_vec()),
            ("shared", "s", &index),
        ] {
            let sheet = |n: usize, before: bool| {
                let rows: Vec<Vec<(&str, &str)>> = (0..n)
                    .map(|i| {
                        let r = (kind, values[i % 5].as_str());
                        let (id, name, a) = (
                            ("n", ids[i].as_str()),
                            ("i", "Doe, John"),
                            ("n", accounts[i].as_str()),
                        );
                        if before {
                            vec![a, r, name]
                        } else {
                            vec![id, name, r, a]
                        }
                    })
                    .collect();
                let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
                counted(&[&sheet_xml(&rows)], Some(&shared))
            };
            let c = sheet(40, false);
            assert_eq!(c.get(Class::AbaRouting), 40, "{form}");
            assert_eq!(c.get(Class::UsBankAccount), 40, "{form}");
            let c = sheet(4, false);
            assert_eq!(
                (c.get(Class::AbaRouting), c.get(Class::UsBankAccount)),
                (4, 4),
                "{form}"
            );
            assert!(sheet(3, false).is_empty(), "{form}");
            // The number before the routing number is no account of it.
            let c = sheet(40, true);
            assert_eq!(
                (c.get(Class::AbaRouting), c.get(Class::UsBankAccount)),
                (40, 0),
                "{form}"
            );
        }
        // Random nine-digit numbers: about one in 27 passes.
        let mut rng = crate::corpus::Rng::new(7);
        let random: Vec<String> = (0..200).map(|_| rng.digits(9)).collect();
        let rows: Vec<Vec<(&str, &str)>> = random
            .iter()
            .zip(&accounts)
            .map(|(r, a)| vec![("i", r.as_str()), ("n", a.as_str())])
            .collect();
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
        assert!(counted(&[&sheet_xml(&rows)], None).is_empty());
        // Under a report's title rows of one cell (inline or a shared string), the same.
        let title = [("s", "5")];
        let rows: Vec<Vec<(&str, &str)>> = [vec![("i", "Payees, December 2026")], title.to_vec()]
            .into_iter()
            .chain((0..20).map(|i| {
                vec![
                    ("n", ids[i].as_str()),
                    ("s", index[i % 5].as_str()),
                    ("n", accounts[i].as_str()),
                ]
            }))
            .collect();
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
        let titled = format!(
            "{}<si><t>Generated 2026-12-05</t></si></sst>",
            shared.trim_end_matches("</sst>")
        );
        let c = counted(&[&sheet_xml(&rows)], Some(&titled));
        assert_eq!(
            (c.get(Class::AbaRouting), c.get(Class::UsBankAccount)),
            (20, 20)
        );
        // A list of routing numbers alone, one a row (one cell, a record's number): counted.
        let list: Vec<[(&str, &str); 1]> = (0..8).map(|i| [("s", index[i % 5].as_str())]).collect();
        let list: Vec<&[(&str, &str)]> = list.iter().map(|r| r.as_slice()).collect();
        assert_eq!(
            counted(&[&sheet_xml(&list)], Some(&shared)).get(Class::AbaRouting),
            8
        );
        // A heading row that names nothing: its numbers are references, not weighed (under a
        // title too).
        let mut rows = vec![vec![("i", "Id"), ("i", "Reference"), ("i", "Amount")]];
        let mut under_title = vec![vec![("i", "Payments")]];
        under_title.extend(rows.iter().cloned());
        under_title.extend((0..40).map(|i| {
            vec![
                ("n", ids[i].as_str()),
                ("i", routings[i % 5]),
                ("n", accounts[i].as_str()),
            ]
        }));
        let under_title: Vec<&[(&str, &str)]> = under_title.iter().map(|r| r.as_slice()).collect();
        assert!(counted(&[&sheet_xml(&under_title)], None).is_empty());
        rows.extend((0..40).map(|i| {
            vec![
                ("n", ids[i].as_str()),
                ("i", routings[i % 5]),
                ("n", accounts[i].as_str()),
            ]
        }));
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
        assert!(counted(&[&sheet_xml(&rows)], None).is_empty());
    }

    #[test]
    fn card_numbers_count_by_their_columns_as_a_tables_do() {
        let valid = [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "4012888888881881",
        ];
        let spoiled = "4111111111111112";
        // A column named for cards: each valid one, the near miss not; one shared string in
        // three rows counts three times (a cell each).
        let mut rows: Vec<Vec<(&str, &str)>> = vec![vec![("i", "Name"), ("i", "Card Number")]];
        rows.push(vec![("i", "A"), ("i", valid[0])]);
        rows.push(vec![("i", "B"), ("i", spoiled)]);
        for _ in 0..3 {
            rows.push(vec![("i", "C"), ("s", "0")]);
        }
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
        let shared = format!("<sst><si><t>{}</t></si></sst>", valid[1]);
        let c = counted(&[&sheet_xml(&rows)], Some(&shared));
        assert_eq!(c.get(Class::CardNumber), 4);
        // No heading at all, one number a row: by the column's evidence (all of four valid).
        let list: Vec<[(&str, &str); 1]> = valid.iter().map(|v| [("i", *v)]).collect();
        let list: Vec<&[(&str, &str)]> = list.iter().map(|r| r.as_slice()).collect();
        assert_eq!(
            counted(&[&sheet_xml(&list)], None).get(Class::CardNumber),
            4
        );
        // A column of ids under a heading naming nothing: one valid in four does not count.
        let ids = [
            "4111111111111111",
            "1234567890123456",
            "9876543210987654",
            "1111222233334444",
        ];
        let mut rows = vec![vec![("i", "Order"), ("i", "Id")]];
        rows.extend(ids.iter().map(|v| vec![("i", "x"), ("i", *v)]));
        let rows: Vec<&[(&str, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
        assert!(counted(&[&sheet_xml(&rows)], None).is_empty());
    }

    #[test]
    fn open_document_tables_are_sheets_of_their_own() {
        // As LibreOffice writes `content.xml`: repeated empty cells, numbers by their value
        // (the paragraph as formatted), text in paragraphs; two tables, the second without
        // headings naming anything.
        let cell = |kind: &str, v: &str| match kind {
            "n" => format!(
                r#"<table:table-cell office:value-type="float" office:value="{v}" calcext:value-type="float"><text:p>{v},00</text:p></table:table-cell>"#
            ),
            _ => format!(
                r#"<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>{v}</text:p></table:table-cell>"#
            ),
        };
        let empty = r#"<table:table-cell table:number-columns-repeated="2"/>"#;
        let row =
            |cells: &[String]| format!("<table:table-row>{}</table:table-row>", cells.concat());
        let table = |name: &str, rows: &[String]| {
            format!(
                r#"<table:table table:name="{name}"><table:table-column/>{}</table:table>"#,
                rows.concat()
            )
        };
        let first = table(
            "Payees",
            &[
                row(&[
                    cell("s", "Name"),
                    empty.into(),
                    cell("s", "ABA"),
                    cell("s", "Account No"),
                ]),
                row(&[
                    cell("s", "Ann"),
                    empty.into(),
                    cell("n", "21000021"),
                    cell("s", "4121234567"),
                ]),
                row(&[
                    cell("s", "Bob"),
                    empty.into(),
                    cell("s", "011000015"),
                    cell("n", "98765432"),
                ]),
            ],
        );
        let second = table(
            "Other",
            &[
                row(&[cell("s", "Ref"), cell("s", "Note")]),
                row(&[cell("n", "21000021"), cell("s", "x")]),
                row(&[cell("s", "SSN"), cell("n", "234567890")]),
            ],
        );
        let content = format!(
            r#"<office:document-content><office:body><office:spreadsheet>{first}{second}</office:spreadsheet></office:body></office:document-content>"#
        );
        for cut in [1, 3, 17, usize::MAX] {
            let (c, part) = read(&[&content], None, cut, Sheet::open_document);
            assert!(!part);
            assert_eq!(c.get(Class::AbaRouting), 2, "chunks of {cut}");
            assert_eq!(c.get(Class::UsBankAccount), 2, "chunks of {cut}");
            // The second table's SSN by its label; its reference names nothing.
            assert_eq!(c.get(Class::UsSsn), 1, "chunks of {cut}");
        }
    }

    #[test]
    fn sketches_are_bounded_per_workbook_and_what_is_past_them_is_counted() {
        // Twelve sheets of 256 columns, each column under a heading naming cards and holding
        // one valid card number: 3,072 columns, past the sketches a workbook keeps.
        let headings: String = (0..256)
            .map(|_| r#"<c t="inlineStr"><is><t>Card number</t></is></c>"#)
            .collect();
        let cards: String = (0..256u64)
            .map(|i| {
                let body = format!("411111111111{i:03}");
                let check = (0..10)
                    .map(|d| format!("{body}{d}"))
                    .find(|n| crate::validate::card_number_of_digits(n.as_bytes()))
                    .unwrap();
                format!("<c><v>{check}</v></c>")
            })
            .collect();
        let xml = format!(
            "<worksheet><sheetData><row>{headings}</row><row>{cards}</row></sheetData></worksheet>"
        );
        let mut book = Workbook::default();
        for _ in 0..12 {
            let mut sheet = book.sheet(false);
            sheet.feed(xml.as_bytes());
            book.add_sheet(sheet);
        }
        // Each sketch 1 KiB, and its column's set of them and their counts beside.
        let most = MAX_SKETCHES * (crate::distinct::REGISTERS + 256);
        assert!(book.sketches_held() <= most, "{}", book.sketches_held());
        assert!(book.sketches_held() >= MAX_SKETCHES * crate::distinct::REGISTERS);
        let (mut c, mut d) = (Counts::default(), crate::Distinct::default());
        book.finish(&mut c, &mut d);
        assert_eq!(c.get(Class::CardNumber), 12 * 256);
        assert_eq!(d.sketched(Class::CardNumber), MAX_SKETCHES as u64);
        // The same 256 numbers in every sheet: 256 different values.
        assert!(d.estimate(Class::CardNumber).abs_diff(256) <= 8, "{d:?}");
    }

    #[test]
    fn the_limits_are_the_workbooks() {
        // Two sheets of 40,000 labelled routing numbers each, under headings that name
        // nothing: the workbook keeps 65,536 in all, counts those, and says it read the rest
        // in part. (Without the heading row the column's checksums would count them all.)
        let heading = r#"<row><c t="inlineStr"><is><t>Label</t></is></c><c t="inlineStr"><is><t>Value</t></is></c></row>"#;
        let row = r#"<row><c t="inlineStr"><is><t>ABA</t></is></c><c><v>21000021</v></c></row>"#;
        let xml = format!(
            "<worksheet><sheetData>{heading}{}</sheetData></worksheet>",
            row.repeat(40_000)
        );
        let mut book = Workbook::default();
        for _ in 0..2 {
            let mut sheet = book.sheet(false);
            sheet.feed(xml.as_bytes());
            book.add_sheet(sheet);
        }
        let mut c = Counts::default();
        assert!(book.finish(&mut c, &mut crate::Distinct::default()));
        assert_eq!(c.get(Class::AbaRouting), MAX_LABELLED as u64);
    }

    #[test]
    fn a_title_block_above_the_table_does_not_take_its_headings() {
        // A report's title block of label and value pairs, then the table's header (shared
        // strings, known only at the end), then its rows.
        let xml = sheet_xml(&[
            &[("i", "Customer report")],
            &[("i", "Branch"), ("i", "001")],
            &[("i", "Generated"), ("i", "2026-12-01")],
            &[("s", "0"), ("s", "1"), ("s", "2"), ("s", "3")],
            &[
                ("i", "Ann"),
                ("n", "234567890"),
                ("i", "021000021"),
                ("i", "4121234567"),
            ],
            &[
                ("i", "Bob"),
                ("n", "345678901"),
                ("n", "11000015"),
                ("n", "98765432"),
            ],
        ]);
        let shared = "<sst><si><t>Name</t></si><si><t>SSN</t></si><si><t>Routing</t></si><si><t>Account</t></si></sst>";
        let c = counted(&[&xml], Some(shared));
        assert_eq!(c.get(Class::UsSsn), 2);
        assert_eq!(c.get(Class::AbaRouting), 2);
        assert_eq!(c.get(Class::UsBankAccount), 2);
    }

    #[test]
    fn a_wire_forms_account_pairs_with_its_routing_number_across_rows() {
        // Two wire instructions laid out as labels and values: the account above its routing
        // number, then below it; a third routing number whose only account is six rows away,
        // past another's.
        let xml = sheet_xml(&[
            &[("i", "Beneficiary"), ("i", "ACME Corp")],
            &[("i", "Account Number"), ("i", "12345678")],
            &[("i", "Bank"), ("i", "First Bank, N.A.")],
            &[("i", "ABA Routing"), ("n", "21000021")],
            &[("i", "Beneficiary"), ("i", "Widget Co")],
            &[("i", "ABA"), ("i", "011000015")],
            &[("i", "Reference"), ("i", "77")],
            &[("i", "Acct"), ("n", "98765432")],
            &[("i", "Routing number"), ("i", "026009593")],
            &[("i", "x"), ("i", "y")],
            &[("i", "x"), ("i", "y")],
            &[("i", "x"), ("i", "y")],
            &[("i", "x"), ("i", "y")],
            &[("i", "x"), ("i", "y")],
            &[("i", "Account"), ("i", "55512345")],
        ]);
        let c = counted(&[&xml], None);
        assert_eq!(c.get(Class::AbaRouting), 3);
        assert_eq!(c.get(Class::UsBankAccount), 2);
    }

    #[test]
    fn a_tables_labelled_numbers_leave_room_for_a_forms() {
        // 70,000 rows of a text naming accounts beside a number, then a labelled routing
        // number: the account numbers past a form's first rows are not kept, and the routing
        // number counts; nothing was left unread.
        let row =
            r#"<row><c t="inlineStr"><is><t>Checking Account</t></is></c><c><v>5000</v></c></row>"#;
        let last = r#"<row><c t="inlineStr"><is><t>ABA</t></is></c><c><v>21000021</v></c></row>"#;
        let xml = format!(
            "<worksheet><sheetData>{}{last}</sheetData></worksheet>",
            row.repeat(70_000)
        );
        let (c, part) = read(&[&xml], None, usize::MAX, Sheet::default);
        assert_eq!(c.get(Class::AbaRouting), 1);
        assert!(!part);
    }

    #[test]
    fn a_bank_column_between_keeps_an_account_from_the_routing_number() {
        let xml = sheet_xml(&[
            &[("i", "routing_number"), ("i", "bic"), ("i", "account")],
            &[("n", "021000021"), ("i", "DEUTDEFF"), ("n", "4121234567")],
        ]);
        let c = counted(&[&xml], None);
        assert_eq!(c.get(Class::AbaRouting), 1);
        assert_eq!(c.get(Class::UsBankAccount), 0);
    }

    #[test]
    fn a_title_row_is_not_the_heading_row() {
        let xml = sheet_xml(&[
            &[("i", "Payees 2026")],
            &[("i", "Routing"), ("i", "Account")],
            &[("s", "7"), ("n", "4121234567")],
            &[("n", "021000021"), ("s", "8")],
        ]);
        let c = counted(&[&xml], None);
        assert_eq!(c.get(Class::AbaRouting), 1);
        assert_eq!(c.get(Class::UsBankAccount), 0);
    }

    #[test]
    fn column_names_are_excels() {
        let name = |col| {
            let mut out = Vec::new();
            column_name(col, &mut out);
            String::from_utf8(out).unwrap()
        };
        for (col, want) in [(0, "A"), (25, "Z"), (26, "AA"), (255, "IV"), (701, "ZZ")] {
            assert_eq!(name(col), want);
            assert_eq!(column_of(want.as_bytes()), Some(col as usize));
        }
        assert_eq!(name(702), "AAA");
        assert_eq!(name(16_383), "XFD");
        assert_eq!(name(u32::MAX), "XFD");
    }

    #[test]
    fn cell_references_and_prefixes() {
        assert_eq!(column_of(b"A1"), Some(0));
        assert_eq!(column_of(b"Z9"), Some(25));
        assert_eq!(column_of(b"AA10"), Some(26));
        assert_eq!(column_of(b"12"), None);
        let xml = r#"<x:worksheet><x:sheetData><x:row r="1"><x:c r="B1" t="inlineStr"><x:is><x:t>SSN</x:t></x:is></x:c><x:c r="D1" t="inlineStr"><x:is><x:t>Name</x:t></x:is></x:c></x:row><x:row r="2"><x:c r="B2"><x:v>123456789</x:v></x:c><x:c r="C2"><x:v>123456789</x:v></x:c></x:row></x:sheetData></x:worksheet>"#;
        let c = counted(&[xml], None);
        assert_eq!(c.get(Class::UsSsn), 1);
        // A wide extract: the heading and its SSNs in the 100th column (CV), a routing number
        // in the 80th (CB), which counts but pairs with no account (past the 64th column);
        // past the 256th (IW) nothing is weighed and the sheet is read in part.
        let wide = r#"<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Id</t></is></c><c r="CB1" t="inlineStr"><is><t>Routing</t></is></c><c r="CC1" t="inlineStr"><is><t>Account</t></is></c><c r="CV1" t="inlineStr"><is><t>SSN</t></is></c></row><row r="2"><c r="A2"><v>1</v></c><c r="CB2"><v>21000021</v></c><c r="CC2"><v>12345678</v></c><c r="CV2"><v>234567890</v></c></row></sheetData></worksheet>"#;
        let c = counted(&[wide], None);
        assert_eq!(c.get(Class::UsSsn), 1);
        assert_eq!(c.get(Class::AbaRouting), 1);
        assert_eq!(c.get(Class::UsBankAccount), 0);
        let mut past = Sheet::default();
        past.feed(br#"<row><c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="B1" t="inlineStr"><is><t>y</t></is></c></row><row><c r="IW2"><v>234567890</v></c></row>"#);
        assert!(past.cut);
        assert_eq!(Part::of(b"xl/worksheets/sheet1.xml"), Some(Part::Worksheet));
        assert_eq!(Part::of(b"xl/worksheets/_rels/sheet1.xml.rels"), None);
        assert_eq!(Part::of(b"xl/sharedStrings.xml"), Some(Part::SharedStrings));
        assert_eq!(Part::of(b"docProps/app.xml"), None);
        assert_eq!(Part::of(b"content.xml"), Some(Part::OpenDocument));
    }
}
