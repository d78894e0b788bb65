//! ZIP archives read as they stream, entry by entry, from their local headers: each entry's
//! contents (stored, or deflated) handed to a scanner of its own, and what the entries hold
//! summed. What cannot be read that way makes the archive `scanned_in_part`
//! ([`crate::Format::ScannedInPart`]): an encrypted entry (also named: `encrypted:zip`, and an
//! archive of encrypted entries alone is `binary`, its classes unknown), another compression
//! method, a stored
//! entry whose size only the descriptor after it says, the file's budget spent
//! ([`crate::encoding::MAX_INFLATED`] bytes of contents, [`crate::encoding::MAX_ENTRIES`]
//! entries, in all its layers), an archive that breaks off. The central directory at the end
//! repeats the local headers and is not read. An archive or compressed file inside an entry is
//! opened in turn, to [`crate::encoding::MAX_DEPTH`] layers, within the same budget: what a file
//! costs is bounded however its layers nest.
//!
//! Pure: bytes in, what the entries hold out; every length from the archive is bounded before
//! it is used.

use std::sync::Arc;

use crate::Format;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};
use crate::sheet::{PIVOT_HEAD, Part, PivotCaches, PivotPart, SharedStrings, Sheet, Workbook};
use crate::xlsb::Records;

/// A local file header's signature: an archive begins with one.
pub(crate) const LOCAL: [u8; 4] = *b"PK\x03\x04";
/// The central directory's first header, and the end record of an archive with no entries:
/// the entries are over.
const CENTRAL: [u8; 4] = *b"PK\x01\x02";
const END: [u8; 4] = *b"PK\x05\x06";
/// A data descriptor's optional signature.
const DESCRIPTOR: [u8; 4] = *b"PK\x07\x08";
/// A local header's fixed part.
const HEADER: usize = 30;
/// Inflated bytes produced per call (the buffer an entry's contents pass through).
const OUT: usize = 64 << 10;
/// Most bytes of an OpenDocument package's `mimetype` kept (the longest type is 55).
const MAX_MIMETYPE: usize = 80;

/// Whether a file's first four bytes begin a ZIP archive (an empty one too).
pub(crate) fn magic(first: [u8; 4]) -> bool {
    first == LOCAL || first == END
}

enum State {
    /// Gathering the next local header (or the signature that ends the entries).
    Header,
    /// A stored entry's bytes still to come.
    Stored { left: u64 },
    /// A deflated entry; a data descriptor follows it when `descriptor` says (and whether its
    /// sizes are ZIP64's eight bytes).
    Deflated {
        inflater: Box<flate2::Decompress>,
        descriptor: Option<bool>,
    },
    /// Gathering a data descriptor.
    Descriptor { zip64: bool },
    /// An entry not read, its bytes still to pass; a data descriptor follows them when
    /// `descriptor` says (and whether its sizes are ZIP64's).
    Skip { left: u64, descriptor: Option<bool> },
    /// The entries are over (or the rest cannot be read).
    Done,
}

/// A ZIP archive being read, chunk by chunk.
pub(crate) struct Zip {
    patterns: Option<Arc<Patterns>>,
    /// What the file's layers may still read: the entries' contents and their count.
    budget: Budget,
    /// How deep in archives the archive is (its entries one deeper).
    depth: u8,
    state: State,
    /// The bytes of a header or descriptor gathered so far.
    gathered: Vec<u8>,
    entry: Option<Box<Scanner>>,
    /// A workbook's part the entry is, read by its columns too ([`crate::sheet`]).
    part: Option<Reading>,
    /// An `.xlsb` workbook's part the entry is: its records, written out as the SpreadsheetML
    /// an XLSX workbook's part holds ([`crate::xlsb`]), into `written`.
    records: Option<Box<Records>>,
    written: Vec<u8>,
    /// The entry under way is a part of a workbook's pivot cache, its definition's beginning
    /// so far; the caches' parts read ([`PivotCaches`]).
    pivot: Option<(u32, PivotPart)>,
    pivot_head: Vec<u8>,
    pivots: PivotCaches,
    workbook: Workbook,
    /// Its first entry is an OpenDocument package's `mimetype`: its contents (the package's
    /// type, to [`MAX_MIMETYPE`] bytes).
    mimetype: Option<Vec<u8>>,
    /// The entry under way is a document's text written as markup (a Word document's text
    /// part, a presentation's slide, an OpenDocument text's `content.xml`), and in which; some
    /// entry was a Word document's, a presentation's, an OpenDocument text's.
    document: Option<crate::markup::Dialect>,
    word: bool,
    slides: bool,
    odt: bool,
    /// The entry under way is a workbook's picture of itself ([`rendering`]).
    rendering: bool,
    /// Its contents' bytes so far.
    entry_bytes: u64,
    /// A `pg_dump -Fd` directory zipped: its table of contents and the tables it names by
    /// their files ([`crate::pg_archive::DumpFiles`]).
    dump: crate::pg_archive::DumpFiles,
    found: Entries,
    entries: u32,
    out: Vec<u8>,
    /// Some of it could not be read.
    pub(crate) cut: bool,
}

