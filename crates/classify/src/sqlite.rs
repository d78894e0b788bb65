//! SQLite database files (`.db`, `.sqlite`: applications' local stores, mobile apps' data,
//! extracts handed over as a database): told by their header (`SQLite format 3`), kept whole
//! to [`MAX_READ`] and read at their end. The schema table (page 1) names each table and its
//! root page and holds its `CREATE TABLE` statement (its columns' names); each table's b-tree
//! is walked from its root (interior pages to their children, leaf pages' cells, a cell's
//! payload over its overflow pages) and each row's record decoded into a row under a header
//! of the table's columns, read by a scanner of the table's own ([`crate::sql::Tables`]) as a
//! delimited export's. Integers are written in decimal (a rowid alias column, `INTEGER PRIMARY
//! KEY`, by its rowid), reals as numbers, text as its bytes (UTF-8; UTF-16 narrowed); blobs
//! are left out. Named `sqlite` with the tables' formats.
//!
//! Pure: bytes in, classes out. Every page number is checked against the file, each page is
//! visited once (a cycle ends the walk), trees are walked [`MAX_DEPTH`] deep, a payload's
//! overflow chain to its size; the rows' text draws on the file's budget. A larger file, as
//! it streams, is `binary, sqlite` (its pages are not kept); read back after its commit
//! ([`classify_stored`]), its pages are read where they are, whatever its size. One whose
//! header or schema is damaged is `binary, sqlite`;
//! what of it could not be read leaves it `scanned_in_part` (its free pages, where deleted
//! rows may linger, are not read).

use std::sync::Arc;

use crate::Format;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::Classification;
use crate::sql::Tables;
use crate::stored::Stored;

/// The header every SQLite 3 database begins with.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Most bytes of a database kept whole and read at its end.
pub const MAX_READ: usize = 32 << 20;
/// B-trees walked at most this deep (a tree of 4 KiB pages is 4 deep at 100 GB).
pub const MAX_DEPTH: usize = 32;
/// Pages of a stored database read at most (64 GiB of 4 KiB pages; what a walk has reached
/// is a bit each).
pub const MAX_STORED_PAGES: usize = 16 << 20;
/// Rows' text handed on at a time.
const OUT: usize = 64 << 10;
/// Page types: a table b-tree's interior and leaf pages.
const TABLE_INTERIOR: u8 = 0x05;
const TABLE_LEAF: u8 = 0x0D;

/// Whether a file's first bytes are a SQLite database's header.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// A SQLite database being kept, chunk by chunk, to be read at its end.
pub(crate) struct Sqlite {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    kept: Vec<u8>,
    cut: bool,
}

impl Sqlite {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Sqlite {
            patterns,
            budget,
            depth,
            kept: Vec::new(),
            cut: false,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        let room = MAX_READ - self.kept.len();
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
        self.cut |= data.len() > room;
    }

    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.kept)
    }

    pub(crate) fn finish(self) -> Classification {
        if self.cut {
            return unread();
        }
        let source = Source::Kept(&self.kept);
        match Database::open(source, self.kept.len() as u64) {
            Some(db) => read(&db, self.patterns, self.budget, self.depth),
            None => unread(),
        }
    }
}

/// A database stored whole (an upload read back after its commit), its pages read where
/// they are: all of it, whatever its size (to [`MAX_STORED_PAGES`] pages).
pub(crate) fn classify_stored(
    size: u64,
    read_at: &dyn Fn(u64, &mut [u8]) -> Option<usize>,
    patterns: Option<Arc<Patterns>>,
) -> Classification {
    match Database::open(Source::Stored(Stored::new(size, read_at)), size) {
        Some(db) => read(&db, patterns, Budget::new(), 0),
        None => unread(),
    }
}

/// What a database that could not be read is: `binary, sqlite`.
fn unread() -> Classification {
    Classification {
        formats: vec![Format::Binary, Format::Sqlite],
        ..Classification::default()
    }
}

/// Every table the schema names, read into rows.
fn read(
    db: &Database,
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
) -> Classification {
    let Some(schema) = db.schema() else {
        return unread();
    };
    let mut tables = Tables::new(patterns, budget.clone(), depth);
    let mut reader = Rows {
        db,
        visited: Visited::new(db.pages),
        in_part: false,
        budget,
        spent: false,
    };
    for (name, root, columns, alias) in schema {
        if reader.spent {
            break;
        }
        tables.begin(name, Some(&columns));
        reader.table(root, alias, columns.len(), &mut tables);
    }
    tables.cut |= reader.in_part || reader.spent || db.pages_beyond;
    tables.finish(Format::Sqlite)
}

