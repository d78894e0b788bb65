//! Apache Parquet files (`.parquet`: the exports of data warehouses and dataframes; pyarrow,
//! Spark, DuckDB, polars): told by their magic `PAR1`, kept while they stream (the first
//! [`MAX_READ`] bytes, and the last [`MAX_FOOTER`] of a larger file), and read at their end
//! from the footer's metadata (Thrift's compact protocol, read here field by field): the
//! schema's columns by name, each row group's column chunks page by page (uncompressed,
//! snappy, gzip or zstd; values plain or through the chunk's dictionary; a nullable column's
//! definition levels), and the rows written out as a tab-separated table under a header of
//! the columns' names, which a scanner of its own reads as it would a delimited export (so
//! a column named `routing_number` or `ssn` names its values, and a row's routing number has
//! its account beside it). Whole numbers are written in decimal (a decimal column's scale
//! kept), floating-point values as numbers, byte arrays as their bytes.
//!
//! What is not read leaves the file `scanned_in_part`: a column in a list or map (repeated),
//! one of another encoding (the delta encodings, byte stream split) or compression (LZ4,
//! Brotli, LZO), an encrypted column (`encrypted:parquet` beside it; a footer encrypted
//! whole, magic `PARE`, is `binary, encrypted:parquet, parquet`), row groups beyond the kept
//! bytes of a larger file. Booleans and INT96 timestamps hold no class and are left out.
//!
//! Pure: bytes in, classes out. Every number from the file is bounded before it is used:
//! the footer ([`MAX_FOOTER`]), a page's sizes ([`MAX_PAGE`]), the columns
//! ([`MAX_COLUMNS`]), Thrift's nesting ([`MAX_NESTING`]) and a list's length (by the bytes
//! left); what the pages inflate to and the rows written out draw on the file's budget.

use std::io::Write as _;
use std::sync::Arc;

use crate::Format;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// The magic a Parquet file begins and ends with; `PARE` ends one whose footer is encrypted.
const MAGIC: &[u8; 4] = b"PAR1";
const MAGIC_ENCRYPTED: &[u8; 4] = b"PARE";
/// Most bytes of a file kept from its start (its row groups there are read).
pub const MAX_READ: usize = 32 << 20;
/// Most bytes of the footer's metadata read (and of a larger file's end kept for it).
pub const MAX_FOOTER: usize = 8 << 20;
/// Most bytes a page may inflate to (pyarrow's and Spark's pages are of about 1 MiB).
pub const MAX_PAGE: usize = 16 << 20;
/// Most columns read (a wider file's others are not: `scanned_in_part`).
pub const MAX_COLUMNS: usize = 1024;
/// Thrift structures nested at most this deep, and schemas likewise.
pub const MAX_NESTING: u8 = 32;
/// Rows' text handed to the scanner at a time.
const TEXT: usize = 64 << 10;

/// Whether a file's first bytes are a Parquet file's magic.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(MAGIC) || head.starts_with(MAGIC_ENCRYPTED)
}

/// A Parquet file being kept, chunk by chunk, to be read at its end.
pub(crate) struct Parquet {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    /// The file from its first byte, to [`MAX_READ`].
    kept: Vec<u8>,
    /// The file's last bytes, once it is larger than [`MAX_READ`] (at most twice the
    /// footer's bound between trims).
    tail: Vec<u8>,
    cut: bool,
}

impl Parquet {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Parquet {
            patterns,
            budget,
            depth,
            kept: Vec::new(),
            tail: Vec::new(),
            cut: false,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        let room = MAX_READ - self.kept.len();
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
        if data.len() > room || self.cut {
            let rest = &data[data.len().min(room)..];
            if !self.cut {
                // The tail begins with what the kept bytes end with.
                let from = self.kept.len().saturating_sub(MAX_FOOTER + 8);
                self.tail.extend_from_slice(&self.kept[from..]);
            }
            self.cut = true;
            self.tail.extend_from_slice(rest);
            let keep = MAX_FOOTER + 8;
            if self.tail.len() > 2 * keep {
                self.tail.drain(..self.tail.len() - keep);
            }
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.kept) + crate::encoding::held(&self.tail)
    }

