//! 7-Zip archives (`.7z`): told by their signature, read from the header at their end (through
//! the LZMA compression 7-Zip gives that header by default, with `lzma-rust2`'s decoder; an
//! encrypted header, `-mhe=on`, says as much by its own coders). One encrypted with 7-Zip's
//! AES (`7z a -p`) is `binary, encrypted:7z, 7z`, so that the incident report counts it among
//! the files exposed only with their password. One of at most [`MAX_READ`] bytes is kept whole
//! and read at its end: each folder that one LZMA, LZMA2 or copy coder packs is unpacked
//! (within the file's budget) and cut into its files, each classified by a scanner of its own
//! and their classes summed ([`crate::archive::Entries`]); a folder packed otherwise (BCJ2,
//! PPMd, BZip2) leaves the archive read in part. A larger archive is `binary, 7z`: its contents
//! are not read as it streams.
//!
//! Stored whole and read back (`classify_stored`), an archive of any size is read at the
//! places its header names, each folder's packed stream [`PIECE`] bytes at a time.
//!
//! Pure: bytes in, what the files hold out. Beyond [`MAX_READ`], only the signature header
//! and the bytes about the header are kept as the archive streams ([`MAX_HEADER`] each side of
//! where it begins); every number from the archive is bounded before it is used, the header's
//! decompressed size too ([`MAX_UNPACKED_HEADER`]), and a folder's dictionary
//! ([`MAX_DICTIONARY`]).

use std::sync::Arc;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};
use crate::stored::Stored;

/// The signature every 7-Zip archive begins with.
const SIGNATURE: [u8; 6] = [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C];
/// The signature header: the signature, the version, a CRC, and where the header is.
const START: usize = 32;
/// Most bytes of an archive kept whole and read at its end (as a compound file's).
pub const MAX_READ: usize = 32 << 20;
/// Most bytes of the header kept, and of the archive before it (where the compressed header's
/// packed stream is): a larger header is not read, and the archive is `binary, 7z` only.
pub const MAX_HEADER: u64 = 1 << 20;
/// Most bytes a compressed header may unpack to (a header listing some hundred thousand files).
pub const MAX_UNPACKED_HEADER: u64 = 4 << 20;
/// Most of a folder's LZMA or LZMA2 dictionary kept while it is unpacked (`7z -mx9`'s 64 MiB;
/// a dictionary is made no larger than what its folder unpacks to).
pub const MAX_DICTIONARY: u64 = 64 << 20;
/// Headers compressed inside headers followed at most this deep.
const MAX_ENCODED: u8 = 2;
/// Unpacked bytes taken from a decoder at a time.
const OUT: usize = 64 << 10;

/// The ids of the coders that matter here: 7-Zip's AES-256, LZMA, LZMA2 and a stored copy.
const AES: &[u8] = &[0x06, 0xF1, 0x07, 0x01];
const LZMA: &[u8] = &[0x03, 0x01, 0x01];
const LZMA2: &[u8] = &[0x21];
const COPY: &[u8] = &[0x00];

/// The header's property ids (7-Zip's `7zFormat.txt`).
const END: u8 = 0x00;
const HEADER: u8 = 0x01;
const ARCHIVE_PROPERTIES: u8 = 0x02;
const ADDITIONAL_STREAMS: u8 = 0x03;
const MAIN_STREAMS: u8 = 0x04;
const PACK_INFO: u8 = 0x06;
const UNPACK_INFO: u8 = 0x07;
const SUBSTREAMS_INFO: u8 = 0x08;
const SIZE: u8 = 0x09;
const CRC: u8 = 0x0A;
const FOLDER: u8 = 0x0B;
const CODERS_UNPACK_SIZE: u8 = 0x0C;
const NUM_UNPACK_STREAM: u8 = 0x0D;
const ENCODED_HEADER: u8 = 0x17;

/// Whether a file's first bytes are a 7-Zip archive's signature.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(&SIGNATURE)
}

/// A 7-Zip archive being read, chunk by chunk: kept whole while it is small enough, and the
/// bytes about its header in any case.
pub(crate) struct SevenZip {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    /// How deep in archives the archive is (its files one deeper).
    depth: u8,
    start: Vec<u8>,
    /// Where the next byte is in the archive.
    at: u64,
    /// The archive from its first byte, until it is larger than [`MAX_READ`].
    whole: Option<Vec<u8>>,
    /// Where the bytes kept about the header begin, and those bytes.
    kept_from: u64,
    kept: Vec<u8>,
}

