//! The layers a file's bytes pass before the text is scanned: containers told from the head
//! (archives, compressed files, office documents, databases, bank formats with records of
//! their own), each handed its contents and giving back a classification, and the text's own
//! encodings (UTF-16, EBCDIC). Never here: the text's candidates.

use super::{Classification, MAX_PIECE, SNIFF_LEN, Scanner};
use crate::format::Format;

/// A container of files that a file's contents (inflated where they are compressed) may be,
/// told by their head: each reads the contents itself, and says at the end what its files hold.
pub(super) enum Container {
    /// A tar archive, its files read by scanners of their own.
    Tar(Box<crate::tar::Tar>),
    /// An e-mail message with parts, each part's body (decoded) read by a scanner of its own.
    Mail(Box<crate::mime::Mime>),
    /// A compound file (an `.xls` workbook, an encrypted Office document, an Outlook
    /// message): its first bytes, kept to be read at the end ([`crate::compound`]), whether
    /// more were not kept, and what the file's layers may still read (a message's
    /// attachments draw on it).
    Compound {
        kept: Vec<u8>,
        cut: bool,
        budget: crate::encoding::Budget,
        depth: u8,
    },
    /// A PDF document: the text its pages show, read through its fonts' maps at the end.
    Pdf(Box<crate::pdf::Pdf>),
    /// A 7-Zip archive: whether it is encrypted, from its header at the end; its files.
    SevenZip(Box<crate::sevenzip::SevenZip>),
    /// A mailbox: its messages, each read by a scanner of its own.
    Mbox(Box<crate::mbox::Mbox>),
    /// An Avro object container file: its records read block by block.
    Avro(Box<crate::avro::Avro>),
    /// A Parquet file: kept, and its rows read at the end from its footer.
    Parquet(Box<crate::parquet::Parquet>),
    /// A SQL dump: its tables' rows read by scanners of their own, its other statements by
    /// one of their own.
    Sql(Box<crate::sql::SqlDump>),
    /// A dBase table: its records read one by one.
    Dbf(Box<crate::dbf::Dbf>),
    /// An X9 image cash letter: its records read one by one, counted by their fields.
    X937(Box<crate::x9::ImageCashLetter>),
    /// A SQLite database: kept, its tables' rows read at the end.
    Sqlite(Box<crate::sqlite::Sqlite>),
    /// A PostgreSQL custom-format archive: its tables' rows read by scanners of their own.
    PgArchive(Box<crate::pg_archive::PgArchive>),
    /// A document written as markup (an HTML page, a flat OpenDocument text, an RTF document):
    /// the text it shows, read by a scanner of its own.
    Markup(Box<crate::markup::MarkupDocument>),
    /// A flat OpenDocument spreadsheet: its tables read by their columns.
    FlatSpreadsheet(Box<crate::sheet::FlatSpreadsheet>),
}

impl Container {
    pub(super) fn feed(&mut self, data: &[u8]) {
        match self {
            Container::Tar(tar) => tar.feed(data),
            Container::Mail(mail) => mail.feed(data),
            Container::Pdf(pdf) => pdf.feed(data),
            Container::SevenZip(z) => z.feed(data),
            Container::Mbox(m) => m.feed(data),
            Container::Parquet(p) => p.feed(data),
            Container::Avro(a) => a.feed(data),
            Container::Sql(d) => d.feed(data),
            Container::Sqlite(d) => d.feed(data),
            Container::Dbf(d) => d.feed(data),
            Container::X937(x) => x.feed(data),
            Container::PgArchive(a) => a.feed(data),
            Container::Markup(m) => m.feed(data),
            Container::FlatSpreadsheet(f) => f.feed(data),
            Container::Compound { kept, cut, .. } => {
                let room = crate::compound::MAX_COMPOUND - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
                *cut |= data.len() > room;
            }
        }
    }

