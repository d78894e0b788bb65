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
mod doc;
pub mod encoding;
mod encrypted;
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
mod tar;
pub mod validate;
mod x12;
mod xls;
mod xlsb;

pub use format::Format;
pub use patterns::{PatternError, Patterns};
pub use scan::{Class, Classification, Counts, RULES, Scanner, classify};

#[cfg(test)]
mod tests;
