//! PDF documents (statements, reports, letters printed to PDF): the text their pages show,
//! read as they stream. Objects outside streams are read as they end (`endobj`); each stream is
//! decoded (FlateDecode, ASCII85, ASCIIHex; pictures, font programs, metadata and cross-reference
//! streams are passed over undecoded) and told by its dictionary and first bytes: a page's or a
//! form's contents, whose text operators (`Tj`, `TJ`, `'`, `"`) give the strings shown and whose
//! moves (`Td`, `TD`, `T*`, `Tm`) give the lines and the gaps between cells; a font's ToUnicode
//! map (a CMap), which says what characters a font's codes are; an object stream (PDF 1.5),
//! whose objects are read as the others are; a file attached to the document, classified as a
//! file of its own. A page's fonts and their maps come anywhere in the file, often after the
//! pages, so the strings shown are kept, in the codes of their fonts, until the end (at most
//! [`MAX_SHOWN`] bytes), then read through the fonts' maps and scanned as text: a table's cells
//! separated by tabs, its rows by line ends, as a delimited file's.
//!
//! What it says beside the classes: `pdf`; `encrypted:pdf` beside `binary` for a document
//! that needs a password to open (one encrypted with an owner password only opens for anyone:
//! its streams, kept as they came, are read again decrypted at the end, [`security`]);
//! `binary` for one whose pages show
//! no text but pictures (a scan: its classes are unknown); `scanned_in_part` where text was
//! cut or its codes had no map to characters, or a page-sized picture stands beside text.
//!
//! Pure: bytes in, what the text holds out. Every length and count from the file is bounded:
//! an object's text to [`MAX_OBJECT`], a token to [`MAX_TOKEN`], a map to [`MAX_MAP_CODES`]
//! codes, the decoded bytes to the file's budget. Never here: fonts' shapes, the page's layout
//! beyond line and cell, the document's structure tree.

use std::sync::Arc;

mod contents;
mod fonts;
mod security;
mod syntax;

use contents::Contents;
use fonts::{CodeMap, Fonts};
use syntax::*;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::{Budget, Prepaid, STREAM_COST};
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// Most bytes of an object's text kept (a dictionary; the text between two objects).
pub const MAX_OBJECT: usize = 64 << 10;
/// Most bytes of strings shown (in their fonts' codes) kept until the fonts are known.
pub const MAX_SHOWN: usize = 16 << 20;
/// Most bytes of a token in a page's contents (a string) before it is passed over.
pub const MAX_TOKEN: usize = 64 << 10;
/// Most codes a font's map to characters holds, and most maps kept.
pub const MAX_MAP_CODES: usize = 65_536;
const MAX_MAPS: usize = 256;
/// Most entries of maps to characters read in one document, all its maps together (a range of
/// codes is one entry): a real document's fonts map a few hundred codes each (a CJK font some
/// tens of thousands).
pub const MAX_DOCUMENT_MAP_ENTRIES: usize = 2 * MAX_MAP_CODES;
/// Most bytes of a code's characters in a map (UTF-16: 16 units; a ligature is 3).
pub const MAX_MAP_DESTINATION: usize = 32;
/// Most decoded bytes of a map or an object stream kept to be read at its end.
const MAX_KEPT_STREAM: usize = 4 << 20;
/// Most small objects kept by number (a font resource dictionary a page names by reference).
const MAX_KEPT_OBJECTS: usize = 4096;
const MAX_KEPT_OBJECT: usize = 4 << 10;
/// A picture of at least this many pixels is a page's size (a page scanned at some 120 dots
/// per inch): what it shows is not read.
pub const PAGE_PIXELS: u64 = 1_000_000;
/// Decoded bytes produced per call of the inflater.
const OUT_STEP: usize = 64 << 10;
/// Bytes of a chunk read at a time: what follows a stream's start is copied out of the text
/// gathered between streams, and what follows its end back, so a chunk of many small streams
/// would be copied twice per stream (a 64 KiB chunk of 700 deflated streams of a line each,
/// some 90 MB); in pieces, a piece's.
const FEED_PIECE: usize = 4 << 10;
/// The searches between objects, built once (building one costs more than searching the
/// few bytes between two small objects).
static ENDOBJ_WORD: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"endobj"));
static STREAM_WORD: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"stream"));
/// Operands of a page's contents kept (an operator takes at most six).
const MAX_OPERANDS: usize = 16;
/// Elements of a `TJ` array kept.
const MAX_ARRAY: usize = 4096;

/// Whether a file's head is a PDF document: its header among the first 1,024 bytes.
pub(crate) fn magic(head: &[u8]) -> bool {
    memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some()
}

/// The records of shown text kept until the end.
const FONT: u8 = 1;
const SHOW: u8 = 2;
/// Where the text was placed: its place on the page and the font's size (three `f32`s), and
/// whether by a new text object or matrix (a byte).
const AT: u8 = 3;
/// A move along the line within a `TJ`, in the font's size (an `f32`).
const GAP: u8 = 4;
/// A page's or a form's contents begin: their stream's object (a `u32`), whose resources name
/// the fonts that follow.
const STREAM: u8 = 5;
/// Text of the document's own (a form field's value), in UTF-8: its length (a `u16`), then it.
const TEXT: u8 = 6;

/// A PDF document being read, chunk by chunk.
pub(crate) struct Pdf {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    /// What the deflated stream being read paid of its contents at its start.
    prepaid: Prepaid,
    /// The last stream's inflater, reset for the next (building one clears and copies some
    /// 40 KiB of state: a third of what a small stream costs).
    spare_inflater: Option<Box<flate2::Decompress>>,
    depth: u8,
    /// Bytes outside streams not yet read (from after the last object's end), and where the
    /// search for the next keyword goes on.
    outside: Vec<u8>,
    searched: usize,
    stream: Option<Stream>,
    /// Strings shown, with the fonts they were shown in and the breaks between them.
    shown: Vec<u8>,
    fonts: Fonts,
    /// Files attached to the document.
    attached: Entries,
    /// Pictures of a page's size, and of any size.
    page_pictures: u32,
    pictures: u32,
    encrypted: bool,
    /// The text around the trailer's `/Encrypt` (its `/ID` too).
    trailer: Option<Vec<u8>>,
    /// Streams kept as they came (they may be encrypted), their bytes in all, whether more
    /// were not kept; whether they are being read again decrypted.
    sealed: Vec<Sealed>,
    sealed_bytes: usize,
    sealed_cut: bool,
    replaying: bool,
    cut: bool,
}

/// A stream being read: its object, the bytes of it left (where its length is direct), the
/// bytes held back while `endstream` is searched for, how it is decoded and what for.
struct Stream {
    object: u32,
    left: Option<u64>,
    held: Vec<u8>,
    decode: Option<Decode>,
    purpose: Purpose,
    /// Its bytes as they came, kept while they may be encrypted (the document may say so
    /// only at its end): until deflate has given 1 KiB of them, else whole; with its
    /// dictionary's text and generation, to read it again decrypted.
    raw: Option<Vec<u8>>,
    dictionary: Vec<u8>,
    generation: u16,
}

/// A stream kept as it came, to be read again decrypted at the document's end.
struct Sealed {
    object: u32,
    generation: u16,
    dictionary: Vec<u8>,
    raw: Vec<u8>,
}

/// What checking a revision 6 password draws on the file's budget, in bytes of contents: about
/// what scanning those bytes costs (at most 64 checks per file).
const CHECK_COST: u64 = 16 << 20;
/// What reading one entry of a map to characters draws on the file's budget, in bytes of
/// contents: a few times what it costs against scanning bytes (a code's entry is a hash map's
/// insert of its characters, some 200 ns; a byte scanned, some 3 ns). A document reads at most
/// [`MAX_DOCUMENT_MAP_ENTRIES`], some 30 ms; an archive of documents of many entries costs its
/// budget's worth of them.
const MAP_ENTRY_COST: u64 = 256;
/// Most bytes of streams kept as they came, in all.
const MAX_SEALED: usize = 16 << 20;
/// Bytes a stream's deflate gives before it is known to have been read as it is.
const PLAIN_PROOF: u64 = 1024;

/// A stream's filters, in order: an ASCII form, then deflate.
struct Decode {
    ascii: Option<Ascii>,
    /// Its filters end in deflate: its inflater is built once its start is paid.
    deflate: bool,
    inflater: Option<Box<flate2::Decompress>>,
    failed: bool,
    /// Its deflate data was not valid (an encrypted stream's is not).
    error: bool,
}

enum Ascii {
    /// ASCII85: the characters of a group short of five.
    Base85(Vec<u8>),
    /// ASCIIHex: a digit short of a byte.
    Hex(Option<u8>),
}

