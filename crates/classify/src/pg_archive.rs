//! PostgreSQL's custom-format archives (`pg_dump -Fc`, `.dump`: the form `pg_restore` reads,
//! and most PostgreSQL backups): a header, a table of contents naming each table's data with
//! its `COPY` statement (its columns), then each table's rows as `COPY` text in a block,
//! compressed with zlib by default. Read as it streams (`PgArchive`): the header and table of
//! contents kept until they are whole ([`MAX_TOC`]), then block by block, each table's rows
//! inflated and written under a header of its columns' names to a scanner of the table's own
//! ([`crate::sql::Tables`]), as a plain dump's `COPY` blocks are. Named `pg_dump` with its
//! tables' formats. Large objects' blocks, and blocks compressed otherwise than by zlib
//! (PostgreSQL 16's LZ4 and zstd), are not read: `scanned_in_part`.
//!
//! Pure: bytes in, classes out. Every number from the archive is bounded before it is used:
//! an integer's size, the table of contents' entries and strings (by the bytes kept), a
//! block's length; what the blocks inflate to draws on the file's budget.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Format;
use crate::encoding::{Budget, Prepaid, STREAM_COST};
use crate::patterns::Patterns;
use crate::scan::Classification;
use crate::sql::Tables;

/// Most bytes of the header and table of contents kept to be read (a database of some ten
/// thousand tables).
pub const MAX_TOC: usize = 16 << 20;
/// The archive versions read (`K_VERS_1_10`, PostgreSQL 8.4, to `K_VERS_1_16`, 17).
const OLDEST: (u8, u8) = (1, 10);
const NEWEST: (u8, u8) = (1, 16);
/// The formats' numbers in the header (custom: one file; tar and directory: a table of
/// contents, `toc.dat`, beside a file per table), and the custom format's blocks' types.
const CUSTOM: u8 = 1;
const TAR: u8 = 3;
const DIRECTORY: u8 = 5;
const BLOCK_DATA: u8 = 1;
/// Inflated bytes taken at a time.
const OUT: usize = 64 << 10;

/// Whether a file's first bytes are a custom-format archive's header.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(b"PGDMP") && head.len() > 10 && head[5] == 1 && head[10] == CUSTOM
}

/// What the header says of the blocks after the table of contents.
#[derive(Debug)]
struct Archive {
    int_size: usize,
    /// zlib-compressed blocks (`None`: stored; another algorithm: not read).
    zlib: Option<bool>,
    /// Each table's data entry: its dump id, its table's name and columns.
    data: HashMap<i64, crate::sql::RowsOf>,
    /// The same by the file that holds its rows (the tar and directory formats).
    files: HashMap<Vec<u8>, crate::sql::RowsOf>,
}

/// A tar-format archive's table of contents (its `toc.dat`, the first file `pg_dump -Ft`
/// writes): each table's name and columns by the file that holds its rows (`3350.dat`), for
/// the tar reader to give that file a header ([`crate::tar`]). Empty where it cannot be read.
pub(crate) fn table_files(toc: &[u8]) -> HashMap<Vec<u8>, crate::sql::RowsOf> {
    read_head(toc).map(|(a, _)| a.files).unwrap_or_default()
}

/// Most bytes of table files kept until a table of contents comes ([`DumpFiles`]); a file past
/// them is read as it comes, its rows unnamed.
pub(crate) const MAX_HELD: usize = 16 << 20;

/// Whether an entry's name's last part is a `pg_dump` table file's: digits, then `.dat` (the
/// tar format's) or `.dat.gz` (the directory format's, compressed).
pub(crate) fn table_file(base: &[u8]) -> bool {
    let stem = base
        .strip_suffix(b".dat.gz")
        .or_else(|| base.strip_suffix(b".dat"));
    stem.is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
}

/// An entry's name's last part (a `-Fd` directory's files under the directory's name).
pub(crate) fn base(name: &[u8]) -> &[u8] {
    name.rsplit(|&b| b == b'/').next().unwrap_or(name)
}

/// Where an archive's entries are read: the tenant's patterns, the file's budget, the
/// entries' depth.
pub(crate) type EntryContext<'a> = (&'a Option<Arc<Patterns>>, &'a Budget, u8);

