//! Classification: what kinds of sensitive data a file holds. Validators, not bare patterns: a
//! number counts only when its structure and checksum hold (Luhn for card numbers, ISO 13616's
//! mod-97 and the country's length for IBANs, the ABA checksum for US routing numbers (and the account numbers named beside them), the
//! allocation rules of US Social Security and UK National Insurance numbers).
//!
//! Pure: bytes in, counts out. Never here: reading files, storing results, sealing, time.

mod account;
mod archive;
mod avro;
mod bitmap;
mod cell;
mod compound;
pub mod corpus;
mod dbf;
pub mod distinct;
mod doc;
pub mod encoding;
mod encrypted;
mod fedwire;
pub mod field_corpus;
pub mod format;
mod little_endian;
mod markup;
mod mbox;
mod mime;
mod msg;
mod parquet;
pub mod patterns;
mod pdf;
mod pg_archive;
mod rar;
mod rtf;
pub mod scan;
mod sevenzip;
mod sheet;
mod sql;
mod sqlite;
mod stored;
mod tar;
pub mod validate;
mod x12;
mod x9;
mod xls;
mod xlsb;

pub use distinct::Distinct;
pub use format::Format;
pub use patterns::{PatternError, Patterns};
pub use scan::{Class, Classification, Counts, RULES, Scanner, Summary, classify};

/// A stored file read at places, for the formats read from their end or by their pages (a
/// Parquet file: its footer names where its row groups are; a SQLite database: its pages'
/// trees; a 7-Zip archive: its header, at its end, where its folders are), so all of it is
/// read whatever its size, where a stream keeps its first 32 MiB:
/// what it holds, from `head` (its first bytes), its
/// `size` and `read_at` (fills a buffer from a place in the file, says how many bytes it
/// gave; `None` for an error). `None` for any other file: it is read as it streams, by a
/// [`Scanner`].
pub fn classify_stored(
    head: &[u8],
    size: u64,
    read_at: &dyn Fn(u64, &mut [u8]) -> Option<usize>,
    patterns: Option<std::sync::Arc<Patterns>>,
) -> Option<Classification> {
    let mut found = if parquet::magic(head) {
        parquet::classify_stored(size, read_at, patterns)
    } else if sqlite::magic(head) {
        sqlite::classify_stored(size, read_at, patterns)
    } else if sevenzip::magic(head) {
        sevenzip::classify_stored(size, read_at, patterns)
    } else {
        return None;
    };
    found.rules = RULES;
    Some(found)
}

#[cfg(test)]
mod tests;
