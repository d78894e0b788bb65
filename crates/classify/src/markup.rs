//! Documents written as markup, read as the text they show: Word documents' text parts
//! (`.docx`: WordprocessingML in `word/document.xml`, its headers, footers, notes and
//! comments), PowerPoint presentations' slides and notes (`.pptx`: DrawingML text),
//! OpenDocument text (`.odt`'s `content.xml`, and a flat `.fodt` file), and HTML pages (a
//! report or a table saved as a web page, an e-mail's HTML part). A paragraph's end is a
//! line's, a table's cell ends with a tab and its row with a line end, a tab or a line break
//! is itself; tags, attributes, styles and scripts show nothing. The markup of such a document
//! is one long line (or lines laid out as its writer chose) in which a letter's labelled lines
//! (`Account number:` under `ABA routing number:`) and a table's rows and heading are not told
//! apart; read as text, they are, as in the same document saved as text. (An HTML table's
//! attributes no longer count twice what its cells show: LibreOffice Calc writes each number's
//! value in a `sdval` attribute beside the number.)
//!
//! Pure: markup in, text out, a chunk at a time (a tag, a comment or an entity cut between
//! chunks is carried). A tag's first [`MAX_TAG`] bytes are kept (its name, and the attribute
//! of OpenDocument's runs of spaces), an entity's name to [`MAX_ENTITY`]. Never here: styles,
//! numbering, fields' codes, what the text holds (the document's scanner reads it).

use std::sync::Arc;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// Most bytes of a tag kept (its name and first attributes are all that is read).
const MAX_TAG: usize = 64;
/// Most bytes of an entity's name (`&#x1F600;`).
const MAX_ENTITY: usize = 10;
/// Most spaces or tabs one element stands for (`<text:s text:c="…"/>`, repeated cells).
const MAX_REPEAT: usize = 64;
/// Most columns beyond its own a cell stands for (`colspan`): a page of cells each over a
/// hundred columns would otherwise make a hundred times its bytes of text.
const MAX_SPAN: usize = 16;
/// Columns of an HTML table whose cells over several rows (`rowspan`) are followed: the first
/// 64 (a cell further right that spans rows leaves the cells under it a column early).
const MAX_ROWSPAN_COLUMNS: usize = 64;
/// How far into a file its HTML root is looked for.
const HTML_LEAD: usize = 1024;

/// The markup a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// WordprocessingML: text only inside `<w:t>`.
    Word,
    /// PresentationML's slides and notes (DrawingML text): text only inside `<a:t>`.
    Slides,
    /// OpenDocument text: text only inside paragraphs and headings.
    OpenDocument,
    /// HTML: text outside tags, but for scripts' and styles'.
    Html,
    /// Excel 2003's XML Spreadsheet (SpreadsheetML 2003, what reporting tools' "export to
    /// Excel" often writes): text only inside a cell's `<Data>`, its rows and cells a table's.
    Spreadsheet2003,
}

/// Whether a file's first bytes are Excel 2003's XML Spreadsheet: its processing instruction
/// (`<?mso-application progid="Excel.Sheet"?>`) or its namespace on its first tags.
pub(crate) fn spreadsheet_2003_magic(head: &[u8]) -> bool {
    let lead = &head[..head.len().min(HTML_LEAD)];
    memchr::memmem::find(lead, b"progid=\"Excel.Sheet\"").is_some()
        || memchr::memmem::find(lead, b"urn:schemas-microsoft-com:office:spreadsheet").is_some()
}

/// Whether an archive's entry is a Word document's text: its body, headers, footers, notes,
/// comments.
pub(crate) fn is_word_text_part(name: &[u8]) -> bool {
    let Some(file) = name.strip_prefix(b"word/") else {
        return false;
    };
    file == b"document.xml"
        || file == b"footnotes.xml"
        || file == b"endnotes.xml"
        || file == b"comments.xml"
        || ((file.starts_with(b"header") || file.starts_with(b"footer"))
            && file.ends_with(b".xml")
            && !file.contains(&b'/'))
}

/// Whether an archive's entry is a PowerPoint presentation's slide or its notes
/// (`ppt/slides/slide1.xml`, `ppt/notesSlides/notesSlide1.xml`).
pub(crate) fn is_slide_part(name: &[u8]) -> bool {
    let part = |dir: &[u8], file: &[u8]| {
        name.strip_prefix(dir)
            .and_then(|n| n.strip_prefix(file))
            .and_then(|n| n.strip_suffix(b".xml"))
            .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
    };
    part(b"ppt/slides/", b"slide") || part(b"ppt/notesSlides/", b"notesSlide")
}

/// Whether `head` (a file's first bytes) is an HTML page: its first characters a tag, and an
/// `<html` root or an HTML document type among its first [`HTML_LEAD`] bytes.
pub(crate) fn html_magic(head: &[u8]) -> bool {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if body.iter().find(|c| !c.is_ascii_whitespace()) != Some(&b'<') {
        return false;
    }
    let lead = &body[..body.len().min(HTML_LEAD)];
    memchr::memchr_iter(b'<', lead).any(|at| {
        let tag = &lead[at + 1..];
        let starts =
            |word: &[u8]| tag.len() > word.len() && tag[..word.len()].eq_ignore_ascii_case(word);
        starts(b"!doctype html")
            || starts(b"html") && matches!(tag[4], b'>' | b' ' | b'\n' | b'\r' | b'\t')
    })
}

/// What a flat OpenDocument file (one XML document, not a package) holds, from its root's
/// `office:mimetype` in `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlatOpenDocument {
    /// `.fodt`: text.
    Text,
    /// `.fods`: a spreadsheet's tables.
    Spreadsheet,
}