    pub(super) fn finish(
        self,
        patterns: Option<std::sync::Arc<crate::Patterns>>,
    ) -> Classification {
        match self {
            Container::Tar(tar) => tar.finish(),
            Container::Mail(mail) => mail.finish(),
            Container::Pdf(pdf) => pdf.finish(),
            Container::SevenZip(z) => z.finish(),
            Container::Mbox(m) => m.finish(),
            Container::Parquet(p) => p.finish(),
            Container::Avro(a) => a.finish(),
            Container::Sql(d) => d.finish(),
            Container::Sqlite(d) => d.finish(),
            Container::Dbf(d) => d.finish(),
            Container::X937(x) => x.finish(),
            Container::PgArchive(a) => a.finish(),
            Container::Markup(m) => m.finish(),
            Container::FlatSpreadsheet(f) => f.finish(),
            Container::Compound {
                kept,
                cut,
                budget,
                depth,
            } => crate::compound::classify(&kept, cut, patterns, (budget, depth)),
        }
    }

    pub(super) fn held_bytes(&self) -> usize {
        match self {
            Container::Tar(tar) => tar.held_bytes(),
            Container::Mail(mail) => mail.held_bytes(),
            Container::Pdf(pdf) => pdf.held_bytes(),
            Container::SevenZip(z) => z.held_bytes(),
            Container::Mbox(m) => m.held_bytes(),
            Container::Parquet(p) => p.held_bytes(),
            Container::Avro(a) => a.held_bytes(),
            Container::Sql(d) => d.held_bytes(),
            Container::Sqlite(d) => d.held_bytes(),
            Container::Dbf(d) => d.held_bytes(),
            Container::X937(x) => x.held_bytes(),
            Container::PgArchive(a) => a.held_bytes(),
            Container::Markup(m) => m.held_bytes(),
            Container::FlatSpreadsheet(f) => f.held_bytes(),
            Container::Compound { kept, .. } => crate::encoding::held(kept),
        }
    }
}

impl Scanner {
    /// Reads the next bytes of the file, through its layers.
    pub(super) fn feed_layers(&mut self, mut data: &[u8]) {
        if self.binary {
            return;
        }
        // The file's first bytes say whether it is an archive or compressed.
        if !self.raw_lead.whole() {
            let (lead, rest) = self.raw_lead.gather(data);
            let Some(lead) = lead else {
                return;
            };
            data = rest;
            let opens = self.depth < crate::encoding::MAX_DEPTH;
            let compressed = opens
                .then(|| crate::encoding::Compressed::from_magic(&lead, || self.budget()))
                .flatten();
            if opens && crate::archive::magic([lead[0], lead[1], lead[2], lead[3]]) {
                let mut zip =
                    crate::archive::Zip::new(self.patterns.clone(), self.budget(), self.depth);
                zip.feed(&lead);
                self.zip = Some(Box::new(zip));
            } else if compressed.is_some() {
                self.compressed = compressed;
                self.inflate(&lead);
            } else {
                self.feed_contents(&lead);
            }
        }
        // A compressed file or an archive: what follows left for a thread of its own where
        // the caller asked.
        if self.defer && (self.zip.is_some() || self.compressed.is_some()) {
            self.deferred = Some(data.to_vec());
            return;
        }
        if let Some(zip) = self.zip.as_mut() {
            zip.feed(data);
        } else if self.compressed.is_some() {
            self.inflate(data);
        } else {
            self.feed_contents(data);
        }
        if self.binary && self.verdict_at.is_none() {
            self.verdict_at = Some(self.raw_fed);
        }
    }

    /// Inflates the next bytes of a compressed file and scans what they hold.
    fn inflate(&mut self, data: &[u8]) {
        if let Some(mut compressed) = self.compressed.take() {
            compressed.inflate(data, |contents| self.feed_contents(contents));
            self.compressed = Some(compressed);
        }
    }

    /// Makes `header` the first line of the file's text, read before its contents (inflated
    /// where the file is compressed): the columns' names of a table whose file holds only its
    /// rows (a `pg_dump` archive's table files, named in its table of contents).
    pub(crate) fn contents_begin_with(&mut self, header: Vec<u8>) {
        self.contents_header = Some(header);
    }

    /// Takes the next bytes of the file's contents (inflated where it is compressed).
    pub(super) fn feed_contents(&mut self, mut data: &[u8]) {
        if let Some(header) = self.contents_header.take() {
            self.feed_text(&header);
        }
        // The first bytes say whether the text is UTF-16 (its byte order mark, or code units
        // of ASCII without one).
        if !self.lead.whole() {
            let (lead, rest) = self.lead.gather(data);
            let Some(lead) = lead else {
                return;
            };
            data = rest;
            self.lead_text(&lead);
        }
        self.contents_text(data);
    }

