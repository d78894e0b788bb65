//! Word 97-2003 documents (`.doc`): the text a document holds, read from its `WordDocument`
//! stream through its piece table (the `Clx` in its `0Table` or `1Table` stream, [MS-DOC]
//! 2.4.1), as the text it shows: paragraphs and line breaks as lines, a table's cells as
//! tab-separated columns (a cell mark right after a cell's is its row's end), tabs as tabs,
//! 8-bit pieces as Windows-1252 and 16-bit ones as UTF-16 (a character beyond ASCII becomes a
//! byte that is no letter, digit or delimiter, as in [`crate::encoding`]). A document protected
//! by a password says so in its header (`fEncrypted`): `encrypted:office`.
//!
//! Pure: the streams' bytes in, the text out; every offset and count from the document is
//! checked against the streams before it is used, and the text is no longer than the document's
//! stream.

use crate::little_endian::{u16_at, u32_at};

/// A Word document's identifier, the first two bytes of its `WordDocument` stream.
const IDENT: u16 = 0xA5EC;
/// The header's flags: the document is encrypted (or obfuscated), and which table stream it
/// uses.
const ENCRYPTED: u16 = 0x0100;
const TABLE_1: u16 = 0x0200;
/// Where the header says where the piece table (`Clx`) is in the table stream, and its size.
const FC_CLX: usize = 0x01A2;
/// What a character beyond ASCII becomes.
const OTHER: u8 = 0x80;

/// What a `WordDocument` stream holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Its text, as the document shows it.
    Text(Vec<u8>),
    /// Protected by a password: its text is not readable.
    Encrypted,
    /// Not a Word document, or damaged where its text is.
    Unreadable,
}

/// Reads the text of the document whose `WordDocument` stream is `word`; `table` gives the
/// stream of a name (`0Table` or `1Table`).
pub(crate) fn read(word: &[u8], table: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Read {
    if u16_at(word, 0) != Some(IDENT) {
        return Read::Unreadable;
    }
    let Some(flags) = u16_at(word, 0x0A) else {
        return Read::Unreadable;
    };
    if flags & ENCRYPTED != 0 {
        return Read::Encrypted;
    }
    let name: &[u8] = if flags & TABLE_1 != 0 {
        b"1Table"
    } else {
        b"0Table"
    };
    let (Some(table), Some(fc), Some(lcb)) =
        (table(name), u32_at(word, FC_CLX), u32_at(word, FC_CLX + 4))
    else {
        return Read::Unreadable;
    };
    let clx = (fc as usize)
        .checked_add(lcb as usize)
        .and_then(|end| table.get(fc as usize..end));
    match clx.and_then(pieces).and_then(|p| text(word, &p)) {
        Some(text) => Read::Text(text),
        None => Read::Unreadable,
    }
}

/// A piece of the text: how many characters, where in the `WordDocument` stream, and whether
/// a byte each (Windows-1252) or two (UTF-16).
struct Piece {
    chars: usize,
    at: usize,
    compressed: bool,
}

/// The pieces of a `Clx`: its property lists (`Prc`, passed over), then its piece table
/// (`Pcdt`): the character positions where pieces begin and end, then each piece's descriptor.
fn pieces(mut clx: &[u8]) -> Option<Vec<Piece>> {
    while clx.first() == Some(&0x01) {
        let n = usize::from(u16_at(clx, 1)?);
        clx = clx.get(3 + n..)?;
    }
    if clx.first() != Some(&0x02) {
        return None;
    }
    let lcb = u32_at(clx, 1)? as usize;
    let plc = clx.get(5..5usize.checked_add(lcb)?)?;
    if plc.len() < 4 || (plc.len() - 4) % 12 != 0 {
        return None;
    }
    let n = (plc.len() - 4) / 12;
    let cp = |i: usize| u32_at(plc, 4 * i).map(|c| c as usize);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (start, end) = (cp(i)?, cp(i + 1)?);
        let fc = u32_at(plc, 4 * (n + 1) + 8 * i + 2)?;
        let compressed = fc & 0x4000_0000 != 0;
        let fc = (fc & 0x3FFF_FFFF) as usize;
        out.push(Piece {
            chars: end.checked_sub(start)?,
            at: if compressed { fc / 2 } else { fc },
            compressed,
        });
    }
    Some(out)
}

