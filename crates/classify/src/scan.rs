//! The streaming scanner: bytes in as they arrive (in chunks of any size), counts per data class
//! out at the end. It holds at most one partial token between chunks ([`MAX_TOKEN`] bytes) and
//! the first [`SNIFF_LEN`] bytes of the file (to recognise its format), so memory is bounded
//! whatever the file's size. A ZIP or tar archive, a gzip or bzip2 file and UTF-16 text are
//! read through a layer first (the `archive` and `tar` modules, [`crate::encoding`]).
//!
//! How a candidate becomes a count:
//! - the text is cut into segments at bytes no candidate contains (line ends, field separators,
//!   quotes, markup); within a segment, runs of digits joined by single spaces or dashes, and
//!   alphanumeric words, are candidates;
//! - each candidate must pass its validator ([`crate::validate`]);
//! - a form that random data or other identifiers also take (a bare run of 13-19 digits, a bare
//!   9-digit number, an 8-letter word) counts only in a context that names the class: a keyword
//!   earlier on the same line (`card`, `routing`, `ssn`, `bic`, an XML tag such as `<BICFI>`, a
//!   SWIFT MT field such as `:57A:`; in prose, the last two words of a line that a sentence
//!   wraps from) or the column's header in a delimited file. Grouped forms
//!   (`4111 1111 1111 1111`, `123-45-6789`) and self-checking ones (IBANs, NINOs) count alone;
//! - bare card-length numbers that nothing names are weighed per column (field, or offset in a
//!   fixed-width line) and count at the end when their column validates throughout.
//!
//! Here: the scanner, its text loop, the contexts and the end of a file. Its parts: `layers`
//! (containers and encodings before the text), `numbers`, `words` (IBANs, BICs, NINOs),
//! `email`, `keywords`, `pairing` (the account beside a routing number), `records` (NACHA and
//! BAI2 by position), `classes` (the result and its stored form).

mod classes;
mod email;
mod keywords;
mod layers;
mod numbers;
mod pairing;
mod records;
mod words;

pub use classes::{Class, Classification, Counts, MAX_ENCODED, RULES, Summary};
pub(crate) use keywords::{
    ACCOUNT, BIC, CARD, IBAN, ROUTING, SSN, abbreviations, account_abbreviation, keyword,
};
pub(crate) use numbers::{evident, routing_evident};

use crate::account;
use crate::bitmap::{Bitmap, StepBack, Stop};
use crate::format::{Format, sniff_layout};
use email::Domains;
use keywords::word_context;
use layers::Container;
use numbers::RoutingColumn;
use pairing::Accounts;
use records::Records;

/// Longest candidate kept across a chunk boundary (an e-mail address's 254 bytes, rounded up).
pub const MAX_TOKEN: usize = 256;
/// Columns of a delimited file's header remembered.
const MAX_COLUMNS: usize = 256;
/// Most bytes carried between chunks.
pub const MAX_CARRY: usize = 4096;
/// Columns whose bare card-length numbers are weighed ([`Scanner::column_candidate`]).
const MAX_COLUMN_EVIDENCE: usize = 64;
/// Bare numbers a column needs before its valid ones count (95% of them valid) …
pub(crate) const MIN_COLUMN_CANDIDATES: u64 = 16;
/// … or before they count when every one is valid (random numbers of card length pass the
/// issuer and Luhn checks about 3% of the time: four in a row, about one in a million).
pub(crate) const MIN_COLUMN_ALL_VALID: u64 = 4;
/// Most bytes of a line kept for a format read by position (a NACHA record's 94).
const RECORD: usize = 94;
/// Most bytes scanned as one text (its bitmaps take 80 bytes per 64: 20 KiB for a piece).
const MAX_PIECE: usize = 16 << 10;
/// Bytes of a file's beginning used to recognise its format.
pub const SNIFF_LEN: usize = 4096;

/// Bytes that never occur inside a candidate: segments are cut there.
const fn hard_delimiters() -> [bool; 256] {
    let mut t = [false; 256];
    let list = b"\n\r\t,;|\"'<>()[]{}=:/\\!?*#&$^~`";
    let mut i = 0;
    while i < list.len() {
        t[list[i] as usize] = true;
        i += 1;
    }
    t
}
static HARD: [bool; 256] = hard_delimiters();