/// What a stream is read for.
enum Purpose {
    /// Told by its first decoded bytes: a page's contents or a map to characters.
    Undecided(Vec<u8>),
    Contents(Box<Contents>),
    Map(Vec<u8>),
    /// An object stream: where its first object begins, its decoded bytes.
    Objects(usize, Vec<u8>),
    /// A file attached to the document: its scanner and its bytes so far.
    Attached(Box<Scanner>, u64),
}

impl Pdf {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Pdf {
            patterns,
            budget,
            prepaid: Prepaid::default(),
            spare_inflater: None,
            depth,
            outside: Vec::new(),
            searched: 0,
            stream: None,
            shown: Vec::new(),
            fonts: Fonts::default(),
            attached: Entries::default(),
            page_pictures: 0,
            pictures: 0,
            encrypted: false,
            trailer: None,
            sealed: Vec::new(),
            sealed_bytes: 0,
            sealed_cut: false,
            replaying: false,
            cut: false,
        }
    }

    /// Reads the next bytes of the document, [`FEED_PIECE`] at a time.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        for piece in data.chunks(FEED_PIECE) {
            self.feed_piece(piece);
        }
    }

    /// Reads the next bytes of the document: the text between streams is gathered in
    /// `outside` and read there; where a stream begins, what follows its start is handed to it.
    fn feed_piece(&mut self, data: &[u8]) {
        let mut after: Vec<u8>;
        let mut data = data;
        loop {
            if self.stream.is_some() {
                if data.is_empty() {
                    return;
                }
                let used = self.stream_data(data);
                data = &data[used..];
                continue;
            }
            self.outside.extend_from_slice(data);
            match self.read_outside(false) {
                Some(start) => {
                    after = self.outside.split_off(start);
                    self.outside.clear();
                    self.searched = 0;
                    data = &after;
                }
                None => return,
            }
        }
    }

    /// Reads the text outside streams up to the next stream: each object that ends is read
    /// for what it says of fonts; where a stream begins, where its data starts in `outside`.
    fn read_outside(&mut self, end: bool) -> Option<usize> {
        // Where the text not yet read begins (what is before it is let go of once, at the
        // end), and where the next `endobj` is, kept while skipping words `stream` before it:
        // `stream` is looked for only before it, so each byte is searched a bounded number of
        // times.
        let mut start = 0;
        let mut end_at: Option<Option<usize>> = None;
        loop {
            let from = self.searched;
            let next_end = *end_at
                .get_or_insert_with(|| ENDOBJ_WORD.find(&self.outside[from..]).map(|e| from + e));
            let limit = next_end.unwrap_or(self.outside.len());
            let next_stream = STREAM_WORD
                .find(&self.outside[from..limit])
                .map(|s| from + s);
            let (at, is_stream) = match (next_end, next_stream) {
                (None, None) => {
                    self.outside.drain(..start);
                    self.searched = self.outside.len().saturating_sub(5);
                    if self.outside.len() > MAX_OBJECT {
                        // Not an object's text: what lies between objects (a table of
                        // offsets, a trailer) is read for encryption, then let go.
                        let cut = self.outside.len() - MAX_OBJECT / 2;
                        let between = self.outside[..cut].to_vec();
                        self.note_encryption(&between);
                        self.outside.drain(..cut);
                        self.searched = self.searched.saturating_sub(cut);
                    }
                    return None;
                }
                (_, Some(s)) => (s, true),
                (Some(e), None) => (e, false),
            };
            if !is_stream {
                let text = self.outside[start..at].to_vec();
                self.object(&text);
                start = at + 6;
                self.searched = start;
                end_at = None;
                continue;
            }
            // `stream` after a dictionary's `>>` (not `endstream`, not a word in a string).
            if !self.outside[start..at].trim_ascii_end().ends_with(b">>") {
                self.searched = at + 6;
                continue;
            }
            // Its line end: `\r\n`, `\n` (or a lone `\r`, as some producers write).
            let eol = match self.outside.get(at + 6..at + 8) {
                Some([b'\r', b'\n', ..]) => 2,
                Some([b'\n', ..]) | Some([b'\r', ..]) => 1,
                Some(_) => 0,
                None if end => 0,
                None => {
                    self.outside.drain(..start);
                    self.searched = at - start;
                    return None;
                }
            };
            let dictionary = self.outside[start..at].to_vec();
            self.begin_stream(&dictionary);
            return Some(at + 6 + eol);
        }
    }

    /// Notes whether `text` (a trailer, a cross-reference stream's dictionary) names an
    /// encryption dictionary, and keeps it (its `/Encrypt` and `/ID`).
    fn note_encryption(&mut self, text: &[u8]) {
        if names_encryption(text) {
            self.encrypted = true;
            let at = key_at(text, b"/Encrypt").unwrap_or(0);
            let from = at.saturating_sub(MAX_KEPT_OBJECT);
            self.trailer = Some(text[from..(at + MAX_KEPT_OBJECT).min(text.len())].to_vec());
        }
    }

    /// The document its trailer's `/Encrypt` names (inline, or an object kept) opened with the
    /// empty user password and the trailer's first `/ID`, where that opens it.
    fn opened(&self, trailer: &[u8]) -> Option<security::Opened> {
        let at = key_at(trailer, b"/Encrypt")?;
        let rest = trailer[at..].trim_ascii_start();
        let dict = if rest.starts_with(b"<<") {
            Some(balanced(rest))
        } else {
            reference(rest).and_then(|r| self.fonts.small.get(&r).map(|d| d.trim_ascii_start()))
        };
        let id = key_at(trailer, b"/ID").and_then(|at| {
            let rest = trailer[at..].trim_ascii_start().strip_prefix(b"[")?;
            string_at(rest.trim_ascii_start())
        });
        let standard = security::Standard::read(dict?)?;
        // A costly check draws on the file's budget (a ZIP archive of thousands of small
        // encrypted PDFs costs no more than its budget's worth of them).
        if standard.costly() && self.budget.bytes(CHECK_COST) < CHECK_COST {
            return None;
        }
        // (Revisions 5 and 6 do not use the identifier.)
        standard.open(&id.unwrap_or_default())
    }

    /// Reads again the streams kept as they came, decrypted, as they would have been read.
    fn read_decrypted(&mut self, opened: &security::Opened) {
        self.replaying = true;
        self.shown.clear();
        self.attached = Entries::default();
        for sealed in std::mem::take(&mut self.sealed) {
            let Some(plain) = opened.decrypt(sealed.object, sealed.generation, &sealed.raw) else {
                continue;
            };
            self.begin_stream(&sealed.dictionary);
            self.decode(&plain);
            self.end_stream();
        }
        self.cut |= self.sealed_cut;
    }

    /// An object outside streams ended: the text from its header to `endobj` (and whatever
    /// came before its header).
    fn object(&mut self, text: &[u8]) {
        self.note_encryption(text);
        if let Some((number, body)) = object_header(text) {
            self.learn(number, body);
        }
    }

    /// What object `number` (its text after the header) says: of fonts, and a form field's
    /// value that no appearance shows.
    fn learn(&mut self, number: u32, body: &[u8]) {
        self.fonts.learn(number, body);
        // A text field's value (`/FT /Tx … /V (…)`) with no appearance of its own (`/AP`, read
        // as a form's contents) nor widgets (`/Kids`, whose appearances are): its text, after
        // the field's name (`/TU`, else `/T`) as its label.
        if name_value(body, b"/FT").is_some_and(|t| t == b"Tx")
            && key_at(body, b"/AP").is_none()
            && key_at(body, b"/Kids").is_none()
            && let Some(value) = string_value(body, b"/V")
        {
            let label = string_value(body, b"/TU").or_else(|| string_value(body, b"/T"));
            let line = format!(
                "{}: {}",
                text_string(&label.unwrap_or_default()),
                text_string(&value)
            );
            let line = &line.as_bytes()[..line.len().min(u16::MAX as usize)];
            if self.shown.len() + line.len() < MAX_SHOWN {
                self.shown.push(TEXT);
                self.shown
                    .extend_from_slice(&(line.len() as u16).to_le_bytes());
                self.shown.extend_from_slice(line);
                self.shown.push(b'\n');
            }
        }
    }

    /// A stream begins after `dictionary` (its object's text up to `stream`).
    fn begin_stream(&mut self, dictionary: &[u8]) {
        self.note_encryption(dictionary);
        let (object, dict) = object_header(dictionary).unwrap_or((u32::MAX, dictionary));
        let generation = object_generation(&dictionary[..dictionary.len() - dict.len()]);
        // What the stream's dictionary says of fonts (a form's resources).
        if object != u32::MAX {
            self.fonts.learn(object, dict);
        }
        let left = direct_integer(dict, b"/Length");
        let name = |key: &[u8]| name_value(dict, key);
        let picture = name(b"/Subtype").is_some_and(|n| n == b"Image");
        if picture {
            self.pictures += 1;
            let pixels = direct_integer(dict, b"/Width")
                .unwrap_or(0)
                .saturating_mul(direct_integer(dict, b"/Height").unwrap_or(0));
            self.page_pictures += u32::from(pixels >= PAGE_PIXELS);
        }
        let skipped = picture
            || matches!(
                name(b"/Type").as_deref(),
                Some(b"XRef" | b"Metadata" | b"XObjectImage")
            )
            || key_at(dict, b"/Length1").is_some()
            || key_at(dict, b"/Length2").is_some()
            || key_at(dict, b"/Length3").is_some()
            || matches!(
                name(b"/Subtype").as_deref(),
                Some(b"Type1C" | b"CIDFontType0C" | b"OpenType" | b"XML")
            );
        let purpose = match name(b"/Type").as_deref() {
            Some(b"ObjStm") => {
                let first = direct_integer(dict, b"/First").unwrap_or(0);
                Purpose::Objects(first.min(MAX_KEPT_STREAM as u64) as usize, Vec::new())
            }
            Some(b"EmbeddedFile") => {
                if self.budget.entry() {
                    let mut scanner = Scanner::with_patterns(self.patterns.clone());
                    scanner.inside_archive(self.budget.clone(), self.depth);
                    Purpose::Attached(Box::new(scanner), 0)
                } else {
                    self.cut = true;
                    Purpose::Undecided(Vec::new())
                }
            }
            _ => Purpose::Undecided(Vec::new()),
        };
        let mut decode = if skipped || (self.encrypted && !self.replaying) {
            None
        } else {
            Decode::of(dict)
        };
        // A deflated stream draws at least what building its inflater costs, before it is
        // built (a file of a million small ones would otherwise cost a core minutes): past the
        // budget, it is not inflated.
        self.prepaid = Prepaid::default();
        if let Some(d) = decode.as_mut().filter(|d| d.deflate) {
            if self.budget.start(&mut self.prepaid, STREAM_COST) {
                d.inflater = Some(match self.spare_inflater.take() {
                    Some(mut spare) => {
                        spare.reset(true);
                        spare
                    }
                    None => Box::new(flate2::Decompress::new(true)),
                });
            } else {
                d.failed = true;
                self.cut = true;
            }
        }
        // Kept as it came, to be read again decrypted, unless it is read so already.
        let keep = !skipped && !self.replaying && self.sealed_bytes < MAX_SEALED;
        self.sealed_cut |= !skipped && !self.replaying && !keep;
        self.stream = Some(Stream {
            object,
            left,
            held: Vec::new(),
            decode,
            purpose,
            raw: keep.then(Vec::new),
            dictionary: if keep {
                dictionary.to_vec()
            } else {
                Vec::new()
            },
            generation,
        });
    }

    /// Reads stream data from `data`: how many bytes of it were the stream's (the rest is
    /// outside it). Where its length is not direct, `endstream` ends it.
    fn stream_data(&mut self, data: &[u8]) -> usize {
        let Some(stream) = self.stream.as_mut() else {
            return 0;
        };
        match stream.left {
            Some(left) => {
                let n = left.min(data.len() as u64) as usize;
                stream.left = Some(left - n as u64);
                self.keep_raw(&data[..n]);
                self.decode(&data[..n]);
                if left == n as u64 {
                    self.end_stream();
                }
                n
            }
            None => {
                stream.held.extend_from_slice(data);
                let held = std::mem::take(&mut stream.held);
                match memchr::memmem::find(&held, b"endstream") {
                    Some(at) => {
                        self.keep_raw(&held[..at]);
                        self.decode(&held[..at]);
                        self.end_stream();
                        self.outside.extend_from_slice(&held[at..]);
                    }
                    None => {
                        let keep = held.len().saturating_sub(8);
                        self.keep_raw(&held[..keep]);
                        self.decode(&held[..keep]);
                        if let Some(stream) = self.stream.as_mut() {
                            stream.held = held[keep..].to_vec();
                        }
                    }
                }
                data.len()
            }
        }
    }

    /// Keeps the stream's next bytes as they came, while it may be encrypted and the kept
    /// streams' bytes allow.
    fn keep_raw(&mut self, raw: &[u8]) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        if let Some(kept) = stream.raw.as_mut() {
            if self.sealed_bytes + kept.len() + raw.len() <= MAX_SEALED {
                kept.extend_from_slice(raw);
            } else {
                stream.raw = None;
                self.sealed_cut = true;
            }
        }
    }

    /// Decodes the stream's next raw bytes and hands them on to what it is read for, a step
    /// of [`OUT_STEP`] decoded bytes at a time (a deflate bomb holds no more memory).
    fn decode(&mut self, raw: &[u8]) {
        let Some(mut decode) = self.stream.as_mut().and_then(|s| s.decode.take()) else {
            return;
        };
        let ascii;
        let raw = match decode.ascii.as_mut() {
            Some(a) => {
                ascii = a.decode(raw);
                &ascii[..]
            }
            None => raw,
        };
        let mut go_on = true;
        match decode.inflater.as_mut() {
            // Deflated, its start not paid: nothing of it is read.
            None if decode.deflate => {}
            None => go_on = self.decoded(raw),
            Some(inflater) => {
                let mut input = raw;
                let mut out = Vec::with_capacity(OUT_STEP);
                // Until the input is taken and the inflater's output did not fill a step (a
                // step that fills may leave output within the inflater, given without input).
                while go_on && !decode.failed {
                    out.clear();
                    let before = inflater.total_in();
                    let status =
                        inflater.decompress_vec(input, &mut out, flate2::FlushDecompress::None);
                    let used = (inflater.total_in() - before) as usize;
                    input = &input[used.min(input.len())..];
                    match status {
                        // What follows the compressed data is not read.
                        Ok(flate2::Status::StreamEnd) => decode.failed = true,
                        Err(_) => (decode.failed, decode.error) = (true, true),
                        Ok(_) => {}
                    }
                    // Deflate that gives this much is the stream as it is: not kept.
                    if !decode.error
                        && inflater.total_out() >= PLAIN_PROOF
                        && let Some(stream) = self.stream.as_mut()
                    {
                        stream.raw = None;
                    }
                    let produced = out.len();
                    go_on = self.decoded(&out);
                    if (input.is_empty() && produced < out.capacity())
                        || (used == 0 && produced == 0)
                    {
                        break;
                    }
                }
            }
        }
        if go_on && let Some(stream) = self.stream.as_mut() {
            stream.decode = Some(decode);
        }
    }

    /// Decoded bytes of the stream, within the file's budget: what it is read for takes them.
    /// Whether decoding goes on (not past the budget).
    fn decoded(&mut self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        let n = self.budget.contents(&mut self.prepaid, bytes.len() as u64) as usize;
        let whole = n == bytes.len();
        self.cut |= !whole;
        let bytes = &bytes[..n];
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        if let Purpose::Undecided(head) = &mut stream.purpose {
            head.extend_from_slice(bytes);
            if head.len() < 512 {
                return whole;
            }
            let head = std::mem::take(head);
            self.tell(&head);
            self.purpose_takes(&head);
            return whole;
        }
        self.purpose_takes(bytes);
        whole
    }

    /// Tells the stream's purpose by its first decoded bytes; a page's contents are recorded
    /// as beginning.
    fn tell(&mut self, head: &[u8]) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        stream.purpose = Purpose::told(head);
        if matches!(stream.purpose, Purpose::Contents(_)) && self.shown.len() < MAX_SHOWN {
            self.shown.push(STREAM);
            self.shown.extend_from_slice(&stream.object.to_le_bytes());
        }
    }

    fn purpose_takes(&mut self, bytes: &[u8]) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        match &mut stream.purpose {
            Purpose::Undecided(_) => {}
            // (Once as many strings are kept as may be, the rest of the pages are not read.)
            Purpose::Contents(contents) if self.shown.len() < MAX_SHOWN => {
                contents.feed(bytes, false, &mut self.shown)
            }
            Purpose::Contents(_) => {}
            Purpose::Map(kept) | Purpose::Objects(_, kept) => {
                let room = MAX_KEPT_STREAM.saturating_sub(kept.len());
                kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Purpose::Attached(scanner, n) => {
                scanner.feed(bytes);
                *n += bytes.len() as u64;
            }
        }
        if self.shown.len() > MAX_SHOWN {
            self.shown.truncate(MAX_SHOWN);
            self.cut = true;
        }
    }

    /// The stream ended: what it was read for is finished.
    fn end_stream(&mut self) {
        // The last decoded bytes of a stream not yet told: told now.
        if let Some(Stream {
            purpose: Purpose::Undecided(head),
            ..
        }) = self.stream.as_mut()
            && !head.is_empty()
        {
            let head = std::mem::take(head);
            self.tell(&head);
            self.purpose_takes(&head);
        }
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        // Kept as it came where deflate did not read it (or none was tried): it may be
        // encrypted, to be read again decrypted if the document opens without a password.
        if let Some(raw) = stream.raw.take()
            && stream
                .decode
                .as_ref()
                .is_none_or(|d| d.error || d.inflater.is_none())
        {
            // (Its dictionary counts too: a file of streams with no data keeps no more.)
            self.sealed_bytes += raw.len() + stream.dictionary.len();
            self.sealed.push(Sealed {
                object: stream.object,
                generation: stream.generation,
                dictionary: std::mem::take(&mut stream.dictionary),
                raw,
            });
        }
        if let Some(inflater) = stream.decode.as_mut().and_then(|d| d.inflater.take()) {
            self.spare_inflater = Some(inflater);
        }
        match stream.purpose {
            Purpose::Undecided(_) => {}
            Purpose::Contents(mut contents) => {
                contents.feed(&[], true, &mut self.shown);
                self.shown.push(b'\n');
            }
            Purpose::Map(kept) => {
                // Entries this document's maps may still read, and the file's budget pays for.
                let left = MAX_DOCUMENT_MAP_ENTRIES
                    .saturating_sub(self.fonts.map_entries_read)
                    .min(
                        usize::try_from(self.budget.left() / MAP_ENTRY_COST).unwrap_or(usize::MAX),
                    );
                if self.fonts.maps.len() < MAX_MAPS && left > 0 {
                    let map = CodeMap::parse_within(&kept, left);
                    self.budget.bytes(map.read as u64 * MAP_ENTRY_COST);
                    self.fonts.map_entries_read += map.read;
                    self.cut |= map.limited;
                    self.fonts.maps.insert(stream.object, map);
                } else {
                    self.cut = true;
                }
            }
            Purpose::Objects(first, kept) => self.object_stream(first, &kept),
            // An attached file in a filter not read here, or whose data was not valid: what it
            // holds is unknown (not an empty file's nothing).
            Purpose::Attached(_, _) if stream.decode.as_ref().is_none_or(|d| d.error) => {
                self.attached.add(
                    Classification {
                        formats: vec![Format::Binary],
                        ..Classification::default()
                    },
                    0,
                    false,
                );
            }
            Purpose::Attached(scanner, n) => self.attached.add(scanner.finish(), n, false),
        }
    }

    /// An object stream's objects: a header of pairs (number, offset from `first`), then the
    /// objects, read as those outside streams are.
    fn object_stream(&mut self, first: usize, kept: &[u8]) {
        let Some(header) = kept.get(..first) else {
            return;
        };
        let numbers: Vec<u64> = header
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .map_while(|w| std::str::from_utf8(w).ok()?.parse().ok())
            .collect();
        let pairs: Vec<(u64, u64)> = numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        for (i, &(number, offset)) in pairs.iter().enumerate() {
            let from = first.saturating_add(offset as usize).min(kept.len());
            let to = pairs
                .get(i + 1)
                .map_or(kept.len(), |p| first.saturating_add(p.1 as usize))
                .clamp(from, kept.len());
            if let Ok(number) = u32::try_from(number) {
                self.learn(number, &kept[from..to]);
            }
        }
    }

    /// The end of the document: its shown text read through its fonts' maps and scanned.
    pub(crate) fn finish(mut self) -> Classification {
        if self.stream.is_some() {
            // Broken off inside a stream: what came of it counts.
            self.cut = true;
            self.end_stream();
        }
        let _ = self.read_outside(true);
        let outside = std::mem::take(&mut self.outside);
        self.note_encryption(&outside);
        if self.encrypted {
            // Encrypted: protected where a password is needed to open it. An owner password
            // alone restricts printing or copying, and anyone can open the document: it is
            // not counted as exposed only with a key, and its streams are read decrypted.
            // One that opens without a password is read as a reader opening it would.
            match self.trailer.as_deref().and_then(|t| self.opened(t)) {
                Some(opened) => self.read_decrypted(&opened),
                None => {
                    return Classification {
                        formats: vec![Format::Binary, Format::Encrypted("pdf".into()), Format::Pdf],
                        ..Classification::default()
                    };
                }
            }
        }
        self.fonts.resolve_dictionaries();
        let mut text = Scanner::with_patterns(self.patterns.clone());
        text.inside_archive(self.budget.clone(), crate::encoding::MAX_DEPTH);
        let read = self.fonts.read_shown(&self.shown, &mut |t| text.feed(t));
        if read.characters > 0 {
            self.attached.add(text.finish(), read.characters, false);
            // Codes that no map turns into characters, or a scanned page beside the text.
            self.cut |= read.unmapped * 20 > read.characters + read.unmapped;
            self.cut |= self.page_pictures > 0;
        } else if self.pictures > 0 || read.unmapped > 0 {
            // Pages of pictures (a scan) or of codes no map reads: what they show is unknown.
            self.attached.add(
                Classification {
                    formats: vec![Format::Binary],
                    ..Classification::default()
                },
                0,
                false,
            );
        }
        self.attached.finish(Format::Pdf, self.cut)
    }

    /// About how much memory it keeps between chunks.
    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        let stream = self.stream.as_ref().map_or(0, |s| {
            held(&s.held)
                + s.decode.as_ref().map_or(0, |d| {
                    d.inflater
                        .as_ref()
                        .map_or(0, |_| crate::encoding::INFLATER_BYTES)
                })
                + match &s.purpose {
                    Purpose::Undecided(v) | Purpose::Map(v) | Purpose::Objects(_, v) => held(v),
                    Purpose::Contents(c) => held(&c.pending),
                    Purpose::Attached(scanner, _) => scanner.held_bytes(),
                }
        }) + self
            .spare_inflater
            .as_ref()
            .map_or(0, |_| crate::encoding::INFLATER_BYTES);
        let sealed: usize = self
            .sealed
            .iter()
            .map(|s| held(&s.raw) + held(&s.dictionary))
            .sum();
        let raw = self
            .stream
            .as_ref()
            .map_or(0, |s| s.raw.as_ref().map_or(0, held) + held(&s.dictionary));
        held(&self.outside) + held(&self.shown) + self.fonts.held_bytes() + stream + sealed + raw
    }
}