    /// The contents' first bytes (all of them, in a shorter file): whether they are UTF-16,
    /// then their text.
    pub(super) fn lead_text(&mut self, lead: &[u8]) {
        match crate::encoding::Utf16::detect(lead) {
            Some((utf16, mark)) => {
                self.utf16 = Some(utf16);
                self.contents_text(&lead[mark..]);
            }
            None => self.feed_text(lead),
        }
    }

    /// The text of contents after their first bytes (narrowed where they are UTF-16).
    fn contents_text(&mut self, data: &[u8]) {
        match self.utf16.as_mut() {
            Some(utf16) => {
                let mut narrowed = std::mem::take(&mut self.narrowed);
                narrowed.clear();
                utf16.narrow(data, &mut narrowed);
                self.feed_text(&narrowed);
                self.narrowed = narrowed;
            }
            None => self.feed_text(data),
        }
    }

    /// Takes the next bytes of the file's text (narrowed where it is UTF-16).
    fn feed_text(&mut self, mut data: &[u8]) {
        if self.formats.is_none() {
            let want = SNIFF_LEN - self.head.len();
            let take = want.min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.head.len() < SNIFF_LEN {
                return;
            }
            self.start();
            // A container in the file's own bytes (not inflated, not narrowed): what follows
            // left for a thread of its own where the caller asked.
            let raw = self.zip.is_none() && self.compressed.is_none() && self.utf16.is_none();
            if self.defer && raw && self.container.is_some() {
                self.deferred = Some(data.to_vec());
                return;
            }
        }
        if let Some(container) = self.container.as_mut() {
            container.feed(data);
            return;
        }
        if let Some(ebcdic) = self.ebcdic.as_mut() {
            let mut ascii = std::mem::take(&mut self.translated);
            ascii.clear();
            ebcdic.translate(data, &mut ascii);
            for piece in ascii.chunks(MAX_PIECE) {
                self.scan(piece, false);
            }
            self.translated = ascii;
            return;
        }
        // In pieces, so that the bitmaps of a text stay small whatever the caller hands over.
        for piece in data.chunks(MAX_PIECE) {
            self.scan(piece, false);
        }
    }

    /// Makes it the scanner of an entry of an archive `depth` deep: an archive or compressed
    /// file there is opened only within the file's `budget` and [`crate::encoding::MAX_DEPTH`].
    pub(crate) fn inside_archive(&mut self, budget: crate::encoding::Budget, depth: u8) {
        self.budget = Some(budget);
        self.depth = depth + 1;
    }