    pub(crate) fn finish(self) -> Classification {
        let end = if self.cut { &self.tail } else { &self.kept };
        let unread = |encrypted: bool| Classification {
            formats: [Format::Binary]
                .into_iter()
                .chain(encrypted.then(|| Format::Encrypted("parquet".into())))
                .chain([Format::Parquet])
                .collect(),
            ..Classification::default()
        };
        if self.kept.starts_with(MAGIC_ENCRYPTED) {
            return unread(true);
        }
        let Some(footer) = footer(end) else {
            return unread(false);
        };
        let Some(meta) = FileMeta::read(footer) else {
            return unread(false);
        };
        let mut scanner = Scanner::with_patterns(self.patterns);
        scanner.inside_archive(self.budget.clone(), self.depth);
        let mut rows = Rows {
            scanner,
            text: Vec::with_capacity(TEXT + 1024),
            budget: self.budget,
            spent: false,
        };
        let read = read_rows(&meta, &self.kept, &mut rows);
        let mut found = rows.finish();
        if read.encrypted {
            found.formats.push(Format::Encrypted("parquet".into()));
        }
        found.formats.push(Format::Parquet);
        if read.in_part || rows_cut(&meta, &self.kept, self.cut) {
            found.formats.push(Format::ScannedInPart);
        }
        found
    }
}

/// Whether row groups lie beyond the kept bytes of a file larger than them.
fn rows_cut(meta: &FileMeta, kept: &[u8], cut: bool) -> bool {
    cut && meta
        .row_groups
        .iter()
        .any(|g| g.columns.iter().any(|c| c.end() > kept.len() as u64))
}

/// The footer's metadata at the end of `end` (a file's last bytes), if it is there whole.
fn footer(end: &[u8]) -> Option<&[u8]> {
    let n = end.len();
    if n < 12 || &end[n - 4..] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(end[n - 8..n - 4].try_into().ok()?) as usize;
    if len > MAX_FOOTER || len > n - 8 {
        return None;
    }
    Some(&end[n - 8 - len..n - 8])
}

/// The rows' text as it is written, and the scanner it is handed to while the budget lasts.
struct Rows {
    scanner: Scanner,
    text: Vec<u8>,
    budget: Budget,
    /// The budget ran out: nothing more is written.
    spent: bool,
}

impl Rows {
    fn hand_over(&mut self) {
        let n = self.budget.bytes(self.text.len() as u64) as usize;
        self.scanner.feed(&self.text[..n]);
        self.spent |= n < self.text.len();
        self.text.clear();
    }

    fn finish(mut self) -> Classification {
        if !self.spent {
            self.hand_over();
        }
        let mut found = self.scanner.finish();
        if self.spent && !found.formats.contains(&Format::ScannedInPart) {
            found.formats.push(Format::ScannedInPart);
        }
        found
    }
}

/// What reading the rows left unread.
#[derive(Default)]
struct Read {
    in_part: bool,
    encrypted: bool,
}

/// Writes the rows of every row group within `file` (the kept bytes) to `rows`: a header of
/// the readable columns' names, then one line per row.
fn read_rows(meta: &FileMeta, file: &[u8], rows: &mut Rows) -> Read {
    let mut read = Read::default();
    let leaves = meta.leaves();
    read.in_part |= leaves.len() > MAX_COLUMNS || meta.leaves_in_part;
    // The columns written: readable leaves (not repeated, of a type that can hold a class).
    let shown: Vec<usize> = leaves
        .iter()
        .enumerate()
        .take(MAX_COLUMNS)
        .filter(|(_, l)| {
            read.in_part |= l.max_rep > 0;
            l.max_rep == 0 && l.kind.is_some()
        })
        .map(|(i, _)| i)
        .collect();
    if shown.is_empty() {
        return read;
    }
    for (n, &i) in shown.iter().enumerate() {
        if n > 0 {
            rows.text.push(b'\t');
        }
        push_cell(&mut rows.text, leaves[i].name.as_bytes());
    }
    rows.text.push(b'\n');
    for group in &meta.row_groups {
        if rows.spent {
            read.in_part = true;
            break;
        }
        if group.columns.len() < leaves.len().min(MAX_COLUMNS) {
            read.in_part = true;
            continue;
        }
        if group.columns.iter().any(|c| c.end() > file.len() as u64) {
            // A larger file's later row groups (or a chunk that says it lies beyond the file).
            read.in_part = true;
            continue;
        }
        let mut columns: Vec<Column> = shown
            .iter()
            .map(|&i| {
                let chunk = &group.columns[i];
                let column = Column::new(chunk, &leaves[i], file, rows.budget.clone());
                read.encrypted |= chunk.encrypted;
                column
            })
            .collect();
        for _ in 0..group.num_rows {
            let mut any = false;
            for (n, column) in columns.iter_mut().enumerate() {
                if n > 0 {
                    rows.text.push(b'\t');
                }
                any |= column.next_into(&mut rows.text);
            }
            rows.text.push(b'\n');
            if !any {
                break;
            }
            if rows.text.len() >= TEXT {
                rows.hand_over();
                if rows.spent {
                    break;
                }
            }
        }
        read.in_part |= columns.iter().any(|c| c.unread);
    }
    read
}