/// What an archive's entry is to a `pg_dump` archive spread over entries ([`DumpFiles`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpEntry {
    /// Its table of contents (perhaps: a file named `toc.dat`), kept, not scanned.
    Toc,
    /// A table's file before any table of contents: kept until one names its columns.
    Held,
    /// Another entry (a table's file read under its columns' names where they are known).
    Read,
}

/// A `pg_dump` archive spread over an archive's entries (the tar format, `-Ft`; the directory
/// format, `-Fd`, tarred or zipped): its table of contents (`toc.dat`) kept while it comes,
/// then the tables it names by their files (`3344.dat`, `3344.dat.gz`), each read under a
/// header of its columns' names. A directory's entries come in any order: table files met
/// before the table of contents are kept (to [`MAX_HELD`] bytes in all) and read once it has
/// named their columns, or as the rows they are at the archive's end.
#[derive(Default)]
pub(crate) struct DumpFiles {
    toc: Option<Vec<u8>>,
    files: HashMap<Vec<u8>, crate::sql::RowsOf>,
    held: Vec<(Vec<u8>, Vec<u8>)>,
    /// The sizes of the files held (as their entries' headers gave them), the bytes kept of
    /// them, and whether one held more than its header said (what went past [`MAX_HELD`] in
    /// all is not kept).
    held_size: u64,
    held_kept: usize,
    pub(crate) cut: bool,
    /// The entry under way is kept here.
    keeping: Option<DumpEntry>,
}

impl DumpFiles {
    /// An entry named `name` of `size` bytes (`None`: not known before its end) begins: what it
    /// is to the dump.
    pub(crate) fn begin(&mut self, name: &[u8], size: Option<u64>) -> DumpEntry {
        let base = base(name);
        let entry = if base == b"toc.dat" && self.files.is_empty() && size != Some(0) {
            self.toc = Some(Vec::new());
            DumpEntry::Toc
        } else if let Some(size) = size.filter(|&size| {
            self.files.is_empty()
                && table_file(base)
                && self.held_size.saturating_add(size) <= MAX_HELD as u64
        }) {
            self.held.push((base.to_vec(), Vec::new()));
            self.held_size += size;
            DumpEntry::Held
        } else {
            DumpEntry::Read
        };
        self.keeping = (entry != DumpEntry::Read).then_some(entry);
        entry
    }

    /// Whether the entry under way is kept here ([`DumpFiles::keep`]) rather than scanned.
    pub(crate) fn keeping(&self) -> bool {
        self.keeping.is_some()
    }

