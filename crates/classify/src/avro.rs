//! Apache Avro object container files (`.avro`: BigQuery's and Hadoop's exports, Kafka
//! Connect's sinks): a header whose metadata holds the records' schema (JSON) and the codec,
//! then blocks of records in Avro's binary encoding, each block compressed on its own. Read
//! as they stream (`Avro`): the header kept until it is whole ([`MAX_HEADER`]), then block by
//! block ([`MAX_BLOCK`]): each block inflated (deflate, snappy, zstandard, or stored) and its
//! records decoded by the schema into rows, written under a header of the record's fields'
//! names (a nested record's fields by their path, `holder.ssn`) to a scanner of their own
//! ([`crate::sql::Tables`]), as a delimited export's. Whole numbers are written in decimal (a
//! decimal's scale kept), strings and enums as their text, an array's items and a map's keys
//! and values spaced in their cell; booleans, fixed bytes and plain bytes are left out. Named
//! `avro` with the rows' formats.
//!
//! Pure: bytes in, classes out. Every number from the file is bounded before it is used: the
//! header, a block's size, the schema's nesting ([`MAX_NESTING`]) and its columns
//! ([`MAX_COLUMNS`]); what a block's records take to decode is bounded by its bytes (an array
//! of a million nulls takes no bytes to write); what the blocks inflate to and the rows'
//! text draw on the file's budget. A block that cannot be read (another codec: bzip2, xz;
//! damage) leaves the file `scanned_in_part`.

use std::sync::Arc;

use crate::Format;
use crate::encoding::{Budget, Prepaid, STREAM_COST};
use crate::patterns::Patterns;
use crate::scan::Classification;
use crate::sql::Tables;

/// The magic an object container file begins with.
const MAGIC: &[u8; 4] = b"Obj\x01";
/// Most bytes of the header (its metadata, the schema) kept to be read.
pub const MAX_HEADER: usize = 1 << 20;
/// Most bytes of a block (compressed) kept to be read (Avro's writers make blocks of 16 KiB
/// to a few MiB).
pub const MAX_BLOCK: usize = 64 << 20;
/// A schema's types nested at most this deep (and a value's, as it is decoded).
pub const MAX_NESTING: usize = 32;
/// Columns a record's fields make at most.
pub const MAX_COLUMNS: usize = 1024;
/// Most bytes of a block's records inflated and read (writers' blocks hold 16 KiB to a few
/// MiB; a larger one's first records are read).
pub const MAX_RECORDS: usize = 64 << 20;
/// Rows' text handed on at a time.
const OUT: usize = 64 << 10;

/// Whether a file's first bytes are an object container file's magic.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// A schema's type, as far as the values are read.
#[derive(Debug, Clone)]
enum Type {
    Null,
    Boolean,
    /// `int` or `long` (both zigzag varints).
    Long,
    Float,
    Double,
    /// `bytes` (`decimal`: a big-endian two's complement with its scale).
    Bytes {
        decimal: Option<u32>,
    },
    String,
    Fixed {
        size: usize,
        decimal: Option<u32>,
    },
    Enum(Vec<Vec<u8>>),
    Array(Box<Type>),
    Map(Box<Type>),
    Union(Vec<Type>),
    /// A record's fields; where its fields have columns of their own, the first of them.
    Record(Vec<(Vec<u8>, Type)>, Option<usize>),
}

/// The codecs a block may be compressed by.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Codec {
    Null,
    Deflate,
    Snappy,
    Zstandard,
    /// Named by the file, not read here (bzip2, xz).
    Other,
}

/// An object container file being read, chunk by chunk.
pub(crate) struct Avro {
    tables: Tables,
    budget: Budget,
    /// The header until it is read, then the bytes of blocks not yet whole.
    kept: Vec<u8>,
    file: Option<File>,
    /// A row's cells, kept between blocks.
    cells: Vec<Vec<u8>>,
    /// Nothing more is read.
    done: bool,
    cut: bool,
}

/// What the header says.
struct File {
    schema: Type,
    columns: usize,
    codec: Codec,
    sync: [u8; 16],
}