/// A value's bytes as a cell: the table's separators (tabs, line ends) written as spaces.
fn push_cell(out: &mut Vec<u8>, value: &[u8]) {
    let from = out.len();
    out.extend_from_slice(value);
    for b in &mut out[from..] {
        if matches!(*b, b'\t' | b'\n' | b'\r') {
            *b = b' ';
        }
    }
}

// The footer's metadata.

/// Physical types (parquet.thrift `Type`).
const BOOLEAN: i32 = 0;
const INT32: i32 = 1;
const INT64: i32 = 2;
const INT96: i32 = 3;
const FLOAT: i32 = 4;
const DOUBLE: i32 = 5;
const BYTE_ARRAY: i32 = 6;
const FIXED_LEN_BYTE_ARRAY: i32 = 7;
/// Repetition types.
const OPTIONAL: i32 = 1;
const REPEATED: i32 = 2;
/// The converted type `DECIMAL`, and the logical type union's field for a decimal.
const CONVERTED_DECIMAL: i32 = 5;
const LOGICAL_DECIMAL: i16 = 5;
/// Compression codecs.
const UNCOMPRESSED: i32 = 0;
const SNAPPY: i32 = 1;
const GZIP: i32 = 2;
const ZSTD: i32 = 6;
/// Page types.
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
const DATA_PAGE_V2: i32 = 3;
/// Encodings.
const PLAIN: i32 = 0;
const PLAIN_DICTIONARY: i32 = 2;
const RLE: i32 = 3;
const RLE_DICTIONARY: i32 = 8;

/// How a column's values are written as text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Bytes as they are.
    Bytes,
    /// A whole number of 4 or 8 bytes, with its decimal scale (0: an integer).
    Int { width: u8, scale: u32 },
    /// A floating-point number of 4 or 8 bytes.
    Float { width: u8 },
    /// A decimal in big-endian two's complement (a fixed-length or variable byte array).
    Decimal { fixed: Option<u32>, scale: u32 },
}

/// A schema element, as the footer lists them (depth first).
#[derive(Default)]
struct Element {
    physical: Option<i32>,
    type_length: i32,
    repetition: i32,
    name: String,
    children: i32,
    converted: Option<i32>,
    scale: Option<i32>,
    logical_decimal_scale: Option<i32>,
}

/// A leaf of the schema: a column.
struct Leaf {
    /// Its path, its parts joined by dots.
    name: String,
    kind: Option<Kind>,
    max_def: u8,
    max_rep: u8,
}

/// A column chunk's metadata.
#[derive(Default)]
struct Chunk {
    external: bool,
    encrypted: bool,
    codec: i32,
    data_page: i64,
    dictionary_page: i64,
    compressed: i64,
}

impl Chunk {
    /// Where its pages begin in the file.
    fn start(&self) -> u64 {
        let first = if self.dictionary_page > 0 && self.dictionary_page < self.data_page {
            self.dictionary_page
        } else {
            self.data_page
        };
        first.max(0) as u64
    }

    /// Where they end (beyond any file if it is not in this one).
    fn end(&self) -> u64 {
        if self.external || self.compressed < 0 {
            return u64::MAX;
        }
        self.start().saturating_add(self.compressed as u64)
    }
}

struct RowGroup {
    columns: Vec<Chunk>,
    num_rows: u64,
}