impl Zip {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Zip {
            patterns,
            budget,
            depth,
            state: State::Header,
            gathered: Vec::new(),
            entry: None,
            part: None,
            records: None,
            written: Vec::new(),
            pivot: None,
            pivot_head: Vec::new(),
            pivots: PivotCaches::default(),
            workbook: Workbook::default(),
            mimetype: None,
            document: None,
            word: false,
            slides: false,
            odt: false,
            rendering: false,
            entry_bytes: 0,
            dump: Default::default(),
            found: Entries::default(),
            entries: 0,
            out: Vec::new(),
            cut: false,
        }
    }

    /// Reads the next bytes of the archive.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            data = match &mut self.state {
                State::Done => return,
                State::Header => self.header(data),
                State::Stored { left } => {
                    let (n, last) = count_down(left, data);
                    self.contents(&data[..n]);
                    if last {
                        self.end_entry(None);
                    }
                    &data[n..]
                }
                State::Deflated { .. } => self.inflate(data),
                State::Descriptor { zip64 } => {
                    let zip64 = *zip64;
                    self.descriptor(data, zip64)
                }
                State::Skip { left, descriptor } => {
                    let (n, last) = count_down(left, data);
                    if last {
                        self.state = match *descriptor {
                            Some(zip64) => State::Descriptor { zip64 },
                            None => State::Header,
                        };
                    }
                    &data[n..]
                }
            };
        }
    }

    /// The end of the archive: what its entries hold.
    pub(crate) fn finish(mut self) -> Classification {
        if !matches!(self.state, State::Done) {
            // It broke off: an entry under way counts what came of it.
            self.cut = true;
            self.end_entry(None);
        }
        for (cache, bytes) in std::mem::take(&mut self.pivots).finish() {
            self.found.add(cache, bytes, false);
        }
        // Table files no table of contents named: read as the rows they are, unnamed.
        let at = (&self.patterns, &self.budget, self.depth);
        self.dump.read_held(true, at, &mut self.found);
        self.cut |= self.dump.cut;
        let mut found = self.found;
        found.held.formats.append(&mut self.workbook.formats);
        if self.word {
            found.held.formats.push(Format::Docx);
        }
        if self.slides {
            found.held.formats.push(Format::Pptx);
        }
        if self.odt {
            found.held.formats.push(Format::Odt);
        }
        for (name, n) in self.workbook.custom_again() {
            *found.held.custom.entry(name).or_default() += n;
        }
        let held = &mut found.held;
        self.cut |= self.workbook.finish(&mut held.counts, &mut held.distinct);
        found.finish(Format::Zip, self.cut)
    }

    /// About how much memory it keeps between chunks: its buffers, its inflater, the entry
    /// under way's scanner and the workbook's cells ([`crate::Scanner::held_bytes`]).
    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::{INFLATER_BYTES, held};
        let inflater = match self.state {
            State::Deflated { .. } => INFLATER_BYTES,
            _ => 0,
        };
        let part = match &self.part {
            Some(Reading::Worksheet(sheet)) => sheet.held_bytes(),
            Some(Reading::SharedStrings(shared)) => shared.held_bytes(),
            // (Its tag and entity, a few bytes each.)
            Some(Reading::Document(_)) => 128,
            None => 0,
        };
        held(&self.out)
            + held(&self.written)
            + self.records.as_ref().map_or(0, |r| r.held_bytes())
            + held(&self.pivot_head)
            + self.pivots.held_bytes()
            + held(&self.gathered)
            + inflater
            + part
            + self.workbook.held_bytes()
            + self.entry.as_ref().map_or(0, |s| s.held_bytes())
            + self.dump.held_bytes()
    }

    /// Gathers `want` bytes into `gathered` from `data`: the rest of `data` once they are
    /// there, else `None` (all of `data` was taken).
    fn gather<'a>(&mut self, data: &'a [u8], want: usize) -> Option<&'a [u8]> {
        let take = want.saturating_sub(self.gathered.len()).min(data.len());
        self.gathered.extend_from_slice(&data[..take]);
        (self.gathered.len() >= want).then_some(&data[take..])
    }

    fn header<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let Some(rest) = self.gather(data, 4) else {
            return &[];
        };
        let signature: [u8; 4] = self.gathered[..4].try_into().unwrap_or_default();
        if signature == CENTRAL || signature == END {
            self.state = State::Done;
            return &[];
        }
        if signature != LOCAL {
            // Not an entry where one should be.
            return self.stop();
        }
        let Some(rest) = self.gather(rest, HEADER) else {
            return &[];
        };
        let h = &self.gathered;
        let names = usize::from(u16::from_le_bytes([h[26], h[27]]))
            + usize::from(u16::from_le_bytes([h[28], h[29]]));
        let Some(rest) = self.gather(rest, HEADER + names) else {
            return &[];
        };
        let h = std::mem::take(&mut self.gathered);
        let flags = u16::from_le_bytes([h[6], h[7]]);
        let method = u16::from_le_bytes([h[8], h[9]]);
        let name_len = usize::from(u16::from_le_bytes([h[26], h[27]]));
        let (size, zip64) = compressed_size(&h, name_len);
        let name = &h[HEADER..HEADER + name_len];
        // An OpenDocument package names its type in a first entry `mimetype`: its
        // `content.xml` is then its contents (another archive's is not read as tables).
        let first = self.entries == 0;
        if first && name == b"mimetype" {
            self.mimetype = Some(Vec::new());
        }
        let records = Records::of(name);
        let mut part = Part::of(name)
            .or_else(|| records.as_ref().and_then(Records::part))
            .filter(|p| *p != Part::OpenDocument || self.mimetype.is_some());
        if part == Some(Part::Worksheet) && records.is_some() {
            self.workbook.binary();
        }
        // An OpenDocument text's `content.xml` is its text, not tables.
        let odt = part == Some(Part::OpenDocument)
            && self
                .mimetype
                .as_deref()
                .is_some_and(crate::markup::is_opendocument_text);
        self.document = if odt {
            part = None;
            self.odt = true;
            Some(crate::markup::Dialect::OpenDocument)
        } else if crate::markup::is_word_text_part(name) {
            self.word = true;
            Some(crate::markup::Dialect::Word)
        } else if crate::markup::is_slide_part(name) {
            self.slides = true;
            Some(crate::markup::Dialect::Slides)
        } else {
            None
        };
        self.rendering = rendering(name);
        self.pivot = crate::sheet::pivot_part(name);
        self.pivot_head.clear();
        let encrypted = flags & 1 != 0;
        let descriptor = flags & 8 != 0;
        // Its contents' size, where the header gives it (a `pg_dump` table file may be kept
        // to be read later only then).
        let plain = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
        let plain = (!descriptor && plain != u32::MAX).then_some(u64::from(plain));
        self.entries += 1;
        if !self.budget.entry() {
            return self.stop();
        }
        self.state = match (method, encrypted, descriptor) {
            (0, false, false) => {
                self.begin_entry(part, records, (name, plain));
                if size == 0 {
                    self.end_entry(None);
                    State::Header
                } else {
                    State::Stored { left: size }
                }
            }
            (8, false, _) => {
                self.begin_entry(part, records, (name, plain));
                State::Deflated {
                    inflater: Box::new(flate2::Decompress::new(false)),
                    descriptor: descriptor.then_some(zip64),
                }
            }
            // Encrypted (a password's, or WinZip's AES): its classes unknown, exposed only
            // with the password; passed over where its size is known (Info-ZIP's `zip -P`
            // writes it in the local header and in a descriptor after the entry).
            (_, true, _) if size > 0 || !descriptor => {
                self.found.encrypted("zip");
                match (size, descriptor) {
                    (0, _) => State::Header,
                    (_, true) => State::Skip {
                        left: size,
                        descriptor: Some(zip64),
                    },
                    (_, false) => State::Skip {
                        left: size,
                        descriptor: None,
                    },
                }
            }
            // Compressed otherwise: likewise, the archive read in part.
            (_, false, false) => {
                self.cut = true;
                if size == 0 {
                    State::Header
                } else {
                    State::Skip {
                        left: size,
                        descriptor: None,
                    }
                }
            }
            _ => {
                if encrypted {
                    self.found.encrypted("zip");
                }
                return self.stop();
            }
        };
        rest
    }

    /// Inflates what `data` holds of a deflated entry.
    fn inflate<'a>(&mut self, mut data: &'a [u8]) -> &'a [u8] {
        let mut out = std::mem::take(&mut self.out);
        out.resize(OUT, 0);
        while !data.is_empty() {
            let State::Deflated {
                inflater,
                descriptor,
            } = &mut self.state
            else {
                break;
            };
            let descriptor = *descriptor;
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let status = inflater.decompress(data, &mut out, flate2::FlushDecompress::None);
            let read = (inflater.total_in() - before_in) as usize;
            let made = (inflater.total_out() - before_out) as usize;
            data = &data[read.min(data.len())..];
            self.contents(&out[..made]);
            match status {
                Ok(flate2::Status::StreamEnd) => self.end_entry(descriptor),
                Ok(_) if read == 0 && made == 0 => {
                    data = self.stop();
                }
                Ok(_) => {}
                Err(_) => data = self.stop(),
            }
        }
        self.out = out;
        data
    }

    /// Passes a data descriptor: an optional signature, the CRC, the two sizes.
    fn descriptor<'a>(&mut self, data: &'a [u8], zip64: bool) -> &'a [u8] {
        let sizes = if zip64 { 16 } else { 8 };
        let Some(rest) = self.gather(data, 4) else {
            return &[];
        };
        let want = if self.gathered[..4] == DESCRIPTOR {
            8 + sizes
        } else {
            4 + sizes
        };
        let Some(rest) = self.gather(rest, want) else {
            return &[];
        };
        self.gathered.clear();
        self.state = State::Header;
        rest
    }

    /// An entry's contents begin: a scanner of its own (one layer deeper, within the budget),
    /// and a workbook's reader where the entry is a worksheet or its shared strings.
    fn begin_entry(
        &mut self,
        part: Option<Part>,
        records: Option<Records>,
        (name, size): (&[u8], Option<u64>),
    ) {
        // A `pg_dump -Fd` directory's table of contents, or a table's file before it: kept.
        self.dump.begin(name, size);
        let at = (&self.patterns, &self.budget, self.depth);
        let mut s = self.dump.scanner(name, at);
        if part.is_some() {
            s.in_workbook();
        }
        self.part = part.map(|p| match p {
            Part::Worksheet => Reading::Worksheet(Box::new(self.workbook.sheet(false))),
            Part::SharedStrings => Reading::SharedStrings(Box::new(
                self.workbook.shared_strings(self.patterns.clone()),
            )),
            Part::OpenDocument => Reading::Worksheet(Box::new(self.workbook.sheet(true))),
        });
        if let Some(dialect) = self.document {
            s.reads_document();
            self.part = Some(Reading::Document(Box::new(crate::markup::MarkupText::new(
                dialect,
            ))));
        }
        self.entry = Some(Box::new(s));
        self.records = records.map(Box::new);
        self.entry_bytes = 0;
    }

    /// An entry's contents, while the file's budget lasts.
    fn contents(&mut self, bytes: &[u8]) {
        let n = self.budget.bytes(bytes.len() as u64) as usize;
        if self.entries == 1
            && let Some(mimetype) = self.mimetype.as_mut()
        {
            let room = MAX_MIMETYPE.saturating_sub(mimetype.len());
            mimetype.extend_from_slice(&bytes[..n.min(room)]);
        }
        if let Some((_, PivotPart::Definition)) = self.pivot {
            let room = PIVOT_HEAD.saturating_sub(self.pivot_head.len());
            self.pivot_head.extend_from_slice(&bytes[..n.min(room)]);
        }
        let mut whole = n == bytes.len();
        match self.records.as_mut() {
            Some(records) => {
                // What a part's records write out is what is read: the file's budget holds
                // for it (a cell of ten bytes writes some forty).
                let mut xml = std::mem::take(&mut self.written);
                xml.clear();
                records.convert(&bytes[..n], &mut xml);
                let more = xml.len().saturating_sub(n);
                let room = self.budget.bytes(more as u64) as usize;
                whole &= room == more;
                xml.truncate(n + room);
                self.read(&xml);
                self.written = xml;
            }
            None => self.read(&bytes[..n]),
        }
        self.entry_bytes += n as u64;
        if !whole {
            self.stop();
        }
    }

    /// An entry's contents (an `.xlsb` part's as SpreadsheetML) read: by the entry's scanner,
    /// as the text a document shows, or by a workbook's reader beside the scanner.
    fn read(&mut self, bytes: &[u8]) {
        if self.dump.keeping() {
            self.dump.keep(bytes);
            return;
        }
        if let Some(s) = self.entry.as_mut() {
            match self.part.as_mut() {
                // A document's markup: its scanner reads the text it shows.
                Some(Reading::Document(markup)) => {
                    let mut text = std::mem::take(&mut self.out);
                    text.clear();
                    markup.convert(bytes, &mut text);
                    s.feed(&text);
                    self.out = text;
                }
                _ => s.feed(bytes),
            }
        }
        match self.part.as_mut() {
            Some(Reading::Worksheet(sheet)) => {
                let room = self.workbook.sheet_room(bytes.len());
                sheet.feed(&bytes[..room]);
            }
            Some(Reading::SharedStrings(shared)) => shared.feed(bytes),
            Some(Reading::Document(_)) | None => {}
        }
    }

    /// An entry's contents ended: what they hold is added; then its descriptor, or the next
    /// header.
    fn end_entry(&mut self, descriptor: Option<bool>) {
        self.add_entry();
        if !matches!(self.state, State::Done) {
            self.state = match descriptor {
                Some(zip64) => State::Descriptor { zip64 },
                None => State::Header,
            };
        }
    }

    /// Nothing more can be read: what the entry under way holds counts, the rest is unknown.
    fn stop<'a>(&mut self) -> &'a [u8] {
        self.cut = true;
        self.state = State::Done;
        self.add_entry();
        &[]
    }

    /// What the entry under way holds, added to the archive's.
    fn add_entry(&mut self) {
        if self.dump.keeping() {
            let entry = self.entry.take();
            let at = (&self.patterns, &self.budget, self.depth);
            self.cut |= self
                .dump
                .entry_ended(entry, self.entry_bytes, at, &mut self.found);
            return;
        }
        if let Some(mut records) = self.records.take() {
            let mut xml = std::mem::take(&mut self.written);
            xml.clear();
            records.finish(&mut xml);
            self.read(&xml);
            self.written = xml;
            self.cut |= records.cut;
        }
        match self.part.take() {
            Some(Reading::Worksheet(sheet)) => self.workbook.add_sheet(*sheet),
            Some(Reading::SharedStrings(shared)) => self.workbook.add_shared_strings(*shared),
            Some(Reading::Document(_)) | None => {}
        }
        if let Some(s) = self.entry.take() {
            let (bytes, rendering) = (self.entry_bytes, self.rendering);
            let found = s.finish();
            // A pivot cache's part is judged with its cache at the end.
            let kept = match self.pivot.take() {
                Some((n, part)) => {
                    let own = (part == PivotPart::Definition)
                        .then(|| crate::sheet::from_own_sheet(&self.pivot_head));
                    self.pivots.add(n, found, bytes, own)
                }
                None => Some((found, bytes)),
            };
            if let Some((found, bytes)) = kept {
                self.found.add(found, bytes, rendering);
            }
        }
    }
}