/// The scanner of one file.
pub struct Scanner {
    /// The file's first ten bytes (until there are ten), and what they say: a ZIP archive,
    /// whose entries are read by scanners of their own; gzip or bzip2, whose contents are
    /// inflated before what follows; else the contents themselves.
    raw_lead: crate::encoding::Lead<10>,
    zip: Option<Box<crate::archive::Zip>>,
    compressed: Option<crate::encoding::Compressed>,
    /// The contents (inflated where they are compressed) are a container of files, which
    /// reads them after the head itself ([`Container`]).
    container: Option<Container>,
    /// How deep in archives the file is (0: an upload itself; an archive's entry one more than
    /// the archive): from [`crate::encoding::MAX_DEPTH`] on, an archive or compressed file is
    /// not opened.
    depth: u8,
    /// What the file's layers may still read, shared with the archive it is in (made when the
    /// file is found to be one).
    budget: Option<crate::encoding::Budget>,
    /// A scanner of a spreadsheet's part ([`Scanner::in_workbook`]).
    workbook: bool,
    /// Bytes fed so far, and how many had been when the contents were found not to be text.
    raw_fed: u64,
    verdict_at: Option<u64>,
    /// The contents' first two bytes (until there are two), and the encoding they say: UTF-16 by
    /// its byte order mark, narrowed to a byte per code unit before the scan (`narrowed`: the
    /// buffer for it), else the bytes as they are.
    lead: crate::encoding::Lead<{ crate::encoding::UTF16_LEAD }>,
    utf16: Option<crate::encoding::Utf16>,
    narrowed: Vec<u8>,
    /// EBCDIC text, translated to ASCII before the scan (`translated`: the buffer for it),
    /// told from the head.
    ebcdic: Option<crate::encoding::Ebcdic>,
    translated: Vec<u8>,
    /// The beginning of the file's text, until [`SNIFF_LEN`] bytes or the end.
    head: Vec<u8>,
    /// Text read before the file's contents, once they begin (inflated where they are
    /// compressed): a table's header its file lacks ([`Scanner::contents_begin_with`]).
    contents_header: Option<Vec<u8>>,
    formats: Option<Vec<Format>>,
    /// A format whose records are also read by position ([`Scanner::record_end`]).
    records: Option<Records>,
    /// An X12 interchange, also read segment by segment ([`crate::x12`]).
    x12: Option<Box<crate::x12::Interchange>>,
    /// Fedwire messages, also read tag by tag ([`crate::fedwire`]).
    fedwire: Option<Box<crate::fedwire::Messages>>,
    /// BAI2: whether the current group's originator is a valid routing number (the bank the
    /// group's accounts are at).
    bai2_bank: bool,
    /// Not text: nothing more is scanned.
    binary: bool,
    /// A partial segment from the end of the previous chunk.
    carry: Vec<u8>,
    counts: Counts,
    /// The values counted, as sketches of how many differ ([`Scanner::found`]).
    distinct: crate::Distinct,
    /// Line state: the field index; the context named since the last candidate on the line
    /// (a keyword applies to the next number or code only); whether this is the first line
    /// (the header of a delimited file).
    field: usize,
    pending: u8,
    /// The last text ended with a line end that may be a sentence's wrap, told by the next
    /// text's first byte ([`Scanner::runs_on`]).
    run_on: bool,
    first_line: bool,
    /// Lines still to come before a table's header, where a title's lines are above it.
    lines_to_header: usize,
    /// What ends a field: a tab-, pipe- or semicolon-separated table's delimiter alone, else
    /// any separator.
    delimiter: account::Delimiter,
    /// The text is a document's, as it shows it (a page's, a word processor's): a table in it
    /// ends at the first line that is not a row.
    document: bool,
    /// Line ends are watched ([`Scanner::line_ended_in_table`]): a table's header is still to
    /// come, or a document's table may end.
    lines_watched: bool,
    /// A delimited table ([`crate::format::Layout`]): its first line's words name the
    /// columns of the lines after.
    table: bool,
    /// Markup or JSON other than the formats read by their tags (the head's first byte is `<`,
    /// `{` or `[`): line ends there are layout between a routing number and its account.
    layout: bool,
    /// A delimited table whose fields may be quoted (its head has a `"`): separators inside
    /// quotes are not counted as fields' ends; whether the last text ended inside quotes.
    quoted: bool,
    in_quotes: bool,
    /// A fixed-width table's columns: where each begins in a line and what its heading names
    /// ([`crate::format::Layout`]); empty for other files.
    fixed: Vec<(usize, u8)>,
    header: Vec<u8>,
    /// The current line's bytes in the texts before this one, for a format read by position
    /// (at most [`RECORD`]: one NACHA record).
    record: [u8; RECORD],
    record_len: usize,
    /// The bitmaps of the text being scanned (the buffer is kept between texts).
    bitmap: Bitmap,
    /// Where in the text being scanned the words not yet looked up as keywords begin.
    words_from: usize,
    /// Where in the text being scanned `field` was counted to.
    field_from: usize,
    /// Offsets in the file: of the text being scanned, and of the current line's start.
    text_start: u64,
    line_start: u64,
    /// Per column: bare card-length numbers seen, how many validate, and those, sketched.
    columns: Vec<((u16, u16), u64, u64, crate::Distinct)>,
    /// A delimited table whose routing numbers or SSNs lost their leading zero (saved by a
    /// spreadsheet): it stops at its numbers of eight digits too, read in those columns
    /// ([`Scanner::number_without_its_zero`]).
    zeros_dropped: bool,
    /// A delimited table without a header: its first line held a nine-digit number, a record's
    /// value, not a heading. Its bare nine-digit numbers are weighed per column
    /// ([`Scanner::routing_evidence`]).
    headerless: bool,
    routing_columns: Vec<RoutingColumn>,
    /// A routing number's column and the bytes after it, where its row goes on in the next
    /// text (at most [`account::FAR`]).
    routing_pending: Option<(usize, account::NextField, Vec<u8>)>,
    /// The text being scanned is the file's last.
    ending: bool,
    /// The tenant's own patterns, and their counts so far.
    patterns: Option<std::sync::Arc<crate::Patterns>>,
    custom: Vec<u64>,
    /// The last e-mail domains judged, with the bytes the judgement read (see [`Domains`]).
    domains: Domains,
    /// What US account numbers need carried from text to text.
    accounts: Accounts,
    /// Work that may outgrow its input is left for [`Scanner::resume`] ([`Scanner::defer`]);
    /// the bytes fed since such a layer was found, kept for it.
    defer: bool,
    pub(crate) deferred: Option<Vec<u8>>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Self {
            raw_lead: Default::default(),
            zip: None,
            depth: 0,
            budget: None,
            workbook: false,
            compressed: None,
            container: None,
            raw_fed: 0,
            verdict_at: None,
            lead: Default::default(),
            utf16: None,
            narrowed: Vec::new(),
            ebcdic: None,
            translated: Vec::new(),
            head: Vec::new(),
            contents_header: None,
            formats: None,
            records: None,
            x12: None,
            fedwire: None,
            bai2_bank: false,
            binary: false,
            carry: Vec::new(),
            counts: Counts::default(),
            distinct: crate::Distinct::default(),
            field: 0,
            pending: 0,
            run_on: false,
            first_line: true,
            lines_to_header: 0,
            delimiter: account::Delimiter::ANY,
            document: false,
            lines_watched: false,
            table: false,
            quoted: false,
            in_quotes: false,
            layout: false,
            fixed: Vec::new(),
            header: Vec::new(),
            record: [0; RECORD],
            record_len: 0,
            accounts: Accounts::default(),
            bitmap: Bitmap::default(),
            words_from: 0,
            field_from: 0,
            text_start: 0,
            line_start: 0,
            columns: Vec::new(),
            headerless: false,
            zeros_dropped: false,
            routing_columns: Vec::new(),
            routing_pending: None,
            ending: false,
            patterns: None,
            custom: Vec::new(),
            domains: Domains::default(),
            defer: false,
            deferred: None,
        }
    }

    /// Makes it a scanner that does no work that may outgrow its input: once the file shows a
    /// layer other than its text (compressed, an archive, a document or mailbox whose parts
    /// are read apart), what follows is kept, not read, until [`Scanner::resume`]. A server
    /// scanning an upload in the upload's own requests hands such a file to a thread of its
    /// own ([`Scanner::wants_thread`]): a compression bomb of a few kilobytes would otherwise
    /// hold the request for seconds.
    pub fn defer(&mut self) {
        self.defer = true;
    }

    /// Whether it keeps bytes for a thread of their own ([`Scanner::defer`]).
    pub fn wants_thread(&self) -> bool {
        self.deferred.is_some()
    }

    /// Reads what was kept ([`Scanner::defer`]) and reads as it is fed from now on.
    pub fn resume(&mut self) {
        self.defer = false;
        if let Some(kept) = self.deferred.take() {
            self.feed_layers(&kept);
        }
    }

    /// A scanner that also counts the tenant's own `patterns`.
    pub fn with_patterns(patterns: Option<std::sync::Arc<crate::Patterns>>) -> Self {
        let mut s = Self::new();
        if let Some(p) = patterns.filter(|p| !p.is_empty()) {
            s.custom = vec![0; p.len()];
            s.patterns = Some(p);
        }
        s
    }

    /// Takes the next bytes of the file.
    pub fn feed(&mut self, data: &[u8]) {
        self.raw_fed += data.len() as u64;
        // Not text: nothing more is read (nor inflated).
        if self.binary {
            return;
        }
        match self.deferred.as_mut() {
            Some(kept) => kept.extend_from_slice(data),
            None => self.feed_layers(data),
        }
    }

    /// About how much memory it keeps between chunks, its layers' (a compressed file's
    /// decoder, an archive's entry and workbook) included: what a caller holding many scanners
    /// at once (one per upload) weighs against its budget. A text's scanner keeps some 40 KiB;
    /// a bzip2 file's, 3.7 MB; a workbook's, up to some 13 MiB of cells.
    pub fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        let a = &self.accounts;
        std::mem::size_of::<Self>()
            + held(&self.head)
            + held(&self.carry)
            + held(&self.narrowed)
            + held(&self.translated)
            + held(&self.header)
            + held(&self.fixed)
            + held(&self.columns)
            + self.columns.iter().map(|c| c.3.held_bytes()).sum::<usize>()
            + held(&self.routing_columns)
            + self
                .routing_columns
                .iter()
                .map(RoutingColumn::held_bytes)
                .sum::<usize>()
            + a.tagged_values.held_bytes()
            + self.distinct.held_bytes()
            + held(&self.custom)
            + self.x12.as_ref().map_or(0, |x| x.held_bytes())
            + self.fedwire.as_ref().map_or(0, |f| f.held_bytes())
            + self.bitmap.held_bytes()
            + held(&a.tail)
            + held(&a.tagged_tail)
            + a.tagged_cut.as_ref().map_or(0, held)
            + self.zip.as_ref().map_or(0, |z| z.held_bytes())
            + self.container.as_ref().map_or(0, Container::held_bytes)
            + self.compressed.as_ref().map_or(0, |c| c.held_bytes())
            + self.deferred.as_ref().map_or(0, held)
    }

    /// Whether its result is settled whatever follows: the file's beginning says it is not
    /// text, so nothing more is scanned.
    pub fn settled(&self) -> bool {
        self.binary
    }

    /// How many of the file's first bytes the verdict of [`Scanner::settled`] is made on
    /// ([`SNIFF_LEN`] bytes of text: twice as many and the byte order mark in UTF-16; in a
    /// compressed file, the compressed bytes read by then). A change to them can change it; a change
    /// after them cannot.
    pub fn verdict_len(&self) -> u64 {
        if self.compressed.is_some() {
            // The compressed bytes read when it was made (up to the end of that chunk).
            self.verdict_at.unwrap_or(self.raw_fed)
        } else if self.utf16.is_some() {
            2 + 2 * SNIFF_LEN as u64
        } else {
            SNIFF_LEN as u64
        }
    }

    /// The end of the file: what it holds.
    pub fn finish(mut self) -> Classification {
        self.resume();
        if let Some(zip) = self.zip.take() {
            return Classification {
                rules: RULES,
                ..zip.finish()
            };
        }
        // A file of fewer than ten bytes: they are its contents. A compressed file's last
        // contents.
        if !self.raw_lead.whole() {
            let (bytes, n) = self.raw_lead.short();
            self.feed_contents(&bytes[..n]);
        }
        let mut cut = false;
        // (Contents found not to be text were not inflated further: not a part, unknown.)
        if let Some(mut compressed) = self.compressed.take() {
            if !self.binary {
                compressed.finish(|contents| self.feed_contents(contents));
                cut = compressed.cut();
            }
            self.compressed = Some(compressed);
        }
        // Contents shorter than what tells UTF-16: what they are, then their text.
        if !self.lead.whole() {
            let (bytes, n) = self.lead.short();
            self.lead_text(&bytes[..n]);
        }
        if self.formats.is_none() {
            self.start();
        }
        // A container read whole at its end or as it came: what it holds, with the compressed
        // layer it came through (a `.tar.gz`, an `.xls.gz`).
        if let Some(container) = self.container.take() {
            let mut found = container.finish(self.patterns.clone());
            let in_part = found.formats.last() == Some(&Format::ScannedInPart);
            if in_part {
                found.formats.pop();
            }
            if let Some(compressed) = &self.compressed {
                found.formats.push(compressed.format());
            }
            if cut || in_part {
                found.formats.push(Format::ScannedInPart);
            }
            return Classification {
                rules: RULES,
                ..found
            };
        }
        self.scan(&[], true);
        let formats_read = [
            self.fedwire.take().map(|f| f.finish()),
            self.x12.take().map(|x| x.finish()),
        ];
        for (counts, distinct) in formats_read.into_iter().flatten() {
            for (class, n) in counts.present() {
                self.counts.add(class, n);
            }
            self.distinct.merge(&distinct);
        }
        // The file ended before the search after a routing number decided: so did its line.
        if let Some((_, beside)) = self.accounts.after.take() {
            self.line_ended(beside, &[], 0, true);
        }
        if let Some(onward) = self.accounts.onward.take() {
            self.search_onward(onward, &[], true);
        }
        // An ISO 20022 or SWIFT MT message whose banks are named by ABA routing numbers: its
        // accounts of a US account's form are accounts at those banks, at most one per routing
        // number (each account is held at a bank; a message that also pays through other
        // clearing systems has accounts there too).
        let routings = self.counts.get(Class::AbaRouting);
        let tagged = self.accounts.tagged_found.min(routings);
        self.counts.add(Class::UsBankAccount, tagged);
        // (Their values sketched: where fewer count than were found, as that many.)
        if tagged > 0 {
            let found = &self.accounts.tagged_values;
            self.distinct.merge_as(found, Class::UsBankAccount, tagged);
        }
        for (_, candidates, valid, values) in &self.columns {
            if evident(*candidates, *valid) {
                self.counts.add(Class::CardNumber, *valid);
                self.distinct.merge(values);
            }
        }
        // A headerless table's columns of routing numbers, and their rows' accounts.
        for c in &self.routing_columns {
            if routing_evident(c.seen, c.valid) {
                self.counts.add(Class::AbaRouting, c.valid);
                self.distinct.merge(&c.values);
                let accounts = c.accounts();
                self.counts.add(Class::UsBankAccount, accounts);
                if accounts > 0 {
                    self.distinct
                        .merge_as(c.account_values(), Class::UsBankAccount, accounts);
                }
            }
        }
        let custom = match &self.patterns {
            Some(p) => self
                .custom
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (p.name(i).to_owned(), *n))
                .collect(),
            None => Default::default(),
        };
        let mut formats = self.formats.unwrap_or_default();
        if let Some(compressed) = &self.compressed {
            formats.push(compressed.format());
        }
        if cut {
            formats.push(Format::ScannedInPart);
        }
        Classification {
            counts: self.counts,
            distinct: self.distinct,
            formats,
            custom,
            rules: RULES,
        }
    }

    /// Recognises the format from the head, then scans the head (or hands it to the container
    /// the head begins).
    fn start(&mut self) {
        if self.depth < crate::encoding::MAX_DEPTH
            && let Some(mut container) = self.container_of_head()
        {
            container.feed(&std::mem::take(&mut self.head));
            self.container = Some(container);
            self.formats = Some(Vec::new());
            return;
        }
        // EBCDIC text is read as the ASCII it says, its head too.
        if let Some(mut ebcdic) = crate::encoding::Ebcdic::detect(&self.head) {
            let mut ascii = Vec::with_capacity(self.head.len() + 64);
            ebcdic.translate(&self.head, &mut ascii);
            self.head = ascii;
            self.ebcdic = Some(ebcdic);
        }
        let (mut formats, layout) = sniff_layout(&self.head);
        if self.ebcdic.is_some() {
            formats.push(Format::Ebcdic);
        }
        self.table = layout.table;
        self.delimiter = match layout.delimiter.other_than_comma() {
            Some(d) => account::Delimiter::only(d),
            None => account::Delimiter::ANY,
        };
        self.lines_to_header = layout.header_line;
        self.first_line = layout.header_line == 0;
        self.lines_watched = self.lines_to_header > 0 || self.document && self.table;
        self.fixed = layout.fixed;
        self.zeros_dropped = layout.zeros_dropped;
        self.quoted = self.table && memchr::memchr(b'"', &self.head).is_some();
        self.accounts.tagged = if formats.iter().any(|f| matches!(f, Format::Iso20022(_))) {
            Some(account::Tagged::Iso20022)
        } else if formats.iter().any(|f| matches!(f, Format::SwiftMt(_))) {
            Some(account::Tagged::SwiftMt)
        } else {
            None
        };
        self.records = if formats.contains(&Format::Nacha) {
            Some(Records::Nacha)
        } else if formats.contains(&Format::Bai2) {
            Some(Records::Bai2)
        } else {
            None
        };
        self.binary = formats.contains(&Format::Binary);
        if formats.iter().any(|f| matches!(f, Format::X12(_))) {
            self.x12 =
                crate::x12::header(&self.head).map(|h| Box::new(crate::x12::Interchange::new(h)));
        }
        if formats.contains(&Format::Fedwire) {
            self.fedwire = Some(Box::default());
        }
        let body = self
            .head
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.head);
        // (Fedwire's tags are in braces too, but no JSON's.)
        self.layout = self.accounts.tagged.is_none()
            && self.fedwire.is_none()
            && matches!(
                body.iter().find(|c| !c.is_ascii_whitespace()),
                Some(b'<' | b'{' | b'[')
            );
        self.formats = Some(formats);
        let head = std::mem::take(&mut self.head);
        self.scan(&head, false);
    }

    /// Scans `data` after the carried partial segment; keeps the new partial segment unless
    /// `end`.
    fn scan(&mut self, data: &[u8], end: bool) {
        if self.binary {
            return;
        }
        if let Some(x12) = self.x12.as_mut() {
            x12.feed(data);
        }
        if let Some(fedwire) = self.fedwire.as_mut() {
            fedwire.feed(data);
        }
        let cut = if end {
            data.len()
        } else {
            self.cut_point(data)
        };
        let (complete, rest) = data.split_at(cut);
        if complete.is_empty() && !end {
            self.carry.extend_from_slice(rest);
            return;
        }
        self.ending = end;
        if self.carry.is_empty() {
            self.text(complete);
        } else {
            // The carried bytes and the first segment of this chunk are one segment.
            let first_end = complete
                .iter()
                .position(|b| HARD[*b as usize])
                .map_or(complete.len(), |i| i + 1);
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&complete[..first_end]);
            self.ending = false;
            self.text(&joined);
            self.ending = end;
            self.text(&complete[first_end..]);
            joined.clear();
            self.carry = joined;
        }
        self.carry.extend_from_slice(rest);
    }

    /// Where to stop scanning `data` so that no candidate is cut in two: after its last hard
    /// delimiter; or, when more than [`MAX_TOKEN`] bytes follow that, after a space no
    /// candidate can span (one next to a lower-case letter or another space); failing both,
    /// [`MAX_TOKEN`] bytes before the end. What follows the cut is carried (at most
    /// [`MAX_CARRY`] bytes).
    fn cut_point(&self, data: &[u8]) -> usize {
        let hard = data
            .iter()
            .rposition(|b| HARD[*b as usize])
            .map_or(0, |i| i + 1);
        let carried = if hard == 0 { self.carry.len() } else { 0 };
        if data.len() - hard + carried <= MAX_TOKEN {
            return hard;
        }
        let region = &data[hard..];
        let soft = |p: usize| {
            region[p] == b' '
                && (region[p - 1].is_ascii_lowercase()
                    || region[p - 1] == b' '
                    || region.get(p + 1).is_some_and(u8::is_ascii_lowercase))
        };
        match (1..region.len()).rev().find(|&p| soft(p)) {
            Some(p) if region.len() - (p + 1) <= MAX_CARRY => hard + p + 1,
            _ => data.len().saturating_sub(MAX_TOKEN).max(hard),
        }
    }

    /// Text that ends at a segment boundary (or the file's end), in one pass over its
    /// [`Bitmap`]: the scanner stops only where a run of letters or digits starts and at
    /// events (line ends, field separators, `@`), and measures runs without a loop. The
    /// candidate checks look no further than the candidate (a hard delimiter ends every one of
    /// them, so the whole text serves as their segment).
    ///
    /// Words are looked up as keywords only when a candidate needs its context (see
    /// [`Scanner::context_at`]); on a delimited file's first line, at once, for its header.
    fn text(&mut self, t: &[u8]) {
        if let Some(p) = &self.patterns {
            p.count(t, &mut self.custom);
        }
        let mut m = std::mem::take(&mut self.bitmap);
        m.build(t);
        if let Some(d) = self.delimiter.other_than_comma() {
            m.only_separator(t, d);
        }
        if self.quoted {
            self.in_quotes = m.unquote_separators(t, self.in_quotes);
        }
        if self.zeros_dropped {
            m.stop_at_numbers_of(8);
        }
        if self.accounts.after.is_some() || self.accounts.onward.is_some() {
            self.account_search_goes_on(t, &m);
        }
        if let Some(tagged) = self.accounts.tagged {
            self.tagged_accounts_in(tagged, t);
        }
        if self.routing_pending.is_some() {
            self.routing_goes_on(t);
        }
        let mut i = 0;
        let mut line_from = 0;
        self.words_from = 0;
        // A line end that ended the last text: a wrap when this text goes on with the
        // sentence, else the line's end.
        if std::mem::take(&mut self.run_on) && continues_sentence(t) != Some(true) {
            self.pending = 0;
        }
        self.field_from = 0;
        loop {
            // On a delimited file's first line every word may name its column.
            let header = self.header_line();
            let Some((at, kind)) = m.next_stop(i, header) else {
                break;
            };
            i = at;
            if kind == Stop::Digit {
                let (end, skipped) = self.digits(t, &m, i);
                // Only a number skipped over to its word's end can have letters in it.
                if skipped && m.any_alpha(i, end) {
                    // A code such as SWIFT MT's `57A` names what follows.
                    self.fold_words(t, &m, i);
                    self.keyword_seen(&m, i, word_context(t, &m, i, end));
                } else {
                    self.pending = 0;
                }
                self.words_from = end;
                i = end;
            } else if kind == Stop::Letter {
                let end = m.alnum_end(i);
                match self.word(t, &m, i, end) {
                    Some(k) => {
                        self.pending = 0;
                        self.words_from = k;
                        i = k;
                    }
                    None => {
                        if self.header_line() {
                            self.keyword_seen(&m, i, word_context(t, &m, i, end));
                            self.words_from = end;
                        }
                        i = end;
                    }
                }
            } else {
                if t[i] == b'@' {
                    self.email(t, &m, i);
                } else {
                    if let Some(records) = self.records {
                        self.record_end(records, &t[line_from..i]);
                        line_from = i + 1;
                    }
                    if self.lines_watched {
                        self.line_ended_in_table(&m, i);
                    } else {
                        self.first_line = false;
                    }
                    self.field = 0;
                    self.field_from = i + 1;
                    self.line_start = self.text_start + i as u64 + 1;
                    // In markup (ISO 20022 XML) line ends are layout: a keyword reaches past
                    // them to the next candidate or number (`<Cd>USABA</Cd>` two lines above
                    // its `<MmbId>`); in prose, so is a line end that wraps a sentence.
                    if self.accounts.tagged != Some(account::Tagged::Iso20022) {
                        // What the wrapped line's last two words name reaches the next
                        // line's first candidates (`ABA routing number` / `021000021`); the
                        // rest of the line's words, no further than their own line.
                        let wrap = self.runs_on(t, i);
                        self.pending = match wrap {
                            Some(false) => 0,
                            _ => self.tail_names(t, &m, i),
                        };
                        self.words_from = i + 1;
                        self.run_on = wrap.is_none();
                    }
                }
                i += 1;
            }
        }
        if self.records.is_some() {
            self.record_line(&t[line_from..]);
        }
        self.fold_words(t, &m, t.len());
        // The line goes on in the next text: its field index is carried, and its last bytes.
        self.field_at(&m, t.len());
        self.keep_tail(t);
        self.text_start += t.len() as u64;
        self.bitmap = m;
    }

    /// The context of a candidate at `at`: the keywords named on its line since the last
    /// candidate (or shorter number), and its column's header. When a bit of `enough` is found,
    /// that decides the candidate and nothing further is looked up: the header first, then the
    /// words before the candidate from the nearest back (`<BICFI>` names the code right after
    /// it); a candidate so decided ends its words' reach, so none of them is looked at again.
    /// When every word back to the last candidate was looked up, what they name is kept
    /// (`pending`) and they are not looked up again by the next candidate either (a line of
    /// codes that nothing names costs one lookup per word, not one per code and word before).
    fn context_at(&mut self, t: &[u8], m: &Bitmap, at: usize, enough: u8) -> u8 {
        if self.header_line() {
            // The header's words name their columns as they are met: in order.
            self.fold_words(t, m, at);
            self.field_at(m, at);
            return self.pending;
        }
        // A header that names no column (most files have none) is not looked up.
        let column = if !self.header.is_empty() {
            self.field_at(m, at);
            self.column()
        } else if !self.fixed.is_empty() {
            self.fixed_column(at)
        } else {
            0
        };
        if column & enough != 0 {
            return column;
        }
        let from = self.words_from;
        let pending = self.pending;
        // What the line named before the words looked back over decides, unless a number came
        // between (rare: a keyword that did not decide its own candidate).
        let no_number_in = |to: usize| m.last_set_before(from, to, |k| k.number_end).is_none();
        if pending & enough != 0 && no_number_in(at) {
            return pending | column;
        }
        // The words before the candidate, nearest first, back to the last candidate or to a
        // number (a number ends what the words before it named): one walk over both.
        let mut named = 0;
        let mut to = at;
        let mut number = false;
        while let Some(step) = m.step_back(from, to) {
            let StepBack::Word(s, e) = step else {
                number = true;
                break;
            };
            named |= word_context(t, m, s, e);
            if named & enough != 0 {
                let before = if pending != 0 && no_number_in(s) {
                    pending
                } else {
                    0
                };
                return named | before | column;
            }
            to = s;
        }
        if !number {
            named |= pending;
        }
        self.pending = named;
        self.words_from = self.words_from.max(at);
        named | column
    }

    /// A line ended at `at` of a table whose header is still to come (after a title's lines),
    /// or of a document's table: the header's line begins; or a line that is no row (a
    /// paragraph after a document's table: no field separators) ends the table and its
    /// header's reach.
    fn line_ended_in_table(&mut self, m: &Bitmap, at: usize) {
        if self.lines_to_header > 0 {
            self.lines_to_header -= 1;
            self.first_line = self.lines_to_header == 0;
            self.lines_watched = self.lines_to_header > 0 || self.document && self.table;
            return;
        }
        let header = std::mem::replace(&mut self.first_line, false);
        if !self.document || header {
            return;
        }
        self.field_at(m, at);
        if self.field == 0 {
            self.table = false;
            self.header.clear();
            self.lines_watched = false;
        }
    }

    /// Whether the text is prose (a letter's, an e-mail's, a document's): not a table, a
    /// format's records or segments, markup or JSON.
    fn prose(&self) -> bool {
        !self.table
            && self.header.is_empty()
            && self.fixed.is_empty()
            && self.records.is_none()
            && self.x12.is_none()
            && self.fedwire.is_none()
            && self.accounts.tagged.is_none()
            && !self.layout
    }

    /// Whether the line end at `t[at]` wraps a sentence (an e-mail or a letter written at 72
    /// columns, a PDF's line): in prose, a line that does not end with a full stop and is
    /// followed by one that begins with a small letter or a digit (`routing number` /
    /// `021000021 for credit to account` / `number 12345678`); `None` where the next line is
    /// in the next text.
    fn runs_on(&self, t: &[u8], at: usize) -> Option<bool> {
        if !self.prose() {
            return Some(false);
        }
        let last = t[..at]
            .iter()
            .rev()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r'));
        if matches!(last, None | Some(b'\n' | b'.' | b'!' | b'?')) {
            return Some(false);
        }
        continues_sentence(&t[at + 1..])
    }

    /// What the last two words before `at` name (back to the last candidate or number).
    fn tail_names(&self, t: &[u8], m: &Bitmap, at: usize) -> u8 {
        let mut named = 0;
        let mut to = at;
        for _ in 0..2 {
            match m.step_back(self.words_from, to) {
                Some(StepBack::Word(s, e)) => {
                    named |= word_context(t, m, s, e);
                    to = s;
                }
                _ => break,
            }
        }
        named
    }

    /// Whether the scan is in a delimited table's header, whose every word names its column as
    /// it is met (in other files the first line is read as any other: a long one, a sheet's or
    /// a JSON document's, would be word by word otherwise).
    fn header_line(&self) -> bool {
        self.first_line && self.table
    }

    /// Brings the field index to position `at` of the text (separators are counted when a
    /// column is asked for, not one by one).
    fn field_at(&mut self, m: &Bitmap, at: usize) {
        if at >= self.field_from {
            self.field += m.count(self.field_from, at, |k| k.separator);
        } else {
            self.field = self
                .field
                .saturating_sub(m.count(at, self.field_from, |k| k.separator));
        }
        self.field_from = at;
    }

    /// Looks up the words not yet looked up, before `to`, as keywords, in order. Every word
    /// there is one the scan passed (no candidate consumed it: those move `words_from` past
    /// themselves), and so is every number there: too short to be a candidate, it still ends
    /// what a keyword before it named (`card 2 of 3: …`), as a candidate would.
    fn fold_words(&mut self, t: &[u8], m: &Bitmap, to: usize) {
        let mut i = self.words_from;
        // Only what follows the last number counts: start there.
        if let Some(end) = m.last_set_before(i, to, |k| k.number_end) {
            self.pending = 0;
            i = end;
        }
        while let Some(s) = m.next_set_before(i, to, |k| k.stop & k.alnum()) {
            let e = m.alnum_end(s);
            if m.is_digit(s) && m.digits_end(s) == e {
                self.pending = 0;
            } else {
                self.keyword_seen(m, s, word_context(t, m, s, e));
            }
            i = e;
        }
        self.words_from = self.words_from.max(to);
    }

    /// What the heading of a fixed-width table's column names, for position `at` of the text.
    fn fixed_column(&self, at: usize) -> u8 {
        if self.first_line {
            return 0;
        }
        let offset = (self.text_start + at as u64).saturating_sub(self.line_start);
        let i = self.fixed.partition_point(|c| c.0 as u64 <= offset);
        i.checked_sub(1).map_or(0, |i| self.fixed[i].1)
    }

    /// The context the current column's header gives.
    fn column(&self) -> u8 {
        if self.first_line {
            0
        } else {
            self.header.get(self.field).copied().unwrap_or(0)
        }
    }

    /// The part of the current line a text ends in, for a record read by position (at most
    /// [`RECORD`] bytes are kept).
    fn record_line(&mut self, part: &[u8]) {
        let n = part.len().min(RECORD - self.record_len);
        self.record[self.record_len..self.record_len + n].copy_from_slice(&part[..n]);
        self.record_len += n;
    }

    /// One occurrence of class `c` whose value is `value` in its class's canonical form (a card
    /// number's digits alone, an IBAN's electronic form, an address in small letters): counted,
    /// and added to the class's sketch of how many values differ.
    pub(crate) fn found(&mut self, c: Class, value: &[u8]) {
        self.counts.add(c, 1);
        self.distinct.insert(c, value);
    }

    /// A keyword (its context bits `kw`) at `at`: it applies to the line's next candidate, and
    /// on the first line it names its column.
    fn keyword_seen(&mut self, m: &Bitmap, at: usize, kw: u8) {
        if kw == 0 {
            return;
        }
        self.pending |= kw;
        if self.first_line && self.table {
            self.field_at(m, at);
            if self.header.len() <= self.field {
                self.header.resize(self.field.min(MAX_COLUMNS) + 1, 0);
            }
            if let Some(h) = self.header.get_mut(self.field) {
                *h |= kw;
            }
        }
    }
}

/// `a` then `b`, written into `buf` (which holds both).
fn joined<'a>(buf: &'a mut [u8], a: &[u8], b: &[u8]) -> &'a [u8] {
    buf[..a.len()].copy_from_slice(a);
    buf[a.len()..a.len() + b.len()].copy_from_slice(b);
    &buf[..a.len() + b.len()]
}

/// Whether a line (`line`, from its start) goes on with a sentence wrapped from the line
/// before: its first byte other than a blank or a reply's quote marks (`> `) is a small letter
/// or a digit; `None` where it holds nothing else (it goes on in the next text).
fn continues_sentence(line: &[u8]) -> Option<bool> {
    line.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'>'))
        .map(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Classifies a whole buffer at once.
/// `bytes` classified as fed in chunks of `size` (tests compare it with the whole).
#[cfg(test)]
pub(crate) fn in_chunks(bytes: &[u8], size: usize) -> Classification {
    let mut s = Scanner::new();
    for chunk in bytes.chunks(size) {
        s.feed(chunk);
    }
    s.finish()
}

pub fn classify(data: &[u8]) -> Classification {
    let mut s = Scanner::new();
    s.feed(data);
    s.finish()
}
