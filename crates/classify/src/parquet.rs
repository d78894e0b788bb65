//! Apache Parquet files (`.parquet`: the exports of data warehouses and dataframes; pyarrow,
//! Spark, DuckDB, polars): told by their magic `PAR1`, kept while they stream (the first
//! [`MAX_READ`] bytes, and the last [`MAX_FOOTER`] of a larger file), and read at their end
//! from the footer's metadata (Thrift's compact protocol, read here field by field): the
//! schema's columns by their paths (a struct's fields, `holder.ssn`), each row group's column
//! chunks page by page (uncompressed, snappy, gzip, zstd or LZ4; values plain, through the
//! chunk's dictionary or delta-encoded; a nullable column's definition levels, a list's
//! repetition levels), and the rows written out as a tab-separated table under a header of
//! the columns' names, which a scanner of its own reads as it would a delimited export (so
//! a column named `routing_number` or `ssn` names its values, and a row's routing number has
//! its account beside it). Whole numbers are written in decimal (a decimal column's scale
//! kept), floating-point values as numbers, byte arrays as their bytes, a list's values
//! spaced in their row's cell.
//!
//! What is not read leaves the file `scanned_in_part`: a page of another encoding (byte
//! stream split) or compression (Brotli, LZO), an encrypted column (`encrypted:parquet`
//! beside it; a footer encrypted whole, magic `PARE`, is `binary, encrypted:parquet,
//! parquet`), row groups beyond the kept bytes of a larger file. Booleans, INT96 timestamps
//! and fixed bytes that are no decimal hold no class and are left out.
//!
//! Pure: bytes in, classes out. Every number from the file is bounded before it is used:
//! the footer ([`MAX_FOOTER`]), a page's sizes ([`MAX_PAGE`]), the columns
//! ([`MAX_COLUMNS`]), Thrift's nesting ([`MAX_NESTING`]) and a list's length (by the bytes
//! left); what the pages inflate to and the rows written out draw on the file's budget.

mod encoding;
mod thrift;

use encoding::{Delta, Hybrid, bit_width, lz4_block, lz4_hadoop, plain_value, push_bytes};
use thrift::{BINARY, FALSE, I32, I64, LIST, STRUCT, TRUE, Thrift};

use std::sync::Arc;

use crate::Format;
use crate::encoding::{Budget, STREAM_COST};
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};
use crate::stored::Stored;

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
/// What a row costs of the file's budget at least (its text's bytes where they are more).
const ROW_COST: u64 = 16;

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
        let (kept, rest) = data.split_at(data.len().min(room));
        extend_within(&mut self.kept, kept, MAX_READ);
        if rest.is_empty() && !self.cut {
            return;
        }
        let keep = MAX_FOOTER + 8;
        if !self.cut {
            // The tail begins with what the kept bytes end with.
            let from = self.kept.len().saturating_sub(keep);
            self.tail.extend_from_slice(&self.kept[from..]);
            self.cut = true;
        }
        for piece in rest.chunks(keep) {
            if self.tail.len() + piece.len() > 2 * keep {
                self.tail.drain(..self.tail.len() - keep);
            }
            extend_within(&mut self.tail, piece, 2 * keep);
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.kept) + crate::encoding::held(&self.tail)
    }

    pub(crate) fn finish(self) -> Classification {
        let end = if self.cut { &self.tail } else { &self.kept };
        if self.kept.starts_with(MAGIC_ENCRYPTED) {
            return unread(true);
        }
        let Some(meta) = footer(end).and_then(FileMeta::read) else {
            return unread(false);
        };
        let cut = rows_cut(&meta, &self.kept, self.cut);
        let source = Source::Kept(&self.kept);
        classify_rows(&meta, source, self.patterns, self.budget, self.depth, cut)
    }
}