/// Counts down `left` bytes still to come of an entry or a part passed over by what `data`
/// holds of them: how many it holds, and whether they were the last.
pub(crate) fn count_down(left: &mut u64, data: &[u8]) -> (usize, bool) {
    let n = (*left).min(data.len() as u64) as usize;
    *left -= n as u64;
    (n, *left == 0)
}

/// What an archive's entries hold, summed as they end (a ZIP archive's, a tar archive's).
#[derive(Default)]
pub(crate) struct Entries {
    held: Classification,
    /// Entries whose contents were text, and entries whose contents were not (an image, a PDF,
    /// an archive inside), whose classes are unknown.
    text: u32,
    not_text: u32,
    /// An entry was itself read in part (an archive or compressed file inside, cut).
    in_part: bool,
}

impl Entries {
    /// An entry's classification, of its `bytes` of contents. One that is not text leaves the
    /// archive's classes a lower bound, unless it is a picture the document made of itself
    /// (`rendering`), which holds nothing its text does not; so does one read in part.
    pub(crate) fn add(&mut self, mut c: Classification, bytes: u64, rendering: bool) {
        if c.formats.contains(&Format::Binary) {
            self.not_text += u32::from(!rendering);
            // An encrypted entry (an OpenPGP file in a tar archive): the archive holds
            // encrypted contents, and says with what.
            let encrypted = c
                .formats
                .into_iter()
                .filter(|f| matches!(f, Format::Encrypted(_)));
            self.held.formats.extend(encrypted);
            return;
        }
        // An empty entry (a folder's) says nothing about the archive's contents.
        if bytes > 0 {
            self.text += 1;
        }
        for (class, n) in c.counts.present() {
            self.held.counts.add(class, n);
        }
        self.held.distinct.merge(&c.distinct);
        for (name, n) in c.custom {
            *self.held.custom.entry(name).or_default() += n;
        }
        let whole = c.formats.len();
        c.formats.retain(|f| *f != Format::ScannedInPart);
        self.in_part |= c.formats.len() < whole;
        self.held.formats.extend(c.formats);
    }