impl Avro {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Avro {
            tables: Tables::new(patterns, budget.clone(), depth),
            budget,
            kept: Vec::new(),
            file: None,
            cells: Vec::new(),
            done: false,
            cut: false,
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.tables.held_bytes() + crate::encoding::held(&self.kept)
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        let mut data = data;
        if self.file.is_none() {
            let room = MAX_HEADER.saturating_sub(self.kept.len());
            let take = room.min(data.len());
            self.kept.extend_from_slice(&data[..take]);
            data = &data[take..];
            match read_header(&self.kept) {
                Ok((file, used)) => {
                    let mut columns = Vec::new();
                    names(&file.schema, &mut Vec::new(), &mut columns);
                    self.tables
                        .begin(b"avro".to_vec(), Some(columns.as_slice()));
                    self.file = Some(file);
                    self.kept.drain(..used);
                }
                Err(Short) if take < room => return,
                Err(_) => return self.stop(),
            }
        }
        // Blocks: kept until whole (each at most its bound), then read.
        self.kept.extend_from_slice(data);
        let kept = std::mem::take(&mut self.kept);
        let mut at = 0;
        while !self.done {
            let n = match block_size(&kept[at..]) {
                Ok(n) => n,
                Err(Short) => break,
                Err(Bad) => return self.stop(),
            };
            if kept.len() - at < n {
                break;
            }
            self.block(&kept[at..at + n]);
            at += n;
        }
        if !self.done {
            // (The bytes of a block under way are not copied again with each chunk.)
            self.kept = if at == 0 { kept } else { kept[at..].to_vec() };
        }
    }

    /// Nothing more of the file is read.
    fn stop(&mut self) {
        self.done = true;
        self.cut = true;
        self.kept = Vec::new();
    }

    /// A block whole: its records decoded into rows.
    fn block(&mut self, block: &[u8]) {
        if let Some(file) = self.file.take() {
            self.records(&file, block);
            self.file = Some(file);
        }
    }

    fn records(&mut self, file: &File, block: &[u8]) {
        let mut r = Reader::new(block);
        let (Some(count), Some(size)) = (r.long(), r.long()) else {
            return self.stop();
        };
        let (Ok(count), Ok(size)) = (u64::try_from(count), usize::try_from(size)) else {
            return self.stop();
        };
        let Some(body) = r.take(size) else {
            return self.stop();
        };
        if r.take(16) != Some(&file.sync[..]) {
            return self.stop();
        }
        // A compressed block draws at least what building its decoder costs, before it is
        // decoded: past the budget, nothing more is read (a file of a million blocks of a
        // record each would otherwise cost a core minutes).
        let mut prepaid = Prepaid::default();
        if file.codec != Codec::Null && !self.budget.start(&mut prepaid, STREAM_COST) {
            return self.stop();
        }
        let Some((records, past)) = inflate(file.codec, body, &self.budget, &mut prepaid) else {
            // A codec not read here, or damage: the next blocks may still be read.
            self.cut = true;
            return;
        };
        // A block of more records than are read at once: those in its first bytes.
        self.cut |= past;
        let mut r = Reader::new(&records);
        // What decoding may take: eight steps per byte (values of no bytes: nulls, empty
        // records), and a few more.
        r.steps = 8 * records.len() as u64 + 32;
        let mut cells = std::mem::take(&mut self.cells);
        cells.resize(file.columns, Vec::new());
        for _ in 0..count {
            cells.iter_mut().for_each(Vec::clear);
            // A record's fields have their columns; any other value is the one column.
            let top = (!matches!(file.schema, Type::Record(..))).then_some(0);
            if value(&file.schema, &mut r, &mut cells, top, 0).is_none() {
                self.cut = true;
                break;
            }
            for (n, cell) in cells.iter().enumerate() {
                if n > 0 {
                    self.tables.rows_out.push(b'\t');
                }
                self.tables.rows_out.extend_from_slice(cell);
            }
            self.tables.rows_out.push(b'\n');
            if self.tables.rows_out.len() >= OUT && !self.hand_rows() {
                break;
            }
        }
        self.cells = cells;
        if !self.done {
            self.hand_rows();
        }
    }

    /// The rows written, to their scanner within the budget: whether it lasted.
    fn hand_rows(&mut self) -> bool {
        let n = self.tables.rows_out.len();
        let allowed = self.budget.bytes(n as u64) as usize;
        if allowed < n {
            self.tables.rows_out.truncate(allowed);
            self.tables.hand_rows();
            self.stop();
            return false;
        }
        self.tables.hand_rows();
        true
    }