/// The OpenDocument type a package's `mimetype` entry or a flat file's root names.
const OPENDOCUMENT_TEXT: &[u8] = b"application/vnd.oasis.opendocument.text";
const OPENDOCUMENT_SPREADSHEET: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// Whether `mimetype` (an OpenDocument package's first entry) names a text document (not a
/// template's or a master document's: `…text-template`, `…text-master` are read, as other
/// packages' `content.xml`, for their tables).
pub(crate) fn is_opendocument_text(mimetype: &[u8]) -> bool {
    mimetype.trim_ascii() == OPENDOCUMENT_TEXT
}

/// Whether `head` begins a flat OpenDocument file, and of which kind: an `<office:document`
/// root whose `office:mimetype` (after its namespaces, some 2 KiB in) names it.
pub(crate) fn flat_opendocument(head: &[u8]) -> Option<FlatOpenDocument> {
    let root = memchr::memmem::find(head, b"<office:document ")?;
    let rest = &head[root..];
    let end = memchr::memchr(b'>', rest).unwrap_or(rest.len());
    let tag = &rest[..end];
    let at = memchr::memmem::find(tag, b"office:mimetype=\"")? + 17;
    let value = &tag[at..];
    let value = &value[..memchr::memchr(b'"', value)?];
    if value == OPENDOCUMENT_TEXT {
        Some(FlatOpenDocument::Text)
    } else if value == OPENDOCUMENT_SPREADSHEET {
        Some(FlatOpenDocument::Spreadsheet)
    } else {
        None
    }
}

/// What reads a document's bytes as the text it shows.
pub(crate) enum Reader {
    Markup(MarkupText),
    Rtf(Box<crate::rtf::RtfText>),
}

/// A file that is a document written as markup (an HTML page, a flat OpenDocument text, an RTF
/// document): its text, as the document shows it, read by a scanner of its own, one layer
/// deeper (the text's first bytes tell its layout: a table's heading, labelled lines).
pub(crate) struct MarkupDocument {
    text: Reader,
    scanner: Box<Scanner>,
    format: Format,
    out: Vec<u8>,
}

impl MarkupDocument {
    pub(crate) fn new(
        text: Reader,
        format: Format,
        patterns: Option<Arc<Patterns>>,
        budget: Budget,
        depth: u8,
    ) -> Self {
        let mut scanner = Scanner::with_patterns(patterns);
        scanner.inside_archive(budget, depth);
        scanner.reads_document();
        MarkupDocument {
            text,
            scanner: Box::new(scanner),
            format,
            out: Vec::new(),
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        // A piece at a time, so that the text handed over stays small whatever comes.
        for piece in data.chunks(64 << 10) {
            self.out.clear();
            match &mut self.text {
                Reader::Markup(m) => m.convert(piece, &mut self.out),
                Reader::Rtf(r) => r.convert(piece, &mut self.out),
            }
            self.scanner.feed(&self.out);
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.scanner.held_bytes() + crate::encoding::held(&self.out) + MAX_TAG + MAX_ENTITY
    }

    /// What the text holds, and the document's format beside its own.
    pub(crate) fn finish(self) -> Classification {
        let mut found = Entries::default();
        found.add(self.scanner.finish(), 1, false);
        found.finish(self.format, false)
    }
}

/// Where the reader is in the markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Text,
    /// Inside a tag; `quote`: inside an attribute's quoted value (a `>` there ends nothing).
    Tag {
        quote: Option<u8>,
    },
    /// Inside a comment: how many dashes were the last bytes.
    Comment {
        dashes: u8,
    },
    /// In a script's or a style's text, after a `<`: whether its closing tag follows (nothing
    /// else there is a tag: `for (i = 0; i < n; i++)`).
    RawEnd,
}

/// A document's markup being read as text.
pub(crate) struct MarkupText {
    dialect: Dialect,
    lex: Lex,
    tag: Vec<u8>,
    /// The tag's bytes so far (some beyond those kept), and its last byte other than a space.
    tag_len: usize,
    tag_last: u8,
    entity: Option<Vec<u8>>,
    /// Elements whose character data is text are open (Word's `<w:t>`, OpenDocument's
    /// paragraphs and headings).
    text_depth: u32,
    /// Table cells open (a paragraph's end inside one is a space, not a line's). HTML's cells
    /// need not be closed: there it is one while a cell is open.
    cells: u32,
    /// HTML: inside a script or a style, whose text shows nothing (only its closing tag is
    /// looked for); inside `<pre>`, whose line ends are kept.
    raw: bool,
    pre: u32,
    /// Columns the open cell spans beyond its own (HTML's `colspan`, Word's `w:gridSpan`).
    span: usize,
    /// HTML: the table's row under way (from 1), the column of its next cell, and for each
    /// of the first [`MAX_ROWSPAN_COLUMNS`] columns the last row a cell above covers with its
    /// `rowspan` (a row's cells stand beside the columns such cells fill).
    row: u32,
    column: usize,
    covered: Vec<u32>,
    /// The last byte put out was not a line end; the last byte put out.
    line_open: bool,
    last: u8,
}

impl MarkupText {
    pub(crate) fn new(dialect: Dialect) -> Self {
        MarkupText {
            dialect,
            lex: Lex::Text,
            tag: Vec::new(),
            tag_len: 0,
            tag_last: 0,
            entity: None,
            text_depth: 0,
            cells: 0,
            raw: false,
            pre: 0,
            span: 0,
            row: 0,
            column: 0,
            covered: Vec::new(),
            line_open: false,
            last: b'\n',
        }
    }