struct FileMeta {
    schema: Vec<Element>,
    row_groups: Vec<RowGroup>,
    /// Some leaves were past the schema's bounds (nesting).
    leaves_in_part: bool,
}

impl FileMeta {
    fn read(bytes: &[u8]) -> Option<FileMeta> {
        let mut r = Thrift::new(bytes);
        let mut meta = FileMeta {
            schema: Vec::new(),
            row_groups: Vec::new(),
            leaves_in_part: false,
        };
        r.read_struct(|r, id, ty| match (id, ty) {
            (2, LIST) => {
                let n = r.list(STRUCT)?;
                for _ in 0..n {
                    meta.schema.push(Element::read(r)?);
                }
                Some(())
            }
            (4, LIST) => {
                let n = r.list(STRUCT)?;
                for _ in 0..n {
                    meta.row_groups.push(RowGroup::read(r)?);
                }
                Some(())
            }
            _ => r.skip(ty),
        })?;
        (!meta.schema.is_empty()).then_some(meta)
    }

    /// The schema's leaves, in the order the row groups' column chunks follow.
    fn leaves(&self) -> Vec<Leaf> {
        let mut leaves = Vec::new();
        let mut at = 1;
        let root_children = self.schema[0].children.max(0);
        let mut in_part = false;
        for _ in 0..root_children {
            if at >= self.schema.len() {
                break;
            }
            walk(
                &self.schema,
                &mut at,
                "",
                0,
                0,
                1,
                &mut leaves,
                &mut in_part,
            );
        }
        leaves
    }
}

/// Walks the element at `at` and its children (depth first), adding its leaves.
#[allow(clippy::too_many_arguments)]
fn walk(
    schema: &[Element],
    at: &mut usize,
    prefix: &str,
    def: u8,
    rep: u8,
    depth: u8,
    leaves: &mut Vec<Leaf>,
    in_part: &mut bool,
) {
    let Some(e) = schema.get(*at) else { return };
    *at += 1;
    let def = def + u8::from(e.repetition == OPTIONAL || e.repetition == REPEATED);
    let rep = rep + u8::from(e.repetition == REPEATED);
    let name = if prefix.is_empty() {
        e.name.clone()
    } else {
        format!("{prefix}.{}", e.name)
    };
    if e.children > 0 {
        if depth >= MAX_NESTING {
            *in_part = true;
            *at = schema.len();
            return;
        }
        for _ in 0..e.children {
            if *at >= schema.len() {
                return;
            }
            walk(schema, at, &name, def, rep, depth + 1, leaves, in_part);
        }
        return;
    }
    leaves.push(Leaf {
        name,
        kind: e.kind(),
        max_def: def,
        max_rep: rep,
    });
}

impl Element {
    fn read(r: &mut Thrift) -> Option<Element> {
        let mut e = Element::default();
        r.read_struct(|r, id, ty| {
            match (id, ty) {
                (1, I32) => e.physical = Some(r.int()? as i32),
                (2, I32) => e.type_length = r.int()? as i32,
                (3, I32) => e.repetition = r.int()? as i32,
                (4, BINARY) => e.name = String::from_utf8_lossy(r.binary()?).into_owned(),
                (5, I32) => e.children = r.int()? as i32,
                (6, I32) => e.converted = Some(r.int()? as i32),
                (7, I32) => e.scale = Some(r.int()? as i32),
                (10, STRUCT) => {
                    // The logical type: a union; its decimal's scale.
                    r.read_struct(|r, id, ty| match (id, ty) {
                        (LOGICAL_DECIMAL, STRUCT) => r.read_struct(|r, id, ty| match (id, ty) {
                            (1, I32) => {
                                e.logical_decimal_scale = Some(r.int()? as i32);
                                Some(())
                            }
                            _ => r.skip(ty),
                        }),
                        _ => r.skip(ty),
                    })?
                }
                _ => r.skip(ty)?,
            }
            Some(())
        })?;
        Some(e)
    }