    /// What the entries hold so far (a workbook's columns are added to it at the end).
    pub(crate) fn held_mut(&mut self) -> &mut Classification {
        &mut self.held
    }

    /// An entry the archive itself encrypts (`scheme`: a ZIP archive's password): its classes
    /// are unknown, and the archive names the scheme.
    pub(crate) fn encrypted(&mut self, scheme: &str) {
        self.not_text += 1;
        self.held.formats.push(Format::Encrypted(scheme.into()));
    }

    /// What the archive holds: its entries' classes and formats, then the archive's own
    /// (`container`); `binary` where no entry was text and some were not (its classes are
    /// unknown), `scanned_in_part` where some were not text or some of it was not read (`cut`).
    pub(crate) fn finish(self, container: Format, cut: bool) -> Classification {
        let mut found = self.held;
        let unknown = self.not_text > 0 && self.text == 0;
        if unknown {
            found.formats.push(Format::Binary);
        }
        found.formats.sort();
        found.formats.dedup();
        // (An archive of archives of its kind names it once.)
        if !found.formats.contains(&container) {
            found.formats.push(container);
        }
        if cut || self.in_part || self.not_text > 0 && !unknown {
            found.formats.push(Format::ScannedInPart);
        }
        found
    }
}

/// Whether an entry is the picture an office document keeps of its own first page or sheet
/// (OpenDocument's `Thumbnails/thumbnail.png`, OOXML's `docProps/thumbnail.*`): drawn from the
/// contents read beside it; or its printer's settings (OOXML's
/// `xl/printerSettings/printerSettings1.bin`: a printer's name and paper, as Excel and
/// PowerPoint keep them), which hold none. Other pictures (a workbook's `xl/media/`) may show
/// anything.
fn rendering(name: &[u8]) -> bool {
    name.starts_with(b"Thumbnails/")
        || name.starts_with(b"docProps/thumbnail.")
        || memchr::memmem::find(name, b"/printerSettings/").is_some()
}

/// A workbook's part being read beside the entry's scanner.
enum Reading {
    Worksheet(Box<Sheet>),
    SharedStrings(Box<SharedStrings>),
    /// A document's text written as markup, read as the text it shows ([`crate::markup`]).
    Document(Box<crate::markup::MarkupText>),
}