    /// The text `markup` (the next bytes of the document) shows, appended to `out`.
    pub(crate) fn convert(&mut self, markup: &[u8], out: &mut Vec<u8>) {
        for &b in markup {
            match self.lex {
                Lex::Tag { quote } => self.tag_byte(b, quote, out),
                Lex::Comment { dashes } => {
                    self.lex = match b {
                        b'>' if dashes >= 2 => Lex::Text,
                        b'-' => Lex::Comment {
                            dashes: dashes.saturating_add(1),
                        },
                        _ => Lex::Comment { dashes: 0 },
                    };
                }
                Lex::RawEnd => self.raw_end_byte(b, out),
                Lex::Text => {
                    if b == b'<' {
                        self.lex = if self.raw {
                            Lex::RawEnd
                        } else {
                            Lex::Tag { quote: None }
                        };
                        self.tag.clear();
                        self.tag_len = 0;
                        self.tag_last = 0;
                        // An entity cut off by a tag is passed over.
                        self.entity = None;
                    } else if self.shows_text() {
                        self.text_byte(b, out);
                    }
                }
            }
        }
    }

    /// A byte after a `<` in a script's or a style's text: `</script` or `</style` (any case)
    /// and then a blank or `>` begin its closing tag, read as a tag; anything else is the
    /// script's text.
    fn raw_end_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        let name_done = !b.is_ascii_alphabetic() && self.tag.len() > 1;
        if self.tag.is_empty() {
            if b == b'/' {
                self.tag.push(b);
            } else {
                self.lex = if b == b'<' { Lex::RawEnd } else { Lex::Text };
            }
            return;
        }
        if !name_done {
            if b.is_ascii_alphabetic() && self.tag.len() < 8 {
                self.tag.push(b.to_ascii_lowercase());
            } else {
                self.tag.clear();
                self.lex = if b == b'<' { Lex::RawEnd } else { Lex::Text };
            }
            return;
        }
        let closes = matches!(&self.tag[..], b"/script" | b"/style");
        if !closes || !(b.is_ascii_whitespace() || b == b'>' || b == b'/') {
            self.tag.clear();
            self.lex = if b == b'<' { Lex::RawEnd } else { Lex::Text };
            return;
        }
        // The closing tag: read on as any tag (its `>` ends it).
        self.tag_len = self.tag.len();
        self.lex = Lex::Tag { quote: None };
        self.tag_byte(b, None, out);
    }

    /// Whether character data here is text the document shows.
    fn shows_text(&self) -> bool {
        match self.dialect {
            Dialect::Word | Dialect::Slides | Dialect::OpenDocument | Dialect::Spreadsheet2003 => {
                self.text_depth > 0
            }
            Dialect::Html => !self.raw,
        }
    }

    fn tag_byte(&mut self, b: u8, quote: Option<u8>, out: &mut Vec<u8>) {
        match quote {
            Some(q) if b == q => self.lex = Lex::Tag { quote: None },
            Some(_) => {}
            // A quote opens a value only after `=` (a stray one in a broken page does not
            // swallow the rest of it).
            None if (b == b'"' || b == b'\'') && self.tag_last == b'=' => {
                self.lex = Lex::Tag { quote: Some(b) };
            }
            None if b == b'>' => {
                self.lex = Lex::Text;
                let tag = std::mem::take(&mut self.tag);
                self.tag_ended(&tag, out);
                self.tag = tag;
                return;
            }
            None => {}
        }
        if self.tag.len() < MAX_TAG {
            self.tag.push(b);
        }
        self.tag_len += 1;
        if !b.is_ascii_whitespace() {
            self.tag_last = b;
        }
        // A comment: read to its `-->`, whatever it holds.
        if self.tag_len == 3 && self.tag == b"!--" {
            self.lex = Lex::Comment { dashes: 0 };
        }
    }