/// A Parquet file stored whole (an upload read back after its commit), read where its
/// footer says its row groups are: every row group read, whatever the file's size, a page at
/// a time. `read_at` fills a buffer from a place in the file and says how many bytes it gave.
pub(crate) fn classify_stored(
    size: u64,
    read_at: &dyn Fn(u64, &mut [u8]) -> Option<usize>,
    patterns: Option<Arc<Patterns>>,
) -> Classification {
    let file = Stored::new(size, read_at);
    let tail = (MAX_FOOTER as u64 + 8).min(size);
    let Some(end) = file.read(size - tail, tail as usize) else {
        return unread(false);
    };
    if file.read(0, 4).as_deref() == Some(&MAGIC_ENCRYPTED[..]) {
        return unread(true);
    }
    let Some(meta) = footer(&end).and_then(FileMeta::read) else {
        return unread(false);
    };
    let budget = Budget::new();
    classify_rows(&meta, Source::Stored(&file), patterns, budget, 0, false)
}

/// What a file whose footer could not be read (or is encrypted) is: `binary, parquet`.
fn unread(encrypted: bool) -> Classification {
    Classification {
        formats: [Format::Binary]
            .into_iter()
            .chain(encrypted.then(|| Format::Encrypted("parquet".into())))
            .chain([Format::Parquet])
            .collect(),
        ..Classification::default()
    }
}

/// The rows of the row groups `meta` names, read from `source`, classified (`cut`: some of
/// the file was not kept).
fn classify_rows(
    meta: &FileMeta,
    source: Source,
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    cut: bool,
) -> Classification {
    let mut scanner = Scanner::with_patterns(patterns);
    scanner.inside_archive(budget.clone(), depth);
    let mut rows = Rows {
        scanner,
        text: Vec::with_capacity(TEXT + 1024),
        rows: 0,
        budget,
        spent: false,
    };
    let read = read_rows(meta, source, &mut rows);
    let (mut found, spent) = rows.finish();
    // Read in part (the rows' scanner's say, or the file's) is said last.
    let rows_in_part = found.formats.contains(&Format::ScannedInPart);
    found.formats.retain(|f| *f != Format::ScannedInPart);
    if read.encrypted {
        found.formats.push(Format::Encrypted("parquet".into()));
    }
    found.formats.push(Format::Parquet);
    if rows_in_part || spent || read.in_part || cut {
        found.formats.push(Format::ScannedInPart);
    }
    found
}

/// Where a file's pages are read from: the bytes kept as it streamed, or the stored file.
#[derive(Clone, Copy)]
enum Source<'a> {
    Kept(&'a [u8]),
    Stored(&'a Stored<'a>),
}

impl Source<'_> {
    fn len(&self) -> u64 {
        match self {
            Source::Kept(b) => b.len() as u64,
            Source::Stored(f) => f.size,
        }
    }
}

/// Appends `data` to `v`, its capacity growing no further than `most` (doubling would make
/// 32 MiB kept hold 64).
fn extend_within(v: &mut Vec<u8>, data: &[u8], most: usize) {
    let need = v.len() + data.len();
    if need > v.capacity() {
        let grown = (v.capacity() * 2).max(need).min(most.max(need));
        v.reserve_exact(grown - v.len());
    }
    v.extend_from_slice(data);
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
    /// Rows written to `text`.
    rows: u64,
    budget: Budget,
    /// The budget ran out: nothing more is written.
    spent: bool,
}

impl Rows {
    /// Hands the text written to the scanner, drawn on the budget: its bytes, and at least
    /// [`ROW_COST`] a row (a run of a million rows of nothing takes a few bytes to write).
    fn hand_over(&mut self) {
        let cost = (self.text.len() as u64).max(self.rows * ROW_COST);
        let allowed = self.budget.bytes(cost);
        let n = if allowed == cost {
            self.text.len()
        } else {
            (allowed as usize).min(self.text.len())
        };
        self.scanner.feed(&self.text[..n]);
        self.spent |= allowed < cost;
        self.text.clear();
        self.rows = 0;
    }