    /// How its values are written, if they can hold a class.
    fn kind(&self) -> Option<Kind> {
        let decimal =
            self.converted == Some(CONVERTED_DECIMAL) || self.logical_decimal_scale.is_some();
        let scale = self
            .logical_decimal_scale
            .or(self.scale)
            .filter(|_| decimal)
            .unwrap_or(0)
            .clamp(0, 38) as u32;
        match self.physical? {
            INT32 => Some(Kind::Int { width: 4, scale }),
            INT64 => Some(Kind::Int { width: 8, scale }),
            FLOAT => Some(Kind::Float { width: 4 }),
            DOUBLE => Some(Kind::Float { width: 8 }),
            BYTE_ARRAY if decimal => Some(Kind::Decimal { fixed: None, scale }),
            BYTE_ARRAY => Some(Kind::Bytes),
            FIXED_LEN_BYTE_ARRAY if decimal && (1..=16).contains(&self.type_length) => {
                Some(Kind::Decimal {
                    fixed: Some(self.type_length as u32),
                    scale,
                })
            }
            // BOOLEAN, INT96 timestamps, other fixed-length values (UUIDs, half floats).
            BOOLEAN | INT96 | FIXED_LEN_BYTE_ARRAY => None,
            _ => None,
        }
    }
}

impl RowGroup {
    fn read(r: &mut Thrift) -> Option<RowGroup> {
        let mut g = RowGroup {
            columns: Vec::new(),
            num_rows: 0,
        };
        r.read_struct(|r, id, ty| match (id, ty) {
            (1, LIST) => {
                let n = r.list(STRUCT)?;
                for _ in 0..n {
                    g.columns.push(Chunk::read(r)?);
                }
                Some(())
            }
            (3, I64) => {
                g.num_rows = r.int()?.max(0) as u64;
                Some(())
            }
            _ => r.skip(ty),
        })?;
        Some(g)
    }
}

impl Chunk {
    fn read(r: &mut Thrift) -> Option<Chunk> {
        let mut c = Chunk::default();
        r.read_struct(|r, id, ty| match (id, ty) {
            (1, BINARY) => {
                c.external = true;
                r.skip(ty)
            }
            (3, STRUCT) => r.read_struct(|r, id, ty| {
                match (id, ty) {
                    (4, I32) => c.codec = r.int()? as i32,
                    (7, I64) => c.compressed = r.int()?,
                    (9, I64) => c.data_page = r.int()?,
                    (11, I64) => c.dictionary_page = r.int()?,
                    _ => r.skip(ty)?,
                }
                Some(())
            }),
            // Its crypto metadata, or its metadata encrypted.
            (8 | 9, _) => {
                c.encrypted = true;
                r.skip(ty)
            }
            _ => r.skip(ty),
        })?;
        Some(c)
    }
}

// A column chunk's pages and values.

/// A page's header, the fields read here.
#[derive(Default)]
struct PageHeader {
    kind: i32,
    uncompressed: i32,
    compressed: i32,
    num_values: i32,
    encoding: i32,
    def_encoding: i32,
    /// A version 2 data page's levels' lengths (stored uncompressed before its values), and
    /// whether its values are compressed.
    def_len: i32,
    rep_len: i32,
    compressed_values: bool,
}

impl PageHeader {
    fn read(r: &mut Thrift) -> Option<PageHeader> {
        let mut h = PageHeader {
            compressed_values: true,
            ..PageHeader::default()
        };
        r.read_struct(|r, id, ty| {
            match (id, ty) {
                (1, I32) => h.kind = r.int()? as i32,
                (2, I32) => h.uncompressed = r.int()? as i32,
                (3, I32) => h.compressed = r.int()? as i32,
                (5, STRUCT) => r.read_struct(|r, id, ty| {
                    match (id, ty) {
                        (1, I32) => h.num_values = r.int()? as i32,
                        (2, I32) => h.encoding = r.int()? as i32,
                        (3, I32) => h.def_encoding = r.int()? as i32,
                        _ => r.skip(ty)?,
                    }
                    Some(())
                })?,
                (7, STRUCT) => r.read_struct(|r, id, ty| {
                    match (id, ty) {
                        (1, I32) => h.num_values = r.int()? as i32,
                        (2, I32) => h.encoding = r.int()? as i32,
                        _ => r.skip(ty)?,
                    }
                    Some(())
                })?,
                (8, STRUCT) => r.read_struct(|r, id, ty| {
                    match (id, ty) {
                        (1, I32) => h.num_values = r.int()? as i32,
                        (4, I32) => h.encoding = r.int()? as i32,
                        (5, I32) => h.def_len = r.int()? as i32,
                        (6, I32) => h.rep_len = r.int()? as i32,
                        (7, TRUE) => h.compressed_values = true,
                        (7, FALSE) => h.compressed_values = false,
                        _ => r.skip(ty)?,
                    }
                    Some(())
                })?,
                _ => r.skip(ty)?,
            }
            Some(())
        })?;
        Some(h)
    }
}