impl Purpose {
    /// A stream's purpose told by its first decoded bytes: a map to characters (a CMap), else
    /// a page's or a form's contents.
    fn told(head: &[u8]) -> Purpose {
        // (The same first bytes however the stream's data came.)
        let head = &head[..head.len().min(512)];
        if memchr::memmem::find(head, b"begincmap").is_some()
            || memchr::memmem::find(head, b"beginbfchar").is_some()
            || memchr::memmem::find(head, b"beginbfrange").is_some()
        {
            Purpose::Map(Vec::new())
        } else {
            Purpose::Contents(Box::default())
        }
    }
}

impl Decode {
    /// How a stream whose dictionary is `dict` is decoded; `None` for filters not read here
    /// (pictures' compressions, LZW) and predictors (pictures', cross-reference tables').
    fn of(dict: &[u8]) -> Option<Decode> {
        if direct_integer(dict, b"/Predictor").is_some_and(|p| p > 1) {
            return None;
        }
        let filters: Vec<Vec<u8>> = match key_at(dict, b"/Filter") {
            None => Vec::new(),
            Some(at) => {
                let rest = dict[at..].trim_ascii_start();
                if let Some(array) = rest.strip_prefix(b"[") {
                    let close = memchr::memchr(b']', array).unwrap_or(array.len());
                    names_in(&array[..close])
                } else {
                    names_in(rest).into_iter().take(1).collect()
                }
            }
        };
        let mut decode = Decode {
            ascii: None,
            deflate: false,
            inflater: None,
            failed: false,
            error: false,
        };
        for (i, filter) in filters.iter().enumerate() {
            match filter.as_slice() {
                b"FlateDecode" | b"Fl" if !decode.deflate => decode.deflate = true,
                b"ASCII85Decode" | b"A85" if i == 0 => {
                    decode.ascii = Some(Ascii::Base85(Vec::new()));
                }
                b"ASCIIHexDecode" | b"AHx" if i == 0 => decode.ascii = Some(Ascii::Hex(None)),
                _ => return None,
            }
        }
        Some(decode)
    }
}

