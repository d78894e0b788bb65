//! RTF documents (`.rtf`: Word's and WordPad's rich text, LibreOffice's, what letter and report
//! generators write), read as the text they show. An RTF file is text, but its control words
//! (`\par`, `\pard\plain\s0\rtlch\af12\afs22\alang1025`) stand on the lines between a letter's
//! lines, so that an account number is no longer under its routing number's line, and its
//! tables are rows of control words. Read here: a paragraph's end (`\par`) or a line break
//! (`\line`) is a line's, a table's cell (`\cell`) a quoted field ending in a tab and its row
//! (`\row`) a line end, `\tab` a tab, `\'hh` and `\uN` characters (ASCII as itself, others as
//! a byte that is no letter, digit or delimiter, their fallback skipped); destinations that show
//! no text are passed over (`{\*\…}`, the font, colour and style tables, pictures, objects,
//! fields' instructions, bookmarks, the document's information), and `\binN` data too.
//!
//! Pure: RTF in, text out, a chunk at a time (a control word cut between chunks is carried).
//! Bounded: a control word's name to [`MAX_WORD`] letters and its number to ten digits; groups
//! deeper than [`MAX_GROUPS`] are passed over whole. Never here: what the text holds (the
//! document's scanner reads it).

/// Most letters of a control word's name kept (longer ones are no word read here).
const MAX_WORD: usize = 32;
/// Most groups open at once whose state is kept; a group deeper shows nothing.
const MAX_GROUPS: usize = 256;
/// What a character beyond ASCII becomes (as in [`crate::doc`]).
const OTHER: u8 = 0x80;

/// Whether `head` (a file's first bytes) is an RTF document.
pub(crate) fn magic(head: &[u8]) -> bool {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = body.iter().position(|c| !c.is_ascii_whitespace());
    start.is_some_and(|s| body[s..].starts_with(b"{\\rtf"))
}

/// Destinations whose text the document does not show.
const HIDDEN: [&[u8]; 24] = [
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"object",
    b"objdata",
    b"fldinst",
    b"themedata",
    b"colorschememapping",
    b"latentstyles",
    b"datastore",
    b"xmlnstbl",
    b"listtable",
    b"listoverridetable",
    b"rsidtbl",
    b"generator",
    b"filetbl",
    b"revtbl",
    b"pgdsctbl",
    b"bkmkstart",
    b"bkmkend",
    b"shppict",
    b"nonshppict",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Text,
    /// After a backslash.
    Escape,
    /// A control word's letters, then its number.
    Word,
    /// `\'`: the hex digits of a byte (the first, once read).
    Hex(Option<u8>),
    /// `\binN`: bytes of data still to pass over.
    Binary(u64),
}

/// An RTF document being read as text.
pub(crate) struct RtfText {
    lex: Lex,
    word: [u8; MAX_WORD],
    word_len: usize,
    /// The word's number: its digits so far, its sign, whether any came.
    number: i64,
    negative: bool,
    digits: u8,
    /// Groups open, and the depth at and below which nothing shows (a hidden destination).
    depth: usize,
    hidden_from: Option<usize>,
    /// The next control word or symbol is the first of its group (`{\*`, `{\fonttbl`).
    group_start: bool,
    /// Characters a `\uN` stands for in place of its fallback: how many follow it (`\ucN`, per
    /// group, 1 unless said), and how many are still to be passed over.
    uc: [u8; MAX_GROUPS],
    skip: u32,
    /// In a table's paragraph (`\intbl`), and a cell begun there.
    in_table: bool,
    cell_open: bool,
}

impl Default for RtfText {
    fn default() -> Self {
        RtfText {
            lex: Lex::Text,
            word: [0; MAX_WORD],
            word_len: 0,
            number: 0,
            negative: false,
            digits: 0,
            depth: 0,
            hidden_from: None,
            group_start: false,
            uc: [1; MAX_GROUPS],
            skip: 0,
            in_table: false,
            cell_open: false,
        }
    }
}