    /// What the rows hold, and whether the budget ran out before they were all written.
    fn finish(mut self) -> (Classification, bool) {
        if !self.spent {
            self.hand_over();
        }
        (self.scanner.finish(), self.spent)
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
fn read_rows(meta: &FileMeta, file: Source, rows: &mut Rows) -> Read {
    let mut read = Read::default();
    let leaves = meta.leaves();
    read.in_part |= leaves.len() > MAX_COLUMNS || meta.leaves_in_part;
    // The columns written: readable leaves (not repeated, of a type that can hold a class).
    let shown: Vec<usize> = leaves
        .iter()
        .enumerate()
        .take(MAX_COLUMNS)
        .filter(|(_, l)| l.kind.is_some())
        .map(|(i, _)| i)
        .collect();
    if shown.is_empty() {
        return read;
    }
    for (n, &i) in shown.iter().enumerate() {
        if n > 0 {
            rows.text.push(b'\t');
        }
        crate::cell::text(&mut rows.text, leaves[i].name.as_bytes());
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
        if group.columns.iter().any(|c| c.end() > file.len()) {
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
            rows.rows += 1;
            if !any {
                break;
            }
            if rows.text.len() >= TEXT || rows.rows >= (TEXT as u64) / ROW_COST {
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
/// LZ4: Hadoop's framing of blocks (`LZ4`, deprecated; some writers put a bare block there),
/// or a bare block (`LZ4_RAW`).
const LZ4: i32 = 5;
const LZ4_RAW: i32 = 7;
/// Page types.
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
const DATA_PAGE_V2: i32 = 3;
/// Encodings.
const PLAIN: i32 = 0;
const PLAIN_DICTIONARY: i32 = 2;
const RLE: i32 = 3;
const RLE_DICTIONARY: i32 = 8;
const DELTA_BINARY_PACKED: i32 = 5;
const DELTA_LENGTH_BYTE_ARRAY: i32 = 6;
const DELTA_BYTE_ARRAY: i32 = 7;
/// A delta stream's block at most this many values (parquet-mr and pyarrow write 128).
const MAX_DELTA_BLOCK: u64 = 1 << 16;

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

impl Kind {
    /// Whether its values are byte arrays (variable or fixed in length).
    fn byte_array(self) -> bool {
        matches!(self, Kind::Bytes | Kind::Decimal { .. })
    }
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
    rep_encoding: i32,
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
                        (4, I32) => h.rep_encoding = r.int()? as i32,
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
    /// Whole numbers as deltas (`DELTA_BINARY_PACKED`).
    DeltaInts(Delta),
    /// Byte arrays: their lengths as deltas, then their bytes from `at`
    /// (`DELTA_LENGTH_BYTE_ARRAY`).
    DeltaLengths { lengths: Delta, at: usize },
    /// Byte arrays as the length of what each shares with the one before and the rest
    /// (`DELTA_BYTE_ARRAY`): the last value kept.
    DeltaBytes {
        prefixes: Delta,
        suffixes: Delta,
        at: usize,
        last: Vec<u8>,
    },
}

impl Values {
    /// Writes the next value as text (a `kind`'s), with `dictionary`'s values for indices.
    fn next_into(
        &mut self,
        data: &[u8],
        kind: Kind,
        dictionary: Option<&Dictionary>,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        match self {
            Values::Plain { at } => plain_value(data, at, kind, out),
            Values::Dictionary(indices) => {
                let v = dictionary?.value(indices.next(data)?)?;
                out.extend_from_slice(v);
                Some(())
            }
            Values::DeltaInts(ints) => {
                let Kind::Int { scale, .. } = kind else {
                    return None;
                };
                crate::cell::decimal(out, i128::from(ints.next(data)?), scale);
                Some(())
            }
            Values::DeltaLengths { lengths, at } => {
                let len = usize::try_from(lengths.next(data)?).ok()?;
                let v = data.get(*at..at.checked_add(len)?)?;
                *at += len;
                push_bytes(out, v, kind);
                Some(())
            }
            Values::DeltaBytes {
                prefixes,
                suffixes,
                at,
                last,
            } => {
                let prefix = usize::try_from(prefixes.next(data)?).ok()?;
                let len = usize::try_from(suffixes.next(data)?).ok()?;
                let suffix = data.get(*at..at.checked_add(len)?)?;
                *at += len;
                if prefix > last.len() {
                    return None;
                }
                last.truncate(prefix);
                last.extend_from_slice(suffix);
                push_bytes(out, last, kind);
                Some(())
            }
        }
    }
}

/// What a column's next entry was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Value,
    /// It begins the next row (a list's column).
    NextRow,
    End,
}

/// The data page being read.
struct Page {
    data: Vec<u8>,
    /// Its repetition levels (none for a column in no list), and the next one when it has
    /// been looked at.
    reps: Option<Hybrid>,
    next_rep: Option<u64>,
    /// Its definition levels (none for a required column).
    defs: Option<Hybrid>,
    values: Values,
    /// Values left, nulls counted.
    left: u32,
}

/// A column chunk being read value by value.
struct Column<'a> {
    /// Where its pages are, and where the next one begins (from the chunk's start).
    source: Source<'a>,
    start: u64,
    len: usize,
    at: usize,
    codec: i32,
    kind: Kind,
    max_def: u8,
    max_rep: u8,
    dictionary: Option<Dictionary>,
    page: Option<Page>,
    budget: Budget,
    /// No more values: the chunk ended, or a page could not be read.
    done: bool,
    /// A page could not be read (its encoding or compression), or the chunk was not.
    unread: bool,
}

impl<'a> Column<'a> {
    fn new(chunk: &Chunk, leaf: &Leaf, file: Source<'a>, budget: Budget) -> Column<'a> {
        let (start, end) = (chunk.start(), chunk.end());
        let readable = !chunk.encrypted
            && matches!(
                chunk.codec,
                UNCOMPRESSED | SNAPPY | GZIP | ZSTD | LZ4 | LZ4_RAW
            )
            && start <= end
            && end <= file.len();
        Column {
            source: file,
            start,
            len: if readable { (end - start) as usize } else { 0 },
            at: 0,
            codec: chunk.codec,
            kind: leaf.kind.unwrap_or(Kind::Bytes),
            max_def: leaf.max_def,
            max_rep: leaf.max_rep,
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
        if self.max_rep == 0 {
            return self.entry(out, false) == Step::Value;
        }
        // A list's values (a row's entries until the next row's first), spaced.
        let mut any = false;
        loop {
            let mark = out.len();
            if any {
                out.push(b' ');
            }
            let step = self.entry(out, any);
            if out.len() == mark + usize::from(any) {
                out.truncate(mark);
            }
            if step != Step::Value {
                return any;
            }
            any = true;
        }
    }

    /// Writes the column's next entry (nothing for a null) unless, `within_row`, it begins the
    /// next row.
    fn entry(&mut self, out: &mut Vec<u8>, within_row: bool) -> Step {
        loop {
            if self.done {
                return Step::End;
            }
            if let Some(page) = self.page.as_mut().filter(|p| p.left > 0) {
                if let Some(reps) = page.reps.as_mut() {
                    let Some(rep) = page.next_rep.or_else(|| reps.next(&page.data)) else {
                        self.broken();
                        return Step::End;
                    };
                    if within_row && rep == 0 {
                        page.next_rep = Some(rep);
                        return Step::NextRow;
                    }
                    page.next_rep = None;
                }
                page.left -= 1;
                let read = match page.defs.as_mut().map(|defs| defs.next(&page.data)) {
                    // A null: nothing written.
                    Some(Some(d)) if d < u64::from(self.max_def) => Some(()),
                    Some(None) => None,
                    _ => {
                        let dictionary = self.dictionary.as_ref();
                        page.values
                            .next_into(&page.data, self.kind, dictionary, out)
                    }
                };
                if read.is_none() {
                    self.broken();
                    return Step::End;
                }
                return Step::Value;
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
            if self.at >= self.len {
                return Some(false);
            }
            let (h, body) = self.raw_page()?;
            let body = &body[..];
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
                    // Each kind of level, where there are any, in its length and its runs.
                    let mut at = 0;
                    let mut levels = |max: u8, encoding: i32| -> Option<Option<Hybrid>> {
                        if max == 0 {
                            return Some(None);
                        }
                        if encoding != RLE {
                            return None;
                        }
                        let len = u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?);
                        let end = (at + 4)
                            .checked_add(len as usize)
                            .filter(|&e| e <= data.len())?;
                        let runs = Hybrid::new(at + 4, end, bit_width(max));
                        at = end;
                        Some(Some(runs))
                    };
                    let reps = levels(self.max_rep, h.rep_encoding)?;
                    let defs = levels(self.max_def, h.def_encoding)?;
                    let levels = (reps, defs);
                    self.page = Some(self.data_page(data, levels, at, h.encoding, num_values)?);
                    return Some(true);
                }
                DATA_PAGE_V2 => {
                    let rep = usize::try_from(h.rep_len).ok()?;
                    let def = usize::try_from(h.def_len).ok()?;
                    let at = rep.checked_add(def).filter(|&l| l <= body.len())?;
                    let values = if h.compressed_values {
                        self.inflate(&body[at..], uncompressed.checked_sub(at)?)?
                    } else {
                        body[at..].to_vec()
                    };
                    // The levels first, then the values, in one buffer.
                    let mut data = Vec::with_capacity(at + values.len());
                    data.extend_from_slice(&body[..at]);
                    data.extend_from_slice(&values);
                    let levels = (
                        (self.max_rep > 0).then(|| Hybrid::new(0, rep, bit_width(self.max_rep))),
                        (self.max_def > 0).then(|| Hybrid::new(rep, at, bit_width(self.max_def))),
                    );
                    self.page = Some(self.data_page(data, levels, at, h.encoding, num_values)?);
                    return Some(true);
                }
                // Index pages and pages of kinds to come are passed over.
                _ => {}
            }
        }
    }

    /// The next page's header and its body (compressed), from the bytes kept or the stored
    /// file (its header read in a first piece, then a larger one if it is longer: statistics
    /// of long values).
    fn raw_page(&mut self) -> Option<(PageHeader, std::borrow::Cow<'a, [u8]>)> {
        let left = self.len - self.at;
        let (h, body_at, size) = match self.source {
            Source::Kept(file) => {
                let from = usize::try_from(self.start).ok()? + self.at;
                let rest = file.get(from..from + left)?;
                let mut r = Thrift::new(rest);
                let h = PageHeader::read(&mut r)?;
                let size = usize::try_from(h.compressed).ok()?;
                let body = rest.get(r.at..r.at.checked_add(size)?)?;
                self.at += r.at + size;
                return Some((h, body.into()));
            }
            Source::Stored(file) => {
                let at = self.start + self.at as u64;
                let mut header = None;
                for piece in [16 << 10, 1 << 20] {
                    let bytes = file.read(at, piece.min(left))?;
                    let mut r = Thrift::new(&bytes);
                    if let Some(h) = PageHeader::read(&mut r) {
                        header = Some((h, r.at));
                        break;
                    }
                    if bytes.len() == left {
                        break;
                    }
                }
                let (h, body_at) = header?;
                let size = usize::try_from(h.compressed).ok()?;
                (h, body_at, size)
            }
        };
        let Source::Stored(file) = self.source else {
            return None;
        };
        if size > 2 * MAX_PAGE || body_at.checked_add(size)? > left {
            return None;
        }
        let body = file.read(self.start + (self.at + body_at) as u64, size)?;
        if body.len() < size {
            return None;
        }
        self.at += body_at + size;
        Some((h, body.into()))
    }

    fn data_page(
        &self,
        data: Vec<u8>,
        (reps, defs): (Option<Hybrid>, Option<Hybrid>),
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
            DELTA_BINARY_PACKED if matches!(self.kind, Kind::Int { .. }) => {
                Values::DeltaInts(Delta::new(&data, at, left)?.0)
            }
            DELTA_LENGTH_BYTE_ARRAY if self.kind.byte_array() => {
                let (lengths, at) = Delta::new(&data, at, left)?;
                Values::DeltaLengths { lengths, at }
            }
            DELTA_BYTE_ARRAY if self.kind.byte_array() => {
                let (prefixes, at) = Delta::new(&data, at, left)?;
                let (suffixes, at) = Delta::new(&data, at, left)?;
                Values::DeltaBytes {
                    prefixes,
                    suffixes,
                    at,
                    last: Vec::new(),
                }
            }
            _ => return None,
        };
        Some(Page {
            data,
            reps,
            next_rep: None,
            defs,
            values,
            left,
        })
    }

    /// A page's body inflated by the chunk's codec to `len` bytes (drawn on the file's budget;
    /// a page inflated by a decoder built for it, gzip's or zstd's, draws at least what building
    /// it costs: a file of a million pages of a value each would otherwise cost a core minutes).
    fn inflate(&self, body: &[u8], len: usize) -> Option<Vec<u8>> {
        let cost = match self.codec {
            GZIP | ZSTD => (len as u64).max(STREAM_COST),
            _ => len as u64,
        };
        if self.budget.bytes(cost) < cost {
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
            // (The page's own budget: its size, and its decoder's start, which the file's
            // budget was drawn for above.)
            GZIP => {
                let mut out = Vec::with_capacity(len);
                let mut gzip =
                    crate::encoding::Gzip::new(Budget::with(len as u64 + STREAM_COST, 1));
                gzip.inflate(body, |b| out.extend_from_slice(b));
                gzip.finish(|b| out.extend_from_slice(b));
                out
            }
            ZSTD => {
                let mut out = Vec::with_capacity(len);
                let mut zstd =
                    crate::encoding::Zstd::new(Budget::with(len as u64 + STREAM_COST, 1));
                zstd.inflate(body, |b| out.extend_from_slice(b));
                out
            }
            LZ4 => lz4_hadoop(body, len).or_else(|| lz4_block(body, len))?,
            LZ4_RAW => lz4_block(body, len)?,
            _ => return None,
        };
        (data.len() == len).then_some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};

    fn fixture(name: &str) -> Vec<u8> {
        crate::tests::fixture_in("parquet", name)
    }

    const CUSTOMERS: [&str; 6] = [
        "customers-snappy-v1-dict.parquet",
        "customers-zstd-v2-plain.parquet",
        "customers-gzip-v1-plain.parquet",
        "customers-none-v2-dict.parquet",
        "customers-delta.parquet",
        "customers-lz4.parquet",
    ];

    fn names(found: &Classification) -> Vec<String> {
        found.formats.iter().map(|f| f.name()).collect()
    }

    /// pyarrow's customer extract (`tests/parquet/make.py`: 24 rows in row groups of 10)
    /// snappy-, zstd-, gzip- or not compressed, data pages of version 1 or 2, values plain,
    /// through the dictionary or delta-encoded (the account numbers as whole numbers there):
    /// the columns' names name their values, each row's routing number has its account; the
    /// near misses, the nine-digit references no name names, a null SSN count nothing.
    /// Whatever the chunks.
    #[test]
    fn pyarrow_extracts_count_their_rows_by_their_columns_names() {
        for name in CUSTOMERS {
            let bytes = fixture(name);
            for size in [1, 7, 4096, bytes.len()] {
                let found = in_chunks(&bytes, size);
                let counts: Vec<_> = found.counts.present().collect();
                assert_eq!(
                    counts,
                    [
                        (Class::CardNumber, 18),
                        (Class::AbaRouting, 18),
                        (Class::UsBankAccount, 18),
                        (Class::SwiftBic, 18),
                        (Class::UsSsn, 17),
                        (Class::Email, 24),
                    ],
                    "{name} in chunks of {size}"
                );
                assert_eq!(names(&found), ["account_table", "parquet"], "{name}");
            }
        }
    }

    /// Read back from storage at the places its footer names, a file counts what it does as
    /// it streams; one whose footer is cut, `binary, parquet`.
    #[test]
    fn a_stored_file_read_at_places_counts_the_same() {
        for name in CUSTOMERS
            .iter()
            .chain(&["nested-polars.parquet", "nested-duckdb.parquet"])
        {
            let bytes = fixture(name);
            let read_at = crate::tests::read_at(&bytes);
            let stored = crate::classify_stored(
                &bytes[..4096.min(bytes.len())],
                bytes.len() as u64,
                &read_at,
                None,
            )
            .unwrap();
            assert_eq!(stored, classify(&bytes), "{name}");
        }
        let bytes = fixture(CUSTOMERS[0]);
        let cut = &bytes[..bytes.len() - 20];
        let read_at = crate::tests::read_at(cut);
        let found = crate::classify_stored(cut, cut.len() as u64, &read_at, None).unwrap();
        assert_eq!(names(&found), ["binary", "parquet"]);
        assert!(crate::classify_stored(b"name,ssn\n", 9, &read_at, None).is_none());
    }

    /// A page inflated by a decoder built for it (gzip's, zstd's) draws at least what building
    /// it costs: a budget of ten such pages reads no more of a file of 36 and says so; without
    /// it, every page is read (the file's contents are a few kilobytes).
    #[test]
    fn each_compressed_page_draws_on_the_budget() {
        let bytes = fixture("customers-gzip-v1-plain.parquet");
        let within = |budget: Budget| {
            let mut s = crate::Scanner::new();
            s.inside_archive(budget, 0);
            s.feed(&bytes);
            s.finish()
        };
        let found = within(Budget::with(10 * STREAM_COST, 16));
        assert!(found.counts.get(Class::CardNumber) < 18, "{found:?}");
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        let all = within(Budget::new());
        assert_eq!(all.counts.get(Class::CardNumber), 18, "{all:?}");
        assert!(!all.formats.contains(&Format::ScannedInPart), "{all:?}");
    }

    /// A struct's fields are columns named by their path (`holder.ssn`), a list's values
    /// stand in their row (an e-mail list of one and of two), by polars and by DuckDB.
    #[test]
    fn structs_and_lists_by_polars_and_duckdb_count() {
        for name in ["nested-polars.parquet", "nested-duckdb.parquet"] {
            let found = classify(&fixture(name));
            let counts: Vec<_> = found.counts.present().collect();
            assert_eq!(
                counts,
                [(Class::Iban, 2), (Class::UsSsn, 2), (Class::Email, 3)],
                "{name}"
            );
            assert_eq!(names(&found), ["account_table", "parquet"], "{name}");
        }
    }

    /// What is not read says so: a footer encrypted whole (`PARE`), a file cut before its
    /// footer, a footer that is not Thrift.
    #[test]
    fn what_is_not_read_is_said() {
        let mut sealed = fixture(CUSTOMERS[0]);
        let n = sealed.len();
        sealed[..4].copy_from_slice(MAGIC_ENCRYPTED);
        sealed[n - 4..].copy_from_slice(MAGIC_ENCRYPTED);
        let found = classify(&sealed);
        assert_eq!(names(&found), ["binary", "encrypted:parquet", "parquet"]);
        let whole = fixture(CUSTOMERS[1]);
        let found = classify(&whole[..whole.len() - 20]);
        assert_eq!(names(&found), ["binary", "parquet"]);
        let mut garbled = whole.clone();
        let n = garbled.len();
        let len = u32::from_le_bytes(garbled[n - 8..n - 4].try_into().unwrap()) as usize;
        let footer = garbled.len() - 8 - len;
        garbled[footer..footer + len].fill(0xFF);
        assert_eq!(names(&classify(&garbled)), ["binary", "parquet"]);
    }

    /// A file larger than what is kept: its footer is found in the bytes kept at its end, and
    /// no more is held than the bounds (the E2E test reads the first row groups of a larger
    /// file).
    #[test]
    fn a_larger_files_footer_is_found_at_its_end() {
        let bytes = fixture(CUSTOMERS[0]);
        let mut p = Parquet::new(None, Budget::new(), 0);
        // The row groups, then 40 MiB of nothing that a footer points past, then the footer.
        let (n, footer_len) = (bytes.len(), {
            let n = bytes.len();
            u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize
        });
        let body = &bytes[..n - 8 - footer_len];
        p.feed(body);
        for _ in 0..40 {
            p.feed(&[0u8; 1 << 20]);
        }
        p.feed(&bytes[n - 8 - footer_len..]);
        assert!(p.held_bytes() <= MAX_READ + 2 * (MAX_FOOTER + 8) + 4096);
        let found = p.finish();
        // The footer's offsets are the small file's: every row group lies in the kept bytes.
        assert_eq!(found.counts.get(Class::CardNumber), 18, "{found:?}");
        assert!(!found.formats.contains(&Format::ScannedInPart), "{found:?}");
    }

    /// Rows' text draws on the file's budget: a file whose rows would be more is read in
    /// part and says so.
    #[test]
    fn rows_draw_on_the_budget() {
        let bytes = fixture(CUSTOMERS[0]);
        let mut s = Scanner::new();
        s.inside_archive(Budget::with(2000, 10), 0);
        s.feed(&bytes);
        let found = s.finish();
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert!(found.counts.get(Class::Email) < 24, "{found:?}");
    }

    /// The hybrid runs: a repeated run, then a bit-packed one of width 3 (values 0 to 7).
    #[test]
    fn hybrid_runs_are_read() {
        // Run of 4 sevens (header 4 << 1), then one group of 8 bit-packed values (header 3).
        let data = [0x08, 0x07, 0x03, 0x88, 0xC6, 0xFA];
        let mut h = Hybrid::new(0, data.len(), 3);
        let got: Vec<u64> = std::iter::from_fn(|| h.next(&data)).collect();
        assert_eq!(got, [7, 7, 7, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
    }

    proptest::proptest! {
        /// Parquet files with any bytes changed, cut anywhere, in any chunks: a verdict, never
        /// a panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..CUSTOMERS.len() + 2,
            changes in proptest::collection::vec((0usize..20000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..20000,
            size in 1usize..64,
        ) {
            let name = match which {
                0..6 => CUSTOMERS[which],
                6 => "nested-polars.parquet",
                _ => "nested-duckdb.parquet",
            };
            let bytes = crate::tests::damaged(fixture(name), &changes, (cut % 3 == 0).then_some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found.clone());
            if magic(&bytes) {
                proptest::prop_assert!(found.formats.contains(&Format::Parquet), "{:?}", found);
                // Read back at places: a verdict too.
                let read_at = crate::tests::read_at(&bytes);
                let stored = crate::classify_stored(&bytes, bytes.len() as u64, &read_at, None);
                proptest::prop_assert!(stored.is_some_and(|s| s.formats.contains(&Format::Parquet)));
            }
        }

        /// Any bytes as hybrid runs and delta streams: no panic.
        #[test]
        fn any_runs_are_read_without_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            width in 0u8..40,
        ) {
            let mut h = Hybrid::new(0, data.len(), width.min(32));
            for _ in 0..1000 {
                if h.next(&data).is_none() {
                    break;
                }
            }
            if let Some((mut d, _)) = Delta::new(&data, 0, 1000) {
                while d.next(&data).is_some() {}
            }
        }
    }
}