/// A column's dictionary: its values written as text, end to end, and where each ends.
#[derive(Default)]
struct Dictionary {
    text: Vec<u8>,
    ends: Vec<u32>,
}

/// How a data page's values are read.
enum Values {
    /// One after another from `at`.
    Plain { at: usize },
    /// Indices into the dictionary.
    Dictionary(Hybrid),
}

/// The data page being read.
struct Page {
    data: Vec<u8>,
    /// Its definition levels (none for a required column).
    defs: Option<Hybrid>,
    values: Values,
    /// Values left, nulls counted.
    left: u32,
}

/// A column chunk being read value by value.
struct Column<'a> {
    pages: &'a [u8],
    at: usize,
    codec: i32,
    kind: Kind,
    max_def: u8,
    dictionary: Option<Dictionary>,
    page: Option<Page>,
    budget: Budget,
    /// No more values: the chunk ended, or a page could not be read.
    done: bool,
    /// A page could not be read (its encoding or compression), or the chunk was not.
    unread: bool,
}

impl<'a> Column<'a> {
    fn new(chunk: &Chunk, leaf: &Leaf, file: &'a [u8], budget: Budget) -> Column<'a> {
        let (start, end) = (chunk.start() as usize, chunk.end() as usize);
        let readable = !chunk.encrypted
            && matches!(chunk.codec, UNCOMPRESSED | SNAPPY | GZIP | ZSTD)
            && start <= end
            && end <= file.len();
        Column {
            pages: if readable { &file[start..end] } else { &[] },
            at: 0,
            codec: chunk.codec,
            kind: leaf.kind.unwrap_or(Kind::Bytes),
            max_def: leaf.max_def,
            dictionary: None,
            page: None,
            budget,
            done: !readable,
            unread: !readable,
        }
    }

    /// Writes the next value (nothing for a null, or past the chunk's end): whether there was
    /// one, null or not.
    fn next_into(&mut self, out: &mut Vec<u8>) -> bool {
        loop {
            if self.done {
                return false;
            }
            if let Some(page) = self.page.as_mut().filter(|p| p.left > 0) {
                page.left -= 1;
                let read = match page.defs.as_mut().map(|defs| defs.next(&page.data)) {
                    // A null: nothing written.
                    Some(Some(d)) if d < u64::from(self.max_def) => Some(()),
                    Some(None) => None,
                    _ => match &mut page.values {
                        Values::Plain { at } => plain_value(&page.data, at, self.kind, out),
                        Values::Dictionary(indices) => indices
                            .next(&page.data)
                            .and_then(|i| self.dictionary.as_ref()?.value(i))
                            .map(|v| out.extend_from_slice(v)),
                    },
                };
                return read.is_some() || self.broken();
            }
            self.page = None;
            match self.next_page() {
                Some(true) => {}
                Some(false) => self.done = true,
                None => {
                    self.broken();
                }
            }
        }
    }

    /// A page's values ran out before it said: the column's rest is not read.
    fn broken(&mut self) -> bool {
        self.done = true;
        self.unread = true;
        false
    }

    /// Reads pages until a data page is ready (a dictionary page read on the way): whether
    /// one is (`false`: the chunk ended; `None`: a page could not be read).
    fn next_page(&mut self) -> Option<bool> {
        loop {
            let rest = self.pages.get(self.at..)?;
            if rest.is_empty() {
                return Some(false);
            }
            let mut r = Thrift::new(rest);
            let h = PageHeader::read(&mut r)?;
            let body_at = r.at;
            let size = usize::try_from(h.compressed).ok()?;
            let body = rest.get(body_at..body_at.checked_add(size)?)?;
            self.at += body_at + size;
            let uncompressed = usize::try_from(h.uncompressed).ok()?;
            if uncompressed > MAX_PAGE {
                return None;
            }
            let num_values = u32::try_from(h.num_values).ok()?;
            match h.kind {
                DICTIONARY_PAGE => {
                    if !matches!(h.encoding, PLAIN | PLAIN_DICTIONARY) {
                        return None;
                    }
                    let data = self.inflate(body, uncompressed)?;
                    self.dictionary = Some(Dictionary::read(&data, num_values, self.kind)?);
                }
                DATA_PAGE => {
                    let data = self.inflate(body, uncompressed)?;
                    let mut at = 0;
                    let defs = if self.max_def > 0 {
                        if h.def_encoding != RLE {
                            return None;
                        }
                        let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
                        let end = 4usize.checked_add(len).filter(|&e| e <= data.len())?;
                        at = end;
                        Some(Hybrid::new(4, end, bit_width(self.max_def)))
                    } else {
                        None
                    };
                    self.page = Some(self.data_page(data, defs, at, h.encoding, num_values)?);
                    return Some(true);
                }
                DATA_PAGE_V2 => {
                    let rep = usize::try_from(h.rep_len).ok()?;
                    let def = usize::try_from(h.def_len).ok()?;
                    let levels = rep.checked_add(def).filter(|&l| l <= body.len())?;
                    let values = if h.compressed_values {
                        self.inflate(&body[levels..], uncompressed.checked_sub(levels)?)?
                    } else {
                        body[levels..].to_vec()
                    };
                    // The levels first, then the values, in one buffer.
                    let mut data = Vec::with_capacity(def + values.len());
                    data.extend_from_slice(&body[rep..levels]);
                    data.extend_from_slice(&values);
                    let defs =
                        (self.max_def > 0).then(|| Hybrid::new(0, def, bit_width(self.max_def)));
                    self.page = Some(self.data_page(data, defs, def, h.encoding, num_values)?);
                    return Some(true);
                }
                // Index pages and pages of kinds to come are passed over.
                _ => {}
            }
        }
    }

    fn data_page(
        &self,
        data: Vec<u8>,
        defs: Option<Hybrid>,
        at: usize,
        encoding: i32,
        left: u32,
    ) -> Option<Page> {
        let values = match encoding {
            PLAIN => Values::Plain { at },
            PLAIN_DICTIONARY | RLE_DICTIONARY => {
                self.dictionary.as_ref()?;
                let width = *data.get(at)?;
                if width > 32 {
                    return None;
                }
                Values::Dictionary(Hybrid::new(at + 1, data.len(), width))
            }
            _ => return None,
        };
        Some(Page {
            data,
            defs,
            values,
            left,
        })
    }

    /// A page's body inflated by the chunk's codec to `len` bytes (drawn on the file's budget).
    fn inflate(&self, body: &[u8], len: usize) -> Option<Vec<u8>> {
        if self.budget.bytes(len as u64) < len as u64 {
            return None;
        }
        let data = match self.codec {
            UNCOMPRESSED => body.to_vec(),
            SNAPPY => {
                if snap::raw::decompress_len(body).ok()? != len {
                    return None;
                }
                snap::raw::Decoder::new().decompress_vec(body).ok()?
            }
            GZIP => {
                let mut out = Vec::with_capacity(len);
                let mut gzip = crate::encoding::Gzip::new(Budget::with(len as u64, 1));
                gzip.inflate(body, |b| out.extend_from_slice(b));
                gzip.finish(|b| out.extend_from_slice(b));
                out
            }
            ZSTD => {
                let mut out = Vec::with_capacity(len);
                let mut zstd = crate::encoding::Zstd::new(Budget::with(len as u64, 1));
                zstd.inflate(body, |b| out.extend_from_slice(b));
                out
            }
            _ => return None,
        };
        (data.len() == len).then_some(data)
    }
}

/// Bits a level of at most `max` takes.
fn bit_width(max: u8) -> u8 {
    (8 - max.leading_zeros()) as u8
}

impl Dictionary {
    fn read(data: &[u8], n: u32, kind: Kind) -> Option<Dictionary> {
        let mut d = Dictionary::default();
        let mut at = 0;
        for _ in 0..n {
            plain_value(data, &mut at, kind, &mut d.text)?;
            d.ends.push(u32::try_from(d.text.len()).ok()?);
        }
        Some(d)
    }