    /// The next bytes of the entry under way, kept (a table of contents to [`MAX_TOC`], a
    /// held file to the size its header gave).
    pub(crate) fn keep(&mut self, data: &[u8]) {
        match self.keeping {
            Some(DumpEntry::Toc) => {
                if let Some(toc) = self.toc.as_mut() {
                    let room = MAX_TOC.saturating_sub(toc.len());
                    toc.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(DumpEntry::Held) => {
                let room = MAX_HELD.saturating_sub(self.held_kept);
                let n = data.len().min(room);
                self.cut |= data.len() > room;
                if let Some(h) = self.held.last_mut() {
                    h.1.extend_from_slice(&data[..n]);
                    self.held_kept += n;
                }
            }
            _ => {}
        }
    }

    /// The entry kept here ended. A table of contents read names the tables' files; a file
    /// named `toc.dat` that is none comes back, to be read as any other.
    fn end(&mut self) -> Option<Vec<u8>> {
        if self.keeping.take() != Some(DumpEntry::Toc) {
            return None;
        }
        let toc = self.toc.take()?;
        self.files = table_files(&toc);
        self.files.is_empty().then_some(toc)
    }

    /// The entry kept here ended (`entry`: its scanner; `bytes` of it read): a file named
    /// `toc.dat` that is no table of contents is read as any other (what it held past the
    /// bytes kept is not: then `true`, the archive read in part); the table files held are
    /// read if a table of contents now names their tables.
    pub(crate) fn entry_ended(
        &mut self,
        entry: Option<Box<crate::Scanner>>,
        bytes: u64,
        at: EntryContext<'_>,
        found: &mut crate::archive::Entries,
    ) -> bool {
        let mut cut = false;
        if let (Some(toc), Some(mut s)) = (self.end(), entry) {
            s.feed(&toc);
            cut = bytes > toc.len() as u64;
            found.add(s.finish(), bytes, false);
        }
        self.read_held(false, at, found);
        cut
    }

    /// The table files held, read once a table of contents named their tables (or,
    /// `whatever`, at the archive's end: as the rows they are).
    pub(crate) fn read_held(
        &mut self,
        whatever: bool,
        at: EntryContext<'_>,
        found: &mut crate::archive::Entries,
    ) {
        if self.files.is_empty() && !whatever {
            return;
        }
        self.held_size = 0;
        self.held_kept = 0;
        for (name, bytes) in std::mem::take(&mut self.held) {
            let mut s = self.scanner(&name, at);
            s.feed(&bytes);
            found.add(s.finish(), bytes.len() as u64, false);
        }
    }

    /// A scanner of an archive's entry named `name` (`depth` deep, within the file's
    /// `budget`): a table's file that the table of contents names reads its rows (`COPY`
    /// text) under its columns' names.
    pub(crate) fn scanner(&self, name: &[u8], at: EntryContext<'_>) -> crate::Scanner {
        let (patterns, budget, depth) = at;
        let mut s = crate::Scanner::with_patterns(patterns.clone());
        s.inside_archive(budget.clone(), depth);
        if let Some(header) = self.header(name)
            && budget.bytes(header.len() as u64) == header.len() as u64
        {
            s.contents_begin_with(header);
        }
        s
    }

    /// The header of the table whose rows a file named `name` holds, where the table of
    /// contents names its columns (`3344.dat.gz` as its `3344.dat`).
    fn header(&self, name: &[u8]) -> Option<Vec<u8>> {
        let base = base(name);
        let key = base.strip_suffix(b".gz").unwrap_or(base);
        let (_, columns) = self.files.get(key)?;
        let mut header = columns.as_ref()?.join(&b'\t');
        header.push(b'\n');
        Some(header)
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.toc.as_ref().map_or(0, crate::encoding::held)
            + self
                .held
                .iter()
                .map(|h| crate::encoding::held(&h.1))
                .sum::<usize>()
    }
}

/// Where the reading of blocks is.
enum Block {
    /// A block's type byte.
    Kind,
    /// Its dump id.
    Id,
    /// A chunk's length (0 ends the block).
    Length,
    /// A chunk's bytes still to come.
    Chunk(usize),
    /// The rest is not read.
    Done,
}

/// A custom-format archive being read, chunk by chunk.
pub(crate) struct PgArchive {
    tables: Tables,
    budget: Budget,
    /// The header and table of contents until they are read, then bytes short of a field.
    kept: Vec<u8>,
    /// Kept bytes at which to try reading the table of contents again (twice as many each
    /// time: the whole is read a bounded number of times).
    try_at: usize,
    archive: Option<Archive>,
    block: Block,
    /// The block being read is a table's rows (not large objects, not an unknown entry).
    rows: bool,
    inflater: Option<Box<flate2::Decompress>>,
    /// What the block's compressed stream paid of its rows at its start.
    prepaid: Prepaid,
    out: Vec<u8>,
    /// Something was not read.
    cut: bool,
}

impl PgArchive {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        PgArchive {
            tables: Tables::new(patterns, budget.clone(), depth),
            budget,
            kept: Vec::new(),
            try_at: 4096,
            archive: None,
            block: Block::Kind,
            rows: false,
            inflater: None,
            prepaid: Prepaid::default(),
            out: Vec::new(),
            cut: false,
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        self.tables.held_bytes() + held(&self.kept) + held(&self.out)
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.archive.is_some() {
            self.blocks(data);
            return;
        }
        if matches!(self.block, Block::Done) {
            return;
        }
        let room = MAX_TOC - self.kept.len();
        let (now, later) = data.split_at(data.len().min(room));
        self.kept.extend_from_slice(now);
        if self.kept.len() >= self.try_at || !later.is_empty() {
            self.try_at = self.kept.len().saturating_mul(2);
            self.read_toc(!later.is_empty());
            self.blocks(later);
        }
    }

    /// Reads the header and table of contents from the kept bytes if they are whole there
    /// (`last`: no more will be kept), then the blocks after them.
    fn read_toc(&mut self, last: bool) {
        match read_head(&self.kept) {
            Ok((archive, used)) => {
                self.archive = Some(archive);
                let rest = self.kept.split_off(used);
                self.kept = Vec::new();
                self.blocks(&rest);
            }
            Err(Short) if !last => {}
            Err(_) => {
                self.cut = true;
                self.block = Block::Done;
                self.kept = Vec::new();
            }
        }
    }

    /// Reads blocks from `data` (after the bytes kept short of a field).
    fn blocks(&mut self, mut data: &[u8]) {
        let Some(archive) = self.archive.as_ref() else {
            return;
        };
        let int = archive.int_size + 1;
        while !data.is_empty() {
            if let Block::Chunk(left) = self.block {
                let n = left.min(data.len());
                self.chunk(&data[..n]);
                data = &data[n..];
                self.block = if n == left {
                    Block::Length
                } else {
                    Block::Chunk(left - n)
                };
                continue;
            }
            if matches!(self.block, Block::Done) {
                return;
            }
            // A field: a byte, or an integer of the archive's size with its sign.
            let need = if matches!(self.block, Block::Kind) {
                1
            } else {
                int
            };
            let take = (need - self.kept.len()).min(data.len());
            self.kept.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.kept.len() < need {
                return;
            }
            let field = std::mem::take(&mut self.kept);
            self.field(&field);
        }
    }

    /// A block's field, read whole.
    fn field(&mut self, field: &[u8]) {
        let Some(archive) = self.archive.as_ref() else {
            return;
        };
        match self.block {
            Block::Kind => {
                if field[0] == BLOCK_DATA {
                    self.block = Block::Id;
                } else {
                    // Large objects (or a block of a kind to come): not read.
                    self.cut = true;
                    self.block = Block::Done;
                }
            }
            Block::Id => {
                let id = integer(field);
                match archive.data.get(&id) {
                    Some((name, columns)) if archive.zlib.is_some() => {
                        self.tables.begin(name.clone(), columns.as_deref());
                        self.rows = true;
                    }
                    _ => {
                        // No table's rows (or compressed by what is not read here): its
                        // chunks are passed over.
                        self.cut |= archive.zlib.is_none() || !archive.data.contains_key(&id);
                        self.rows = false;
                    }
                }
                // A compressed block's stream draws at least what building its inflater costs
                // (a file of a million blocks of a row each would otherwise cost a core
                // minutes): past the budget, its rows are not read.
                if archive.zlib == Some(true) {
                    if self.budget.start(&mut self.prepaid, STREAM_COST) {
                        self.inflater = Some(Box::new(flate2::Decompress::new(true)));
                    } else {
                        self.inflater = None;
                        self.cut |= self.rows;
                        self.rows = false;
                    }
                }
                self.block = Block::Length;
            }
            Block::Length => {
                let n = integer(field);
                self.block = match usize::try_from(n) {
                    Ok(0) => {
                        self.tables.hand_rows();
                        Block::Kind
                    }
                    Ok(n) => Block::Chunk(n),
                    Err(_) => {
                        self.cut = true;
                        Block::Done
                    }
                };
            }
            Block::Chunk(_) | Block::Done => {}
        }
    }

    /// A chunk's bytes: the table's rows, inflated where they are compressed.
    fn chunk(&mut self, mut data: &[u8]) {
        if !self.rows {
            return;
        }
        let Some(inflater) = self.inflater.as_mut() else {
            let n = self.budget.bytes(data.len() as u64) as usize;
            self.tables.rows_out.extend_from_slice(&data[..n]);
            self.cut |= n < data.len();
            self.rows &= n == data.len();
            if self.tables.rows_out.len() >= OUT {
                self.tables.hand_rows();
            }
            return;
        };
        self.out.resize(OUT, 0);
        loop {
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let status = inflater.decompress(data, &mut self.out, flate2::FlushDecompress::None);
            let used = (inflater.total_in() - before_in) as usize;
            let made = (inflater.total_out() - before_out) as usize;
            data = &data[used..];
            let n = self.budget.contents(&mut self.prepaid, made as u64) as usize;
            self.tables.rows_out.extend_from_slice(&self.out[..n]);
            if self.tables.rows_out.len() >= OUT {
                self.tables.hand_rows();
            }
            let stop = match status {
                _ if n < made => true,
                Err(_) => true,
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) if used == 0 && made == 0 => break,
                Ok(_) => false,
            };
            if stop {
                // Damaged, or past the budget: the table's rest is not read.
                self.cut = true;
                self.rows = false;
                break;
            }
        }
    }

    pub(crate) fn finish(mut self) -> Classification {
        if self.archive.is_none() && !matches!(self.block, Block::Done) {
            self.read_toc(true);
        }
        if self.archive.is_none() {
            // A table of contents never read whole: nothing of the archive is known.
            return Classification {
                formats: vec![Format::Binary, Format::PgDump],
                ..Classification::default()
            };
        }
        self.tables.cut |= self.cut || !matches!(self.block, Block::Kind);
        self.tables.finish(Format::PgDump)
    }
}

/// An integer as the archive writes it: a sign byte, then its magnitude's bytes, least
/// significant first.
fn integer(field: &[u8]) -> i64 {
    let mut v: i64 = 0;
    for (i, &b) in field[1..].iter().enumerate().take(8) {
        v |= i64::from(b) << (8 * i);
    }
    if field[0] != 0 { v.wrapping_neg() } else { v }
}

/// Why the header and table of contents could not be read: not all there yet, or not an
/// archive read here.
#[derive(Debug)]
enum Unread {
    Short,
    Bad,
}
use Unread::{Bad, Short};

/// A cursor over the kept bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    int_size: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Unread> {
        let end = self.at.checked_add(n).ok_or(Bad)?;
        let v = self.bytes.get(self.at..end).ok_or(Short)?;
        self.at = end;
        Ok(v)
    }

    fn byte(&mut self) -> Result<u8, Unread> {
        Ok(self.take(1)?[0])
    }

    fn int(&mut self) -> Result<i64, Unread> {
        let n = self.int_size + 1;
        Ok(integer(self.take(n)?))
    }

    /// A string (`None`: the archive's null string).
    fn string(&mut self) -> Result<Option<&'a [u8]>, Unread> {
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| Bad)?;
        if len > MAX_TOC {
            return Err(Bad);
        }
        self.take(len).map(Some)
    }
}