    fn text_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.entity.as_mut() {
            Some(entity) if b == b';' => {
                let entity = std::mem::take(entity);
                self.entity = None;
                let c = decode_entity(&entity);
                self.put_text(c, out);
            }
            Some(entity) if entity.len() < MAX_ENTITY => entity.push(b),
            // Not an entity after all: what came is passed over.
            Some(_) => self.entity = None,
            None if b == b'&' => self.entity = Some(Vec::new()),
            None => match b {
                b'\n' if self.pre > 0 => self.put(b'\n', out),
                b'\r' if self.pre > 0 => {}
                // Outside Word's runs and HTML's `<pre>`, spaces, line ends and tabs in the
                // markup are layout: one space between words, none at a line's start.
                b' ' | b'\n' | b'\r' | b'\t'
                    if !matches!(self.dialect, Dialect::Word | Dialect::Slides) =>
                {
                    if self.line_open && !matches!(self.last, b' ' | b'\t') {
                        self.put(b' ', out);
                    }
                }
                _ => self.put_text(b, out),
            },
        }
    }

    /// A character of the text: inside a table's cell, a quote is doubled (the cell is quoted).
    fn put_text(&mut self, c: u8, out: &mut Vec<u8>) {
        if c == b'"' && self.cells > 0 {
            out.push(c);
        }
        self.put(c, out);
    }

    /// A table's cell begins: quoted, as a delimited file quotes a field, so that a comma in
    /// it (`First Example Bank, N.A.`) separates nothing.
    fn cell_begins(&mut self, out: &mut Vec<u8>) {
        self.cells += 1;
        if self.cells == 1 {
            self.put(b'"', out);
        }
    }

    /// A table's cell ends: its quote, and a tab; then, where it spans columns, a tab (an empty
    /// cell) for each other one (at most [`MAX_SPAN`]), so that the cells after it stay under
    /// their headings.
    fn cell_ends(&mut self, out: &mut Vec<u8>) {
        if self.cells == 1 {
            self.put(b'"', out);
        }
        self.cells = self.cells.saturating_sub(1);
        self.put(b'\t', out);
        if self.cells == 0 {
            for _ in 0..std::mem::take(&mut self.span).min(MAX_SPAN) {
                self.put(b'\t', out);
            }
        }
    }

    fn put(&mut self, c: u8, out: &mut Vec<u8>) {
        out.push(c);
        self.line_open = c != b'\n';
        self.last = c;
    }

    /// HTML: before a cell, an empty cell (a tab) for each column that a cell of a row above
    /// fills in this row (its `rowspan`).
    fn covered_cells(&mut self, out: &mut Vec<u8>) {
        while self
            .covered
            .get(self.column)
            .is_some_and(|&last| last >= self.row)
        {
            self.put(b'\t', out);
            self.column += 1;
        }
    }

    /// A paragraph's or a line break's end: a line end, a space inside a table's cell.
    fn line_end(&mut self, out: &mut Vec<u8>) {
        let c = if self.cells > 0 { b' ' } else { b'\n' };
        self.put(c, out);
    }

    /// A tag ended (its text between `<` and `>`, as much as was kept).
    fn tag_ended(&mut self, tag: &[u8], out: &mut Vec<u8>) {
        let closing = tag.first() == Some(&b'/');
        let name_start = usize::from(closing);
        let name_len = tag[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/')
            .unwrap_or(tag.len() - name_start);
        let name = &tag[name_start..name_start + name_len];
        let empty = self.tag_last == b'/';
        match self.dialect {
            Dialect::Word => self.word_tag(name, closing, empty, tag, out),
            Dialect::Slides => self.slides_tag(name, closing, empty, out),
            Dialect::OpenDocument => self.opendocument_tag(name, closing, empty, tag, out),
            Dialect::Html => self.html_tag(name, closing, tag, out),
            Dialect::Spreadsheet2003 => self.spreadsheet_2003_tag(name, closing, empty, tag, out),
        }
    }

    fn spreadsheet_2003_tag(
        &mut self,
        name: &[u8],
        closing: bool,
        empty: bool,
        tag: &[u8],
        out: &mut Vec<u8>,
    ) {
        let name = name.strip_prefix(b"ss:").unwrap_or(name);
        match (name, closing) {
            (b"Data", false) => self.text_depth = u32::from(!empty),
            (b"Data", true) => self.text_depth = 0,
            (b"Row", false) => self.column = 0,
            (b"Row", true) => self.put(b'\n', out),
            (b"Cell", false) => {
                // A cell after empty ones says where it stands (`ss:Index`, from 1); one over
                // several columns how many more it takes (`ss:MergeAcross`).
                if let Some(index) = attribute_number(tag, b"ss:Index") {
                    while self.column + 1 < index {
                        self.put(b'\t', out);
                        self.column += 1;
                    }
                }
                self.span = attribute_number(tag, b"ss:MergeAcross").unwrap_or(0);
                self.column += 1 + self.span;
                self.cell_begins(out);
                if empty {
                    self.cell_ends(out);
                }
            }
            (b"Cell", true) => self.cell_ends(out),
            // A cell's comment apart from its value.
            (b"Comment", false) if self.cells > 0 => self.put(b' ', out),
            // Each sheet's table apart from the next.
            (b"Table", true) => self.line_end(out),
            _ => {}
        }
    }

    fn word_tag(&mut self, name: &[u8], closing: bool, empty: bool, tag: &[u8], out: &mut Vec<u8>) {
        match (name, closing) {
            // A run's text, and text deleted with changes tracked (still in the file: a
            // reviewer's deletion of a customer's number keeps it there).
            (b"w:t" | b"w:delText", false) => self.text_depth = u32::from(!empty),
            (b"w:t" | b"w:delText", true) => self.text_depth = 0,
            (b"w:p", true) => self.line_end(out),
            (b"w:tc", false) if !empty => self.cell_begins(out),
            (b"w:gridSpan", false) if self.cells == 1 => {
                self.span = attribute_number(tag, b"w:val").map_or(0, |n| n - 1);
            }
            (b"w:tc", true) => self.cell_ends(out),
            (b"w:tr", true) => self.put(b'\n', out),
            (b"w:tab", false) => self.put(b'\t', out),
            (b"w:br" | b"w:cr", false) => self.line_end(out),
            _ => {}
        }
    }

    fn slides_tag(&mut self, name: &[u8], closing: bool, empty: bool, out: &mut Vec<u8>) {
        match (name, closing) {
            (b"a:t", false) => self.text_depth = u32::from(!empty),
            (b"a:t", true) => self.text_depth = 0,
            (b"a:p", true) => self.line_end(out),
            (b"a:tc", false) if !empty => self.cell_begins(out),
            (b"a:tc", false) => {
                self.cell_begins(out);
                self.cell_ends(out);
            }
            (b"a:tc", true) => self.cell_ends(out),
            (b"a:tr", true) => self.put(b'\n', out),
            (b"a:br", false) => self.line_end(out),
            _ => {}
        }
    }

    fn opendocument_tag(
        &mut self,
        name: &[u8],
        closing: bool,
        empty: bool,
        tag: &[u8],
        out: &mut Vec<u8>,
    ) {
        match (name, closing) {
            (b"text:p" | b"text:h", false) if empty => self.line_end(out),
            (b"text:p" | b"text:h", false) => self.text_depth += 1,
            (b"text:p" | b"text:h", true) => {
                self.text_depth = self.text_depth.saturating_sub(1);
                self.line_end(out);
            }
            (b"text:line-break", false) if self.text_depth > 0 => self.line_end(out),
            (b"text:tab", false) if self.text_depth > 0 => self.put(b'\t', out),
            (b"text:s", false) if self.text_depth > 0 => {
                for _ in 0..attribute_number(tag, b"text:c").unwrap_or(1) {
                    self.put(b' ', out);
                }
            }
            (b"table:table-cell" | b"table:covered-table-cell", false) if empty => {
                for _ in 0..attribute_number(tag, b"table:number-columns-repeated").unwrap_or(1) {
                    self.cell_begins(out);
                    self.cell_ends(out);
                }
            }
            (b"table:table-cell" | b"table:covered-table-cell", false) => self.cell_begins(out),
            (b"table:table-cell" | b"table:covered-table-cell", true) => self.cell_ends(out),
            (b"table:table-row", true) => self.put(b'\n', out),
            _ => {}
        }
    }

    fn html_tag(&mut self, name: &[u8], closing: bool, tag: &[u8], out: &mut Vec<u8>) {
        let mut lower = [0u8; 12];
        if name.is_empty() || name.len() > lower.len() {
            return;
        }
        for (l, c) in lower.iter_mut().zip(name) {
            *l = c.to_ascii_lowercase();
        }
        let name = &lower[..name.len()];
        if self.raw {
            // A script's or a style's text ends only at its own closing tag.
            self.raw = !(closing && matches!(name, b"script" | b"style"));
            return;
        }
        match name {
            b"script" | b"style" if !closing => self.raw = true,
            b"br" => self.line_end(out),
            b"td" | b"th" => {
                // A cell ends at its closing tag, or at the next cell's or row's start.
                if self.cells > 0 {
                    self.cells = 1;
                    self.cell_ends(out);
                }
                if !closing {
                    self.covered_cells(out);
                    self.cell_begins(out);
                    // A cell over several columns stands for them all (`colspan="2"`); one
                    // over several rows (`rowspan="2"`) fills its columns in the rows below.
                    self.span = attribute_number(tag, b"colspan").map_or(0, |n| n - 1);
                    let rows = attribute_number(tag, b"rowspan").map_or(0, |n| n - 1);
                    let columns = self.column..self.column + 1 + self.span.min(MAX_SPAN);
                    if rows > 0 {
                        let last = self.row.saturating_add(rows as u32);
                        for c in columns.clone().take_while(|&c| c < MAX_ROWSPAN_COLUMNS) {
                            if self.covered.len() <= c {
                                self.covered.resize(c + 1, 0);
                            }
                            self.covered[c] = last;
                        }
                    }
                    self.column = columns.end;
                }
            }
            b"tr" | b"table" | b"thead" | b"tbody" | b"tfoot" => {
                if self.cells > 0 {
                    self.cells = 1;
                    self.cell_ends(out);
                }
                // A row begins at its first cell's column; a cell's rows end with its table
                // or its group of rows.
                if name == b"tr" && !closing {
                    self.row = self.row.saturating_add(1);
                    self.column = 0;
                } else if name != b"tr" {
                    self.row = 0;
                    self.covered.clear();
                }
                if closing && name == b"tr" || self.line_open {
                    self.put(b'\n', out);
                }
            }
            b"pre" => {
                if closing {
                    self.pre = self.pre.saturating_sub(1);
                } else {
                    self.pre += 1;
                }
                self.block(closing, out);
            }
            b"p" | b"div" | b"li" | b"ul" | b"ol" | b"dl" | b"dt" | b"dd" | b"h1" | b"h2"
            | b"h3" | b"h4" | b"h5" | b"h6" | b"title" | b"blockquote" | b"section"
            | b"article" | b"header" | b"footer" | b"address" | b"hr" | b"caption" | b"form"
            | b"fieldset" | b"center" => self.block(closing, out),
            _ => {}
        }
    }

    /// A block's start or end: the line under way ends (a block's end always ends one).
    fn block(&mut self, closing: bool, out: &mut Vec<u8>) {
        if closing || self.line_open {
            self.line_end(out);
        }
    }
}