    fn value(&self, i: u64) -> Option<&[u8]> {
        let i = usize::try_from(i).ok()?;
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }
}

/// Writes the plain-encoded value at `at` in `data` as text, and moves past it.
fn plain_value(data: &[u8], at: &mut usize, kind: Kind, out: &mut Vec<u8>) -> Option<()> {
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let v = data.get(*at..at.checked_add(n)?)?;
        *at += n;
        Some(v)
    };
    match kind {
        Kind::Bytes => {
            let len = u32::from_le_bytes(take(at, 4)?.try_into().ok()?) as usize;
            push_cell(out, take(at, len)?);
        }
        Kind::Int { width, scale } => {
            let v = take(at, width as usize)?;
            let n = if width == 4 {
                i128::from(i32::from_le_bytes(v.try_into().ok()?))
            } else {
                i128::from(i64::from_le_bytes(v.try_into().ok()?))
            };
            push_decimal(out, n, scale);
        }
        Kind::Float { width } => {
            let v = take(at, width as usize)?;
            let f = if width == 4 {
                f64::from(f32::from_le_bytes(v.try_into().ok()?))
            } else {
                f64::from_le_bytes(v.try_into().ok()?)
            };
            // A whole number as one (a card number kept as a double is its digits).
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 {
                let _ = write!(out, "{}", f as i64);
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Kind::Decimal { fixed, scale } => {
            let len = match fixed {
                Some(n) => n as usize,
                None => u32::from_le_bytes(take(at, 4)?.try_into().ok()?) as usize,
            };
            let v = take(at, len)?;
            if v.len() > 16 {
                return Some(());
            }
            // Big-endian two's complement, sign-extended.
            let fill = if v.first().is_some_and(|b| b & 0x80 != 0) {
                0xFF
            } else {
                0
            };
            let mut b = [fill; 16];
            b[16 - v.len()..].copy_from_slice(v);
            push_decimal(out, i128::from_be_bytes(b), scale);
        }
    }
    Some(())
}

/// Writes `n` with `scale` digits after a decimal point.
fn push_decimal(out: &mut Vec<u8>, n: i128, scale: u32) {
    if scale == 0 {
        let _ = write!(out, "{n}");
        return;
    }
    let digits = n.unsigned_abs().to_string();
    let scale = scale as usize;
    if n < 0 {
        out.push(b'-');
    }
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
}

/// Parquet's hybrid of run-length and bit-packed runs (levels and dictionary indices), read
/// from `data[at..end]` value by value.
struct Hybrid {
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
    fn new(at: usize, end: usize, width: u8) -> Hybrid {
        Hybrid {
            at,
            end,
            width,
            left: 0,
            repeated: None,
            bit: 0,
        }
    }

    fn next(&mut self, data: &[u8]) -> Option<u64> {
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
        let width = u64::from(self.width);
        let byte = usize::try_from(self.bit / 8).ok()?;
        if width == 0 {
            return Some(0);
        }
        if (self.bit + width).div_ceil(8) > data.len() as u64 {
            return None;
        }
        let mut le = [0u8; 8];
        let have = data.len() - byte;
        le[..have.min(8)].copy_from_slice(&data[byte..byte + have.min(8)]);
        let v = u64::from_le_bytes(le) >> (self.bit % 8) & ((1u64 << width) - 1);
        self.bit += width;
        Some(v)
    }
}

// Thrift's compact protocol, as the footer and page headers are written in it.

const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE_T: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// A reader of Thrift's compact protocol over bytes: structures field by field, what is not
/// asked for skipped, nesting bounded by [`MAX_NESTING`].
struct Thrift<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: u8,
}

impl<'a> Thrift<'a> {
    fn new(bytes: &'a [u8]) -> Self {
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

    fn varint(&mut self) -> Option<u64> {
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
    fn int(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn binary(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let v = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(v)
    }

    /// A list's (or set's) header: its length, its elements' type `want` (each takes a byte
    /// at least, so the length is bounded by the bytes left).
    fn list(&mut self, want: u8) -> Option<u64> {
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
    fn read_struct(
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
    fn skip(&mut self, ty: u8) -> Option<()> {
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