/// Where a database's pages are read from: the bytes kept as it streamed, or the stored
/// file at places.
#[derive(Clone, Copy)]
enum Source<'a> {
    Kept(&'a [u8]),
    Stored(Stored<'a>),
}

/// The pages a walk has reached (each is read once).
struct Visited(Vec<u64>);

impl Visited {
    fn new(pages: usize) -> Self {
        Visited(vec![0; pages / 64 + 1])
    }

    /// Marks page `n`: whether it was reached before (or is beyond the database).
    fn seen(&mut self, n: u32) -> bool {
        let n = n as usize;
        let Some(word) = self.0.get_mut(n / 64) else {
            return true;
        };
        let before = *word >> (n % 64) & 1 == 1;
        *word |= 1 << (n % 64);
        before
    }
}

/// A database's pages.
struct Database<'a> {
    source: Source<'a>,
    page_size: usize,
    /// Bytes at each page's end reserved (for extensions), not the b-tree's.
    usable: usize,
    pages: usize,
    /// More pages than are read ([`MAX_STORED_PAGES`]).
    pages_beyond: bool,
    utf16: Option<bool>,
}

impl<'a> Database<'a> {
    fn open(source: Source<'a>, size: u64) -> Option<Database<'a>> {
        let mut header = [0u8; 100];
        match source {
            Source::Kept(bytes) => header.copy_from_slice(bytes.get(..100)?),
            Source::Stored(file) => file.fill(0, &mut header)?,
        }
        if !magic(&header) {
            return None;
        }
        let page_size = u16::from_be_bytes([header[16], header[17]]);
        let page_size = if page_size == 1 {
            65536
        } else {
            usize::from(page_size)
        };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return None;
        }
        let reserved = usize::from(header[20]);
        let usable = page_size.checked_sub(reserved).filter(|&u| u >= 480)?;
        let utf16 = match u32::from_be_bytes(header[56..60].try_into().ok()?) {
            0 | 1 => None,
            2 => Some(false),
            3 => Some(true),
            _ => return None,
        };
        let pages = usize::try_from(size / page_size as u64).unwrap_or(usize::MAX);
        Some(Database {
            source,
            page_size,
            usable,
            pages: pages.min(MAX_STORED_PAGES),
            pages_beyond: pages > MAX_STORED_PAGES,
            utf16,
        })
    }

    /// Page `n` (from 1), its usable bytes.
    fn page(&self, n: u32) -> Option<std::borrow::Cow<'a, [u8]>> {
        let n = usize::try_from(n).ok()?;
        if n == 0 || n > self.pages {
            return None;
        }
        let at = (n - 1) * self.page_size;
        match self.source {
            Source::Kept(bytes) => bytes.get(at..at + self.usable).map(Into::into),
            Source::Stored(file) => {
                let mut page = vec![0u8; self.usable];
                file.fill(at as u64, &mut page)?;
                Some(page.into())
            }
        }
    }

    /// The tables the schema names: each's name, root page, columns and the column that is
    /// the rowid's alias, from the schema table's rows.
    fn schema(&self) -> Option<Vec<Schema>> {
        let mut rows = Vec::new();
        let mut walk = Rows {
            db: self,
            visited: Visited::new(self.pages),
            in_part: false,
            budget: Budget::with(u64::MAX, 1),
            spent: false,
        };
        walk.walk(1, 0, &mut |_, record| {
            rows.push(record.to_vec());
        })?;
        let mut tables = Vec::new();
        for record in rows {
            let values = decode(&record, self.utf16)?;
            let [kind, name, _, root, sql, ..] = values.as_slice() else {
                continue;
            };
            let (Value::Text(kind), Value::Text(name), Value::Int(root), Value::Text(sql)) =
                (kind, name, root, sql)
            else {
                continue;
            };
            if kind.as_slice() != b"table" || name.starts_with(b"sqlite_") {
                continue;
            }
            let Some(table) = crate::sql::table_definition(sql) else {
                continue;
            };
            let (columns, alias) = (table.names(), table.rowid_alias());
            tables.push((name.clone(), u32::try_from(*root).ok()?, columns, alias));
        }
        Some(tables)
    }
}

/// A table as the schema gives it: its name, its root page, its columns' names, and the
/// column that is the rowid's alias.
type Schema = (Vec<u8>, u32, Vec<Vec<u8>>, Option<usize>);

/// A record's value.
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob,
}