    pub(crate) fn finish(mut self) -> Classification {
        if self.file.is_none() {
            return Classification {
                formats: vec![Format::Binary, Format::Avro],
                ..Classification::default()
            };
        }
        // A block broken off by the file's end.
        self.tables.cut |= self.cut || !self.kept.is_empty();
        self.tables.finish(Format::Avro)
    }
}

/// A block's bytes inflated by `codec`, to [`MAX_RECORDS`] bytes (drawn on the budget, from
/// what the block's start paid first), and
/// whether they went past them; `None` where the block is not read here.
fn inflate<'a>(
    codec: Codec,
    body: &'a [u8],
    budget: &Budget,
    prepaid: &mut Prepaid,
) -> Option<(std::borrow::Cow<'a, [u8]>, bool)> {
    let mut out = Vec::new();
    let past = match codec {
        Codec::Null => {
            // Stored: read where it is.
            let n = body.len().min(MAX_RECORDS);
            if budget.contents(prepaid, n as u64) < n as u64 {
                return None;
            }
            return Some((body[..n].into(), body.len() > MAX_RECORDS));
        }
        Codec::Deflate => {
            let mut inflater = flate2::Decompress::new(false);
            let mut chunk = vec![0u8; OUT];
            let mut input = body;
            loop {
                let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
                let status = inflater
                    .decompress(input, &mut chunk, flate2::FlushDecompress::None)
                    .ok()?;
                let used = (inflater.total_in() - before_in) as usize;
                let made = (inflater.total_out() - before_out) as usize;
                input = &input[used..];
                out.extend_from_slice(&chunk[..made]);
                match status {
                    _ if out.len() > MAX_RECORDS => break true,
                    flate2::Status::StreamEnd => break false,
                    _ if used == 0 && made == 0 => break false,
                    _ => {}
                }
            }
        }
        Codec::Snappy => {
            // The block's snappy bytes, then their CRC-32.
            let body = body.get(..body.len().checked_sub(4)?)?;
            if snap::raw::decompress_len(body).ok()? > MAX_RECORDS {
                return None;
            }
            out = snap::raw::Decoder::new().decompress_vec(body).ok()?;
            false
        }
        Codec::Zstandard => {
            let mut zstd = crate::encoding::Zstd::new(Budget::with(MAX_RECORDS as u64 + 1, 1));
            zstd.inflate(body, |b| out.extend_from_slice(b));
            if zstd.cut && out.len() <= MAX_RECORDS {
                return None;
            }
            out.len() > MAX_RECORDS
        }
        Codec::Other => return None,
    };
    out.truncate(MAX_RECORDS);
    if budget.contents(prepaid, out.len() as u64) < out.len() as u64 {
        return None;
    }
    Some((out.into(), past))
}

/// The columns a schema's record makes: its fields' paths, a nested record's fields in its
/// place (a union of null and a record too).
fn names(t: &Type, path: &mut Vec<u8>, out: &mut Vec<Vec<u8>>) {
    let Type::Record(fields, _) = t else {
        out.push(path.clone());
        return;
    };
    for (name, t) in fields {
        let at = path.len();
        if !path.is_empty() {
            path.push(b'.');
        }
        path.extend_from_slice(name);
        match flattened(t) {
            Some(record) => names(record, path, out),
            None => out.push(path.clone()),
        }
        path.truncate(at);
    }
}

/// The record a field's type flattens into columns of its own, if it does: a record, or the
/// record of a union of null and one record.
fn flattened(t: &Type) -> Option<&Type> {
    match t {
        Type::Record(_, Some(_)) => Some(t),
        Type::Union(ts) => {
            let mut records = ts.iter().filter(|t| !matches!(t, Type::Null));
            let one = records.next()?;
            (records.next().is_none() && matches!(one, Type::Record(_, Some(_)))).then_some(one)
        }
        _ => None,
    }
}