impl RtfText {
    /// The text `rtf` (the next bytes of the document) shows, appended to `out`.
    pub(crate) fn convert(&mut self, rtf: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < rtf.len() {
            let b = rtf[i];
            match self.lex {
                Lex::Binary(left) => {
                    let n = (left.min((rtf.len() - i) as u64)) as usize;
                    i += n;
                    let left = left - n as u64;
                    self.lex = if left == 0 {
                        Lex::Text
                    } else {
                        Lex::Binary(left)
                    };
                    continue;
                }
                Lex::Text => match b {
                    b'\\' => self.lex = Lex::Escape,
                    b'{' => self.open_group(),
                    b'}' => self.close_group(),
                    b'\r' | b'\n' => {}
                    _ => {
                        self.group_start = false;
                        self.character(b, out);
                    }
                },
                Lex::Escape => {
                    if b.is_ascii_alphabetic() {
                        self.lex = Lex::Word;
                        self.word[0] = b;
                        self.word_len = 1;
                        self.number = 0;
                        self.negative = false;
                        self.digits = 0;
                    } else {
                        self.lex = Lex::Text;
                        self.symbol(b, out);
                    }
                }
                Lex::Word => {
                    if b.is_ascii_alphabetic() && self.digits == 0 && !self.negative {
                        if self.word_len < MAX_WORD {
                            self.word[self.word_len] = b;
                        }
                        self.word_len += 1;
                    } else if b == b'-' && self.digits == 0 && !self.negative {
                        self.negative = true;
                    } else if b.is_ascii_digit() && self.digits < 10 {
                        self.number = self.number * 10 + i64::from(b - b'0');
                        self.digits += 1;
                    } else {
                        // The word ends; a space after it is its delimiter, anything else
                        // is read again.
                        self.lex = Lex::Text;
                        self.word_ended(out);
                        if b != b' ' {
                            continue;
                        }
                    }
                }
                Lex::Hex(first) => {
                    let Some(v) = (b as char).to_digit(16) else {
                        // Not a byte after all: read again as text.
                        self.lex = Lex::Text;
                        continue;
                    };
                    match first {
                        None => self.lex = Lex::Hex(Some(v as u8)),
                        Some(hi) => {
                            self.lex = Lex::Text;
                            let c = hi << 4 | v as u8;
                            self.character(if c.is_ascii() { c } else { OTHER }, out);
                        }
                    }
                }
            }
            i += 1;
        }
    }

    fn open_group(&mut self) {
        if self.depth + 1 < MAX_GROUPS {
            self.uc[self.depth + 1] = self.uc[self.depth];
        } else {
            self.hidden_from.get_or_insert(self.depth + 1);
        }
        self.depth += 1;
        self.group_start = true;
    }

    fn close_group(&mut self) {
        if self.hidden_from == Some(self.depth) {
            self.hidden_from = None;
        }
        self.depth = self.depth.saturating_sub(1);
        self.group_start = false;
        self.skip = 0;
    }

    fn hidden(&self) -> bool {
        self.hidden_from.is_some()
    }

    /// A character of the text (unless hidden, or the fallback of a `\uN`).
    fn character(&mut self, c: u8, out: &mut Vec<u8>) {
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        if self.hidden() {
            return;
        }
        if self.in_table && !self.cell_open {
            out.push(b'"');
            self.cell_open = true;
        }
        if c == b'"' && self.cell_open {
            out.push(c);
        }
        out.push(c);
    }

    /// A control symbol: `\` and a byte that is not a letter.
    fn symbol(&mut self, b: u8, out: &mut Vec<u8>) {
        let first = std::mem::take(&mut self.group_start);
        match b {
            // `{\*\dest …}`: a destination a reader that does not know it passes over.
            b'*' if first => {
                self.hidden_from.get_or_insert(self.depth);
            }
            b'\'' => self.lex = Lex::Hex(None),
            b'\\' | b'{' | b'}' => self.character(b, out),
            b'~' => self.character(b' ', out),
            b'_' => self.character(b'-', out),
            // A paragraph's end written as `\` and a line end (as `\par`).
            b'\n' | b'\r' => self.paragraph(out),
            b'\t' => self.character(b'\t', out),
            _ => {}
        }
    }

    /// A paragraph's end: a line end, a space inside a table's cell.
    fn paragraph(&mut self, out: &mut Vec<u8>) {
        if !self.hidden() {
            let c = if self.in_table { b' ' } else { b'\n' };
            if self.in_table && !self.cell_open {
                return;
            }
            out.push(c);
        }
    }