/// A record's values (its header's serial types, then its body).
fn decode(record: &[u8], utf16: Option<bool>) -> Option<Vec<Value>> {
    let (header, mut at) = varint(record, 0)?;
    let header = usize::try_from(header).ok()?;
    let mut body = header;
    let mut values = Vec::new();
    while at < header {
        let (t, next) = varint(record, at)?;
        at = next;
        let (value, len) = match t {
            0 => (Value::Null, 0),
            1..=6 => {
                let len = [0, 1, 2, 3, 4, 6, 8][t as usize];
                let b = record.get(body..body + len)?;
                let mut v = i64::from(b[0] as i8);
                for &x in &b[1..] {
                    v = (v << 8) | i64::from(x);
                }
                (Value::Int(v), len)
            }
            7 => {
                let b = record.get(body..body + 8)?;
                (Value::Real(f64::from_be_bytes(b.try_into().ok()?)), 8)
            }
            8 => (Value::Int(0), 0),
            9 => (Value::Int(1), 0),
            10 | 11 => return None,
            n if n % 2 == 0 => (Value::Blob, usize::try_from((n - 12) / 2).ok()?),
            n => {
                let len = usize::try_from((n - 13) / 2).ok()?;
                let b = record.get(body..body.checked_add(len)?)?;
                let text = match utf16 {
                    None => b.to_vec(),
                    // UTF-16 narrowed to a byte per code unit (as the scanner reads UTF-16).
                    Some(big) => b
                        .chunks_exact(2)
                        .map(|u| {
                            let unit = if big {
                                u16::from_be_bytes([u[0], u[1]])
                            } else {
                                u16::from_le_bytes([u[0], u[1]])
                            };
                            u8::try_from(unit).unwrap_or(b'?')
                        })
                        .collect(),
                };
                (Value::Text(text), len)
            }
        };
        body = body.checked_add(len)?;
        if body > record.len() {
            return None;
        }
        values.push(value);
    }
    Some(values)
}

/// A SQLite varint (1 to 9 bytes, big-endian, the ninth byte whole) at `at`: its value and
/// where the next byte is.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..9 {
        let x = *b.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(x), at + 9));
        }
        v = (v << 7) | u64::from(x & 0x7F);
        if x & 0x80 == 0 {
            return Some((v, at + i + 1));
        }
    }
    None
}

/// Walks tables' b-trees, each page once.
struct Rows<'d, 'a> {
    db: &'d Database<'a>,
    visited: Visited,
    /// Some page could not be read.
    in_part: bool,
    budget: Budget,
    spent: bool,
}

impl Rows<'_, '_> {
    /// A table's rows, from its root page, written to `tables` (`columns` of them; `alias`:
    /// the column written by the rowid).
    fn table(&mut self, root: u32, alias: Option<usize>, columns: usize, tables: &mut Tables) {
        let utf16 = self.db.utf16;
        let mut spent = false;
        let budget = self.budget.clone();
        let walked = self.walk(root, 0, &mut |rowid, record| {
            if spent {
                return;
            }
            let Some(values) = decode(record, utf16) else {
                return;
            };
            let from = tables.rows_out.len();
            for n in 0..columns {
                if n > 0 {
                    tables.rows_out.push(b'\t');
                }
                let value = if Some(n) == alias {
                    &Value::Int(rowid)
                } else {
                    values.get(n).unwrap_or(&Value::Null)
                };
                match value {
                    Value::Int(v) => crate::cell::decimal(&mut tables.rows_out, i128::from(*v), 0),
                    Value::Real(f) => crate::cell::float(&mut tables.rows_out, *f),
                    Value::Text(t) => crate::cell::text(&mut tables.rows_out, t),
                    Value::Null | Value::Blob => {}
                }
            }
            tables.rows_out.push(b'\n');
            let n = (tables.rows_out.len() - from) as u64;
            if budget.bytes(n) < n {
                tables.rows_out.truncate(from);
                spent = true;
                return;
            }
            if tables.rows_out.len() >= OUT {
                tables.hand_rows();
            }
        });
        self.spent |= spent;
        self.in_part |= walked.is_none();
    }

    /// Walks the b-tree from page `n`, handing each leaf cell's rowid and record (its
    /// payload, overflow pages followed) to `row`: `None` where a page could not be read.
    fn walk(&mut self, n: u32, depth: usize, row: &mut dyn FnMut(i64, &[u8])) -> Option<()> {
        if depth > MAX_DEPTH || self.visited.seen(n) {
            return None;
        }
        let page = self.db.page(n)?;
        // Page 1 begins with the database's header.
        let at = if n == 1 { 100 } else { 0 };
        let kind = *page.get(at)?;
        let cells = usize::from(u16::from_be_bytes([*page.get(at + 3)?, *page.get(at + 4)?]));
        let header = if kind == TABLE_INTERIOR { 12 } else { 8 };
        let pointers = page.get(at + header..at + header + 2 * cells)?;
        let mut whole = Some(());
        match kind {
            TABLE_INTERIOR => {
                for p in pointers.chunks_exact(2) {
                    let cell = usize::from(u16::from_be_bytes([p[0], p[1]]));
                    let child = u32::from_be_bytes(page.get(cell..cell + 4)?.try_into().ok()?);
                    whole = whole.and(self.walk(child, depth + 1, row));
                }
                let right = u32::from_be_bytes(page.get(at + 8..at + 12)?.try_into().ok()?);
                whole = whole.and(self.walk(right, depth + 1, row));
            }
            TABLE_LEAF => {
                for p in pointers.chunks_exact(2) {
                    let cell = usize::from(u16::from_be_bytes([p[0], p[1]]));
                    match self.cell(&page, cell) {
                        Some((rowid, record)) => row(rowid, &record),
                        None => whole = None,
                    }
                }
            }
            _ => return None,
        }
        whole
    }