impl SevenZip {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        SevenZip {
            patterns,
            budget,
            depth,
            start: Vec::with_capacity(START),
            at: 0,
            whole: Some(Vec::new()),
            kept_from: 0,
            kept: Vec::new(),
        }
    }

    /// Where the header is, from the signature header: its offset and size.
    fn header_at(&self) -> Option<(u64, u64)> {
        let s = self.start.get(..START)?;
        let offset = u64::from_le_bytes(s[12..20].try_into().ok()?);
        let size = u64::from_le_bytes(s[20..28].try_into().ok()?);
        let at = (START as u64).checked_add(offset)?;
        at.checked_add(size)?;
        (size <= MAX_HEADER).then_some((at, size))
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        if let Some(whole) = self.whole.as_mut() {
            if whole.len() + data.len() <= MAX_READ {
                whole.extend_from_slice(data);
            } else {
                self.whole = None;
            }
        }
        let mut data = data;
        if self.start.len() < START {
            let take = (START - self.start.len()).min(data.len());
            self.start.extend_from_slice(&data[..take]);
            self.at += take as u64;
            data = &data[take..];
            if let Some((at, _)) = self.header_at() {
                self.kept_from = at.saturating_sub(MAX_HEADER).max(START as u64);
            }
        }
        let Some((at, size)) = self.header_at() else {
            self.at += data.len() as u64;
            return;
        };
        // The bytes of [kept_from, header's end) that this chunk holds.
        let end = at + size;
        let (from, to) = (
            self.at.max(self.kept_from),
            (self.at + data.len() as u64).min(end),
        );
        if from < to {
            let (a, b) = ((from - self.at) as usize, (to - self.at) as usize);
            self.kept.extend_from_slice(&data[a..b]);
        }
        self.at += data.len() as u64;
    }

    pub(crate) fn held_bytes(&self) -> usize {
        let whole = self.whole.as_ref().map_or(0, crate::encoding::held);
        whole + crate::encoding::held(&self.kept) + START
    }

    /// What the archive holds: its files' classes and formats with `7z`; `binary, 7z` where
    /// they cannot be read, with `encrypted:7z` where they are encrypted.
    /// An archive whose contents are unknown: `binary`, `encrypted:7z` where it says so, `7z`.
    fn unknown(encrypted: bool) -> Classification {
        let mut formats = vec![Format::Binary];
        if encrypted {
            formats.push(Format::Encrypted("7z".into()));
        }
        formats.push(Format::SevenZip);
        Classification {
            formats,
            ..Default::default()
        }
    }

    pub(crate) fn finish(self) -> Classification {
        let unknown = Self::unknown;
        let Some(listing) = self.listing() else {
            return unknown(false);
        };
        if listing.encrypted {
            return unknown(true);
        }
        match &self.whole {
            Some(whole) => read_folders(
                &listing,
                Source::Kept(whole),
                (self.patterns.clone(), self.budget.clone(), self.depth),
            ),
            None => unknown(false),
        }
    }

    /// What the header says; `None` where it cannot be read (broken off, damaged, too large,
    /// in a form not read here).
    fn listing(&self) -> Option<Listing> {
        if !magic(&self.start) {
            return None;
        }
        let (at, size) = self.header_at()?;
        if at + size != self.at {
            return None;
        }
        let kept = match &self.whole {
            Some(whole) => Kept {
                from: 0,
                bytes: whole,
            },
            None => Kept {
                from: self.kept_from,
                bytes: &self.kept,
            },
        };
        let header = kept.get(at, size)?;
        read_header(header, &kept, 0).ok()
    }
}