    fn word_ended(&mut self, out: &mut Vec<u8>) {
        let first = std::mem::take(&mut self.group_start);
        let name_len = self.word_len.min(MAX_WORD);
        let number = if self.negative {
            -self.number
        } else {
            self.number
        };
        let has_number = self.digits > 0;
        // `\binN`'s data follows whatever the group.
        let word = self.word;
        let name = &word[..name_len];
        if name == b"bin" {
            if has_number && number > 0 {
                self.lex = Lex::Binary(number as u64);
            }
            return;
        }
        if self.word_len > MAX_WORD {
            return;
        }
        if first && HIDDEN.contains(&name) {
            self.hidden_from.get_or_insert(self.depth);
            return;
        }
        match name {
            b"par" | b"line" | b"sect" | b"page" => self.paragraph(out),
            b"tab" => self.character(b'\t', out),
            b"intbl" => self.in_table = true,
            b"pard" => self.in_table = false,
            b"cell" | b"nestcell" if !self.hidden() => {
                if !self.cell_open {
                    out.push(b'"');
                }
                out.extend_from_slice(b"\"\t");
                self.cell_open = false;
            }
            b"row" | b"nestrow" => {
                if !self.hidden() {
                    out.push(b'\n');
                }
                self.cell_open = false;
            }
            b"uc" if has_number => {
                if let Some(uc) = self.uc.get_mut(self.depth) {
                    *uc = number.clamp(0, 8) as u8;
                }
            }
            b"u" if has_number => {
                // A signed 16-bit code unit.
                let unit = number.rem_euclid(65536);
                let c = u8::try_from(unit)
                    .ok()
                    .filter(u8::is_ascii)
                    .unwrap_or(OTHER);
                self.character(c, out);
                self.skip = u32::from(self.uc.get(self.depth).copied().unwrap_or(1));
            }
            b"emdash" | b"endash" => self.character(b'-', out),
            b"emspace" | b"enspace" | b"qmspace" | b"bullet" => self.character(b' ', out),
            b"lquote" | b"rquote" => self.character(b'\'', out),
            b"ldblquote" | b"rdblquote" => self.character(b'"', out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rtf: &str, chunk: usize) -> String {
        let mut r = RtfText::default();
        let mut out = Vec::new();
        for c in rtf.as_bytes().chunks(chunk) {
            r.convert(c, &mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// As LibreOffice Writer and Word write a letter and a table: the font, colour and style
    /// tables, a `{\*\…}` destination, a field's instruction, paragraphs of control words, a
    /// hex-escaped and a Unicode character with its fallback, a table of two rows (a comma in a
    /// cell, an empty cell), `\binN` data holding braces.
    #[test]
    fn rtf_reads_as_the_document_shows_it() {
        let rtf = concat!(
            "{\\rtf1\\ansi\\deff3\\adeflang1025\n",
            "{\\fonttbl{\\f0\\froman\\fprq2\\fcharset0 Times New Roman 021000021;}}\n",
            "{\\colortbl;\\red0\\green0\\blue0;}{\\stylesheet{\\s0\\snext0 Normal;}}\n",
            "{\\*\\generator LibreOffice/7.4.7.2$Linux_X86_64 LibreOffice_project/40$Build-2}\n",
            "{\\info{\\creatim\\yr2026\\mo12\\dy5}}\\deftab709\n",
            "\\pard\\plain \\s0\\rtlch\\af12\\afs22\\alang1025 \\ltrch\\lang1033{\\loch\n",
            "ABA routing number: 021000021}\n",
            "\\par \\pard\\plain \\s0\\rtlch\\af12\\afs22\\alang1025 {\\loch\n",
            "Account number: 12345678}\n",
            "\\par \\pard\\plain {\\field{\\*\\fldinst HYPERLINK \"mailto:x@y.example\" }{\\fldrslt Caf\\'e9 \\u8364\\'80 5}}\n",
            "\\par \\trowd\\cellx2000\\cellx4000\\pard\\plain\\intbl Name\\cell SSN\\cell\\row\n",
            "\\trowd\\pard\\intbl Doe, \"J\"\\par Jr\\cell 219-09-9998\\cell\\cell\\row\n",
            "\\pard\\par {\\*\\blipuid 0}{\\pict\\bin4 {}}x} after\\tab end\\line\\~last\\par}",
        );
        let want = "ABA routing number: 021000021\nAccount number: 12345678\nCaf\u{FFFD} \u{FFFD} 5\n\"Name\"\t\"SSN\"\t\n\"Doe, \"\"J\"\" Jr\"\t\"219-09-9998\"\t\"\"\t\n\n after\tend\n last\n";
        for chunk in [1, 2, 3, 5, 64, 4096] {
            assert_eq!(text(rtf, chunk), want, "chunks of {chunk}");
        }
        assert!(magic(b"{\\rtf1\\ansi"));
        assert!(magic(b"\xEF\xBB\xBF \n{\\rtf1"));
        assert!(!magic(b"{\"rtf\": 1}"));
    }

    proptest::proptest! {
        /// Any bytes in any chunks: the same text as at once, and no more of it than came in
        /// (a cell's quotes, twice a quote, aside).
        #[test]
        fn any_rtf_in_any_chunks(
            bytes in proptest::collection::vec(proptest::sample::select(b"{}\\*'0a9fFparlineintblcellrowubin1-2 \"x\n".to_vec()), 0..300),
            size in 1usize..17,
        ) {
            let whole = {
                let mut r = RtfText::default();
                let mut out = Vec::new();
                r.convert(&bytes, &mut out);
                out
            };
            let mut r = RtfText::default();
            let mut out = Vec::new();
            for c in bytes.chunks(size) {
                r.convert(c, &mut out);
            }
            proptest::prop_assert_eq!(&out, &whole);
            proptest::prop_assert!(out.len() <= bytes.len() * 3);
        }
    }
}