    /// A leaf cell's rowid and record, its overflow pages followed.
    fn cell(&mut self, page: &[u8], at: usize) -> Option<(i64, Vec<u8>)> {
        let (size, at) = varint(page, at)?;
        let (rowid, at) = varint(page, at)?;
        let size = usize::try_from(size).ok()?;
        if size > MAX_READ {
            return None;
        }
        // What of the payload the page holds (SQLite's rule for table leaves).
        let usable = self.db.usable;
        let max_local = usable - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (usable - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (usable - 4);
            if k <= max_local { k } else { min_local }
        };
        let mut record = page.get(at..at + local)?.to_vec();
        if local < size {
            let mut next =
                u32::from_be_bytes(page.get(at + local..at + local + 4)?.try_into().ok()?);
            while record.len() < size {
                if self.visited.seen(next) {
                    return None;
                }
                let over = self.db.page(next)?;
                let take = (size - record.len()).min(usable - 4);
                record.extend_from_slice(over.get(4..4 + take)?);
                next = u32::from_be_bytes(over[..4].try_into().ok()?);
            }
        }
        Some((rowid as i64, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};
    use crate::sql::tests::{counts, fixture, names};

    const DATABASES: [&str; 2] = ["bank.sqlite", "bank-utf16.sqlite"];

    /// Python's sqlite3 databases of the test tables (`tests/sql/make_sqlite.py`: pages of
    /// 1 KiB, a note spilling over overflow pages, UTF-8 and UTF-16): each table's rows count
    /// by their columns' names, the rowid's alias written by the rowid, in any chunks.
    #[test]
    fn databases_count_their_tables_rows() {
        for name in DATABASES {
            let bytes = fixture(name);
            assert!(magic(&bytes));
            for size in [1, 100, 4096, bytes.len()] {
                let found = in_chunks(&bytes, size);
                assert_eq!(
                    counts(&found),
                    [
                        (Class::CardNumber, 18),
                        (Class::AbaRouting, 18),
                        (Class::UsBankAccount, 18),
                        (Class::UsSsn, 17),
                        (Class::Email, 25),
                    ],
                    "{name} in chunks of {size}"
                );
                assert_eq!(names(&found), ["account_table", "sqlite"], "{name}");
            }
        }
    }

    /// Read back from storage page by page, a database counts what it does as it streams.
    #[test]
    fn a_stored_database_read_at_places_counts_the_same() {
        for name in DATABASES {
            let bytes = fixture(name);
            let read_at = crate::tests::read_at(&bytes);
            let stored =
                crate::classify_stored(&bytes[..4096], bytes.len() as u64, &read_at, None).unwrap();
            assert_eq!(stored, classify(&bytes), "{name}");
        }
    }

    /// Cut short: the pages it holds are read, and it says what was not; its first page
    /// damaged: `binary`.
    #[test]
    fn what_is_not_read_is_said() {
        let bytes = fixture(DATABASES[0]);
        let found = classify(&bytes[..bytes.len() - 1024]);
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert!(found.counts.get(Class::Email) > 0, "{found:?}");
        let mut broken = bytes.clone();
        broken[16..18].copy_from_slice(&[0, 3]);
        assert_eq!(names(&classify(&broken)), ["binary", "sqlite"]);
    }

    proptest::proptest! {
        /// Databases with any bytes changed, cut anywhere, in any chunks: a verdict, never a
        /// panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..DATABASES.len(),
            changes in proptest::collection::vec((0usize..15000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..15000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(DATABASES[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
            // Read back at places: a verdict too.
            let read_at = crate::tests::read_at(&bytes);
            if magic(&bytes) {
                let stored = crate::classify_stored(&bytes, bytes.len() as u64, &read_at, None);
                proptest::prop_assert!(stored.is_some_and(|s| s.formats.contains(&Format::Sqlite)));
            }
        }
    }
}