/// Decodes a value of type `t`, writing it to `cells[column]` (a record whose fields have
/// columns of their own writes each to its own; `None`: the record's fields' own).
fn value(
    t: &Type,
    r: &mut Reader,
    cells: &mut [Vec<u8>],
    column: Option<usize>,
    depth: usize,
) -> Option<()> {
    if depth > MAX_NESTING {
        return None;
    }
    r.step()?;
    let cell = |cells: &mut [Vec<u8>]| -> Option<usize> {
        let c = column?;
        if !cells.get(c)?.is_empty() {
            cells[c].push(b' ');
        }
        Some(c)
    };
    match t {
        Type::Null => {}
        Type::Boolean => {
            r.take(1)?;
        }
        Type::Long => {
            let v = r.long()?;
            if let Some(c) = cell(cells) {
                crate::cell::decimal(&mut cells[c], i128::from(v), 0);
            }
        }
        Type::Float | Type::Double => {
            let f = if matches!(t, Type::Float) {
                f64::from(f32::from_le_bytes(r.take(4)?.try_into().ok()?))
            } else {
                f64::from_le_bytes(r.take(8)?.try_into().ok()?)
            };
            if let Some(c) = cell(cells) {
                crate::cell::float(&mut cells[c], f);
            }
        }
        Type::Bytes { decimal } | Type::Fixed { decimal, .. } => {
            let v = match t {
                Type::Fixed { size, .. } => r.take(*size)?,
                _ => {
                    let n = usize::try_from(r.long()?).ok()?;
                    r.take(n)?
                }
            };
            if let (Some(scale), Some(c)) = (decimal, cell(cells)) {
                crate::cell::big_endian_decimal(&mut cells[c], v, *scale);
            }
        }
        Type::String => {
            let n = usize::try_from(r.long()?).ok()?;
            let v = r.take(n)?;
            if let Some(c) = cell(cells) {
                crate::cell::text(&mut cells[c], v);
            }
        }
        Type::Enum(symbols) => {
            let i = usize::try_from(r.long()?).ok()?;
            let symbol = symbols.get(i)?;
            if let Some(c) = cell(cells) {
                cells[c].extend_from_slice(symbol);
            }
        }
        Type::Array(item) | Type::Map(item) => loop {
            // Blocks of items (a negative count: its size in bytes follows), to a count of 0.
            let mut n = r.long()?;
            if n == 0 {
                break;
            }
            if n < 0 {
                n = n.checked_neg()?;
                r.long()?;
            }
            for _ in 0..n {
                if let Type::Map(_) = t {
                    let k = usize::try_from(r.long()?).ok()?;
                    let key = r.take(k)?;
                    if let Some(c) = cell(cells) {
                        crate::cell::text(&mut cells[c], key);
                    }
                }
                value(item, r, cells, column, depth + 1)?;
            }
        },
        Type::Union(branches) => {
            let i = usize::try_from(r.long()?).ok()?;
            let branch = branches.get(i)?;
            let own = matches!(branch, Type::Record(_, Some(_))) && flattened(t).is_some();
            value(branch, r, cells, if own { None } else { column }, depth + 1)?;
        }
        Type::Record(fields, first) => match (column, first) {
            // Its fields in their own columns (the top-level record, or one flattened): a
            // flattened field's record finds its own.
            (None, Some(first)) => {
                let mut next = *first;
                for (_, f) in fields {
                    let at = flattened(f).is_none().then_some(next);
                    value(f, r, cells, at, depth + 1)?;
                    next += width_of(f);
                }
            }
            // In the cell it stands in (an array's item, a union's branch among others).
            _ => {
                for (_, f) in fields {
                    value(f, r, cells, column, depth + 1)?;
                }
            }
        },
    }
    Some(())
}

/// The columns a field's type takes in its record's row.
fn width_of(t: &Type) -> usize {
    match flattened(t) {
        Some(Type::Record(fields, _)) => fields.iter().map(|(_, f)| width_of(f)).sum(),
        _ => 1,
    }
}

/// Why the header could not be read: not all there yet, or not a file read here.
#[derive(Debug)]
enum Unread {
    Short,
    Bad,
}
use Unread::{Bad, Short};

/// Avro's binary encoding over bytes, with the steps decoding may still take.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    steps: u64,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            at: 0,
            steps: u64::MAX,
        }
    }

    fn step(&mut self) -> Option<()> {
        self.steps = self.steps.checked_sub(1)?;
        Some(())
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(v)
    }

    /// A zigzag varint (`int` and `long`).
    fn long(&mut self) -> Option<i64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Some((v >> 1) as i64 ^ -((v & 1) as i64));
            }
        }
        None
    }
}