impl Ascii {
    /// The bytes `text` holds, after what was held over from the last call.
    fn decode(&mut self, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        match self {
            Ascii::Hex(high) => {
                for &c in text {
                    if c == b'>' {
                        break;
                    }
                    let Some(d) = (c as char).to_digit(16) else {
                        continue;
                    };
                    match high.take() {
                        Some(h) => out.push(h << 4 | d as u8),
                        None => *high = Some(d as u8),
                    }
                }
            }
            Ascii::Base85(group) => {
                for &c in text {
                    match c {
                        b'~' => break,
                        b'z' if group.is_empty() => out.extend_from_slice(&[0; 4]),
                        b'!'..=b'u' => {
                            group.push(c - b'!');
                            if group.len() == 5 {
                                let v = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
                                out.extend_from_slice(&(v as u32).to_be_bytes());
                                group.clear();
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::scan::in_chunks;
    use crate::scan::{Class, classify};
    use fonts::{MAX_WIDTHS, Widths, glyph_char};

    /// An object: its dictionary (or other text) and its stream's data.
    #[derive(Debug, Clone)]
    struct Object {
        text: String,
        stream: Option<Vec<u8>>,
    }

    fn object(text: &str) -> Object {
        Object {
            text: text.into(),
            stream: None,
        }
    }

    /// A stream with its dictionary's other entries (`/Length` is added).
    fn stream(dict: &str, data: &[u8]) -> Object {
        Object {
            text: dict.into(),
            stream: Some(data.to_vec()),
        }
    }

    fn deflated(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    /// A document of `objects`, numbered from 1, and a trailer with `trailer`'s entries.
    fn document(objects: &[Object], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        for (i, o) in objects.iter().enumerate() {
            match &o.stream {
                None => write!(out, "{} 0 obj\n{}\nendobj\n", i + 1, o.text).unwrap(),
                Some(data) => {
                    write!(
                        out,
                        "{} 0 obj\n<< {} /Length {} >>\nstream\r\n",
                        i + 1,
                        o.text,
                        data.len()
                    )
                    .unwrap();
                    out.extend_from_slice(data);
                    out.extend_from_slice(b"\r\nendstream\nendobj\n");
                }
            }
        }
        write!(out, "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size {} {trailer} >>\nstartxref\n0\n%%EOF\n", objects.len() + 1).unwrap();
        out
    }

    const LINES: [&str; 4] = [
        "Statement of account",
        "IBAN GB82 WEST 1234 5698 7654 32",
        "Card number 4111 1111 1111 1111",
        "Customer e-mail jane.roe@example.com",
    ];

    /// The contents of a page showing `lines` in font `F1`, a line each, as `Tj` strings.
    fn page_of_lines(lines: &[&str]) -> Vec<u8> {
        let mut c = String::from("BT /F1 10 Tf 72 720 Td 14 TL\n");
        for line in lines {
            let escaped = line
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            c += &format!("({escaped}) Tj T*\n");
        }
        c += "ET\n";
        c.into_bytes()
    }

    /// A page and its font (Helvetica, standard, no map).
    fn simple_document(contents: Object) -> Vec<u8> {
        document(
            &[
                object("<< /Type /Catalog /Pages 2 0 R >>"),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object(
                    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
                ),
                contents,
                object(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
                ),
            ],
            "/Root 1 0 R",
        )
    }

    #[test]
    fn a_pages_text_counts_what_the_same_text_counts() {
        let text = LINES.join("\n") + "\n";
        let alone = classify(text.as_bytes());
        assert_eq!(alone.counts.get(Class::Iban), 1);
        assert_eq!(alone.counts.get(Class::CardNumber), 1);
        let plain = simple_document(stream("", &page_of_lines(&LINES)));
        let deflated = simple_document(stream(
            "/Filter /FlateDecode",
            &deflated(&page_of_lines(&LINES)),
        ));
        // ASCII85 then deflate, as ReportLab writes its pages.
        let a85 = {
            let z = deflated_bytes(&page_of_lines(&LINES));
            simple_document(stream("/Filter [/ASCII85Decode /FlateDecode]", &base85(&z)))
        };
        let hex = simple_document(stream(
            "/Filter /ASCIIHexDecode",
            page_of_lines(&LINES)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
                .as_bytes(),
        ));
        for doc in [plain, deflated, a85, hex] {
            let found = classify(&doc);
            assert_eq!(found.counts, alone.counts);
            assert_eq!(found.formats, vec![Format::Pdf]);
            for size in [1, 7, 100, 4096] {
                assert_eq!(in_chunks(&doc, size), found);
            }
        }
    }

    /// A page whose contents inflate to many steps: its last lines are read too (the
    /// inflater keeps output back when a step fills, given without more input).
    #[test]
    fn a_long_pages_end_is_read() {
        let filler: Vec<String> = (0..5000)
            .map(|i| {
                format!(
                    "Balance brought forward {}.{:02}",
                    i * 7919 % 100_000,
                    i % 100
                )
            })
            .collect();
        let lines: Vec<&str> = filler.iter().map(|l| l.as_str()).chain(LINES).collect();
        let page = page_of_lines(&lines);
        assert!(page.len() > 3 * OUT_STEP);
        let doc = simple_document(stream("/Filter /FlateDecode", &deflated(&page)));
        let found = classify(&doc);
        assert_eq!(
            found.counts,
            classify((lines.join("\n") + "\n").as_bytes()).counts
        );
        assert_eq!(found.counts.get(Class::Iban), 1);
        for size in [999, 4096, 65536] {
            assert_eq!(in_chunks(&doc, size), found);
        }
    }

    /// Words placed one by one after the last (`Td`), a printed card number group by group,
    /// a font changed within a line: read as the line's words, not as cells.
    #[test]
    fn words_placed_one_by_one_stay_words() {
        let contents = b"BT /F1 10 Tf 72 700 Td (Card) Tj 25 0 Td (number) Tj 40 0 Td (4111) Tj \
            25 0 Td (1111) Tj 25 0 Td (1111) Tj 25 0 Td (1111) Tj ET\n\
            BT /F1 10 Tf 72 680 Td (IBAN ) Tj /F2 10 Tf (GB82 WEST 1234 5698 7654 32) Tj ET\n";
        let doc = document(
            &[
                object("<< /Type /Catalog /Pages 2 0 R >>"),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object(
                    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>",
                ),
                stream("", contents),
                object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
                object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"),
            ],
            "",
        );
        let text = "Card number 4111 1111 1111 1111\nIBAN GB82 WEST 1234 5698 7654 32\n";
        let alone = classify(text.as_bytes());
        assert_eq!(alone.counts.get(Class::CardNumber), 1);
        assert_eq!(classify(&doc).counts, alone.counts);
    }

    /// A subset font whose encoding gives its codes glyph names (`/Differences`, codes from 1
    /// as some producers number a subset's glyphs), inline or in an object of its own.
    #[test]
    fn an_encodings_differences_name_the_codes() {
        let glyphs = "/space /C /a /r /d /n /u /m /b /e /zero /one /two /three /four /five /six /seven /eight /nine";
        let chars = " Cardnumbe0123456789";
        let codes = |text: &str| -> String {
            text.chars()
                .map(|c| format!("{:02X}", 1 + chars.find(c).unwrap()))
                .collect()
        };
        let contents = format!(
            "BT /F1 10 Tf 72 700 Td <{}> Tj ET\n",
            codes("Card number 4111 1111 1111 1111")
        );
        let text = "Card number 4111 1111 1111 1111\n";
        let inline = format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Sans /Encoding << /Type /Encoding /Differences [1 {glyphs}] >> >>"
        );
        for (font, encoding) in [
            (inline.as_str(), String::new()),
            (
                "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Sans /Encoding 6 0 R >>",
                format!("<< /Type /Encoding /Differences [1 {glyphs}] >>"),
            ),
        ] {
            let mut objects = vec![
                object("<< /Type /Catalog /Pages 2 0 R >>"),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object(
                    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
                ),
                stream("", contents.as_bytes()),
                object(font),
            ];
            if !encoding.is_empty() {
                objects.push(object(&encoding));
            }
            let found = classify(&document(&objects, ""));
            assert_eq!(found.counts, classify(text.as_bytes()).counts);
            assert_eq!(found.counts.get(Class::CardNumber), 1);
        }
        assert_eq!(glyph_char(b"uni0041"), Some('A'));
        assert_eq!(glyph_char(b"u1F600"), Some('\u{1F600}'));
        assert_eq!(glyph_char(b"uni"), None);
        assert_eq!(glyph_char(b"Aacute"), None);
    }

    /// A document joined from two (as a statement run is bundled): each page names its own
    /// composite font `F4`, with codes of its own; each page's codes are read through its own
    /// font's map, one page's by its resources by reference, the other's inline.
    #[test]
    fn each_page_reads_its_own_fonts_names() {
        // The second font's codes: the first's turned around (0x10 + n becomes 0x60 - n).
        let second = |text: &str| -> String {
            text.chars()
                .map(|c| format!("{:04X}", 0x60 - ALPHABET.find(c).unwrap()))
                .collect()
        };
        let mut map =
            String::from("begincmap\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
        map += &format!("{} beginbfchar\n", ALPHABET.len());
        for (i, c) in ALPHABET.char_indices() {
            map += &format!("<{:04X}> <{:04X}>\n", 0x60 - i, c as u32);
        }
        map += "endbfchar\nendcmap\n";
        let line = |codes: String| format!("BT /F4 10 Tf 72 700 Td <{codes}> Tj ET\n");
        let iban = "IBAN GB82 WEST 1234 5698 7654 32";
        let card = "card number 4111 1111 1111 1111";
        let font = |descendant: u32, map: u32| {
            format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Sans /Encoding /Identity-H /DescendantFonts [{descendant} 0 R] /ToUnicode {map} 0 R >>"
            )
        };
        // Objects 5 and 6: the pages' contents; 8 to 13: the two fonts and their maps.
        let contents = [
            stream("", line(glyphs(iban)).as_bytes()),
            stream("", line(second(card)).as_bytes()),
        ];
        let fonts = [
            object(&font(9, 12)),
            object("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Sans >>"),
            object(&font(11, 13)),
            object("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /BAAAAA+Sans >>"),
            stream("", &to_unicode()),
            stream("", map.as_bytes()),
        ];
        let pages = [
            object("<< /Type /Catalog /Pages 2 0 R >>"),
            object("<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>"),
            object("<< /Type /Page /Parent 2 0 R /Resources 7 0 R /Contents [5 0 R] >>"),
            object(
                "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F4 10 0 R >> >> /Contents 6 0 R >>",
            ),
        ];
        let dictionary = [object("<< /Font << /F4 8 0 R >> >>")];
        let doc = document(
            &[&pages[..], &contents, &dictionary, &fonts].concat(),
            "/Root 1 0 R",
        );
        let found = classify(&doc);
        assert_eq!(
            found.counts,
            classify(format!("{iban}\n{card}\n").as_bytes()).counts
        );
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert_eq!(found.counts.get(Class::CardNumber), 1);
        assert_eq!(found.formats, vec![Format::Pdf]);
        // The same pages with no resources of their own: each inherits its page tree node's.
        let pages = [
            object("<< /Type /Catalog /Pages 2 0 R >>"),
            object("<< /Type /Pages /Kids [14 0 R 15 0 R] /Count 2 >>"),
            object("<< /Type /Page /Parent 14 0 R /Contents 5 0 R >>"),
            object("<< /Type /Page /Parent 15 0 R /Contents 6 0 R >>"),
        ];
        let nodes = [
            object(
                "<< /Type /Pages /Parent 2 0 R /Kids [3 0 R] /Count 1 /Resources << /Font << /F4 8 0 R >> >> >>",
            ),
            object(
                "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R] /Count 1 /Resources << /Font << /F4 10 0 R >> >> >>",
            ),
        ];
        let doc = document(
            &[&pages[..], &contents, &[object("<< >>")], &fonts, &nodes].concat(),
            "/Root 1 0 R",
        );
        let inherited = classify(&doc);
        assert_eq!(inherited.counts, found.counts);
    }

    fn deflated_bytes(data: &[u8]) -> Vec<u8> {
        deflated(data)
    }

    /// ASCII85 as PDF writes it (groups of five, `z` for zeros, `~>` at the end).
    fn base85(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(4) {
            let mut group = [0u8; 4];
            group[..chunk.len()].copy_from_slice(chunk);
            let mut v = u32::from_be_bytes(group);
            if chunk.len() == 4 && v == 0 {
                out.push(b'z');
                continue;
            }
            let mut digits = [0u8; 5];
            for d in digits.iter_mut().rev() {
                *d = (v % 85) as u8 + b'!';
                v /= 85;
            }
            out.extend_from_slice(&digits[..chunk.len() + 1]);
        }
        out.extend_from_slice(b"~>");
        out
    }

    /// A composite font's codes (two bytes, glyph numbers of a subset): 0x10.. for the
    /// characters of `ALPHABET`, read back through a ToUnicode map of ranges and single codes.
    const ALPHABET: &str = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.@";

    fn glyphs(s: &str) -> String {
        s.chars()
            .map(|c| format!("{:04X}", 0x10 + ALPHABET.find(c).unwrap()))
            .collect()
    }

    fn to_unicode() -> Vec<u8> {
        let mut m = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        // Digits as a range, letters as a range with an array, the rest one by one.
        m += "2 beginbfrange\n<0011> <001A> <0030>\n<001B> <001D> [<0041> <0042> <0043>]\nendbfrange\n";
        let singles: Vec<(usize, char)> = ALPHABET
            .char_indices()
            .filter(|(i, _)| !(1..=13).contains(i))
            .collect();
        m += &format!("{} beginbfchar\n", singles.len());
        for (i, c) in singles {
            m += &format!("<{:04X}> <{:04X}>\n", 0x10 + i, c as u32);
        }
        m += "endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
        m.into_bytes()
    }

    /// A page whose table's cells are placed one by one (`Tm`), in a composite font with a
    /// map, its fonts after the page (as browsers print them); 20 rows of customers.
    fn printed_table(rows: usize) -> (Vec<u8>, String) {
        let header = ["Name", "Card number", "SSN", "IBAN"];
        let row = |i: usize| {
            [
                format!("Customer {i}"),
                card(i),
                format!("{:03}-{:02}-{:04}", 100 + i, 10 + i, 1000 + i),
                "GB82WEST12345698765432".to_string(),
            ]
        };
        let mut contents = String::from("BT\n");
        let mut text = String::new();
        for r in 0..=rows {
            let cells: Vec<String> = if r == 0 {
                header.iter().map(|s| s.to_string()).collect()
            } else {
                row(r).to_vec()
            };
            text += &cells.join("\t");
            text += "\n";
            for (c, cell) in cells.iter().enumerate() {
                contents += &format!(
                    "/F4 10 Tf\n1 0 0 -1 {} {} Tm\n<{}> Tj\n",
                    20 + 160 * c,
                    40 + 14 * r,
                    glyphs(cell)
                );
            }
        }
        contents += "ET\n";
        let doc = document(
            &[
                object("<< /Type /Catalog /Pages 2 0 R >>"),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object("<< /Type /Page /Parent 2 0 R /Resources 5 0 R /Contents 4 0 R >>"),
                stream("/Filter /FlateDecode", &deflated(contents.as_bytes())),
                object("<< /Font 6 0 R >>"),
                object("<< /F4 7 0 R >>"),
                object(
                    "<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Sans /Encoding /Identity-H /DescendantFonts [8 0 R] /ToUnicode 9 0 R >>",
                ),
                object(
                    "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Sans /DW 600 /W [16 [278] 17 26 556] >>",
                ),
                stream("/Filter /FlateDecode", &deflated(&to_unicode())),
            ],
            "/Root 1 0 R",
        );
        (doc, text)
    }

    /// A valid Visa number of its own for each `i`.
    fn card(i: usize) -> String {
        let body = format!("4{:014}", 31_415_926 + i * 7919);
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|n| crate::validate::luhn(n.as_bytes()))
            .unwrap()
    }

    #[test]
    fn a_composite_fonts_codes_are_read_through_its_map_and_cells_become_columns() {
        let (doc, text) = printed_table(20);
        let alone = classify(text.as_bytes());
        assert_eq!(alone.counts.get(Class::CardNumber), 20);
        assert_eq!(alone.counts.get(Class::UsSsn), 20);
        assert_eq!(alone.counts.get(Class::Iban), 20);
        let found = classify(&doc);
        assert_eq!(found.counts, alone.counts);
        // (A table whose header names accounts, as the text alone is.)
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Pdf]);
        assert_eq!(alone.formats, vec![Format::AccountTable]);
        for size in [1, 13, 512, 65536] {
            assert_eq!(in_chunks(&doc, size), found);
        }
        // Without its map, the codes are not known: the document is not read.
        let mut no_map = doc.clone();
        let at = memchr::memmem::find(&no_map, b"/ToUnicode 9 0 R").unwrap();
        no_map[at..at + 16].fill(b' ');
        let found = classify(&no_map);
        assert!(found.counts.is_empty());
        assert_eq!(found.formats, vec![Format::Binary, Format::Pdf]);
    }

    #[test]
    fn fonts_in_an_object_stream_and_lengths_by_reference() {
        let contents = page_of_lines(&LINES);
        // The font's object inside an object stream; the page's stream's length an object.
        let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
        let objects = format!("5 0 {font}");
        let first = "5 0 ".len();
        let mut doc = document(
            &[
                object("<< /Type /Catalog /Pages 2 0 R >>"),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object(
                    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
                ),
                object("<< /Length 6 0 R >>"),
            ],
            "/Root 1 0 R",
        );
        // Object 4's stream written by hand (its length is object 6).
        let at = memchr::memmem::find(&doc, b"4 0 obj").unwrap();
        let end = at + memchr::memmem::find(&doc[at..], b"endobj").unwrap() + 6;
        let mut page = b"4 0 obj\n<< /Length 6 0 R >>\nstream\n".to_vec();
        page.extend_from_slice(&contents);
        page.extend_from_slice(b"\nendstream\nendobj\n");
        let stm = deflated(objects.as_bytes());
        write!(
            page,
            "7 0 obj\n<< /Type /ObjStm /N 1 /First {first} /Filter /FlateDecode /Length {} >>\nstream\n",
            stm.len()
        )
        .unwrap();
        page.extend_from_slice(&stm);
        write!(
            page,
            "\nendstream\nendobj\n6 0 obj\n{}\nendobj\n",
            contents.len()
        )
        .unwrap();
        doc.splice(at..end, page);
        let found = classify(&doc);
        assert_eq!(
            found.counts,
            classify((LINES.join("\n") + "\n").as_bytes()).counts
        );
        assert_eq!(in_chunks(&doc, 3), found);
    }

    #[test]
    fn encrypted_scanned_and_attached() {
        // Encrypted: its strings cannot be read.
        let doc = simple_document(stream("", &page_of_lines(&LINES)));
        let text =
            String::from_utf8_lossy(&doc).replace("/Root 1 0 R", "/Root 1 0 R /Encrypt 9 0 R");
        let found = classify(text.as_bytes());
        assert!(found.counts.is_empty());
        assert_eq!(
            found.formats,
            vec![Format::Binary, Format::Encrypted("pdf".into()), Format::Pdf]
        );
        // A scan: pictures, no text.
        let picture = stream(
            "/Type /XObject /Subtype /Image /Width 2480 /Height 3508 /Filter /DCTDecode",
            &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        );
        let scan = simple_document(picture);
        assert_eq!(classify(&scan).formats, vec![Format::Binary, Format::Pdf]);
        // Text and a page-sized picture: the picture's contents are unknown.
        let mut objects = vec![
            object("<< /Type /Catalog /Pages 2 0 R >>"),
            object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            object(
                "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            ),
            stream("", &page_of_lines(&LINES)),
            object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
            stream(
                "/Subtype /Image /Width 2480 /Height 3508 /Filter /DCTDecode",
                b"\xFF\xD8",
            ),
        ];
        let found = classify(&document(&objects, ""));
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert_eq!(found.formats, vec![Format::Pdf, Format::ScannedInPart]);
        // A logo is not a page.
        objects[5] = stream(
            "/Subtype /Image /Width 300 /Height 80 /Filter /DCTDecode",
            b"\xFF\xD8",
        );
        assert_eq!(classify(&document(&objects, "")).formats, vec![Format::Pdf]);
        // A file attached: an extract, counted as a file of its own.
        let extract = "name,ssn,card\n".to_string()
            + &(1..=20)
                .map(|i| {
                    format!(
                        "Jane Roe,{:03}-{:02}-{:04},{}\n",
                        100 + i,
                        10 + i,
                        1000 + i,
                        card(i)
                    )
                })
                .collect::<String>();
        objects[5] = stream(
            "/Type /EmbeddedFile /Filter /FlateDecode",
            &deflated(extract.as_bytes()),
        );
        let found = classify(&document(&objects, ""));
        let attached = classify(extract.as_bytes());
        assert!(attached.counts.get(Class::UsSsn) > 0);
        assert_eq!(
            found.counts.get(Class::UsSsn),
            attached.counts.get(Class::UsSsn)
        );
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Pdf]);
        // An attached file in a filter not read here: unknown, so the document is a lower
        // bound.
        objects[5] = stream(
            "/Type /EmbeddedFile /Filter /LZWDecode",
            b"\x80\x0b\x60\x50",
        );
        let found = classify(&document(&objects, ""));
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert_eq!(found.formats, vec![Format::Pdf, Format::ScannedInPart]);
    }

    /// Any number as a PDF writes one, and some no PDF should.
    fn any_number() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            (0u32..70_000).prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("1e30".to_string()),
            Just("-0.5".to_string()),
            Just("99999999999999999999".to_string()),
        ]
    }

    /// An object of any of the kinds the reader looks into, with any numbers in it.
    fn any_object() -> impl proptest::strategy::Strategy<Value = Object> {
        use proptest::prelude::*;
        let n = any_number;
        prop_oneof![
            (n(), n(), n(), n(), n()).prop_map(|(a, b, c, d, e)| object(&format!(
                "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /W [{a} [{b} {c}] {d} {e} {a}] \
                 /DW {b} /ToUnicode {c} 0 R /DescendantFonts [{d} 0 R] >>"
            ))),
            (n(), n(), "[a-z]{1,8}").prop_map(|(a, b, g)| object(&format!(
                "<< /Type /Font /BaseFont /X /FirstChar {a} /Widths [{b} {a}] \
                 /Encoding << /Differences [{a} /{g} /uni{b} /u{a}] >> >>"
            ))),
            (n(), n(), n()).prop_map(|(a, b, c)| stream(
                "",
                format!(
                    "begincmap 1 begincodespacerange <{a}> <{b}> endcodespacerange \
                     2 beginbfrange <{a}> <{b}> <{c}> <{c}> <{a}> [<{b}> <{c}>] endbfrange \
                     1 beginbfchar <{c}> <{a}{b}> endbfchar endcmap"
                )
                .as_bytes()
            )),
            (n(), n(), n(), "[ -~]{0,20}").prop_map(|(a, b, c, t)| stream(
                "/Filter /FlateDecode",
                &deflated(
                    format!(
                        "BT /F{a} {b} Tf {a} {b} Td {c} TL T* ({t}) Tj [({t}) {a} <{b}>] TJ \
                         {a} {b} {c} {a} {b} {c} Tm ({t}) ' {a} {b} ({t}) \" BI /W {a} ID {t} EI ET"
                    )
                    .as_bytes()
                )
            )),
            (n(), n()).prop_map(|(a, b)| {
                let objects = format!("{a} 0 << /Font << /F1 {b} 0 R >> >> {b} {a} << /FT /Tx /V (x) >>");
                stream(
                    &format!("/Type /ObjStm /N 2 /First {a} /Filter /FlateDecode"),
                    &deflated(objects.as_bytes()),
                )
            }),
            (n(), n(), any::<[u8; 48]>()).prop_map(|(a, b, u)| {
                let hex: String = u.iter().map(|b| format!("{b:02X}")).collect();
                object(&format!(
                    "<< /Filter /Standard /V {a} /R {b} /Length {a} /O <{hex}> /U <{hex}> /UE <{hex}> /P {b} \
                     /CF << /StdCF << /CFM /AESV2 >> >> /StmF /StdCF >>"
                ))
            }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Documents of any objects with any numbers (huge, negative, malformed), encrypted
        /// or not, in any chunks: read the same, and nothing panics.
        #[test]
        fn any_objects_in_any_chunks(
            objects in proptest::collection::vec(any_object(), 1..10),
            encrypt in proptest::prelude::any::<bool>(),
            cut in 1usize..2000,
        ) {
            let trailer = if encrypt {
                format!("/Encrypt {} 0 R /ID [<00112233> <00112233>]", objects.len())
            } else {
                String::new()
            };
            let doc = document(&objects, &trailer);
            proptest::prop_assert_eq!(in_chunks(&doc, cut), classify(&doc));
        }
    }

    proptest::proptest! {
        /// However a document is damaged and cut into chunks, it is read the same (and
        /// nothing panics).
        #[test]
        fn damage_and_chunks(
            flips in proptest::collection::vec((0usize..1 << 16, proptest::prelude::any::<u8>()), 0..6),
            cut in 1usize..3000,
        ) {
            let (mut doc, _) = printed_table(3);
            for (at, b) in flips {
                let n = doc.len();
                doc[at % n] = b;
            }
            proptest::prop_assert_eq!(in_chunks(&doc, cut), classify(&doc));
        }
    }

    #[test]
    fn the_limits_hold() {
        // A deflate bomb in a page's contents: read to the file's budget, then cut.
        let zeros = vec![b' '; 64 << 20];
        let bomb = simple_document(stream("/Filter /FlateDecode", &deflated(&zeros)));
        let mut s = Scanner::new();
        s.inside_archive(Budget::with(1 << 20, 16), 0);
        s.feed(&bomb);
        assert!(s.held_bytes() < 4 << 20);
        assert!(s.finish().formats.contains(&Format::ScannedInPart));
        // A map of ranges repeated past its limit, strings never closed, a length past the end,
        // a header of nothing: bounded, no panic.
        let mut map = String::from("begincmap 1 begincodespacerange <00> <FF> endcodespacerange\n");
        map += &"1 beginbfrange <0000> <FFFF> <0041> endbfrange\n".repeat(64);
        let parsed = CodeMap::parse(map.as_bytes());
        assert!(parsed.codes.len() <= MAX_MAP_CODES);
        // A range over every code, of a long destination (a fuzzer's 3 KB file of such maps
        // took a quarter of a second when ranges were written out a code at a time): one
        // entry, each code's characters cut to their bound.
        let long = "0041".repeat(500);
        let map = format!(
            "begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
             1 beginbfrange <0000> <FFFF> <{long}> endbfrange\n"
        );
        let parsed = CodeMap::parse_within(map.as_bytes(), 1000);
        assert_eq!((parsed.read, parsed.codes.len()), (1, 0));
        let (mut out, mut read) = (Vec::new(), fonts::Read::default());
        parsed.write(&[0x12, 0x34, 0xFF, 0xFF], &mut out, &mut read);
        // (Two codes, each cut to 16 characters.)
        assert_eq!(read.characters, MAX_MAP_DESTINATION as u64);
        // Entries one by one in many maps: the document's maps read so many in all.
        let chars: String = (0..MAX_MAP_CODES)
            .map(|c| format!("<{c:04X}> <0041>\n"))
            .collect();
        let map = format!(
            "begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
             1 beginbfchar {chars} endbfchar\n"
        );
        let maps: Vec<Object> = (0..3).map(|_| stream("", map.as_bytes())).collect();
        let mut pdf = Pdf::new(None, Budget::with(64 << 20, 16), 0);
        pdf.feed(&document(&maps, ""));
        let read: usize = pdf.fonts.maps.values().map(|m| m.read).sum();
        assert_eq!(
            read,
            MAX_DOCUMENT_MAP_ENTRIES,
            "{} maps",
            pdf.fonts.maps.len()
        );
        assert!(pdf.cut, "maps left unread are not said");
        for junk in [
            b"%PDF-1.4\n1 0 obj << /Length 999999999 >> stream\nBT (abc".as_slice(),
            b"%PDF-1.4\n1 0 obj << >> stream\nBT ((((((((((( Tj",
            b"%PDF-",
            b"%PDF-1.4\n<< /Font << /F1 1 0 R >> >> stream\n<<<<>>>>[[[]]]",
        ] {
            let _ = classify(junk);
            let _ = in_chunks(junk, 1);
        }
    }

    proptest::proptest! {
        /// The contents' numbers read directly are the standard library's.
        #[test]
        fn numbers_are_read_as_the_standard_library_does(
            whole in "[0-9]{0,8}", fraction in proptest::option::of("[0-9]{0,6}"), minus: bool,
        ) {
            let text = format!("{}{whole}{}", if minus { "-" } else { "" },
                fraction.map(|f| format!(".{f}")).unwrap_or_default());
            let want = text.parse::<f64>().unwrap_or(0.0);
            proptest::prop_assert!((number(text.as_bytes()) - want).abs() <= want.abs() * 1e-12);
        }
    }

    /// A form's text fields whose values no appearance shows (`/NeedAppearances`): their
    /// values read after their names; one with an appearance is read once, from it.
    #[test]
    fn form_fields_values_are_read_once() {
        let field = |name: &str, value: &str, appearance: &str| {
            object(&format!(
                "<< /FT /Tx /T ({name}) /V ({value}) /Type /Annot /Subtype /Widget {appearance} >>"
            ))
        };
        let doc = document(
            &[
                object(
                    "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 6 0 R 7 0 R] /NeedAppearances true >> >>",
                ),
                object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                object(
                    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Annots [5 0 R 6 0 R 7 0 R] /Contents 8 0 R >>",
                ),
                object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
                field("SSN", "219-09-9998", ""),
                field("Card number", "4111 1111 1111 1111", ""),
                field("IBAN", "GB82 WEST 1234 5698 7654 32", "/AP << /N 9 0 R >>"),
                stream("", b"BT /F1 10 Tf 72 720 Td (Account opening form) Tj ET\n"),
                stream(
                    "/Type /XObject /Subtype /Form /BBox [0 0 300 20] /Resources << /Font << /F1 4 0 R >> >>",
                    b"/Tx BMC BT /F1 10 Tf 2 5 Td (GB82 WEST 1234 5698 7654 32) Tj ET EMC\n",
                ),
            ],
            "/Root 1 0 R",
        );
        let text = "SSN: 219-09-9998\nCard number: 4111 1111 1111 1111\nIBAN GB82 WEST 1234 5698 7654 32\n";
        let alone = classify(text.as_bytes());
        assert_eq!(alone.counts.get(Class::UsSsn), 1);
        let found = classify(&doc);
        assert_eq!(found.counts, alone.counts);
        assert_eq!(found.counts.get(Class::Iban), 1);
        assert_eq!(text_string(b"\xFE\xFF\x00A\x00B"), "AB");
    }

    /// Revision 6's costly check of the empty password draws on the file's budget: past it,
    /// the document is not opened (a ZIP of thousands of them costs its budget's worth).
    #[test]
    fn a_costly_password_check_draws_on_the_budget() {
        let r6 = include_bytes!("../tests/producers/encrypted/r6-open.pdf");
        let within = |budget: Budget| {
            let mut s = Scanner::new();
            s.inside_archive(budget, 0);
            s.feed(r6);
            s.finish()
        };
        let found = within(Budget::with(CHECK_COST + (1 << 20), 16));
        assert_eq!(found.counts.get(Class::Iban), 3);
        let found = within(Budget::with(CHECK_COST - 1, 16));
        assert!(found.counts.is_empty());
        assert!(found.formats.contains(&Format::Encrypted("pdf".into())));
    }

    /// Each deflated stream draws what building its inflater costs before it is built: a
    /// budget of ten such starts inflates ten of a document's fifty small streams and says
    /// the rest were not read; without it all are read (their contents a few kilobytes).
    #[test]
    fn each_deflated_stream_draws_on_the_budget() {
        let streams: Vec<Object> = (0..50)
            .map(|_| {
                stream(
                    "/Filter /FlateDecode",
                    &deflated(b"BT (4111 1111 1111 1111) Tj ET"),
                )
            })
            .collect();
        let doc = document(&streams, "");
        let budget = Budget::with(10 * STREAM_COST, 16);
        let mut pdf = Pdf::new(None, budget.clone(), 0);
        pdf.feed(&doc);
        assert!(pdf.cut, "streams left unread are not said");
        assert!(budget.left() < STREAM_COST, "{} left", budget.left());
        let budget = Budget::with(64 << 20, 16);
        let mut pdf = Pdf::new(None, budget.clone(), 0);
        pdf.feed(&doc);
        assert!(!pdf.cut);
        assert!(budget.left() > (64 << 20) - 51 * STREAM_COST);
    }

    /// Maps to characters draw on the file's budget as their entries are read: past it no
    /// more are read, and the document says it was read in part (a `.tar.gz` of thousands of
    /// small PDFs of long maps costs its budget's worth of them, not thousands of documents'
    /// bounds).
    #[test]
    fn maps_draw_on_the_budget() {
        let chars: String = (0..5000).map(|c| format!("<{c:04X}> <0041>\n")).collect();
        let map = format!(
            "begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
             1 beginbfchar {chars} endbfchar\n"
        );
        let doc = document(&[stream("", map.as_bytes())], "");
        let paid = 1000 * MAP_ENTRY_COST + map.len() as u64;
        let budget = Budget::with(paid, 16);
        let mut pdf = Pdf::new(None, budget.clone(), 0);
        pdf.feed(&doc);
        let read: usize = pdf.fonts.maps.values().map(|m| m.read).sum();
        // (The map's stream drew its bytes first.)
        assert!((900..=1000).contains(&read), "{read} entries read");
        assert!(budget.left() < MAP_ENTRY_COST, "{} left", budget.left());
        assert!(pdf.cut, "entries left unread are not said");
        // Another document in the same file reads none.
        let mut next = Pdf::new(None, budget, 0);
        next.feed(&doc);
        assert_eq!(next.fonts.maps.values().map(|m| m.read).sum::<usize>(), 0);
        assert!(next.cut);
        // With room, the same map is read whole and not said to be cut.
        let mut whole = Pdf::new(None, Budget::with(64 << 20, 16), 0);
        whole.feed(&doc);
        assert_eq!(
            whole.fonts.maps.values().map(|m| m.read).sum::<usize>(),
            5000
        );
        assert!(!whole.cut);
    }

    #[test]
    fn strings_and_headers_are_read_as_written() {
        assert_eq!(
            literal_string(b"(a\\(b\\) (nested) \\101\\n\\\nc) Tj").unwrap(),
            (b"a(b) (nested) A\nc".to_vec(), 27)
        );
        assert_eq!(literal_string(b"(open"), None);
        assert_eq!(hex_string(b"41 42 4"), b"AB@".to_vec());
        assert_eq!(
            object_header(b"junk\n12 0 obj\n<< >>").map(|o| o.0),
            Some(12)
        );
        assert_eq!(object_header(b"endstream\n"), None);
        assert_eq!(direct_integer(b"/Length 12 0 R", b"/Length"), None);
        assert_eq!(direct_integer(b"/Length1 5 /Length 7", b"/Length"), Some(7));
        // Widths' ranges of any numbers, bounded.
        let w = Widths::cid(b"1 1e30 500 -5 3 [1 2] 7 2 9]", Some(600.0));
        assert!(w.runs.iter().map(|r| r.1.len()).sum::<usize>() <= MAX_WIDTHS);
        assert_eq!(w.of(1), Some(0.5));
        assert_eq!(w.of(u32::MAX), Some(0.6));
        assert!(names_encryption(b"trailer << /Encrypt 5 0 R >>"));
        assert!(!names_encryption(b"<< /EncryptMetadata false >>"));
    }
}