/// Where an archive's packed streams are read from: the archive kept whole, or the stored
/// file at places.
#[derive(Clone, Copy)]
enum Source<'a> {
    Kept(&'a [u8]),
    Stored(Stored<'a>),
}

/// An archive stored whole (an upload read back after its commit), read at the places its
/// header names: its signature header, its header (and what an encoded header's packed
/// stream needs, before it), then each folder's packed stream a piece at a time, whatever the
/// archive's size.
pub(crate) fn classify_stored(
    size: u64,
    read_at: &dyn Fn(u64, &mut [u8]) -> Option<usize>,
    patterns: Option<Arc<Patterns>>,
) -> Classification {
    let file = Stored::new(size, read_at);
    let read = |at: u64, n: u64| file.read(at, usize::try_from(n).ok()?);
    let mut archive = SevenZip::new(patterns.clone(), Budget::new(), 0);
    let listing = read(0, START as u64).and_then(|start| {
        archive.start = start;
        let (at, header) = archive.header_at()?;
        if at.checked_add(header)? != size {
            return None;
        }
        let from = at.saturating_sub(MAX_HEADER).max(START as u64);
        let kept = read(from, at + header - from)?;
        let bytes = Kept { from, bytes: &kept };
        read_header(bytes.get(at, header)?, &bytes, 0).ok()
    });
    let Some(listing) = listing else {
        return archive.finish();
    };
    if listing.encrypted {
        // What the archive says of itself as it streams: encrypted, its contents unknown.
        return SevenZip::unknown(true);
    }
    let source = Source::Stored(file);
    read_folders(&listing, source, (patterns, Budget::new(), 0))
}

/// The files of an archive: each folder unpacked and cut into its files.
fn read_folders(
    listing: &Listing,
    source: Source,
    (patterns, budget, depth): (Option<Arc<Patterns>>, Budget, u8),
) -> Classification {
    let mut files = Files {
        patterns,
        budget,
        depth,
        found: Entries::default(),
        entry: None,
        cut: false,
        spent: false,
    };
    let mut packed_at = (START as u64).checked_add(listing.pack_at);
    let mut pack_sizes = listing.pack_sizes.iter();
    for (folder, sizes) in listing.folders.iter().zip(&listing.files) {
        // The file's budget spent (its contents or its archives' entries, of which each
        // folder is one): nothing more is unpacked.
        if files.spent || !files.budget.entry() {
            files.cut = true;
            break;
        }
        // Where its packed streams are: the next ones.
        let mut packs = Vec::new();
        for _ in 0..folder.packed {
            let (Some(at), Some(&size)) = (packed_at, pack_sizes.next()) else {
                files.cut = true;
                break;
            };
            packs.push((at, size));
            packed_at = at.checked_add(size);
        }
        if files.cut {
            break;
        }
        let readable = match (folder.coders.as_slice(), packs.as_slice()) {
            ([(id, properties)], [(at, size)]) => {
                Packed::of(source, *at, *size).map(|p| ((id.as_slice(), properties.as_slice()), p))
            }
            _ => None,
        };
        let Some(((id, properties), mut packed)) = readable else {
            files.cut = true;
            continue;
        };
        // (A folder of no files holds nothing to read.)
        if !sizes.is_empty() {
            files.folder(id, properties, &mut packed, folder.unpacked, sizes);
        }
    }
    files.found.finish(Format::SevenZip, files.cut)
}

/// What a 7-Zip header says of its contents: whether a folder is encrypted, where the packed
/// streams are, and each folder's coders, size and files' sizes.
struct Listing {
    encrypted: bool,
    pack_at: u64,
    pack_sizes: Vec<u64>,
    folders: Vec<Folder>,
    /// Each folder's files' sizes, in order.
    files: Vec<Vec<u64>>,
}

/// The files of an archive being unpacked: the one under way, and what those before hold.
struct Files {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    found: Entries,
    /// The file under way: its scanner, the bytes it still lacks and those it had.
    entry: Option<(Box<Scanner>, u64, u64)>,
    /// Some of the archive could not be read.
    cut: bool,
    /// The file's budget is spent.
    spent: bool,
}

impl Files {
    /// Unpacks a folder (its one coder: id and properties) and cuts what it unpacks into files
    /// of `sizes`.
    fn folder(
        &mut self,
        id: &[u8],
        properties: &[u8],
        packed: &mut Packed,
        unpacked: u64,
        sizes: &[u64],
    ) {
        let mut sizes = sizes.iter();
        let mut sink = |bytes: &[u8], files: &mut Files| -> bool {
            let mut bytes = bytes;
            while !bytes.is_empty() {
                if files.entry.is_none() {
                    let Some(&size) = sizes.next() else {
                        // More than its files: damaged.
                        files.cut = true;
                        return false;
                    };
                    if !files.budget.entry() {
                        files.cut = true;
                        files.spent = true;
                        return false;
                    }
                    let mut s = Scanner::with_patterns(files.patterns.clone());
                    s.inside_archive(files.budget.clone(), files.depth);
                    files.entry = Some((Box::new(s), size, 0));
                }
                let Some((scanner, left, had)) = files.entry.as_mut() else {
                    return false;
                };
                let take = (*left).min(bytes.len() as u64) as usize;
                let n = files.budget.bytes(take as u64) as usize;
                scanner.feed(&bytes[..n]);
                *left -= take as u64;
                *had += n as u64;
                bytes = &bytes[take..];
                if n < take {
                    files.cut = true;
                    files.spent = true;
                    files.end_entry();
                    return false;
                }
                if *left == 0 {
                    files.end_entry();
                }
            }
            true
        };
        let whole = unpack(id, properties, packed, unpacked, |bytes| sink(bytes, self));
        if !whole {
            self.cut = true;
        }
        // A file the folder broke off in counts what came of it.
        self.end_entry();
        // (Files of no bytes say nothing.)
    }

    fn end_entry(&mut self) {
        if let Some((scanner, _, had)) = self.entry.take() {
            self.found.add(scanner.finish(), had, false);
        }
    }
}

/// Unpacks a folder packed by one coder (`id`, `properties`) to `unpacked` bytes, handing them
/// to `sink` [`OUT`] bytes at most at a time while it says to go on: whether all of them came.
fn unpack(
    id: &[u8],
    properties: &[u8],
    packed: &mut Packed,
    unpacked: u64,
    mut sink: impl FnMut(&[u8]) -> bool,
) -> bool {
    // No match reaches further back than what the folder unpacks to.
    let dictionary = |declared: u64| -> Option<u32> {
        let d = declared.min(unpacked.max(4096));
        (d <= MAX_DICTIONARY).then_some(d as u32)
    };
    let mut decoder = match (id, properties) {
        (COPY, _) => {
            let mut left = unpacked;
            while left > 0 {
                let Some((input, last)) = packed.input() else {
                    return false;
                };
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                if !input[..n].chunks(OUT).all(&mut sink) {
                    return false;
                }
                packed.take(n);
                left -= n as u64;
                if left > 0 && (last || n == 0) {
                    return false;
                }
            }
            return true;
        }
        (LZMA, &[bits, d0, d1, d2, d3]) => {
            let Some(d) = dictionary(u64::from(u32::from_le_bytes([d0, d1, d2, d3]))) else {
                return false;
            };
            match lzma_rust2::LzmaStream::new_with_props(unpacked, bits, d, None) {
                Ok(s) => Unpacker::Lzma(Box::new(s)),
                Err(_) => return false,
            }
        }
        (LZMA2, &[bits]) if bits <= 40 => {
            let declared = if bits == 40 {
                u64::from(u32::MAX)
            } else {
                (2 | u64::from(bits & 1)) << (bits / 2 + 11)
            };
            let Some(d) = dictionary(declared) else {
                return false;
            };
            Unpacker::Lzma2(Box::new(lzma_rust2::Lzma2Stream::new(d)))
        }
        _ => return false,
    };
    let mut out = vec![0u8; OUT];
    let mut made_all = 0u64;
    loop {
        let Some((input, last)) = packed.input() else {
            return false;
        };
        let before = decoder.total_out();
        let result = decoder.process(input, &mut out, last);
        let made = (decoder.total_out() - before).min(OUT as u64) as usize;
        let made = made.min((unpacked - made_all) as usize);
        if !sink(&out[..made]) {
            return false;
        }
        made_all += made as u64;
        match result {
            Ok(r) => {
                packed.take(r.bytes_consumed);
                if r.status == lzma_rust2::Status::StreamEnd || made_all == unpacked {
                    break;
                }
                if r.bytes_consumed == 0 && made == 0 {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    made_all == unpacked
}

/// A folder's decoder.
enum Unpacker {
    Lzma(Box<lzma_rust2::LzmaStream>),
    Lzma2(Box<lzma_rust2::Lzma2Stream>),
}

impl Unpacker {
    fn total_out(&self) -> u64 {
        match self {
            Unpacker::Lzma(s) => s.total_out(),
            Unpacker::Lzma2(s) => s.total_out(),
        }
    }

    /// Unpacks from `input` (`last`: no more packed bytes follow it).
    fn process(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        last: bool,
    ) -> std::io::Result<lzma_rust2::StreamResult> {
        let finish = if last {
            lzma_rust2::Action::Finish
        } else {
            lzma_rust2::Action::Run
        };
        match self {
            Unpacker::Lzma(s) => s.process(input, out, finish),
            Unpacker::Lzma2(s) => s.process(input, out, finish),
        }
    }
}

/// Packed bytes read from the stored file at a time.
pub const PIECE: usize = 1 << 20;

/// A folder's packed stream: in the archive kept whole, or read from the stored file a piece
/// at a time.
enum Packed<'a> {
    Kept(&'a [u8]),
    Stored {
        file: Stored<'a>,
        /// Where the bytes not yet read begin, and how many are left.
        at: u64,
        left: u64,
        piece: Vec<u8>,
        taken: usize,
    },
}

impl<'a> Packed<'a> {
    /// The `size` bytes at `at` of the archive, if it holds them.
    fn of(source: Source<'a>, at: u64, size: u64) -> Option<Packed<'a>> {
        match source {
            Source::Kept(whole) => {
                let a = usize::try_from(at).ok()?;
                let b = a.checked_add(usize::try_from(size).ok()?)?;
                whole.get(a..b).map(Packed::Kept)
            }
            Source::Stored(file) => (at.checked_add(size)? <= file.size).then(|| Packed::Stored {
                file,
                at,
                left: size,
                piece: Vec::new(),
                taken: 0,
            }),
        }
    }

    /// The packed bytes not yet taken (a piece read from the stored file when those run
    /// out), and whether no more follow them; `None` where the file cannot be read.
    fn input(&mut self) -> Option<(&[u8], bool)> {
        match self {
            Packed::Kept(bytes) => Some((bytes, true)),
            Packed::Stored {
                file,
                at,
                left,
                piece,
                taken,
            } => {
                if *taken == piece.len() && *left > 0 {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(PIECE);
                    piece.resize(n, 0);
                    file.fill(*at, piece)?;
                    *at += n as u64;
                    *left -= n as u64;
                    *taken = 0;
                }
                Some((&piece[*taken..], *left == 0))
            }
        }
    }

    /// Takes `n` of the bytes [`Packed::input`] gave.
    fn take(&mut self, n: usize) {
        match self {
            Packed::Kept(bytes) => *bytes = &bytes[n.min(bytes.len())..],
            Packed::Stored { piece, taken, .. } => *taken = (*taken + n).min(piece.len()),
        }
    }
}

/// The archive's bytes kept about its header, by their place in the archive.
struct Kept<'a> {
    from: u64,
    bytes: &'a [u8],
}

impl Kept<'_> {
    fn get(&self, at: u64, len: u64) -> Option<&[u8]> {
        let a = usize::try_from(at.checked_sub(self.from)?).ok()?;
        let b = a.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(a..b)
    }
}

/// The header cannot be read (damaged, or in a form not read here).
#[derive(Debug)]
struct Unreadable;

/// Reads a header's numbers and bytes in order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Unreadable> {
        let b = *self.bytes.get(self.at).ok_or(Unreadable)?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Unreadable> {
        let n = usize::try_from(n).map_err(|_| Unreadable)?;
        let end = self.at.checked_add(n).ok_or(Unreadable)?;
        let s = self.bytes.get(self.at..end).ok_or(Unreadable)?;
        self.at = end;
        Ok(s)
    }

    /// A 7-Zip NUMBER: the first byte's leading ones say how many little-endian bytes follow,
    /// its other bits are the value's highest.
    fn number(&mut self) -> Result<u64, Unreadable> {
        let first = self.byte()?;
        let mut value = 0u64;
        let mut mask = 0x80u8;
        for i in 0..8 {
            if first & mask == 0 {
                let high = u64::from(first & mask.wrapping_sub(1));
                return Ok(value | high << (8 * i));
            }
            value |= u64::from(self.byte()?) << (8 * i);
            mask >>= 1;
        }
        Ok(value)
    }

    /// A count of things each at least a byte long: bounded by the bytes left.
    fn count(&mut self) -> Result<usize, Unreadable> {
        let n = self.number()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(Unreadable);
        }
        Ok(n as usize)
    }

    /// Digests (CRCs) of `n` things: which are defined, then theirs.
    fn digests(&mut self, n: usize) -> Result<(), Unreadable> {
        let all = self.byte()?;
        let defined = if all != 0 {
            n
        } else {
            let bits = self.take(n.div_ceil(8) as u64)?;
            bits.iter().map(|b| b.count_ones() as usize).sum()
        };
        self.take(4 * defined as u64)?;
        Ok(())
    }
}

/// A folder: its coders' ids and properties, how many streams they unpack to and how many
/// packed streams they read, which outputs other coders read, and the size of what the folder
/// unpacks to (the output no coder reads).
struct Folder {
    coders: Vec<(Vec<u8>, Vec<u8>)>,
    outputs: usize,
    packed: usize,
    bound: Vec<u64>,
    unpacked: u64,
}

/// What a header's streams info says: where its packed streams are, its folders, and each
/// folder's files' sizes.
struct Streams {
    pack_at: u64,
    pack_sizes: Vec<u64>,
    folders: Vec<Folder>,
    files: Vec<Vec<u64>>,
}

impl Streams {
    fn encrypted(&self) -> bool {
        self.folders
            .iter()
            .any(|f| f.coders.iter().any(|(id, _)| id == AES))
    }
}

/// What a header (plain, or encoded) says of the archive's contents.
fn read_header(header: &[u8], kept: &Kept, depth: u8) -> Result<Listing, Unreadable> {
    let mut r = Reader {
        bytes: header,
        at: 0,
    };
    match r.byte()? {
        HEADER => {
            let mut id = r.byte()?;
            if id == ARCHIVE_PROPERTIES {
                loop {
                    if r.byte()? == END {
                        break;
                    }
                    let n = r.number()?;
                    r.take(n)?;
                }
                id = r.byte()?;
            }
            let mut encrypted = false;
            if id == ADDITIONAL_STREAMS {
                encrypted |= streams(&mut r, false)?.encrypted();
                id = r.byte()?;
            }
            let main = if id == MAIN_STREAMS {
                streams(&mut r, true)?
            } else {
                Streams {
                    pack_at: 0,
                    pack_sizes: Vec::new(),
                    folders: Vec::new(),
                    files: Vec::new(),
                }
            };
            Ok(Listing {
                encrypted: encrypted || main.encrypted(),
                pack_at: main.pack_at,
                pack_sizes: main.pack_sizes,
                folders: main.folders,
                files: main.files,
            })
        }
        ENCODED_HEADER => {
            let s = streams(&mut r, false)?;
            // An encrypted header (`-mhe=on`): so are the contents.
            if s.encrypted() {
                return Ok(Listing {
                    encrypted: true,
                    pack_at: 0,
                    pack_sizes: Vec::new(),
                    folders: Vec::new(),
                    files: Vec::new(),
                });
            }
            // Else the header compressed with LZMA alone: unpacked, then read in turn.
            let [folder] = s.folders.as_slice() else {
                return Err(Unreadable);
            };
            let ([(id, properties)], [packed]) =
                (folder.coders.as_slice(), s.pack_sizes.as_slice())
            else {
                return Err(Unreadable);
            };
            let unpacked = folder.unpacked;
            if id != LZMA || depth >= MAX_ENCODED || unpacked > MAX_UNPACKED_HEADER {
                return Err(Unreadable);
            }
            let at = (START as u64).checked_add(s.pack_at).ok_or(Unreadable)?;
            let packed = kept.get(at, *packed).ok_or(Unreadable)?;
            let mut inner = Vec::with_capacity(unpacked as usize);
            let whole = unpack(
                id,
                properties,
                &mut Packed::Kept(packed),
                unpacked,
                |bytes| {
                    inner.extend_from_slice(bytes);
                    true
                },
            );
            if !whole {
                return Err(Unreadable);
            }
            read_header(&inner, kept, depth + 1)
        }
        _ => Err(Unreadable),
    }
}

/// Reads a streams info: its packed streams, its folders and their sizes, and (`files`) the
/// sizes of each folder's files (what follows them, their CRCs, is not needed).
fn streams(r: &mut Reader, files: bool) -> Result<Streams, Unreadable> {
    let mut s = Streams {
        pack_at: 0,
        pack_sizes: Vec::new(),
        folders: Vec::new(),
        files: Vec::new(),
    };
    let mut id = r.byte()?;
    if id == PACK_INFO {
        s.pack_at = r.number()?;
        let n = r.count()?;
        loop {
            match r.byte()? {
                END => break,
                SIZE => {
                    s.pack_sizes = (0..n).map(|_| r.number()).collect::<Result<_, _>>()?;
                }
                CRC => r.digests(n)?,
                _ => return Err(Unreadable),
            }
        }
        id = r.byte()?;
    }
    if id == UNPACK_INFO {
        if r.byte()? != FOLDER {
            return Err(Unreadable);
        }
        let n = r.count()?;
        // Folders kept elsewhere (in an additional stream) are not read here.
        if r.byte()? != 0 {
            return Err(Unreadable);
        }
        for _ in 0..n {
            s.folders.push(folder(r)?);
        }
        if r.byte()? != CODERS_UNPACK_SIZE {
            return Err(Unreadable);
        }
        for f in &mut s.folders {
            if f.outputs > r.bytes.len() {
                return Err(Unreadable);
            }
            let sizes = (0..f.outputs)
                .map(|_| r.number())
                .collect::<Result<Vec<_>, _>>()?;
            // The folder's own output: the one no coder reads.
            let main = (0..f.outputs as u64)
                .find(|j| !f.bound.contains(j))
                .ok_or(Unreadable)?;
            f.unpacked = sizes[main as usize];
        }
        loop {
            match r.byte()? {
                END => break,
                CRC => r.digests(n)?,
                _ => return Err(Unreadable),
            }
        }
        id = if files { r.byte()? } else { END };
    }
    if !files {
        return Ok(s);
    }
    // Each folder's number of files (one unless said), then their sizes but the last's.
    let mut counts = vec![1u64; s.folders.len()];
    if id == SUBSTREAMS_INFO {
        id = r.byte()?;
        if id == NUM_UNPACK_STREAM {
            for c in &mut counts {
                *c = r.number()?;
            }
            id = r.byte()?;
        }
    } else {
        id = END;
    }
    // (Each file has a name in the header: no more files than its bytes.)
    let total = counts.iter().try_fold(0u64, |a, c| a.checked_add(*c));
    if total.is_none_or(|t| t > r.bytes.len() as u64) {
        return Err(Unreadable);
    }
    for (f, &count) in s.folders.iter().zip(&counts) {
        let mut sizes = Vec::new();
        if count > 0 {
            let mut sum = 0u64;
            if id == SIZE {
                for _ in 1..count {
                    let size = r.number()?;
                    sum = sum.checked_add(size).ok_or(Unreadable)?;
                    sizes.push(size);
                }
            } else if count > 1 {
                return Err(Unreadable);
            }
            sizes.push(f.unpacked.checked_sub(sum).ok_or(Unreadable)?);
        }
        s.files.push(sizes);
    }
    Ok(s)
}

/// One folder: its coders (id, properties), bind pairs and packed streams.
fn folder(r: &mut Reader) -> Result<Folder, Unreadable> {
    let n = r.count()?;
    let mut f = Folder {
        coders: Vec::new(),
        outputs: 0,
        packed: 0,
        bound: Vec::new(),
        unpacked: 0,
    };
    let mut inputs = 0usize;
    for _ in 0..n {
        let flags = r.byte()?;
        if flags & 0xC0 != 0 {
            return Err(Unreadable);
        }
        let id = r.take(u64::from(flags & 0x0F))?.to_vec();
        let (ins, outs) = if flags & 0x10 != 0 {
            (r.count()?, r.count()?)
        } else {
            (1, 1)
        };
        let properties = if flags & 0x20 != 0 {
            let len = r.number()?;
            r.take(len)?.to_vec()
        } else {
            Vec::new()
        };
        inputs = inputs.checked_add(ins).ok_or(Unreadable)?;
        f.outputs = f.outputs.checked_add(outs).ok_or(Unreadable)?;
        f.coders.push((id, properties));
    }
    let pairs = f.outputs.checked_sub(1).ok_or(Unreadable)?;
    for _ in 0..pairs {
        r.number()?;
        f.bound.push(r.number()?);
    }
    f.packed = inputs.checked_sub(pairs).ok_or(Unreadable)?;
    if f.packed > 1 {
        for _ in 0..f.packed {
            r.number()?;
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::classify;

    fn fixture(name: &str) -> Vec<u8> {
        crate::tests::fixture_in("sevenzip", name)
    }

    const ARCHIVES: [&str; 8] = [
        "plain.7z",
        "open-header.7z",
        "lzma-apart.7z",
        "stored.7z",
        "ppmd.7z",
        "locked.7z",
        "hidden.7z",
        "locked-open-header.7z",
    ];

    /// Archives written by 7-Zip 22.01 (`7zz`) of a small customer extract and a note, in
    /// `tests/sevenzip/`: LZMA2 in one solid folder (its header compressed, as by default, or
    /// not: `-mhc=off`), LZMA a folder per file (`-ms=off`), stored (`-mx0`): each counts what
    /// its files count, their formats and `7z`. Packed by PPMd: read in part. With a password
    /// (the header compressed, its folder encrypted; the header encrypted too, `-mhe=on`; the
    /// header neither compressed nor encrypted): `encrypted:7z`, classes unknown.
    #[test]
    fn archives_by_7zip_count_their_files_or_say_they_are_encrypted_in_any_chunks() {
        let (extract, note) = (
            classify(&fixture("customers.csv")),
            classify(&fixture("note.txt")),
        );
        let mut both = extract.counts;
        for (class, n) in note.counts.present() {
            both.add(class, n);
        }
        assert!(both.get(crate::Class::Iban) > 20, "{both:?}");
        for name in ARCHIVES {
            let bytes = fixture(name);
            let found = classify(&bytes);
            match name {
                "ppmd.7z" => {
                    assert!(found.counts.is_empty());
                    assert_eq!(found.formats, vec![Format::SevenZip, Format::ScannedInPart]);
                }
                n if n.starts_with("locked") || n == "hidden.7z" => {
                    assert!(found.counts.is_empty());
                    assert_eq!(
                        found.formats,
                        vec![
                            Format::Binary,
                            Format::Encrypted("7z".into()),
                            Format::SevenZip
                        ],
                        "{name}"
                    );
                }
                _ => {
                    assert_eq!(found.counts, both, "{name}");
                    assert_eq!(
                        found.formats,
                        vec![Format::AccountTable, Format::SevenZip],
                        "{name}"
                    );
                }
            }
            for size in [1, 7, 31, 33, 4096] {
                assert_eq!(
                    crate::scan::in_chunks(&bytes, size),
                    found,
                    "{name} in {size}"
                );
            }
            // Broken off: still a 7-Zip archive, what it holds not known.
            let cut = classify(&bytes[..bytes.len() - 1]);
            assert_eq!(cut.formats, vec![Format::Binary, Format::SevenZip]);
        }
        // Within the file's budget: the files read to it, the archive read in part.
        let bytes = fixture("stored.7z");
        let mut s = Scanner::new();
        s.inside_archive(Budget::with(600, 100), 0);
        s.feed(&bytes);
        let found = s.finish();
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        let n = found.counts.get(crate::Class::Iban);
        assert!(n > 0 && n < extract.counts.get(crate::Class::Iban), "{n}");
    }

    proptest::proptest! {
        /// 7-Zip's archives with any bytes changed, cut anywhere, in any chunks: a verdict,
        /// never a panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..ARCHIVES.len(),
            changes in proptest::collection::vec((0usize..2000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..2000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(ARCHIVES[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(crate::scan::in_chunks(&bytes, size), found.clone());
            if magic(&bytes) {
                proptest::prop_assert!(found.formats.contains(&Format::SevenZip), "{:?}", found);
                // Read back at places: a verdict too, and the same one.
                let read_at = crate::tests::read_at(&bytes);
                let stored = crate::classify_stored(&bytes, bytes.len() as u64, &read_at, None);
                proptest::prop_assert_eq!(stored.map(|mut s| { s.rules = found.rules; s }), Some(found));
            }
        }
    }

    /// Read back from storage at the places its header names, an archive counts what it does
    /// as it streams (packed streams read a piece at a time: pieces of 1 MiB, here whole).
    #[test]
    fn a_stored_archive_read_at_places_counts_the_same() {
        for name in ARCHIVES {
            let bytes = fixture(name);
            let read_at = crate::tests::read_at(&bytes);
            let mut stored =
                crate::classify_stored(&bytes, bytes.len() as u64, &read_at, None).unwrap();
            let streamed = classify(&bytes);
            stored.rules = streamed.rules;
            assert_eq!(stored, streamed, "{name}");
        }
    }
}