/// A local header's compressed size (ZIP64's, from its extra field, where the header's says
/// `0xFFFFFFFF`), and whether the entry's sizes are ZIP64's (then a descriptor's are eight
/// bytes each).
fn compressed_size(h: &[u8], name_len: usize) -> (u64, bool) {
    let size = u32::from_le_bytes([h[18], h[19], h[20], h[21]]);
    let plain = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
    let mut extra = &h[HEADER + name_len..];
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let body = &extra[4..(4 + len).min(extra.len())];
        if id == 1 {
            // The original size first when the header's is saturated, then the compressed.
            let mut fields = body
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
            let _original = if plain == u32::MAX {
                fields.next()
            } else {
                None
            };
            let compressed = if size == u32::MAX {
                fields.next()
            } else {
                None
            };
            return (compressed.unwrap_or(u64::from(size)), true);
        }
        extra = &extra[(4 + len).min(extra.len())..];
    }
    (u64::from(size), false)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use crate::scan::in_chunks;
    use crate::scan::{Class, classify};

    /// A local header and its entry's bytes (deflated or stored; with a data descriptor after
    /// them, and its signature, when `descriptor`); `flags` more flag bits (1: encrypted).
    pub(crate) fn entry(
        name: &str,
        data: &[u8],
        deflate: bool,
        descriptor: bool,
        flags: u16,
    ) -> Vec<u8> {
        let body = if deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let sizes = |n: usize| if descriptor { 0u32 } else { n as u32 };
        let mut out = LOCAL.to_vec();
        out.extend(20u16.to_le_bytes());
        out.extend((flags | if descriptor { 8 } else { 0 }).to_le_bytes());
        out.extend((if deflate { 8u16 } else { 0 }).to_le_bytes());
        out.extend([0u8; 8]); // time, date, CRC
        out.extend(sizes(body.len()).to_le_bytes());
        out.extend(sizes(data.len()).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(&body);
        if descriptor {
            out.extend(DESCRIPTOR);
            out.extend([0u8; 4]);
            out.extend((body.len() as u32).to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
        }
        out
    }

    pub(crate) fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out = entries.concat();
        // The central directory (not read: its first signature ends the entries).
        out.extend(CENTRAL);
        out.extend([0u8; 42]);
        out.extend(END);
        out.extend([0u8; 18]);
        out
    }

    #[test]
    fn entries_count_together_whatever_the_chunks() {
        let docs = crate::corpus::generate(17, 200_000);
        let customers = docs
            .iter()
            .find(|d| d.name.ends_with("customers.csv"))
            .unwrap();
        let tracks = b"%B4111111111111111^DOE/JOHN^2712101?\n;5555555555554444=2712101?\n";
        let notes = b"Wire to ABA 021000021 acct 12345678 today.\n";
        let zip = archive(&[
            entry("extract/customers.csv", &customers.bytes, true, false, 0),
            entry("extract/", b"", false, false, 0),
            entry("terminal.log", tracks, true, true, 0),
            entry("notes.txt", notes, false, false, 0),
        ]);
        let found = classify(&zip);
        let mut want = customers.truth;
        want.add(Class::CardNumber, 2);
        want.add(Class::AbaRouting, 1);
        want.add(Class::UsBankAccount, 1);
        assert_eq!(found.counts, want);
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Zip]);
        for size in [1, 2, 3, 4, 5, 29, 30, 31, 97, 4095, 4096, 65536] {
            assert_eq!(in_chunks(&zip, size), found, "chunks of {size}");
        }
    }

    /// An office document's thumbnail and its printer's settings (binary) hold nothing its
    /// text does not: the document is read whole; a picture of its own may show anything.
    #[test]
    fn a_thumbnail_and_printer_settings_leave_a_document_read_whole() {
        let binary = [0u8, 1, 2, 0xFF, 0, 7, 0, 0x80].repeat(64);
        let text = entry(
            "xl/sharedStrings.xml",
            b"<sst><si><t>DE89370400440532013000</t></si></sst>",
            true,
            false,
            0,
        );
        let whole = archive(&[
            text.clone(),
            entry(
                "xl/printerSettings/printerSettings1.bin",
                &binary,
                true,
                false,
                0,
            ),
            entry("docProps/thumbnail.jpeg", &binary, false, false, 0),
        ]);
        let found = classify(&whole);
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert!(!found.formats.contains(&Format::ScannedInPart), "{found:?}");
        let picture = archive(&[text, entry("xl/media/image1.png", &binary, false, false, 0)]);
        assert!(classify(&picture).formats.contains(&Format::ScannedInPart));
    }

    /// A transactions sheet as Excel writes one: the same three IBANs and two e-mail
    /// addresses in twelve rows, each kept once in the shared strings after the sheet: each
    /// cell counts, as the same rows in a delimited file do; a string no cell shows counts
    /// once (the strings' scanner's), and one shown once counts once.
    #[test]
    fn a_shared_string_counts_in_every_cell_that_shows_it() {
        let mut rows = String::new();
        for r in 1..=12 {
            rows += &format!(
                r#"<row r="{r}"><c r="A{r}" t="s"><v>{}</v></c><c r="B{r}" t="s"><v>{}</v></c></row>"#,
                r % 3,
                3 + r % 2
            );
        }
        rows += r#"<row r="13"><c r="A13" t="s"><v>5</v></c></row>"#;
        let sheet = format!("<worksheet><sheetData>{rows}</sheetData></worksheet>");
        let shared = concat!(
            r#"<sst><si><t>DE89370400440532013000</t></si><si><t>GB82WEST12345698765432</t></si>"#,
            r#"<si><t>FR1420041010050500013M02606</t></si><si><t>ann@bank.example</t></si>"#,
            r#"<si><t>bob@bank.example</t></si><si><t>4111 1111 1111 1111</t></si>"#,
            r#"<si><t>cy@bank.example</t></si></sst>"#,
        );
        let zip = archive(&[
            entry("xl/worksheets/sheet1.xml", sheet.as_bytes(), true, false, 0),
            entry("xl/sharedStrings.xml", shared.as_bytes(), true, true, 0),
        ]);
        let found = classify(&zip);
        assert_eq!(found.counts.get(Class::Iban), 12, "{found:?}");
        assert_eq!(found.counts.get(Class::Email), 12 + 1, "{found:?}");
        assert_eq!(found.counts.get(Class::CardNumber), 1, "{found:?}");
        for size in [1, 7, 64, 4096] {
            assert_eq!(in_chunks(&zip, size), found, "chunks of {size}");
        }
        // A tenant's pattern too: each cell that shows a matching string counts (the card
        // number's string is shown once: once).
        let patterns = Patterns::new([("bankmail", "@bank\\.example"), ("visa", "4111 1111")]);
        let mut with = Zip::new(Some(Arc::new(patterns.unwrap())), Budget::new(), 0);
        with.feed(&zip);
        let found = with.finish();
        assert_eq!(found.custom.get("bankmail"), Some(&13), "{found:?}");
        assert_eq!(found.custom.get("visa"), Some(&1), "{found:?}");

        // The shared strings before the sheet, as Apache POI and NPOI write a package (its
        // parts in their names' order): the same counts.
        let first = archive(&[
            entry("xl/sharedStrings.xml", shared.as_bytes(), true, true, 0),
            entry("xl/worksheets/sheet1.xml", sheet.as_bytes(), true, false, 0),
        ]);
        let before = classify(&first);
        assert_eq!(before.counts, found.counts, "{before:?}");
        for size in [1, 7, 64, 4096] {
            assert_eq!(in_chunks(&first, size), before, "chunks of {size}");
        }
        let patterns =
            Patterns::new([("bankmail", "@bank\\.example"), ("visa", "4111 1111")]).unwrap();
        let mut with = Zip::new(Some(Arc::new(patterns.clone())), Budget::new(), 0);
        with.feed(&first);
        assert_eq!(with.finish().custom, found.custom);
        // Some rows' sheet before them and the others' after, as Excel orders some packages.
        let (top, bottom) = rows.split_at(rows.find(r#"<row r="7">"#).unwrap());
        let half = |rows: &str| format!("<worksheet><sheetData>{rows}</sheetData></worksheet>");
        let split = archive(&[
            entry(
                "xl/worksheets/sheet1.xml",
                half(top).as_bytes(),
                true,
                false,
                0,
            ),
            entry("xl/sharedStrings.xml", shared.as_bytes(), true, true, 0),
            entry(
                "xl/worksheets/sheet2.xml",
                half(bottom).as_bytes(),
                true,
                false,
                0,
            ),
        ]);
        let mut with = Zip::new(Some(Arc::new(patterns.clone())), Budget::new(), 0);
        with.feed(&split);
        let between = with.finish();
        assert_eq!(between.counts, found.counts, "{between:?}");
        assert_eq!(between.custom, found.custom);
        for size in [1, 7, 64] {
            assert_eq!(
                in_chunks(&split, size).counts,
                found.counts,
                "chunks of {size}"
            );
        }
        for class in Class::ALL {
            assert_eq!(Class::ALL[class as usize], class);
        }
    }

    #[test]
    fn a_workbooks_columns_count_by_their_headings_whatever_the_chunks() {
        // As Excel writes one: headings and text in the shared strings, after the sheet; an
        // SSN and a routing number stored as numbers (the routing number's leading zero lost),
        // another routing number as text; an inline heading `ABA` right before a number cell.
        let sheet = concat!(
            r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>"#,
            r#"<c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>"#,
            r#"<c r="D1" t="inlineStr"><is><t>ABA</t></is></c></row>"#,
            r#"<row r="2"><c r="A2"><v>234567890</v></c><c r="B2" t="s"><v>3</v></c>"#,
            r#"<c r="C2" t="s"><v>4</v></c><c r="D2"><v>21000021</v></c></row>"#,
            r#"<row r="3"><c r="A3"><v>666123456</v></c><c r="B3"><v>11000015</v></c>"#,
            r#"<c r="C3"><v>98765432</v></c></row></sheetData></worksheet>"#,
        );
        let shared = concat!(
            r#"<sst><si><t>Social Security No</t></si><si><t>Routing</t></si>"#,
            r#"<si><t>Account</t></si><si><t>021000021</t></si><si><t>0004121234567</t></si></sst>"#,
        );
        let zip = archive(&[
            entry("[Content_Types].xml", b"<Types/>", true, false, 0),
            entry("xl/worksheets/sheet1.xml", sheet.as_bytes(), true, false, 0),
            entry("xl/sharedStrings.xml", shared.as_bytes(), true, true, 0),
        ]);
        let found = classify(&zip);
        let mut want = crate::Counts::default();
        want.add(Class::UsSsn, 1);
        want.add(Class::AbaRouting, 3);
        want.add(Class::UsBankAccount, 2);
        assert_eq!(found.counts, want);
        assert_eq!(found.formats, vec![Format::Xlsx, Format::Zip]);
        for size in [1, 2, 3, 7, 29, 31, 97, 4096] {
            assert_eq!(in_chunks(&zip, size), found, "chunks of {size}");
        }
        // The same XML outside a workbook's part is markup as any other: its headings name
        // no columns there.
        let other = archive(&[entry("data/sheet1.xml", sheet.as_bytes(), true, false, 0)]);
        assert!(classify(&other).counts.is_empty());
        // A `content.xml` is an OpenDocument package's tables only after its `mimetype`: in
        // another archive its whole values are the entry scanner's (four card numbers in an
        // element count by its evidence).
        let cards = "<Cards><Pan>4111111111111111</Pan><Pan>5555555555554444</Pan><Pan>4012888888881881</Pan><Pan>378282246310005</Pan></Cards>";
        let plain = archive(&[entry("content.xml", cards.as_bytes(), true, false, 0)]);
        assert_eq!(classify(&plain).counts.get(Class::CardNumber), 4);
        // After it, the same numbers as a table's column of cells count by that column.
        let rows: String = ["4111111111111111", "5555555555554444", "4012888888881881", "378282246310005"]
            .iter()
            .map(|n| format!("<table:table-row><table:table-cell office:value-type=\"string\"><text:p>{n}</text:p></table:table-cell></table:table-row>"))
            .collect();
        let table = format!("<table:table>{rows}</table:table>");
        let ods = archive(&[
            entry(
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
                false,
                false,
                0,
            ),
            entry("content.xml", table.as_bytes(), true, false, 0),
        ]);
        assert_eq!(classify(&ods).counts.get(Class::CardNumber), 4);
        assert_eq!(classify(&ods).formats, vec![Format::Ods, Format::Zip]);
        // Without it, by their element's evidence, as in any markup: once either way.
        let no_mimetype = archive(&[entry("content.xml", table.as_bytes(), true, false, 0)]);
        assert_eq!(classify(&no_mimetype).counts.get(Class::CardNumber), 4);
    }

    #[test]
    fn what_cannot_be_read_makes_it_scanned_in_part() {
        let notes = b"card 4111 1111 1111 1111\n".repeat(100);
        let plain = entry("a.txt", &notes, true, false, 0);
        // Encrypted, with its size: passed over, the next entry read; the archive says it
        // holds encrypted contents. Of encrypted entries alone, its classes are unknown.
        let secret = entry("secret.txt", &notes, false, false, 1);
        let zip = Format::Encrypted("zip".into());
        let found = classify(&archive(&[secret.clone(), plain.clone()]));
        assert_eq!(found.counts.get(Class::CardNumber), 100);
        assert_eq!(
            found.formats,
            vec![zip.clone(), Format::Zip, Format::ScannedInPart]
        );
        // As Info-ZIP's `zip -P` writes it: its sizes in the header and in a descriptor.
        let mut info_zip = entry("secret.txt", &notes, false, false, 1 | 8);
        info_zip.extend(DESCRIPTOR);
        info_zip.extend([0u8; 4]);
        info_zip.extend([(notes.len() as u32).to_le_bytes(); 2].concat());
        let both = archive(&[info_zip, plain.clone()]);
        for size in [1, 7, 4096] {
            assert_eq!(in_chunks(&both, size), found, "chunks of {size}");
        }
        let found = classify(&archive(&[secret.clone(), secret]));
        assert!(found.counts.is_empty());
        assert_eq!(found.formats, vec![Format::Binary, zip, Format::Zip]);
        // Stored with its size only in the descriptor: the rest cannot be found.
        let stored = entry("b.txt", &notes, false, true, 0);
        let found = classify(&archive(&[plain.clone(), stored, plain.clone()]));
        assert_eq!(found.counts.get(Class::CardNumber), 100);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // Broken off in an entry: what came of it counts, the same in any chunks.
        let zip = archive(&[plain.clone(), plain.clone()]);
        let cut = &zip[..plain.len() + plain.len() / 2];
        let found = classify(cut);
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        let n = found.counts.get(Class::CardNumber);
        assert!((100..200).contains(&n), "{n}");
        for size in [1, 7, 4096] {
            assert_eq!(in_chunks(cut, size), found, "chunks of {size}");
        }
        // Not an entry where one should be.
        let mut junk = plain.clone();
        junk.extend(b"garbage after the first entry");
        let found = classify(&junk);
        assert_eq!(found.counts.get(Class::CardNumber), 100);
        assert!(found.formats.contains(&Format::ScannedInPart));
    }

    #[test]
    fn archives_inside_are_opened_to_a_depth_and_a_text_starting_pk_is_text() {
        let notes = b"card 4111 1111 1111 1111\n".repeat(10);
        // Three layers: a ZIP archive of a ZIP archive of a `.gz` file.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&notes).unwrap();
        let inner = archive(&[entry("a.txt.gz", &gz.finish().unwrap(), false, false, 0)]);
        let outer = archive(&[entry("inner.zip", &inner, true, false, 0)]);
        let found = classify(&outer);
        assert_eq!(found.counts.get(Class::CardNumber), 10, "{found:?}");
        assert_eq!(found.formats, vec![Format::Gzip, Format::Zip]);
        for size in [1, 7, 4096] {
            assert_eq!(in_chunks(&outer, size), found, "chunks of {size}");
        }
        // A fourth is not opened: binary there, the archive's classes unknown.
        let deeper = archive(&[entry("outer.zip", &outer, false, false, 0)]);
        let found = classify(&deeper);
        assert!(found.counts.is_empty(), "{found:?}");
        assert_eq!(found.formats, vec![Format::Binary, Format::Zip]);
        // An empty archive.
        let mut empty = END.to_vec();
        empty.extend([0u8; 18]);
        assert_eq!(classify(&empty).formats, vec![Format::Zip]);
        // A text whose first bytes are `PK` (an IBAN of Pakistan).
        let text = classify(b"PK36SCBL0000001123456702 is the account.\n");
        assert_eq!(text.counts.get(Class::Iban), 1);
        assert!(text.formats.is_empty());
    }

    /// An archive read within `budget`, in chunks of 1,000 bytes.
    /// An Excel binary workbook: a sheet's cells (BIFF12 records) under headings in the
    /// shared strings after it, read as the same XLSX workbook's; its structure parts leave it
    /// read whole. What its records write out counts against the file's budget.
    #[test]
    fn an_xlsb_workbook_counts_as_its_xlsx_would() {
        let rec = crate::xlsb::tests::record;
        let wide = |t: &str| {
            let units: Vec<u16> = t.encode_utf16().collect();
            let mut out = (units.len() as u32).to_le_bytes().to_vec();
            out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            out
        };
        let cell = |kind: u16, col: u32, value: &[u8]| {
            rec(kind, &[&col.to_le_bytes()[..], &[0; 4], value].concat())
        };
        let mut sheet = Vec::new();
        for r in 0..20u32 {
            sheet.extend(rec(0, &[&r.to_le_bytes()[..], &[0; 13]].concat()));
            if r == 0 {
                sheet.extend(cell(7, 0, &0u32.to_le_bytes()));
                sheet.extend(cell(7, 1, &1u32.to_le_bytes()));
            } else {
                sheet.extend(cell(6, 0, &wide("021000021")));
                sheet.extend(cell(5, 1, &(1_000_000_000.0 + f64::from(r)).to_le_bytes()));
            }
        }
        let mut shared = Vec::new();
        for heading in ["Routing Number", "Account Number"] {
            shared.extend(rec(19, &[&[0][..], &wide(heading)].concat()));
        }
        let book = archive(&[
            entry("xl/workbook.bin", &rec(156, &[1; 40]), true, false, 0),
            entry("xl/worksheets/sheet1.bin", &sheet, true, false, 0),
            entry(
                "xl/worksheets/binaryIndex1.bin",
                &rec(42, &[9; 30]),
                true,
                false,
                0,
            ),
            entry("xl/sharedStrings.bin", &shared, true, false, 0),
        ]);
        for chunk in [7, 1000] {
            let mut zip = Zip::new(None, Budget::new(), 0);
            for c in book.chunks(chunk) {
                zip.feed(c);
            }
            let found = zip.finish();
            assert_eq!(found.counts.get(Class::AbaRouting), 19, "{found:?}");
            assert_eq!(found.counts.get(Class::UsBankAccount), 19, "{found:?}");
            assert_eq!(found.formats, vec![Format::Xlsb, Format::Zip]);
        }
        // Its budget: the records' bytes, then what they write beyond them.
        let found = within(&book, Budget::with(book.len() as u64 + 600, 100));
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
    }

    /// A pivot table's cache holds a copy of the rows it summarises: read before or after its
    /// definition (Excel writes either), a cache of a worksheet of the workbook counts nothing
    /// the sheet does not; one of a connection's query (the only copy here) counts.
    #[test]
    fn a_pivot_cache_of_a_sheet_counts_nothing_twice() {
        let mut rows = String::new();
        let mut records = String::from("<pivotCacheRecords count=\"10\">");
        for i in 0..10 {
            rows += &format!(
                r#"<row r="{}"><c t="inlineStr"><is><t>ann{i}@bank.example</t></is></c></row>"#,
                i + 2
            );
            records += &format!(r#"<r><s v="ann{i}@bank.example"/><n v="{i}"/></r>"#);
        }
        records += "</pivotCacheRecords>";
        let sheet = format!(
            r#"<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>Email</t></is></c></row>{rows}</sheetData></worksheet>"#
        );
        let definition = |source: &str| {
            format!(
                r#"<?xml version="1.0"?><pivotCacheDefinition r:id="rId1" recordCount="10"><cacheSource type="{source}"><worksheetSource ref="A1:A11" sheet="Data"/></cacheSource><cacheFields count="1"><cacheField name="Email"><sharedItems/></cacheField></cacheFields></pivotCacheDefinition>"#
            )
        };
        for (source, emails) in [("worksheet", 10), ("external", 20)] {
            let book = archive(&[
                entry("xl/worksheets/sheet1.xml", sheet.as_bytes(), true, false, 0),
                entry(
                    "xl/pivotCache/pivotCacheRecords1.xml",
                    records.as_bytes(),
                    true,
                    false,
                    0,
                ),
                entry(
                    "xl/pivotCache/pivotCacheDefinition1.xml",
                    definition(source).as_bytes(),
                    true,
                    false,
                    0,
                ),
            ]);
            let found = classify(&book);
            assert_eq!(
                found.counts.get(Class::Email),
                emails,
                "{source}: {found:?}"
            );
            assert_eq!(found.formats, vec![Format::Xlsx, Format::Zip], "{source}");
            for size in [7, 100] {
                assert_eq!(in_chunks(&book, size), found, "chunks of {size}");
            }
        }
        assert!(!crate::sheet::from_own_sheet(
            br#"<cacheSource type="worksheet"><worksheetSource ref="A1:B2" sheet="D" r:id="rId2"/>"#
        ));
    }

    fn within(bytes: &[u8], budget: Budget) -> Classification {
        let mut zip = Zip::new(None, budget, 0);
        for chunk in bytes.chunks(1000) {
            zip.feed(chunk);
        }
        zip.finish()
    }

    #[test]
    fn the_limits_hold() {
        // More entries than are read.
        let one = entry("e", b"x", false, false, 0);
        let many = archive(&vec![one; crate::encoding::MAX_ENTRIES as usize + 1]);
        let found = classify(&many);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // The file's budget holds for everything inside it: entries of archives inside count
        // against it, and contents inflated inside entries.
        let notes = b"card 4111 1111 1111 1111\n".repeat(1000);
        let inner = archive(&[
            entry("a.txt", &notes, true, false, 0),
            entry("b.txt", &notes, true, false, 0),
        ]);
        let outer = archive(&[
            entry("1.zip", &inner, false, false, 0),
            entry("2.zip", &inner, true, false, 0),
        ]);
        let all = within(&outer, Budget::new());
        assert_eq!(all.counts.get(Class::CardNumber), 4000);
        assert_eq!(all.formats, vec![Format::Zip]);
        let found = within(&outer, Budget::with(u64::MAX, 4));
        assert_eq!(found.counts.get(Class::CardNumber), 2000);
        assert!(found.formats.contains(&Format::ScannedInPart));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&notes.repeat(10)).unwrap();
        let gz = gz.finish().unwrap();
        let bombs = archive(&[
            entry("1.txt.gz", &gz, false, false, 0),
            entry("2.txt.gz", &gz, false, false, 0),
        ]);
        // Both entries' compressed bytes, then 300,000 bytes of contents: the first's 250,000
        // and 50,000 of the second's.
        let found = within(&bombs, Budget::with(300_000 + 2 * gz.len() as u64, 100));
        assert_eq!(found.counts.get(Class::CardNumber), 12_000);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // A ZIP64 entry: its size from the extra field.
        let notes = b"card 4111 1111 1111 1111\n".repeat(3);
        let mut e = LOCAL.to_vec();
        e.extend(45u16.to_le_bytes());
        e.extend(0u16.to_le_bytes());
        e.extend(0u16.to_le_bytes());
        e.extend([0u8; 8]);
        e.extend(u32::MAX.to_le_bytes());
        e.extend(u32::MAX.to_le_bytes());
        e.extend(1u16.to_le_bytes());
        e.extend(20u16.to_le_bytes());
        e.extend(b"z");
        e.extend(1u16.to_le_bytes());
        e.extend(16u16.to_le_bytes());
        e.extend((notes.len() as u64).to_le_bytes());
        e.extend((notes.len() as u64).to_le_bytes());
        e.extend(&notes);
        let found = classify(&archive(&[e]));
        assert_eq!(found.counts.get(Class::CardNumber), 3);
        assert_eq!(found.formats, vec![Format::Zip]);
    }
}