    /// The container the head begins, if any: a tar archive, a mailbox, an e-mail message with
    /// parts, a PDF document, a 7-Zip archive, an RTF document, a flat OpenDocument file, an
    /// HTML page, a compound file.
    pub(super) fn container_of_head(&mut self) -> Option<Container> {
        if crate::tar::magic(&self.head) {
            let tar = crate::tar::Tar::new(self.patterns.clone(), self.budget(), self.depth);
            return Some(Container::Tar(Box::new(tar)));
        }
        if crate::mbox::magic(&self.head) {
            let mbox = crate::mbox::Mbox::new(self.patterns.clone(), self.budget(), self.depth);
            return Some(Container::Mbox(Box::new(mbox)));
        }
        if let Some(multipart) = crate::mime::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let mail = crate::mime::Mime::new(multipart, patterns, budget, self.depth);
            return Some(Container::Mail(Box::new(mail)));
        }
        if crate::pdf::magic(&self.head) {
            let pdf = crate::pdf::Pdf::new(self.patterns.clone(), self.budget(), self.depth);
            return Some(Container::Pdf(Box::new(pdf)));
        }
        if crate::avro::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let avro = crate::avro::Avro::new(patterns, budget, self.depth);
            return Some(Container::Avro(Box::new(avro)));
        }
        if crate::parquet::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let parquet = crate::parquet::Parquet::new(patterns, budget, self.depth);
            return Some(Container::Parquet(Box::new(parquet)));
        }
        if crate::x9::magic(&self.head) {
            let letter = crate::x9::ImageCashLetter::new(&self.head);
            return Some(Container::X937(Box::new(letter)));
        }
        if crate::dbf::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let table = crate::dbf::Dbf::new(patterns, budget, self.depth);
            return Some(Container::Dbf(Box::new(table)));
        }
        if crate::sqlite::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let db = crate::sqlite::Sqlite::new(patterns, budget, self.depth);
            return Some(Container::Sqlite(Box::new(db)));
        }
        if crate::pg_archive::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let archive = crate::pg_archive::PgArchive::new(patterns, budget, self.depth);
            return Some(Container::PgArchive(Box::new(archive)));
        }
        if crate::sql::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let dump = crate::sql::SqlDump::new(&self.head, patterns, budget, self.depth);
            return Some(Container::Sql(Box::new(dump)));
        }
        if crate::sevenzip::magic(&self.head) {
            let (patterns, budget) = (self.patterns.clone(), self.budget());
            let archive = crate::sevenzip::SevenZip::new(patterns, budget, self.depth);
            return Some(Container::SevenZip(Box::new(archive)));
        }
        // A workbook's part (a flat spreadsheet's own XML too) is read as markup by its
        // sheet's reader, never as a document again.
        if !self.workbook {
            use crate::markup::{Dialect, FlatOpenDocument, MarkupText, Reader};
            let body = self
                .head
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&self.head);
            // A document of markup begins with a tag.
            let tag = body.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'<');
            let document = if crate::rtf::magic(&self.head) {
                Some((Reader::Rtf(Box::default()), Format::Rtf))
            } else if !tag {
                None
            } else if let Some(flat) = crate::markup::flat_opendocument(&self.head) {
                if flat == FlatOpenDocument::Spreadsheet {
                    let (patterns, budget) = (self.patterns.clone(), self.budget());
                    let sheet = crate::sheet::FlatSpreadsheet::new(patterns, budget, self.depth);
                    return Some(Container::FlatSpreadsheet(Box::new(sheet)));
                }
                let text = MarkupText::new(Dialect::OpenDocument);
                Some((Reader::Markup(text), Format::Odt))
            } else if crate::markup::spreadsheet_2003_magic(&self.head) {
                let text = MarkupText::new(Dialect::Spreadsheet2003);
                Some((Reader::Markup(text), Format::ExcelXml))
            } else if crate::markup::html_magic(&self.head) {
                Some((Reader::Markup(MarkupText::new(Dialect::Html)), Format::Html))
            } else {
                None
            };
            if let Some((reader, format)) = document {
                let (patterns, budget) = (self.patterns.clone(), self.budget());
                let document = crate::markup::MarkupDocument::new(
                    reader, format, patterns, budget, self.depth,
                );
                return Some(Container::Markup(Box::new(document)));
            }
        }
        if !crate::compound::magic(&self.head) {
            return None;
        }
        Some(Container::Compound {
            kept: Vec::with_capacity(SNIFF_LEN),
            cut: false,
            budget: self.budget(),
            depth: self.depth,
        })
    }

    /// What the file's layers may still read (the upload's own budget, made at its first
    /// layer; an entry's, its archive's).
    fn budget(&mut self) -> crate::encoding::Budget {
        self.budget
            .get_or_insert_with(crate::encoding::Budget::new)
            .clone()
    }

    /// Makes it the scanner of a spreadsheet's worksheet or shared strings: a cell's or a
    /// string's whole value that is a bare number of nine digits or of a card number's length
    /// is left to the worksheets' columns ([`crate::sheet`]), which know what each column's
    /// heading names and weigh its values per column.
    pub(crate) fn in_workbook(&mut self) {
        self.workbook = true;
    }

    /// Makes it the scanner of a document's text as the document shows it (a web page's, a
    /// word processor's): a table in it ends at its first line that is no row (a paragraph
    /// after it), whose labelled lines are then read as a letter's. (Not a PDF's: its pages'
    /// headers, footers and wrapped cells are lines inside its tables.)
    pub(crate) fn reads_document(&mut self) {
        self.document = true;
    }
}