/// Reads the header and the table of contents from `bytes`: what they say, and how many bytes
/// they take.
fn read_head(bytes: &[u8]) -> Result<(Archive, usize), Unread> {
    let mut c = Cursor {
        bytes,
        at: 0,
        int_size: 4,
    };
    if c.take(5)? != b"PGDMP" {
        return Err(Bad);
    }
    let (major, minor) = (c.byte()?, c.byte()?);
    if (major, minor) < OLDEST || (major, minor) > NEWEST {
        return Err(Bad);
    }
    let version = (major, minor);
    c.byte()?; // revision
    c.int_size = usize::from(c.byte()?);
    if !(1..=8).contains(&c.int_size) {
        return Err(Bad);
    }
    let offset_size = usize::from(c.byte()?);
    let format = c.byte()?;
    if !(1..=8).contains(&offset_size) || ![CUSTOM, TAR, DIRECTORY].contains(&format) {
        return Err(Bad);
    }
    let zlib = if version >= (1, 15) {
        match c.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    } else {
        Some(c.int()? != 0)
    };
    for _ in 0..7 {
        c.int()?; // when it was made
    }
    for _ in 0..3 {
        c.string()?; // the database's name, the server's version, pg_dump's
    }
    let count = c.int()?;
    if count < 0 || count as u64 > (bytes.len() as u64) {
        return Err(Bad);
    }
    let (mut data, mut files) = (HashMap::new(), HashMap::new());
    for _ in 0..count {
        let id = c.int()?;
        c.int()?; // had a dumper
        c.string()?; // table oid
        c.string()?; // oid
        c.string()?; // tag
        let desc = c.string()?;
        if version >= (1, 11) {
            c.int()?; // section
        }
        c.string()?; // definition
        c.string()?; // drop statement
        let copy = c.string()?;
        c.string()?; // namespace
        c.string()?; // tablespace
        if version >= (1, 14) {
            c.string()?; // table access method
        }
        if version >= (1, 16) {
            c.int()?; // relkind
        }
        c.string()?; // owner
        c.string()?; // with oids
        // Dependencies, to a null string.
        while c.string()?.is_some() {}
        // Where the entry's data is: the custom format's offset, the others' file.
        let file = if format == CUSTOM {
            c.byte()?;
            c.take(offset_size)?;
            None
        } else {
            c.string()?
        };
        if desc == Some(&b"TABLE DATA"[..])
            && let Some(copy) = copy
            && let Some(rows_of) = crate::sql::copy_head(copy)
        {
            if let Some(file) = file.filter(|f| !f.is_empty()) {
                files.insert(file.to_vec(), rows_of.clone());
            }
            data.insert(id, rows_of);
        }
    }
    // Only the custom format's blocks follow in the same file.
    let archive = Archive {
        int_size: c.int_size,
        zlib: zlib.filter(|_| format == CUSTOM),
        data,
        files,
    };
    Ok((archive, c.at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};
    use crate::sql::tests::{CUSTOMERS, counts, fixture, names};

    const ARCHIVES: [&str; 2] = ["pg_dump-custom.dump", "pg_dump-custom-z0.dump"];

    /// `pg_dump -Fc` of the test database (`tests/sql/README.md`), compressed (zlib, the
    /// default) and not (`-Z0`): each table's rows count by their columns' names, as the
    /// plain dump's do, in any chunks.
    #[test]
    fn custom_archives_count_their_tables_rows() {
        for name in ARCHIVES {
            let bytes = fixture(name);
            assert!(magic(&bytes), "{name}");
            for size in [1, 5, 100, 4096, bytes.len()] {
                let found = in_chunks(&bytes, size);
                assert_eq!(counts(&found), CUSTOMERS, "{name} in chunks of {size}");
                assert_eq!(names(&found), ["account_table", "pg_dump"], "{name}");
            }
        }
    }

    /// Each table's compressed rows draw at least what building their inflater costs on the
    /// file's budget (a file of a million blocks of a row each would otherwise cost a core
    /// minutes): the compressed archive draws a start for each of its tables' data blocks,
    /// more than the uncompressed one (`-Z0`) draws for the same rows; a budget short of the
    /// last start does not read that block, and says so.
    #[test]
    fn compressed_blocks_draw_their_starts_on_the_budget() {
        let drawn = |name: &str, budget: Budget| {
            let left = budget.clone();
            let mut s = crate::Scanner::new();
            s.inside_archive(budget, 0);
            s.feed(&fixture(name));
            (s.finish(), left.left())
        };
        let (plain, left) = drawn(ARCHIVES[1], Budget::new());
        let plain_drawn = crate::encoding::MAX_INFLATED - left;
        let (found, left) = drawn(ARCHIVES[0], Budget::new());
        let drawn_whole = crate::encoding::MAX_INFLATED - left;
        assert_eq!(counts(&found), counts(&plain));
        // (Two tables' rows, of a few kilobytes each: their starts pay for them.)
        assert!(
            drawn_whole >= 2 * STREAM_COST && drawn_whole > plain_drawn + STREAM_COST,
            "{drawn_whole} {plain_drawn}"
        );
        let (short, _) = drawn(ARCHIVES[0], Budget::with(drawn_whole - STREAM_COST, 16));
        assert!(
            short.formats.contains(&crate::Format::ScannedInPart),
            "{short:?}"
        );
    }

    /// `pg_dump -Ft`: a tar archive of the table of contents (`toc.dat`), a file of each
    /// table's rows (`3344.dat`: `COPY` text, no header) and a script to restore them: each
    /// table's file is read under its columns' names from the table of contents.
    #[test]
    fn a_tar_format_archive_reads_each_tables_file_under_its_columns() {
        let bytes = fixture("pg_dump-tar.tar");
        for size in [1, 512, 4096, bytes.len()] {
            let found = in_chunks(&bytes, size);
            assert_eq!(counts(&found), CUSTOMERS, "in chunks of {size}");
            assert_eq!(names(&found), ["account_table", "sql", "tar"]);
        }
        // A file named so that is no table of contents is read as any other.
        let other = crate::tar::tests::archive(&[crate::tar::tests::entry(
            "toc.dat",
            b"card 4111 1111 1111 1111\n",
            b'0',
        )]);
        let found = classify(&other);
        assert_eq!(found.counts.get(Class::CardNumber), 1, "{found:?}");
    }

    /// `pg_dump -Fd`'s directory tarred (`tests/sql/pg_dump-dir.tar`: `tar --sort=name`, so
    /// the tables' gzip-compressed files come before `toc.dat`): the files are kept until the
    /// table of contents names their columns, then read under them, as the tar format's are.
    /// Without a table of contents (or with the files' budget spent) they are read as the rows
    /// they are: a headerless table's evidence only (no SSN without its name, the payments'
    /// references counted as the routing numbers their checksums say).
    #[test]
    fn a_directory_format_archive_tarred_reads_its_tables_under_their_columns() {
        let bytes = fixture("pg_dump-dir.tar");
        for size in [1, 512, 4096, bytes.len()] {
            let found = in_chunks(&bytes, size);
            assert_eq!(counts(&found), CUSTOMERS, "in chunks of {size}");
            assert_eq!(names(&found), ["account_table", "gzip", "tar"]);
        }
        // The same entries with the table of contents first: read as they come.
        let entries = tar_entries(&bytes);
        let toc = entries
            .iter()
            .position(|e| e.0.ends_with("toc.dat"))
            .unwrap();
        let mut first: Vec<Vec<u8>> = vec![entry_of(&entries[toc])];
        first.extend(
            entries
                .iter()
                .filter(|e| !e.0.ends_with("toc.dat"))
                .map(entry_of),
        );
        let found = classify(&crate::tar::tests::archive(&first));
        assert_eq!(counts(&found), CUSTOMERS);
        // Without it: unnamed rows.
        let rows: Vec<Vec<u8>> = entries
            .iter()
            .filter(|e| !e.0.ends_with("toc.dat"))
            .map(entry_of)
            .collect();
        let found = classify(&crate::tar::tests::archive(&rows));
        assert_eq!(found.counts.get(Class::UsSsn), 0);
        assert_eq!(found.counts.get(Class::AbaRouting), 18 + 10);
        assert_eq!(found.counts.get(Class::Email), 24);
    }

    /// The same directory zipped (deflated, its entries in the tar's order: the tables' files
    /// before `toc.dat`): read under their columns' names. Entries whose sizes the local
    /// header does not give (a data descriptor after them) are read as they come: unnamed.
    #[test]
    fn a_directory_format_archive_zipped_reads_its_tables_under_their_columns() {
        use crate::archive::tests::{archive, entry};
        let entries = tar_entries(&fixture("pg_dump-dir.tar"));
        let zip = |descriptor: bool| {
            let zipped: Vec<Vec<u8>> = entries
                .iter()
                .map(|(name, data)| entry(name, data, true, descriptor, 0))
                .collect();
            archive(&zipped)
        };
        let bytes = zip(false);
        for size in [1, 97, 4096, bytes.len()] {
            let found = in_chunks(&bytes, size);
            assert_eq!(counts(&found), CUSTOMERS, "in chunks of {size}");
            assert_eq!(names(&found), ["account_table", "gzip", "zip"]);
        }
        let found = classify(&zip(true));
        assert_eq!(found.counts.get(Class::UsSsn), 0);
        assert_eq!(found.counts.get(Class::Email), 24);
    }

    /// A ustar archive's regular entries: names and contents.
    fn tar_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 512 <= bytes.len() && bytes[at] != 0 {
            let h = &bytes[at..at + 512];
            let name = String::from_utf8_lossy(&h[..100])
                .trim_end_matches('\0')
                .to_owned();
            let size_field = String::from_utf8_lossy(&h[124..135]).into_owned();
            let size = usize::from_str_radix(size_field.trim_matches(|c| c == '\0' || c == ' '), 8)
                .unwrap();
            if h[156] == b'0' {
                out.push((name, bytes[at + 512..at + 512 + size].to_vec()));
            }
            at += 512 + size.div_ceil(512) * 512;
        }
        out
    }

    fn entry_of(e: &(String, Vec<u8>)) -> Vec<u8> {
        crate::tar::tests::entry(&e.0, &e.1, b'0')
    }

    /// Cut short: what its whole blocks hold, read in part; cut in its table of contents:
    /// `binary`.
    #[test]
    fn a_cut_archive_says_so() {
        let bytes = fixture(ARCHIVES[1]);
        let found = classify(&bytes[..bytes.len() - 100]);
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert_eq!(names(&classify(&bytes[..600])), ["binary", "pg_dump"]);
    }

    proptest::proptest! {
        /// Archives with any bytes changed, cut anywhere, in any chunks: a verdict, never a
        /// panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..ARCHIVES.len(),
            changes in proptest::collection::vec((0usize..6000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..6000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(ARCHIVES[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
        }
    }
}