/// A block's bytes in all (its count, its size, its records, its sync marker), from its
/// first bytes.
fn block_size(first: &[u8]) -> Result<usize, Unread> {
    let mut r = Reader::new(first);
    let counted = r.long().ok_or(Short)?;
    let size = r.long().ok_or(Short)?;
    if counted < 0 {
        return Err(Bad);
    }
    let size = usize::try_from(size).map_err(|_| Bad)?;
    if size > MAX_BLOCK {
        return Err(Bad);
    }
    Ok(r.at + size + 16)
}

/// Reads the header: what it says, and how many bytes it takes.
fn read_header(bytes: &[u8]) -> Result<(File, usize), Unread> {
    let short = |b: &[u8]| if b.len() >= MAX_HEADER { Bad } else { Short };
    let mut r = Reader::new(bytes);
    if r.take(4).ok_or(Short)? != MAGIC {
        return Err(Bad);
    }
    let (mut schema, mut codec) = (None, Codec::Null);
    loop {
        let mut n = r.long().ok_or_else(|| short(bytes))?;
        if n == 0 {
            break;
        }
        if n < 0 {
            n = n.checked_neg().ok_or(Bad)?;
            r.long().ok_or_else(|| short(bytes))?;
        }
        for _ in 0..n {
            let k = usize::try_from(r.long().ok_or_else(|| short(bytes))?).map_err(|_| Bad)?;
            let key = r.take(k).ok_or_else(|| short(bytes))?;
            let v = usize::try_from(r.long().ok_or_else(|| short(bytes))?).map_err(|_| Bad)?;
            let value = r.take(v).ok_or_else(|| short(bytes))?;
            match key {
                b"avro.schema" => schema = Some(value),
                b"avro.codec" => {
                    codec = match value {
                        b"null" => Codec::Null,
                        b"deflate" => Codec::Deflate,
                        b"snappy" => Codec::Snappy,
                        b"zstandard" => Codec::Zstandard,
                        _ => Codec::Other,
                    }
                }
                _ => {}
            }
        }
    }
    let sync: [u8; 16] = r
        .take(16)
        .ok_or_else(|| short(bytes))?
        .try_into()
        .map_err(|_| Bad)?;
    let json: serde_json::Value = serde_json::from_slice(schema.ok_or(Bad)?).map_err(|_| Bad)?;
    let mut named = Vec::new();
    let mut columns = 0;
    let mut schema = parse(&json, &mut named, 0).ok_or(Bad)?;
    // The top-level record's fields (and flattened records') each a column of their own.
    if let Type::Record(..) = schema {
        assign(&mut schema, &mut columns);
    } else {
        columns = 1;
    }
    if columns == 0 || columns > MAX_COLUMNS {
        return Err(Bad);
    }
    Ok((
        File {
            schema,
            columns,
            codec,
            sync,
        },
        r.at,
    ))
}

/// Gives a record whose fields have columns of their own its first column, and its
/// flattened records theirs, counting the columns.
fn assign(t: &mut Type, columns: &mut usize) {
    let Type::Record(fields, first) = t else {
        *columns += 1;
        return;
    };
    *first = Some(*columns);
    for (_, f) in fields.iter_mut() {
        let flat = match f {
            Type::Record(..) => Some(f),
            Type::Union(ts) => {
                let others: Vec<usize> = (0..ts.len())
                    .filter(|&i| !matches!(ts[i], Type::Null))
                    .collect();
                match others.as_slice() {
                    [one] if matches!(ts[*one], Type::Record(..)) => Some(&mut ts[*one]),
                    _ => None,
                }
            }
            _ => None,
        };
        match flat {
            Some(record) => assign(record, columns),
            None => *columns += 1,
        }
    }
}