/// The pieces' characters from `word`, written as the document shows them.
fn text(word: &[u8], pieces: &[Piece]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = Writer::default();
    let mut chars = 0usize;
    for p in pieces {
        // (Pieces may name the same bytes: the text is kept to the stream's length.)
        chars = chars.checked_add(p.chars)?;
        if chars > word.len() {
            return None;
        }
        let width = if p.compressed { 1 } else { 2 };
        let bytes = word.get(p.at..p.at.checked_add(p.chars.checked_mul(width)?)?)?;
        if p.compressed {
            for &b in bytes {
                writer.char(u16::from(b), &mut out);
            }
        } else {
            for u in bytes.chunks_exact(2) {
                writer.char(u16::from_le_bytes([u[0], u[1]]), &mut out);
            }
        }
    }
    Some(out)
}

/// Writes a document's characters as text, remembering whether the last one ended a cell,
/// where the text since the last line or cell end begins (a cell's, quoted at its end mark, as
/// a delimited file quotes a field: a comma in it separates nothing), and whether a cell of
/// the row under way has ended (a paragraph's end after it is inside a cell: a space).
#[derive(Default)]
struct Writer {
    after_cell: bool,
    segment: usize,
    in_row: bool,
}

impl Writer {
    fn char(&mut self, c: u16, out: &mut Vec<u8>) {
        let cell = c == 0x07;
        match c {
            // A cell mark right after a cell's: the row's end.
            0x07 if self.after_cell => {
                out.push(b'\n');
                self.in_row = false;
            }
            0x07 => {
                let text = out.split_off(self.segment.min(out.len()));
                out.push(b'"');
                for b in text {
                    if b == b'"' {
                        out.push(b);
                    }
                    out.push(b);
                }
                out.extend_from_slice(b"\"\t");
                self.in_row = true;
            }
            // Paragraph, line and page breaks (inside a row's later cells, spaces).
            0x0B..=0x0D if self.in_row => out.push(b' '),
            0x0B..=0x0D => out.push(b'\n'),
            0x09 => out.push(b'\t'),
            // A non-breaking hyphen; an optional one is not shown.
            0x1E => out.push(b'-'),
            0x1F => {}
            // Fields' marks, pictures and drawn objects, other controls: a space.
            0x00..=0x1F | 0xA0 => out.push(b' '),
            0x20..=0x7E => out.push(c as u8),
            _ => out.push(OTHER),
        }
        self.after_cell = cell && !self.after_cell;
        if cell || out.last() == Some(&b'\n') {
            self.segment = out.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `WordDocument` stream of `pieces` (text, compressed) after a header whose `Clx` is at
    /// `fc` in the table stream, and that table stream (a `Prc` first, as Word writes one).
    pub(crate) fn document(pieces: &[(&str, bool)], encrypted: bool) -> (Vec<u8>, Vec<u8>) {
        let mut word = vec![0u8; 0x400];
        word[0..2].copy_from_slice(&IDENT.to_le_bytes());
        let flags = TABLE_1 | if encrypted { ENCRYPTED } else { 0 };
        word[0x0A..0x0C].copy_from_slice(&flags.to_le_bytes());
        let mut cps = vec![0u32];
        let mut pcds = Vec::new();
        for (text, compressed) in pieces {
            let at = word.len();
            let chars: Vec<u16> = text.encode_utf16().collect();
            let fc = if *compressed {
                word.extend(chars.iter().map(|c| *c as u8));
                (at as u32 * 2) | 0x4000_0000
            } else {
                word.extend(chars.iter().flat_map(|c| c.to_le_bytes()));
                at as u32
            };
            cps.push(cps.last().unwrap() + chars.len() as u32);
            pcds.extend([0u8, 0]);
            pcds.extend(fc.to_le_bytes());
            pcds.extend([0u8, 0]);
        }
        let mut plc: Vec<u8> = cps.iter().flat_map(|c| c.to_le_bytes()).collect();
        plc.extend(pcds);
        let mut table = vec![0xFFu8; 16];
        let fc = table.len() as u32;
        table.extend([0x01, 2, 0, 0xAA, 0xBB]);
        table.push(0x02);
        table.extend((plc.len() as u32).to_le_bytes());
        table.extend(&plc);
        let lcb = table.len() as u32 - fc;
        word[FC_CLX..FC_CLX + 4].copy_from_slice(&fc.to_le_bytes());
        word[FC_CLX + 4..FC_CLX + 8].copy_from_slice(&lcb.to_le_bytes());
        (word, table)
    }

    fn read_doc(word: &[u8], table: &[u8]) -> Read {
        read(word, |name| (name == b"1Table").then(|| table.to_vec()))
    }

    #[test]
    fn pieces_are_read_as_the_text_the_document_shows() {
        // A letter in an 8-bit piece, a table in a 16-bit one (cells, then a row's end), a
        // field, a line break, characters beyond ASCII.
        let (word, table) = document(
            &[
                (
                    "Dear client,\rABA routing number: 021000021\u{b}Account: 12345678\r",
                    true,
                ),
                (
                    "Name\u{7}Card\u{7}\u{7}Zoë\u{7}4111111111111111\u{7}\u{7}\u{13} HYPERLINK x \u{14}link\u{15}\r",
                    false,
                ),
            ],
            false,
        );
        let Read::Text(text) = read_doc(&word, &table) else {
            panic!("not read");
        };
        assert_eq!(
            text,
            b"Dear client,\nABA routing number: 021000021\nAccount: 12345678\n\"Name\"\t\"Card\"\t\n\"Zo\x80\"\t\"4111111111111111\"\t\n  HYPERLINK x  link \n"
                .to_vec()
        );
        // Protected by a password: said, not read.
        let (word, table) = document(&[("secret", true)], true);
        assert_eq!(read_doc(&word, &table), Read::Encrypted);
        // Damaged: a piece beyond the stream, a table stream too short, not a Word document.
        let (mut word, table) = document(&[("text", true)], false);
        assert_eq!(read_doc(&word, &table[..table.len() - 3]), Read::Unreadable);
        let len = word.len();
        word.truncate(len - 2);
        assert_eq!(read_doc(&word, &table), Read::Unreadable);
        assert_eq!(read_doc(b"not a document", &table), Read::Unreadable);
    }

    /// A table's cells are quoted fields: a comma in one separates nothing, a quote in one is
    /// doubled, and a paragraph's end in a row's later cell is a space; the columns after them
    /// stay under their headings.
    #[test]
    fn a_tables_cells_are_quoted_fields() {
        let (word, table) = document(
            &[(
                "Bank\u{7}Routing number\u{7}Account number\u{7}\u{7}\
                 First Example Bank, N.A.\u{7}021000021\u{7}12345678\rsee \"note\"\u{7}\u{7}\
                 Second Bank, Inc.\u{7}011000015\u{7}87654321\u{7}\u{7}\
                 Third Bank, Ltd.\u{7}026009593\u{7}55501234\u{7}\u{7}",
                true,
            )],
            false,
        );
        let Read::Text(text) = read_doc(&word, &table) else {
            panic!("not read");
        };
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        assert_eq!(
            lines[1],
            b"\"First Example Bank, N.A.\"\t\"021000021\"\t\"12345678 see \"\"note\"\"\"\t"
        );
        let found = crate::classify(&text);
        assert_eq!(found.counts.get(crate::Class::AbaRouting), 3);
        assert_eq!(found.counts.get(crate::Class::UsBankAccount), 3);
    }

    proptest::proptest! {
        /// Any bytes where the header and the piece table are: a verdict, never a panic, and
        /// never more text than three times the stream's bytes (a cell's quotes and tab).
        #[test]
        fn any_damage_gives_a_verdict(
            changes in proptest::collection::vec((0usize..0x500, proptest::prelude::any::<u8>()), 0..12),
            in_table in proptest::collection::vec((0usize..80, proptest::prelude::any::<u8>()), 0..12),
        ) {
            let (mut word, mut table) = document(&[("Card 4111111111111111\r", true), ("IBAN", false)], false);
            for (at, b) in changes {
                let n = word.len();
                word[at % n] = b;
            }
            for (at, b) in in_table {
                let n = table.len();
                table[at % n] = b;
            }
            if let Read::Text(text) = read_doc(&word, &table) {
                proptest::prop_assert!(text.len() <= 3 * word.len());
            }
        }
    }
}