/// The number an attribute of a tag gives (`colspan="2"`, `colspan=2`, `w:val="3"`; the name
/// in any case), from 1 to [`MAX_REPEAT`]; `None` without it (or beyond the tag's bytes kept).
fn attribute_number(tag: &[u8], name: &[u8]) -> Option<usize> {
    let at = tag
        .windows(name.len())
        .position(|w| w.eq_ignore_ascii_case(name))?;
    let rest = tag[at + name.len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or(rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).take(4);
    let n = digits.fold(0usize, |n, c| n * 10 + usize::from(c - b'0'));
    (n > 0).then_some(n.min(MAX_REPEAT))
}

/// The character an entity names (its name between `&` and `;`): the five of XML, HTML's
/// non-breaking space, and numeric references to ASCII; any other a space.
fn decode_entity(name: &[u8]) -> u8 {
    match name {
        b"amp" => b'&',
        b"lt" => b'<',
        b"gt" => b'>',
        b"quot" => b'"',
        b"apos" => b'\'',
        _ => {
            let value = match name
                .strip_prefix(b"#x")
                .or_else(|| name.strip_prefix(b"#X"))
            {
                Some(hex) => std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok()),
                None => name
                    .strip_prefix(b"#")
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse().ok()),
            };
            value
                .and_then(|v| u8::try_from(v).ok())
                .filter(u8::is_ascii)
                .unwrap_or(b' ')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(dialect: Dialect, markup: &str, chunk: usize) -> String {
        let mut w = MarkupText::new(dialect);
        let mut out = Vec::new();
        for c in markup.as_bytes().chunks(chunk) {
            w.convert(c, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    fn same_in_chunks(dialect: Dialect, markup: &str, want: &str) {
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(text(dialect, markup, chunk), want, "chunks of {chunk}");
        }
    }

    /// Excel 2003's XML Spreadsheet as Excel writes one: a title merged over the columns, a
    /// row index past a blank row, a cell after an empty one by its index, rich text in a
    /// cell's data, a comment; a second sheet's table apart.
    #[test]
    fn excel_2003_rows_and_cells_read_as_a_table() {
        let xml = concat!(
            r#"<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>"#,
            r#"<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">"#,
            r#"<Styles><Style ss:ID="s21"><Font ss:Bold="1"/></Style></Styles>"#,
            r#"<Worksheet ss:Name="Payees"><Table ss:ExpandedColumnCount="4" x:FullRows="1">"#,
            r#"<Row><Cell ss:MergeAcross="2" ss:StyleID="s21"><Data ss:Type="String">Payees</Data></Cell><Cell><Data ss:Type="String">Q4</Data></Cell></Row>"#,
            r#"<Row ss:Index="3"><Cell><Data ss:Type="String">Vendor</Data></Cell><Cell><Data ss:Type="String">Routing Number</Data></Cell><Cell><Data ss:Type="String">Account</Data></Cell><Cell><Data ss:Type="String">SSN</Data></Cell></Row>"#,
            r#"<Row><Cell><ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><B>Acme</B> &amp; Co</ss:Data></Cell><Cell ss:Index="3"><Data ss:Type="Number">12345678</Data><Comment><ss:Data>checked</ss:Data></Comment></Cell><Cell><Data ss:Type="String">219099998</Data></Cell></Row>"#,
            r#"</Table></Worksheet><Worksheet ss:Name="Notes"><Table><Row><Cell/><Cell><Data ss:Type="String">x</Data></Cell></Row></Table></Worksheet></Workbook>"#,
        );
        assert!(spreadsheet_2003_magic(xml.as_bytes()));
        let want = concat!(
            "\"Payees\"\t\t\t\"Q4\"\t\n",
            "\"Vendor\"\t\"Routing Number\"\t\"Account\"\t\"SSN\"\t\n",
            "\"Acme & Co\"\t\t\"12345678 checked\"\t\"219099998\"\t\n",
            "\n\"\"\t\"x\"\t\n\n",
        );
        same_in_chunks(Dialect::Spreadsheet2003, xml, want);
    }

    /// An Excel 2003 XML export of payees counts as the same rows in a workbook do: the
    /// routing numbers, their accounts and the SSNs under headings that name them, each
    /// payee's e-mail address.
    #[test]
    fn an_excel_2003_export_counts_by_its_headings() {
        let routing = [
            "021000021",
            "011000015",
            "026009593",
            "121000358",
            "061000104",
        ];
        let mut xml = String::from(concat!(
            r#"<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>"#,
            r#"<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Payees"><Table>"#,
            r#"<Row><Cell><Data ss:Type="String">ID</Data></Cell><Cell><Data ss:Type="String">SSN</Data></Cell><Cell><Data ss:Type="String">Routing Number</Data></Cell><Cell><Data ss:Type="String">Account Number</Data></Cell><Cell><Data ss:Type="String">Email</Data></Cell></Row>"#,
        ));
        for i in 0..12 {
            xml += &format!(
                r#"<Row><Cell><Data ss:Type="Number">{i}</Data></Cell><Cell><Data ss:Type="String">{:03}{:02}{:04}</Data></Cell><Cell><Data ss:Type="String">{}</Data></Cell><Cell><Data ss:Type="String">{:010}</Data></Cell><Cell><Data ss:Type="String">c{i}@bank.example</Data></Cell></Row>"#,
                100 + i,
                10 + i,
                1000 + i,
                routing[i % 5],
                4000000 + i
            );
        }
        xml += "</Table></Worksheet></Workbook>";
        let found = crate::scan::classify(xml.as_bytes());
        let counts: Vec<_> = found.counts.present().collect();
        use crate::Class;
        assert_eq!(
            counts,
            [
                (Class::AbaRouting, 12),
                (Class::UsBankAccount, 12),
                (Class::UsSsn, 12),
                (Class::Email, 12)
            ],
            "{found:?}"
        );
        let names: Vec<_> = found.formats.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["account_table", "excel_xml"]);
    }

    #[test]
    fn word_paragraphs_cells_and_entities_read_as_the_document_shows_them() {
        let xml = concat!(
            r#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>"#,
            r#"<w:p><w:r><w:t>ABA routing number: 021000021</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t xml:space="preserve">Account </w:t></w:r><w:r><w:t>number:</w:t><w:tab/><w:t>12345678</w:t></w:r></w:p>"#,
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>SSN</w:t></w:r></w:p></w:tc></w:tr>"#,
            r#"<w:tr><w:tc><w:p><w:r><w:t>Smith &amp; Co</w:t></w:r></w:p><w:p><w:r><w:t>Ltd</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>219&#45;09-9998</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
            r#"<w:p><w:r><w:t/><w:br/><w:t>end &nbsp; &#x41;</w:t></w:r></w:p>"#,
            r#"<w:p><w:del><w:r><w:delText>SSN 219-09-9998</w:delText></w:r></w:del><w:r><w:instrText>PAGE 4111</w:instrText></w:r></w:p></w:body></w:document>"#,
        );
        let want = "ABA routing number: 021000021\nAccount number:\t12345678\n\"Name \"\t\"SSN \"\t\n\"Smith & Co Ltd \"\t\"219-09-9998 \"\t\n\nend   A\nSSN 219-09-9998\n";
        same_in_chunks(Dialect::Word, xml, want);
        assert!(is_word_text_part(b"word/document.xml"));
        assert!(is_word_text_part(b"word/header1.xml"));
        assert!(is_word_text_part(b"word/comments.xml"));
        assert!(!is_word_text_part(b"word/styles.xml"));
        assert!(!is_word_text_part(b"word/header/x.xml"));
    }

    /// A cell over two columns (Word's `w:gridSpan`, HTML's `colspan`) is followed by an empty
    /// cell (a tab) for the other.
    #[test]
    fn a_cell_over_two_columns_stands_for_both() {
        let word = concat!(
            r#"<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>Bank</w:t></w:r></w:p></w:tc>"#,
            r#"<w:tc><w:p><w:r><w:t>ABA</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
        );
        same_in_chunks(Dialect::Word, word, "\"Bank \"\t\t\"ABA \"\t\n");
        let page = "<table><tr><TD COLSPAN=3>Bank</td><td colspan='x'>ABA</td></tr></table>";
        same_in_chunks(Dialect::Html, page, "\"Bank\"\t\t\t\"ABA\"\t\n");
    }

    /// A cell over several rows (HTML's `rowspan`, as LibreOffice writes a merged cell, and
    /// reports group an account's rows under its customer) fills its columns in the rows
    /// below: their cells stay under their headings. Its reach ends with its table.
    #[test]
    fn a_cell_over_several_rows_fills_its_columns_below() {
        let page = concat!(
            "<table><tr><th>Customer</th><th>Routing</th><th>Account</th></tr>\n",
            "<tr><td rowspan=\"3\">ACME</td><td>021000021</td><td>12345678</td></tr>\n",
            "<tr><td>011000015</td><td ROWSPAN=2>87654321</td></tr>\n",
            "<tr><td>026009593</td></tr>\n",
            "<tr><td colspan=2 rowspan=2>Total</td><td>3</td></tr><tr><td>x</td></tr></table>\n",
            "<table><tr><td>a</td><td>b</td></tr></table>",
        );
        let want = concat!(
            "\"Customer\"\t\"Routing\"\t\"Account\"\t\n",
            "\"ACME\"\t\"021000021\"\t\"12345678\"\t\n",
            "\t\"011000015\"\t\"87654321\"\t\n",
            "\t\"026009593\"\t\n",
            "\"Total\"\t\t\"3\"\t\n",
            "\t\t\"x\"\t\n",
            "\"a\"\t\"b\"\t\n",
        );
        same_in_chunks(Dialect::Html, page, want);
    }

    /// As PowerPoint and python-pptx write a slide: a title's shape, a table of two rows (a
    /// comma in a cell, an empty cell), a line break in a text box, text in other elements
    /// (a shape's name) showing nothing.
    #[test]
    fn slides_read_as_they_show() {
        let xml = concat!(
            r#"<p:sld><p:cSld><p:spTree><p:sp><p:nvSpPr><p:cNvPr id="2" name="Title 021000021"/></p:nvSpPr>"#,
            r#"<p:txBody><a:bodyPr/><a:p><a:r><a:rPr lang="en-US"/><a:t>Customers</a:t></a:r></a:p></p:txBody></p:sp>"#,
            r#"<p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tblGrid><a:gridCol w="100"/></a:tblGrid>"#,
            r#"<a:tr h="370"><a:tc><a:txBody><a:p><a:r><a:t>name</a:t></a:r></a:p></a:txBody></a:tc>"#,
            r#"<a:tc><a:txBody><a:p><a:r><a:t>routing_number</a:t></a:r></a:p></a:txBody></a:tc></a:tr>"#,
            r#"<a:tr h="370"><a:tc><a:txBody><a:p><a:r><a:t>Doe, John</a:t></a:r></a:p></a:txBody></a:tc>"#,
            r#"<a:tc><a:txBody><a:p><a:r><a:t>021000021</a:t></a:r></a:p></a:txBody></a:tc><a:tc/></a:tr></a:tbl>"#,
            r#"</a:graphicData></a:graphic></p:graphicFrame><p:sp><p:txBody><a:p><a:r><a:t>ABA: 021000021</a:t></a:r>"#,
            r#"<a:br/><a:r><a:t>Account: 12345678</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#,
        );
        let want = "Customers\n\"name \"\t\"routing_number \"\t\n\"Doe, John \"\t\"021000021 \"\t\"\"\t\nABA: 021000021\nAccount: 12345678\n";
        same_in_chunks(Dialect::Slides, xml, want);
        assert!(is_slide_part(b"ppt/slides/slide12.xml"));
        assert!(is_slide_part(b"ppt/notesSlides/notesSlide1.xml"));
        assert!(!is_slide_part(b"ppt/slides/_rels/slide1.xml.rels"));
        assert!(!is_slide_part(b"ppt/slideLayouts/slideLayout1.xml"));
    }

    /// As LibreOffice Writer writes `content.xml`: styles and declarations before the body
    /// (their numbers show nothing), paragraphs and headings, spans, runs of spaces, tabs,
    /// line breaks, a table with a repeated empty cell, an empty paragraph.
    #[test]
    fn opendocument_text_reads_as_the_document_shows_it() {
        let xml = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content office:version="1.3">"#,
            r#"<office:automatic-styles><style:style style:name="P1"><style:paragraph-properties fo:margin-top="0.1in" fo:line-height="115%"/></style:style></office:automatic-styles>"#,
            "<office:body><office:text><text:sequence-decls><text:sequence-decl text:display-outline-level=\"0\" text:name=\"Table\"/></text:sequence-decls>\n",
            r#"<text:h text:style-name="H1" text:outline-level="1">Wire instructions</text:h>"#,
            r#"<text:p text:style-name="P1">ABA routing number:<text:s/><text:span text:style-name="T1">021000021</text:span></text:p>"#,
            r#"<text:p text:style-name="P1">Account<text:s text:c="2"/>number:<text:tab/>12345678<text:line-break/>Ref &amp; 7</text:p><text:p text:style-name="P1"/>"#,
            r#"<table:table table:name="T"><table:table-column table:number-columns-repeated="3"/>"#,
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p></table:table-cell><table:table-cell table:number-columns-repeated="2"/></table:table-row>"#,
            r#"<table:table-row><table:table-cell><text:p>Ann</text:p><text:p>Lee</text:p></table:table-cell><table:table-cell><text:p>219-09-9998</text:p></table:table-cell></table:table-row></table:table>"#,
            "</office:text></office:body></office:document-content>",
        );
        let want = "Wire instructions\nABA routing number: 021000021\nAccount  number:\t12345678\nRef & 7\n\n\"Name \"\t\"\"\t\"\"\t\n\"Ann Lee \"\t\"219-09-9998 \"\t\n";
        same_in_chunks(Dialect::OpenDocument, xml, want);
    }

    /// As LibreOffice and others write a page: a head with a style and a script (their text
    /// shows nothing, a `<` in the script opens no tag that counts), a comment holding a tag,
    /// paragraphs whose markup's line ends are spaces, a table whose cells carry their
    /// values in attributes too (Calc's `sdval`) and whose last cells are not closed (each cell
    /// quoted, its quotes doubled), `<pre>`.
    #[test]
    fn html_reads_as_the_page_shows_it() {
        let page = concat!(
            "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>List</title>\n",
            "<style type=\"text/css\">\n td { width: 4111111111111111px }\n</style>\n",
            "<script>if (a<b && c>d) { x = \"</div>\"; }</script>\n",
            "<SCRIPT type=\"text/javascript\">for (i = 0; i<n; i++) { s = \"<b title='1'>\" + '</scripts>'; }</SCRIPT >\n</head>\n<body>\n",
            "<!-- <p>4111111111111111</p> -->\n<h1 class=\"x\">Customers</h1>\n",
            "<p>Routing number:\n021000021<br>Account number: 12345678</p>\n",
            "<table border=\"1\">\n<tr><th>name</th><th>card_number</th></tr>\n",
            "<tr><td>Ann &amp; Bo, &quot;Ltd&quot;</td><td align=\"right\" sdval=\"4111111111111111\" sdnum=\"1033;\">4111111111111111</td></tr>\n",
            "<TR><TD>Cy<TD title=\"a>b\">5555555555554444\n</table>\n",
            "<pre>line one\r\nline two</pre><p>after&nbsp;it</p>\n</body></html>\n",
        );
        let want = "List\nCustomers\nRouting number: 021000021\nAccount number: 12345678\n\"name\"\t\"card_number\"\t\n\"Ann & Bo, \"\"Ltd\"\"\"\t\"4111111111111111\"\t\n\"Cy\"\t\"5555555555554444 \"\t\nline one\nline two\nafter it\n";
        same_in_chunks(Dialect::Html, page, want);
        assert!(html_magic(page.as_bytes()));
        assert!(html_magic(
            b"\xEF\xBB\xBF  <HTML lang=\"en\"><body>x</body></HTML>"
        ));
        assert!(html_magic(
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">"
        ));
        assert!(!html_magic(b"name,card\n<html>,4111111111111111\n"));
        assert!(!html_magic(
            b"<Document><html_text>x</html_text></Document>"
        ));
    }

    #[test]
    fn flat_opendocument_is_told_by_its_roots_type() {
        let root = |t: &str| {
            format!(
                "<?xml version=\"1.0\"?>\n<office:document xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" office:version=\"1.3\" office:mimetype=\"application/vnd.oasis.opendocument.{t}\">"
            )
        };
        assert_eq!(
            flat_opendocument(root("text").as_bytes()),
            Some(FlatOpenDocument::Text)
        );
        assert_eq!(
            flat_opendocument(root("spreadsheet").as_bytes()),
            Some(FlatOpenDocument::Spreadsheet)
        );
        assert_eq!(flat_opendocument(root("presentation").as_bytes()), None);
        assert_eq!(flat_opendocument(b"<office:document-content>"), None);
        assert!(is_opendocument_text(
            b"application/vnd.oasis.opendocument.text"
        ));
        assert!(!is_opendocument_text(
            b"application/vnd.oasis.opendocument.text-template"
        ));
    }

    proptest::proptest! {
        /// Any bytes in any chunks: the same text as at once, never more bytes than came in
        /// but for the runs an element stands for.
        #[test]
        fn any_markup_in_any_chunks(
            bytes in proptest::collection::vec(proptest::sample::select(b"<>/!-\"'=&;#x41 \n\tpbrtdhw:text:s c=\"3\"script".to_vec()), 0..300),
            size in 1usize..17,
        ) {
            for dialect in [
                Dialect::Word,
                Dialect::Slides,
                Dialect::OpenDocument,
                Dialect::Html,
                Dialect::Spreadsheet2003,
            ] {
                let whole = {
                    let mut m = MarkupText::new(dialect);
                    let mut out = Vec::new();
                    m.convert(&bytes, &mut out);
                    out
                };
                let mut m = MarkupText::new(dialect);
                let mut out = Vec::new();
                for c in bytes.chunks(size) {
                    m.convert(c, &mut out);
                }
                proptest::prop_assert_eq!(&out, &whole);
                proptest::prop_assert!(out.len() <= bytes.len() * MAX_REPEAT);
            }
        }
    }
}