/// A schema's JSON as a type; `named`: the named types defined so far (a name refers to
/// one; a record that refers to itself is not read).
fn parse(json: &serde_json::Value, named: &mut Vec<(String, Type)>, depth: usize) -> Option<Type> {
    use serde_json::Value;
    if depth > MAX_NESTING {
        return None;
    }
    let primitive = |name: &str| -> Option<Type> {
        Some(match name {
            "null" => Type::Null,
            "boolean" => Type::Boolean,
            "int" | "long" => Type::Long,
            "float" => Type::Float,
            "double" => Type::Double,
            "bytes" => Type::Bytes { decimal: None },
            "string" => Type::String,
            _ => return None,
        })
    };
    match json {
        Value::String(name) => primitive(name).or_else(|| {
            named
                .iter()
                .rev()
                .find(|(n, _)| n == name || n.rsplit('.').next() == Some(name))
                .map(|(_, t)| t.clone())
        }),
        Value::Array(branches) => Some(Type::Union(
            branches
                .iter()
                .map(|b| parse(b, named, depth + 1))
                .collect::<Option<_>>()?,
        )),
        Value::Object(o) => {
            let kind = o.get("type")?;
            let decimal = (o.get("logicalType").and_then(Value::as_str) == Some("decimal"))
                .then(|| o.get("scale").and_then(Value::as_u64).unwrap_or(0).min(38) as u32);
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let t = match kind.as_str() {
                Some("record") | Some("error") => {
                    let fields = o.get("fields")?.as_array()?;
                    if fields.len() > MAX_COLUMNS {
                        return None;
                    }
                    let mut out = Vec::with_capacity(fields.len());
                    for f in fields {
                        let field_name = f.get("name")?.as_str()?.as_bytes().to_vec();
                        out.push((field_name, parse(f.get("type")?, named, depth + 1)?));
                    }
                    Type::Record(out, None)
                }
                Some("enum") => Type::Enum(
                    o.get("symbols")?
                        .as_array()?
                        .iter()
                        .map(|s| s.as_str().map(|s| s.as_bytes().to_vec()))
                        .collect::<Option<_>>()?,
                ),
                Some("array") => Type::Array(Box::new(parse(o.get("items")?, named, depth + 1)?)),
                Some("map") => Type::Map(Box::new(parse(o.get("values")?, named, depth + 1)?)),
                Some("fixed") => Type::Fixed {
                    size: usize::try_from(o.get("size")?.as_u64()?).ok()?,
                    decimal,
                },
                Some("bytes") => Type::Bytes { decimal },
                Some(other) => primitive(other).or_else(|| parse(kind, named, depth + 1))?,
                None => parse(kind, named, depth + 1)?,
            };
            if !name.is_empty()
                && matches!(t, Type::Record(..) | Type::Enum(_) | Type::Fixed { .. })
            {
                named.push((name, t.clone()));
            }
            Some(t)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};

    fn fixture(name: &str) -> Vec<u8> {
        crate::tests::fixture_in("avro", name)
    }

    const FILES: [&str; 4] = [
        "customers-null.avro",
        "customers-deflate.avro",
        "customers-snappy.avro",
        "customers-zstandard.avro",
    ];

    /// fastavro's customer records (`tests/avro/make.py`: 24, in blocks of about 2 KB), stored,
    /// deflated, snappy- or zstandard-compressed: the fields' names name their values (a
    /// nested record's by its path, `holder.ssn`; a union of null and a string, a map's
    /// values), each row's routing number has its account; the near misses, a null SSN and
    /// the references under a name that names nothing count nothing. Whatever the chunks.
    #[test]
    fn fastavro_records_count_by_their_fields_names() {
        for name in FILES {
            let bytes = fixture(name);
            assert!(magic(&bytes));
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
                        (Class::UsSsn, 17 + 23),
                        (Class::Email, 24 + 48),
                    ],
                    "{name} in chunks of {size}"
                );
                let names: Vec<_> = found.formats.iter().map(|f| f.name()).collect();
                assert_eq!(names, ["account_table", "avro"], "{name}");
            }
        }
    }

    /// The columns a schema makes, and its values written as text: a decimal with its scale,
    /// an enum's symbol, a flattened record's fields in their own columns.
    #[test]
    fn a_schema_makes_its_columns() {
        let (file, _) = read_header(&fixture(FILES[0])).unwrap();
        let mut columns = Vec::new();
        names(&file.schema, &mut Vec::new(), &mut columns);
        let columns: Vec<_> = columns.iter().map(|c| String::from_utf8_lossy(c)).collect();
        assert_eq!(
            columns,
            [
                "customer",
                "name",
                "ssn",
                "routing_number",
                "account_number",
                "reference",
                "card",
                "swift_bic",
                "email",
                "balance",
                "active",
                "segment",
                "holder.name",
                "holder.ssn",
                "phones",
                "tags",
            ]
        );
        assert_eq!(file.columns, columns.len());
    }

    /// `raw` deflated, as an Avro block's body of the `deflate` codec.
    fn deflated(raw: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }

    /// The header of an Avro file of strings in deflated blocks, its sync marker sixteen zeros.
    fn deflated_strings_header() -> Vec<u8> {
        let mut file =
            b"Obj\x01\x04\x16avro.schema\x10\"string\"\x14avro.codec\x0edeflate\x00".to_vec();
        file.extend([0u8; 16]);
        file
    }

    /// A deflated block of more records than the inflater's output at once (64 KiB), and of
    /// more than are read at once: its first records count, and it says so.
    #[test]
    fn a_large_block_is_read_to_its_bound() {
        let record = b"$4111111111111111,\n";
        let mut raw = Vec::new();
        while raw.len() < MAX_RECORDS + (1 << 20) {
            raw.extend_from_slice(record);
        }
        let body = deflated(&raw);
        let mut file = deflated_strings_header();
        for v in [
            ((raw.len() / record.len()) as u64) << 1,
            (body.len() as u64) << 1,
        ] {
            let mut v = v;
            while v >= 0x80 {
                file.push(v as u8 | 0x80);
                v >>= 7;
            }
            file.push(v as u8);
        }
        file.extend(&body);
        file.extend([0u8; 16]);
        let found = classify(&file);
        assert_eq!(
            found.counts.get(Class::CardNumber),
            (MAX_RECORDS / record.len()) as u64,
            "{found:?}"
        );
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
    }

    /// A file of deflated blocks of a value each: each block draws what building its decoder
    /// costs (its value's bytes paid by it), so a budget of ten such starts reads ten values
    /// and stops, said; without it every value is read.
    #[test]
    fn each_compressed_block_draws_on_the_budget() {
        let value = b"card 4111 1111 1111 1111";
        let mut record = vec![(value.len() * 2) as u8];
        record.extend(value);
        let body = deflated(&record);
        let mut file = deflated_strings_header();
        for _ in 0..100 {
            file.extend([2, (body.len() * 2) as u8]);
            file.extend(&body);
            file.extend([0u8; 16]);
        }
        let within = |budget: Budget| {
            let mut s = crate::Scanner::new();
            s.inside_archive(budget, 0);
            s.feed(&file);
            s.finish()
        };
        // (Each value's row also draws its few bytes.)
        let found = within(Budget::with(10 * STREAM_COST + 1000, 16));
        assert_eq!(found.counts.get(Class::CardNumber), 10, "{found:?}");
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        let all = within(Budget::new());
        assert_eq!(all.counts.get(Class::CardNumber), 100, "{all:?}");
        assert!(!all.formats.contains(&Format::ScannedInPart), "{all:?}");
    }

    /// A file of values that are no records (strings): each a row of one column.
    #[test]
    fn values_that_are_no_records_count() {
        // fastavro's `writer(f, parse_schema("string"), ["card 4111 1111 1111 1111",
        // "ann@bank.example"])`, its sync marker zeros.
        let mut file =
            b"Obj\x01\x04\x16avro.schema\x10\"string\"\x14avro.codec\x08null\x00".to_vec();
        file.extend([0u8; 16]);
        let values = b"\x30card 4111 1111 1111 1111\x20ann@bank.example";
        file.extend([4, (values.len() * 2) as u8]);
        file.extend(values);
        file.extend([0u8; 16]);
        let found = classify(&file);
        let counts: Vec<_> = found.counts.present().collect();
        assert_eq!(
            counts,
            [(Class::CardNumber, 1), (Class::Email, 1)],
            "{found:?}"
        );
    }

    /// What is not read says so: a codec not read here, a file cut in a block, a header
    /// that is no Avro's.
    #[test]
    fn what_is_not_read_is_said() {
        let bytes = fixture(FILES[0]);
        let cut = classify(&bytes[..bytes.len() - 10]);
        assert!(cut.formats.contains(&Format::ScannedInPart), "{cut:?}");
        let mut other = bytes.clone();
        let at = memchr::memmem::find(&other, b"null").unwrap();
        other[at..at + 4].copy_from_slice(b"bzz2");
        let found = classify(&other);
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert_eq!(found.counts.get(Class::CardNumber), 0, "{found:?}");
        let names: Vec<_> = classify(&bytes[..40])
            .formats
            .iter()
            .map(|f| f.name())
            .collect();
        assert_eq!(names, ["binary", "avro"]);
    }

    proptest::proptest! {
        /// Avro files with any bytes changed, cut anywhere, in any chunks: a verdict, never a
        /// panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..FILES.len(),
            changes in proptest::collection::vec((0usize..6000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..6000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(FILES[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
        }
    }
}
