//! Files the scanner reads through a layer: gzip-, bzip2-, zstd- and xz-compressed files,
//! inflated as they arrive (at most [`MAX_INFLATED`] bytes of contents: a compression bomb costs no more), EBCDIC
//! text translated to ASCII, and UTF-16
//! text, as Windows tools and spreadsheets export "Unicode text", told by its byte order mark.
//! Each UTF-16 code unit becomes one byte: itself when it is ASCII, else a byte that is no
//! letter, digit or delimiter (as a UTF-8 sequence's bytes are to the scanner), so the
//! scanner's rules read the text as they read ASCII and nothing it holds is passed over as
//! binary.
//!
//! Pure: bytes in, bytes out; what a chunk's end cuts (a code unit, a deflate block) is kept
//! for the next.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Most bytes of a compressed file's contents scanned; of a larger one, its classes are those
/// of this first part ([`crate::Format::ScannedInPart`]). A gzip member inflates at most about
/// 1,000 times: one of a few MiB can hold this much, and scanning it costs a core about three
/// seconds.
pub const MAX_INFLATED: u64 = 1 << 30;
/// Most entries of archives read per file, those of archives inside archives included.
pub const MAX_ENTRIES: u32 = 65_536;
/// Layers of archives and compressed files opened one inside another: a file's own, and its
/// entries' to this depth (a `.zip` of `.tar.gz` archives of `.csv.gz` files).
pub const MAX_DEPTH: u8 = 3;

/// What one file's layers may still read in all, shared by each of them: the contents of its
/// compressed layers and archives' entries (at most [`MAX_INFLATED`] bytes), and the entries of
/// its archives (at most [`MAX_ENTRIES`]), however they nest. A file's layers are read on one
/// thread at a time; the counts are atomic only so that a scanner may move between threads.
#[derive(Clone, Debug)]
pub(crate) struct Budget(Arc<Left>);

#[derive(Debug)]
struct Left {
    bytes: AtomicU64,
    entries: AtomicU32,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Self::with(MAX_INFLATED, MAX_ENTRIES)
    }

    pub(crate) fn with(bytes: u64, entries: u32) -> Self {
        Budget(Arc::new(Left {
            bytes: AtomicU64::new(bytes),
            entries: AtomicU32::new(entries),
        }))
    }

    /// Takes up to `n` bytes of contents: how many may be read.
    pub(crate) fn bytes(&self, n: u64) -> u64 {
        let left = self.0.bytes.load(Ordering::Relaxed);
        let n = n.min(left);
        self.0.bytes.store(left - n, Ordering::Relaxed);
        n
    }

    /// Bytes of contents it may still read (what work drawn on it in bytes can still buy).
    pub(crate) fn left(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }

    /// A stream starts (a gzip member, a zstd frame, a compressed block or page, a PDF's
    /// deflated stream): it takes `cost` from the budget, what building its decoder costs in
    /// bytes of contents, paid in advance for its first contents (`prepaid`). Whether the
    /// budget paid; if not, nothing of the stream is to be read.
    pub(crate) fn start(&self, prepaid: &mut Prepaid, cost: u64) -> bool {
        let paid = self.bytes(cost) == cost;
        *prepaid = Prepaid(if paid { cost } else { 0 });
        paid
    }

    /// Takes up to `n` bytes of a stream's contents, from what its start paid first: how
    /// many may be read. A stream of more than its start's cost costs its contents; one of a
    /// few bytes, its start.
    pub(crate) fn contents(&self, prepaid: &mut Prepaid, n: u64) -> u64 {
        let first = n.min(prepaid.0);
        prepaid.0 -= first;
        first + self.bytes(n - first)
    }

    /// Takes one entry: whether it may be read.
    pub(crate) fn entry(&self) -> bool {
        let left = self.0.entries.load(Ordering::Relaxed);
        self.0
            .entries
            .store(left.saturating_sub(1), Ordering::Relaxed);
        left > 0
    }
}

/// What starting a stream draws on the file's budget at least (`Budget::start`; its first
/// contents use it): a gzip member, an xz stream, a zstd frame, an Avro block, a Parquet page or
/// a `pg_dump -Fc` data block compressed, a PDF's deflated stream. A few times what building its decoder costs against
/// scanning bytes (an inflater some 8 µs, a zstd or xz decoder 1 to 3 µs; a byte scanned some
/// 3 ns). A file of a million streams of a few bytes each would otherwise cost a core minutes
/// while their contents draw a few bytes each (a gzip file of 22-byte members some 6 minutes
/// per GB, a PDF of deflated streams two); with it, no more than the budget's worth, about a
/// second. Streams of more than this cost their contents, as before.
pub const STREAM_COST: u64 = 8 << 10;
/// The same for a bzip2 stream: its decoder's 3.7 MB of state is cleared at each (some 170 µs:
/// a file of 39-byte streams would cost a core an hour per GB).
pub const BZIP2_STREAM_COST: u64 = 128 << 10;

/// What a stream's start paid of its contents in advance ([`Budget::start`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Prepaid(u64);

/// Compressed bytes handed to the inflater at a time, at fixed places in the file whatever
/// the chunks (so what it gives, even from a stream that breaks off, does not depend on them),
/// and few enough that one step inflates to a few MiB at most (a bomb holds no more memory).
const INFLATE_STEP: usize = 4 << 10;

/// Most bytes of a gzip step's output buffer kept between steps (a text's steps inflate to
/// less).
const KEPT_OUT: usize = 256 << 10;

/// A gzip file (one member or several) being inflated, chunk by chunk.
pub(crate) struct Gzip {
    /// The member being inflated; its writer holds the contents not yet handed over.
    member: flate2::write::GzDecoder<Vec<u8>>,
    /// Compressed bytes short of a step.
    step: Vec<u8>,
    /// What the file's layers may still read.
    budget: Budget,
    /// What the member's start paid of its contents.
    prepaid: Prepaid,
    /// The contents went past the budget, or are not a valid gzip stream from some point.
    pub(crate) cut: bool,
}

impl Gzip {
    /// Whether a file's first two bytes are gzip's magic number.
    pub(crate) fn magic(first: [u8; 2]) -> bool {
        first == [0x1F, 0x8B]
    }

    pub(crate) fn new(budget: Budget) -> Self {
        let mut prepaid = Prepaid::default();
        Gzip {
            member: flate2::write::GzDecoder::new(Vec::new()),
            step: Vec::with_capacity(INFLATE_STEP),
            cut: !budget.start(&mut prepaid, STREAM_COST),
            budget,
            prepaid,
        }
    }

    /// Inflates `data` (the compressed bytes after the last chunk's), handing the contents to
    /// `contents` a step at a time, while the budget lasts.
    pub(crate) fn inflate(&mut self, mut data: &[u8], mut contents: impl FnMut(&[u8])) {
        while !data.is_empty() && !self.cut {
            let take = (INFLATE_STEP - self.step.len()).min(data.len());
            self.step.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.step.len() == INFLATE_STEP {
                self.step(&mut contents);
            }
        }
    }

    /// The end of the compressed file: what is left of the contents. A stream that ends
    /// before its last member does is cut.
    pub(crate) fn finish(&mut self, mut contents: impl FnMut(&[u8])) {
        if !self.step.is_empty() {
            self.step(&mut contents);
        }
        if !self.cut && self.member.try_finish().is_err() {
            self.cut = true;
        }
        self.hand_over(&mut contents);
    }

    /// Inflates the bytes of a step, member after member.
    fn step(&mut self, contents: &mut impl FnMut(&[u8])) {
        let step = std::mem::take(&mut self.step);
        let mut data = step.as_slice();
        while !data.is_empty() && !self.cut {
            match self.member.write(data) {
                // The member ended where bytes follow: they begin the next, once its contents
                // are handed over (they draw on the budget before the next start does).
                Ok(0) => {
                    self.cut = self.member.try_finish().is_err();
                    self.hand_over(contents);
                    self.cut = self.cut || !self.budget.start(&mut self.prepaid, STREAM_COST);
                    if !self.cut {
                        let out = std::mem::take(self.member.get_mut());
                        self.member = flate2::write::GzDecoder::new(out);
                    }
                }
                Ok(n) => data = &data[n.min(data.len())..],
                Err(_) => self.cut = true,
            }
        }
        self.step = step;
        self.step.clear();
        self.hand_over(contents);
    }

    fn hand_over(&mut self, contents: &mut impl FnMut(&[u8])) {
        let out = self.member.get_mut();
        let n = self.budget.contents(&mut self.prepaid, out.len() as u64) as usize;
        if n < out.len() {
            self.cut = true;
        }
        contents(&out[..n]);
        out.clear();
        // A step of a bomb inflates to some 4 MiB: not kept between steps.
        out.shrink_to(KEPT_OUT);
    }
}

/// Decompressed bytes produced per call of the bzip2 decoder (the buffer its output passes
/// through: a bzip2 block of runs can expand a million times, so the output is taken in pieces,
/// never all at once).
const BZIP2_OUT: usize = 64 << 10;

/// A bzip2 file (one stream or several, as `pbzip2` writes them) being decompressed, chunk by
/// chunk, while the file's budget lasts.
pub(crate) struct Bzip2 {
    decoder: bzip2::Decompress,
    out: Vec<u8>,
    budget: Budget,
    /// What the stream's start paid of its contents.
    prepaid: Prepaid,
    /// A stream ended: what follows begins another.
    ended: bool,
    /// The contents went past the limit, or are not a valid bzip2 stream from some point.
    pub(crate) cut: bool,
}

impl Bzip2 {
    /// Whether a file's first bytes begin a bzip2 stream: `BZh`, the block size (1-9), and the
    /// first block's magic number or the end of an empty stream's.
    pub(crate) fn magic(first: &[u8; 10]) -> bool {
        first[..3] == *b"BZh"
            && (b'1'..=b'9').contains(&first[3])
            && matches!(
                first[4..],
                [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] | [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]
            )
    }

    pub(crate) fn new(budget: Budget) -> Self {
        let mut prepaid = Prepaid::default();
        Bzip2 {
            decoder: bzip2::Decompress::new(false),
            out: vec![0; BZIP2_OUT],
            ended: false,
            cut: !budget.start(&mut prepaid, BZIP2_STREAM_COST),
            budget,
            prepaid,
        }
    }

    /// Decompresses `data` (the compressed bytes after the last chunk's), handing the contents
    /// to `contents` [`BZIP2_OUT`] bytes at most at a time, while the budget lasts.
    pub(crate) fn inflate(&mut self, mut data: &[u8], mut contents: impl FnMut(&[u8])) {
        // The decoder may hold output beyond a full buffer: it is asked again, input or not.
        let mut full = false;
        while (!data.is_empty() || full) && !self.cut {
            if self.ended {
                if data.is_empty() {
                    return;
                }
                if !self.budget.start(&mut self.prepaid, BZIP2_STREAM_COST) {
                    self.cut = true;
                    return;
                }
                self.decoder = bzip2::Decompress::new(false);
                self.ended = false;
            }
            let (before_in, before_out) = (self.decoder.total_in(), self.decoder.total_out());
            let status = self.decoder.decompress(data, &mut self.out);
            let read = (self.decoder.total_in() - before_in) as usize;
            let made = (self.decoder.total_out() - before_out) as usize;
            data = &data[read.min(data.len())..];
            full = made == self.out.len();
            let n = self.budget.contents(&mut self.prepaid, made as u64) as usize;
            contents(&self.out[..n]);
            match status {
                _ if n < made => self.cut = true,
                Ok(bzip2::Status::StreamEnd) => self.ended = true,
                Ok(_) if read == 0 && made == 0 => self.cut = true,
                Ok(_) => {}
                Err(_) => self.cut = true,
            }
        }
    }

    /// What the decoder keeps: four bytes per byte of a block of the largest size (900 kB;
    /// libbzip2's, unless in its small mode), and its tables.
    const DECODER_BYTES: usize = 9 * 400_000 + (64 << 10);

    /// The end of the compressed file: what is left of the contents. A stream that ends
    /// before its end is cut.
    pub(crate) fn finish(&mut self, contents: impl FnMut(&[u8])) {
        self.inflate(&[], contents);
        if !self.ended {
            self.cut = true;
        }
    }
}

/// Most of a zstd frame's window accepted (what the decoder keeps of the contents before the
/// next block): `zstd -19` uses 8 MiB; a frame that asks for more (`--long`, `--ultra`) is not
/// read, and the file is read in part.
pub const MAX_ZSTD_WINDOW: u64 = 8 << 20;
/// The magic numbers of a zstd frame and (its low four bits aside) of a skippable frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const ZSTD_SKIPPABLE: u32 = 0x184D_2A50;
/// Decompressed bytes taken from the decoder at a time.
const ZSTD_OUT: usize = 64 << 10;

/// Where a zstd file is: before a frame's header, at a block, at a frame's checksum, or
/// passing over a skippable frame's bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ZstdPart {
    Frame,
    Block,
    Checksum,
    Skip(u64),
}

/// A zstd file (frames one after another, skippable ones passed over) being decompressed,
/// chunk by chunk, while the file's budget lasts. The decoder is handed one block at a time
/// (its header read here), so that what one call decompresses is one block's (at most 128 KiB),
/// whatever a hostile file's blocks (a run of a byte can fill 128 KiB from four bytes).
pub(crate) struct Zstd {
    decoder: Box<ruzstd::decoding::FrameDecoder>,
    /// Compressed bytes not yet handed on (at most a block's and a chunk's).
    input: Vec<u8>,
    part: ZstdPart,
    checksum: bool,
    /// The frame's window (what the decoder keeps of its contents).
    window: u64,
    out: Vec<u8>,
    budget: Budget,
    /// What the frame's start paid of its contents.
    prepaid: Prepaid,
    /// The contents went past the budget, or are not a valid zstd stream from some point.
    pub(crate) cut: bool,
}

impl Zstd {
    /// Whether a file's first bytes are a zstd frame's magic number, or a skippable frame's
    /// (as `pzstd` begins each frame).
    pub(crate) fn magic(first: &[u8; 10]) -> bool {
        let magic = u32::from_le_bytes([first[0], first[1], first[2], first[3]]);
        first[..4] == ZSTD_MAGIC || magic & !0xF == ZSTD_SKIPPABLE
    }

    pub(crate) fn new(budget: Budget) -> Self {
        Zstd {
            decoder: Box::new(Self::decoder()),
            input: Vec::new(),
            part: ZstdPart::Frame,
            checksum: false,
            window: 0,
            out: vec![0; ZSTD_OUT],
            budget,
            prepaid: Prepaid::default(),
            cut: false,
        }
    }

    fn decoder() -> ruzstd::decoding::FrameDecoder {
        let mut d = ruzstd::decoding::FrameDecoder::new();
        d.set_max_window_size(MAX_ZSTD_WINDOW);
        d
    }

    /// Decompresses `data` (the compressed bytes after the last chunk's), handing the contents
    /// to `contents` [`ZSTD_OUT`] bytes at most at a time.
    pub(crate) fn inflate(&mut self, data: &[u8], mut contents: impl FnMut(&[u8])) {
        if self.cut {
            return;
        }
        self.input.extend_from_slice(data);
        let mut at = 0;
        while !self.cut {
            let rest = &self.input[at..];
            // How many bytes the next part takes (`None`: not there yet).
            let take = match self.part {
                ZstdPart::Skip(left) => {
                    let n = left.min(rest.len() as u64);
                    self.part = if n == left {
                        ZstdPart::Frame
                    } else {
                        ZstdPart::Skip(left - n)
                    };
                    at += n as usize;
                    if n == 0 {
                        break;
                    }
                    continue;
                }
                ZstdPart::Frame => {
                    let Some(magic) = rest.get(..4) else { break };
                    let magic = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
                    if magic & !0xF == ZSTD_SKIPPABLE {
                        let Some(size) = rest.get(4..8) else { break };
                        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
                        self.part = ZstdPart::Skip(8 + u64::from(size));
                        continue;
                    }
                    if magic != u32::from_le_bytes(ZSTD_MAGIC) {
                        self.cut = true;
                        break;
                    }
                    let Some(&descriptor) = rest.get(4) else {
                        break;
                    };
                    let single = descriptor >> 5 & 1;
                    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 3)];
                    let size = [usize::from(single), 2, 4, 8][usize::from(descriptor >> 6)];
                    self.checksum = descriptor >> 2 & 1 == 1;
                    // The window: its descriptor's (a power of two and eighths of it), or a
                    // single segment's content size (the decoder refuses one too large).
                    self.window = match rest.get(5) {
                        Some(&w) if single == 0 => {
                            let base = 1u64 << (10 + (w >> 3));
                            base + base / 8 * u64::from(w & 7)
                        }
                        _ => MAX_ZSTD_WINDOW,
                    };
                    5 + usize::from(1 - single) + dictionary + size
                }
                ZstdPart::Block => {
                    let Some(h) = rest.get(..3) else { break };
                    let header = u32::from_le_bytes([h[0], h[1], h[2], 0]);
                    let (kind, size) = (header >> 1 & 3, (header >> 3) as usize);
                    if kind == 3 || size > 128 << 10 {
                        self.cut = true;
                        break;
                    }
                    3 + if kind == 1 { 1 } else { size }
                }
                ZstdPart::Checksum => 4,
            };
            if rest.len() < take {
                break;
            }
            let part = &self.input[at..at + take];
            let last = self.part == ZstdPart::Block && part[0] & 1 == 1;
            if self.part == ZstdPart::Frame {
                if !self.budget.start(&mut self.prepaid, STREAM_COST) {
                    self.cut = true;
                    break;
                }
                *self.decoder = Self::decoder();
            }
            match self.decoder.decode_from_to(part, &mut self.out) {
                Ok((read, made)) if read == take => {
                    if !self.hand_over(made, &mut contents) {
                        break;
                    }
                }
                _ => {
                    self.cut = true;
                    break;
                }
            }
            // What the block decoded beyond one output step.
            while self.decoder.can_collect() > 0 && !self.cut {
                match self.decoder.decode_from_to(&[], &mut self.out) {
                    Ok((_, made)) if made > 0 => {
                        if !self.hand_over(made, &mut contents) {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            at += take;
            self.part = match self.part {
                ZstdPart::Frame => ZstdPart::Block,
                ZstdPart::Block if last && self.checksum => ZstdPart::Checksum,
                ZstdPart::Block if last => ZstdPart::Frame,
                ZstdPart::Block => ZstdPart::Block,
                ZstdPart::Checksum | ZstdPart::Skip(_) => ZstdPart::Frame,
            };
        }
        self.input.drain(..at.min(self.input.len()));
    }

    /// Hands `made` decompressed bytes to `contents` within the budget: whether it lasts.
    fn hand_over(&mut self, made: usize, contents: &mut impl FnMut(&[u8])) -> bool {
        let n = self.budget.contents(&mut self.prepaid, made as u64) as usize;
        contents(&self.out[..n]);
        self.cut |= n < made;
        !self.cut
    }

    /// The end of the compressed file: a frame that breaks off, or bytes that begin none, cut.
    pub(crate) fn finish(&mut self, contents: impl FnMut(&[u8])) {
        self.inflate(&[], contents);
        if self.part != ZstdPart::Frame || !self.input.is_empty() {
            self.cut = true;
        }
    }
}

/// Most of an xz stream's dictionary accepted (what its decoder keeps of the contents):
/// `xz -9`'s 64 MiB (the default, `-6`, uses 8 MiB). A stream that declares more is not read,
/// and the file is read in part.
pub const MAX_XZ_DICTIONARY: usize = 64 << 20;
/// The magic number that begins an xz stream.
const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0];
/// Decompressed bytes taken from the decoder at a time.
const XZ_OUT: usize = 64 << 10;

/// An xz file (streams one after another, the zero bytes of stream padding between them)
/// being decompressed, chunk by chunk, while the file's budget lasts, with the pure-Rust
/// `lzma-rust2` stream decoder: a block whose dictionary is past [`MAX_XZ_DICTIONARY`] is not
/// read (the decoder checks each block's header against that limit before it allocates).
pub(crate) struct Xz {
    decoder: Box<lzma_rust2::XzStream>,
    out: Vec<u8>,
    budget: Budget,
    /// The last stream ended, and nothing followed it yet.
    ended: bool,
    /// Streams begun whose start drew on the budget, and what the last one's paid of its
    /// contents.
    streams_paid: usize,
    prepaid: Prepaid,
    /// The contents went past the budget, or are not a valid xz stream from some point.
    pub(crate) cut: bool,
}

impl Xz {
    /// Whether a file's first bytes are an xz stream's magic number.
    pub(crate) fn magic(first: &[u8; 10]) -> bool {
        first[..6] == XZ_MAGIC
    }

    pub(crate) fn new(budget: Budget) -> Self {
        let limit = lzma_rust2::lzma2_get_memory_usage(MAX_XZ_DICTIONARY as u32);
        Xz {
            decoder: Box::new(lzma_rust2::XzStream::new_mem_limit(true, limit)),
            out: vec![0; XZ_OUT],
            budget,
            ended: false,
            streams_paid: 0,
            prepaid: Prepaid::default(),
            cut: false,
        }
    }

    /// Decompresses `data` (the compressed bytes after the last chunk's), handing the contents
    /// to `contents` [`XZ_OUT`] bytes at most at a time.
    pub(crate) fn inflate(&mut self, data: &[u8], contents: impl FnMut(&[u8])) {
        self.process(data, lzma_rust2::Action::Run, contents);
    }

    fn process(
        &mut self,
        mut data: &[u8],
        action: lzma_rust2::Action,
        mut contents: impl FnMut(&[u8]),
    ) {
        while !self.cut {
            let before = self.decoder.total_out();
            let result = self.decoder.process(data, &mut self.out, action);
            // (What a call that fails made before it failed counts too.)
            let made = (self.decoder.total_out() - before).min(self.out.len() as u64) as usize;
            // The streams it began (a call reads one chunk at most: a few hundred tiny ones).
            while self.streams_paid < self.decoder.streams_started() && !self.cut {
                self.cut = !self.budget.start(&mut self.prepaid, STREAM_COST);
                self.streams_paid += 1;
            }
            let n = self.budget.contents(&mut self.prepaid, made as u64) as usize;
            contents(&self.out[..n]);
            self.cut |= n < made;
            match result {
                Ok(r) => {
                    data = &data[r.bytes_consumed.min(data.len())..];
                    self.ended = r.status == lzma_rust2::Status::StreamEnd;
                    // The decoder asks for more input, or has nothing more to give.
                    let full = made == self.out.len();
                    if self.ended || !full && (data.is_empty() || r.bytes_consumed == 0) {
                        break;
                    }
                }
                Err(_) => self.cut = true,
            }
        }
    }

    /// The end of the compressed file: a stream that breaks off, or bytes that begin none, cut.
    pub(crate) fn finish(&mut self, contents: impl FnMut(&[u8])) {
        self.process(&[], lzma_rust2::Action::Finish, contents);
        if !self.ended {
            self.cut = true;
        }
    }

    /// What the decoder keeps: the dictionary its block needs, and its buffers.
    fn held_bytes(&self) -> usize {
        held(&self.out)
            + self
                .decoder
                .memory_usage()
                .map_or(0, |kib| kib as usize * 1024)
    }
}

/// A compressed file's layer: gzip, bzip2, zstd or xz.
pub(crate) enum Compressed {
    Gzip(Box<Gzip>),
    Bzip2(Box<Bzip2>),
    Zstd(Box<Zstd>),
    Xz(Box<Xz>),
}

impl Compressed {
    /// The layer a file's first bytes say it is compressed with, if any, reading within the
    /// file's `budget`.
    pub(crate) fn from_magic(first: &[u8; 10], budget: impl FnOnce() -> Budget) -> Option<Self> {
        if Gzip::magic([first[0], first[1]]) {
            Some(Compressed::Gzip(Box::new(Gzip::new(budget()))))
        } else if Bzip2::magic(first) {
            Some(Compressed::Bzip2(Box::new(Bzip2::new(budget()))))
        } else if Zstd::magic(first) {
            Some(Compressed::Zstd(Box::new(Zstd::new(budget()))))
        } else if Xz::magic(first) {
            Some(Compressed::Xz(Box::new(Xz::new(budget()))))
        } else {
            None
        }
    }

    pub(crate) fn inflate(&mut self, data: &[u8], contents: impl FnMut(&[u8])) {
        match self {
            Compressed::Gzip(g) => g.inflate(data, contents),
            Compressed::Bzip2(b) => b.inflate(data, contents),
            Compressed::Zstd(z) => z.inflate(data, contents),
            Compressed::Xz(x) => x.inflate(data, contents),
        }
    }

    pub(crate) fn finish(&mut self, contents: impl FnMut(&[u8])) {
        match self {
            Compressed::Gzip(g) => g.finish(contents),
            Compressed::Bzip2(b) => b.finish(contents),
            Compressed::Zstd(z) => z.finish(contents),
            Compressed::Xz(x) => x.finish(contents),
        }
    }

    /// Some of the contents were not read (beyond the limit, or after the stream broke).
    pub(crate) fn cut(&self) -> bool {
        match self {
            Compressed::Gzip(g) => g.cut,
            Compressed::Bzip2(b) => b.cut,
            Compressed::Zstd(z) => z.cut,
            Compressed::Xz(x) => x.cut,
        }
    }

    /// The memory the layer keeps between chunks: its buffers and its decoder's state (a
    /// bzip2 decoder's is 3.7 MB, an xz decoder's its dictionary: 8 MiB for `xz -6`).
    pub(crate) fn held_bytes(&self) -> usize {
        match self {
            Compressed::Gzip(g) => INFLATER_BYTES + held(&g.step) + g.member.get_ref().capacity(),
            Compressed::Bzip2(b) => held(&b.out) + Bzip2::DECODER_BYTES,
            // (The decoder keeps up to a window of the contents, and a block's.)
            Compressed::Zstd(z) => {
                held(&z.input) + held(&z.out) + z.window.min(MAX_ZSTD_WINDOW) as usize + (256 << 10)
            }
            // (The decoder keeps its block's dictionary: at most what it declared.)
            Compressed::Xz(x) => x.held_bytes(),
        }
    }

    /// The format that names the layer.
    pub(crate) fn format(&self) -> crate::Format {
        match self {
            Compressed::Gzip(_) => crate::Format::Gzip,
            Compressed::Bzip2(_) => crate::Format::Bzip2,
            Compressed::Zstd(_) => crate::Format::Zstd,
            Compressed::Xz(_) => crate::Format::Xz,
        }
    }
}

/// The bytes a vector holds (its capacity, not its length: what it keeps allocated).
pub(crate) fn held<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// What an inflater's state takes (miniz_oxide's tables and its 32 KiB window), rounded up.
pub(crate) const INFLATER_BYTES: usize = 48 << 10;

/// A stream's first `N` bytes, gathered across chunks until there are `N`: what they are (an
/// archive's or gzip's magic number, a byte order mark) decides how the rest is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lead<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Lead<N> {
    fn default() -> Self {
        Lead {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Lead<N> {
    /// Whether the `N` bytes were gathered.
    pub(crate) fn whole(&self) -> bool {
        self.len == N
    }

    /// Takes what the lead lacks from the front of `data`: the `N` bytes when this completes
    /// them, and the rest of `data`.
    pub(crate) fn gather<'a>(&mut self, data: &'a [u8]) -> (Option<[u8; N]>, &'a [u8]) {
        let take = (N - self.len).min(data.len());
        self.bytes[self.len..self.len + take].copy_from_slice(&data[..take]);
        self.len += take;
        (self.whole().then_some(self.bytes), &data[take..])
    }

    /// The bytes gathered of a stream that ended before there were `N`.
    pub(crate) fn short(&self) -> ([u8; N], usize) {
        (self.bytes, self.len)
    }
}

/// What a code unit that is not ASCII becomes.
const OTHER: u8 = 0x80;

/// The first bytes of a file's contents that say whether it is UTF-16 ([`Utf16::detect`]).
pub(crate) const UTF16_LEAD: usize = 16;

/// A UTF-16 text being narrowed, chunk by chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Utf16 {
    big_endian: bool,
    /// The first byte of a code unit the last chunk cut.
    cut: Option<u8>,
}

impl Utf16 {
    /// The encoding a file's first bytes say (`lead`: [`UTF16_LEAD`] of them, or all of a
    /// shorter file's), and how many of them are its byte order mark: `FF FE` little-endian,
    /// `FE FF` big-endian; without a mark (as SQL Server's `bcp -w` and Java's `UTF-16LE`
    /// write it), eight code units of ASCII text, each with its zero byte after it
    /// (little-endian) or before it (big-endian): no text in another encoding holds a zero
    /// byte, and binary files rarely begin with eight such pairs. `None` for any other.
    pub(crate) fn detect(lead: &[u8]) -> Option<(Self, usize)> {
        let utf16 = |big_endian| Utf16 {
            big_endian,
            cut: None,
        };
        match lead {
            [0xFF, 0xFE, ..] => return Some((utf16(false), 2)),
            [0xFE, 0xFF, ..] => return Some((utf16(true), 2)),
            _ => {}
        }
        if lead.len() < UTF16_LEAD {
            return None;
        }
        let text = |b: u8| matches!(b, b' '..=b'~' | b'\t' | b'\r' | b'\n');
        let units = lead[..UTF16_LEAD].chunks_exact(2);
        if units.clone().all(|u| text(u[0]) && u[1] == 0) {
            Some((utf16(false), 0))
        } else if units.into_iter().all(|u| u[0] == 0 && text(u[1])) {
            Some((utf16(true), 0))
        } else {
            None
        }
    }

    /// Appends the narrowed form of `data` (the bytes after the last chunk's) to `out`.
    pub(crate) fn narrow(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if let Some(first) = self.cut.take() {
            let Some((&second, rest)) = data.split_first() else {
                self.cut = Some(first);
                return;
            };
            out.push(self.unit(first, second));
            data = rest;
        }
        let units = data.chunks_exact(2);
        self.cut = units.remainder().first().copied();
        out.reserve(data.len() / 2);
        out.extend(units.map(|u| self.unit(u[0], u[1])));
    }

    /// One code unit's byte.
    fn unit(&self, a: u8, b: u8) -> u8 {
        let (high, low) = if self.big_endian { (a, b) } else { (b, a) };
        if high == 0 && low < 0x80 { low } else { OTHER }
    }
}

/// EBCDIC code page 037 (IBM mainframes' text, which their files keep when they are sent in
/// binary) to ASCII: letters, digits, space, common punctuation and line ends as themselves
/// (those are the same in code page 1047); every other byte one that is no letter, digit or
/// delimiter, as a UTF-16 text's non-ASCII units become.
#[rustfmt::skip]
const EBCDIC_ASCII: [u8; 256] = [
    OTHER, OTHER, OTHER, OTHER, OTHER, 0x09, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x0D, OTHER, OTHER,
    OTHER, OTHER, OTHER, OTHER, OTHER, 0x0A, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    OTHER, OTHER, OTHER, OTHER, OTHER, 0x0A, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    0x20, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x2E, 0x3C, 0x28, 0x2B, 0x7C,
    0x26, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x21, 0x24, 0x2A, 0x29, 0x3B, OTHER,
    0x2D, 0x2F, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x2C, 0x25, 0x5F, 0x3E, 0x3F,
    OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x60, 0x3A, 0x23, 0x40, 0x27, 0x3D, 0x22,
    OTHER, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    OTHER, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x71, 0x72, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    OTHER, 0x7E, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    0x5E, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER, 0x5B, 0x5D, OTHER, OTHER, OTHER, OTHER,
    0x7B, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    0x7D, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x51, 0x52, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    0x5C, OTHER, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, OTHER, OTHER, OTHER, OTHER, OTHER, OTHER,
];

/// A byte of EBCDIC (code page 037) as ASCII ([`EBCDIC_ASCII`]).
pub(crate) fn ascii_of_ebcdic(b: u8) -> u8 {
    EBCDIC_ASCII[usize::from(b)]
}

/// EBCDIC text (code page 037, as IBM mainframes write it), told from its first bytes and
/// translated to ASCII before the scan, so that its numbers and words are read as any text's.
/// A file of fixed-length records without line ends (a mainframe data set sent in binary) has
/// its record length found from the head (the lag at which its bytes' kinds repeat) and a line
/// end put after each record, so that each is a line as in a file sent as text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ebcdic {
    /// Bytes per record where a line end is put after each; 0 where the text has its own.
    record: usize,
    /// Bytes of the record under way so far.
    at: usize,
}

impl Ebcdic {
    /// Whether `head`, a text's first bytes, is EBCDIC: nearly all of its bytes are EBCDIC's
    /// text, letters and digits a third of it at least, and read as ASCII it is not text.
    pub(crate) fn detect(head: &[u8]) -> Option<Self> {
        if head.len() < 64 {
            return None;
        }
        // Every file's head is asked: most are told at once by their first 64 bytes, of which
        // EBCDIC's letters, digits and spaces (0x40, and 0x81 and above) are most.
        let likely = head[..64]
            .iter()
            .filter(|&&b| b >= 0x80 || b == 0x40)
            .count();
        if likely < 32 {
            return None;
        }
        let (mut text, mut words, mut ends, mut ascii) = (0, 0, 0, 0);
        for &b in head {
            let a = EBCDIC_ASCII[usize::from(b)];
            text += usize::from(a != OTHER);
            words += usize::from(a.is_ascii_alphanumeric());
            ends += usize::from(a == b'\n' || a == b'\r');
            ascii += usize::from(b.is_ascii_alphanumeric() || b == b' ');
        }
        let n = head.len();
        if text * 100 < n * 95 || words * 3 < n || ascii * 10 > n * 3 {
            return None;
        }
        let record = if ends == 0 { record_length(head) } else { 0 };
        Some(Ebcdic { record, at: 0 })
    }

    /// Appends the ASCII of `data` (the bytes after the last chunk's) to `out`.
    pub(crate) fn translate(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.reserve(data.len() + data.len() / self.record.max(1));
        for &b in data {
            out.push(EBCDIC_ASCII[usize::from(b)]);
            if self.record > 0 {
                self.at += 1;
                if self.at == self.record {
                    out.push(b'\n');
                    self.at = 0;
                }
            }
        }
    }
}

/// The record length of fixed-length records in `head`: the shortest lag (of 20 to 2,048
/// bytes) at which nine bytes in ten are of the same kind (digit, letter, space, other) as the
/// byte that far before them, unless a longer lag does clearly better (and is not a multiple
/// of the length padding says: [`padded_length`]); else the padding's; 0 where neither.
fn record_length(head: &[u8]) -> usize {
    let kinds: Vec<u8> = head
        .iter()
        .map(|&b| match EBCDIC_ASCII[usize::from(b)] {
            b'0'..=b'9' => 0,
            b' ' => 1,
            a if a.is_ascii_alphabetic() => 2,
            _ => 3,
        })
        .collect();
    let n = kinds.len();
    let (mut best, mut best_score) = (0, 0.0);
    for lag in 20..=(n / 3).min(2048) {
        // (Counted in bytes, 255 at most each: a vector of comparisons at a time.)
        let same: usize = kinds[..n - lag]
            .chunks(255)
            .zip(kinds[lag..].chunks(255))
            .map(|(a, b)| {
                let same = a.iter().zip(b).fold(0u8, |c, (x, y)| c + u8::from(x == y));
                usize::from(same)
            })
            .sum();
        let score = same as f64 / (n - lag) as f64;
        if score > best_score + 0.02 {
            (best, best_score) = (lag, score);
        }
    }
    // Records padded to one length end where their padding does; where their text repeats too,
    // a multiple of that length repeats it better, and is not the length.
    let padded = padded_length(&kinds);
    match best_score >= 0.9 {
        true if padded > 0 && best % padded == 0 => padded,
        true => best,
        false => padded,
    }
}

/// The record length of records of varying text padded with spaces to one length (a
/// delimited file written to fixed-length records): each record's padding ends where the next
/// begins, so the most common distance between the ends of runs of two or more spaces is the
/// length, where most of those ends are a whole number of records from the first; 0 where
/// not.
fn padded_length(kinds: &[u8]) -> usize {
    let mut ends = Vec::new();
    let mut spaces = 0;
    for (i, &k) in kinds.iter().enumerate() {
        if k == 1 {
            spaces += 1;
        } else {
            if spaces >= 2 {
                ends.push(i);
            }
            spaces = 0;
        }
    }
    let mut gaps: Vec<usize> = ends.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let Some(length) = gaps
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .map(|run| run[0])
        .filter(|&l| (20..=2048).contains(&l))
    else {
        return 0;
    };
    let first = ends[0];
    let aligned = ends.iter().filter(|&&e| (e - first) % length == 0).count();
    if ends.len() >= 4 && aligned * 10 >= ends.len() * 8 {
        length
    } else {
        0
    }
}

/// ASCII text as EBCDIC (code page 037; a line end as EBCDIC's NL): what a mainframe writes.
#[cfg(test)]
pub(crate) fn ebcdic(ascii: &[u8]) -> Vec<u8> {
    let mut to = [0u8; 128];
    for b in (0..=255u8).rev() {
        let a = EBCDIC_ASCII[usize::from(b)];
        if a != OTHER {
            to[usize::from(a)] = b;
        }
    }
    ascii.iter().map(|&a| to[usize::from(a & 0x7F)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(e: &mut Ebcdic, bytes: &[u8], cut: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            e.translate(chunk, &mut out);
        }
        out
    }

    #[test]
    fn ebcdic_text_is_told_and_read_as_ascii_whatever_the_chunks() {
        let text = b"NAME,CARD_NUMBER,SSN\nAnn Example,4111111111111111,123-45-6789\n".repeat(20);
        let coded = ebcdic(&text);
        let e = Ebcdic::detect(&coded).unwrap();
        assert_eq!(e.record, 0, "it has line ends");
        for cut in [1, 7, 4096] {
            assert_eq!(translated(&mut e.clone(), &coded, cut), text, "{cut}");
        }
        // Fixed-length records without line ends, as a data set sent in binary: a line end
        // after each record, wherever the chunks cut.
        let record = b"0210000210000012345678JOHN Q CUSTOMER          00000125000 ";
        let records = ebcdic(&record.repeat(70));
        let e = Ebcdic::detect(&records).unwrap();
        assert_eq!(e.record, record.len());
        let want = [&record[..], b"\n"].concat().repeat(70);
        for cut in [1, 59, 60, 61, 4096] {
            assert_eq!(translated(&mut e.clone(), &records, cut), want, "{cut}");
        }
        // A delimited file's lines padded to one length: the same.
        let mut lines = Vec::new();
        for i in 0..60 {
            let line = format!(
                "Customer {},{}@bank.example,4111111111111111",
                "x".repeat(i % 17),
                i
            );
            lines.extend(format!("{line:<90}").bytes());
        }
        let e = Ebcdic::detect(&ebcdic(&lines)).unwrap();
        assert_eq!(e.record, 90);
        // Not EBCDIC: ASCII text, a binary file, a short head.
        assert!(Ebcdic::detect(&text).is_none());
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(Ebcdic::detect(&noise).is_none());
        assert!(Ebcdic::detect(&coded[..40]).is_none());
    }

    fn narrowed(bom: [u8; 2], bytes: &[u8], cut: usize) -> Vec<u8> {
        let (mut u, mark) = Utf16::detect(&bom).unwrap();
        assert_eq!(mark, 2);
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            u.narrow(chunk, &mut out);
        }
        out
    }

    #[test]
    fn code_units_become_bytes_whatever_the_chunks() {
        let text = "Card 4111 1111 1111 1111, café, 日本\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let want: Vec<u8> = text
            .encode_utf16()
            .map(|u| if u < 0x80 { u as u8 } else { OTHER })
            .collect();
        for cut in 1..=9 {
            assert_eq!(narrowed([0xFF, 0xFE], &le, cut), want, "{cut}");
            assert_eq!(narrowed([0xFE, 0xFF], &be, cut), want, "{cut}");
        }
        assert!(Utf16::detect(&[0xEF, 0xBB]).is_none());
        assert!(Utf16::detect(b"ca").is_none());
        // Without a mark: eight code units of ASCII text, in either order; not fewer, nor
        // ASCII, nor zeros, nor a code unit that is not ASCII text.
        let (u, mark) = Utf16::detect(&le).unwrap();
        assert!(!u.big_endian && mark == 0);
        let (u, mark) = Utf16::detect(&be).unwrap();
        assert!(u.big_endian && mark == 0);
        assert!(Utf16::detect(&le[..14]).is_none());
        assert!(Utf16::detect(text.as_bytes()).is_none());
        assert!(Utf16::detect(&[0; 16]).is_none());
        let mut control = le.clone();
        control[6] = 0x01;
        assert!(Utf16::detect(&control).is_none());
    }

    fn gzip(parts: &[&[u8]]) -> Vec<u8> {
        // Several members, as `cat a.gz b.gz` makes.
        let mut out = Vec::new();
        for part in parts {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        out
    }

    fn inflated(gz: &mut Gzip, bytes: &[u8], cut: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            gz.inflate(chunk, |c| out.extend_from_slice(c));
        }
        gz.finish(|c| out.extend_from_slice(c));
        out
    }

    #[test]
    fn gzip_inflates_whatever_the_chunks_and_stops_at_its_limit() {
        let a = b"card 4111111111111111\n".repeat(5000);
        let b = b"iban GB82WEST12345698765432\n".repeat(3000);
        let bytes = gzip(&[&a, &b]);
        let whole = [a.clone(), b.clone()].concat();
        for cut in [1, 7, 4096, 4097, 1 << 20] {
            let mut gz = Gzip::new(Budget::new());
            assert_eq!(inflated(&mut gz, &bytes, cut), whole, "{cut}");
            assert!(!gz.cut);
        }
        // A bomb: the contents stop at the limit, the same in any chunks.
        for cut in [3, 5000] {
            let mut gz = Gzip::new(Budget::with(10_000, 0));
            assert_eq!(inflated(&mut gz, &bytes, cut), whole[..10_000], "{cut}");
            assert!(gz.cut);
        }
        // Broken off, or not gzip after its magic number: cut, what came before kept.
        for cut in [2, 4096] {
            let mut gz = Gzip::new(Budget::new());
            let head = inflated(&mut gz, &bytes[..bytes.len() / 3], cut);
            assert!(gz.cut && whole.starts_with(&head) && head.len() < whole.len());
            let mut gz = Gzip::new(Budget::new());
            assert!(inflated(&mut gz, b"\x1f\x8bnot deflate at all", cut).is_empty());
            assert!(gz.cut);
        }
    }

    fn bzip2(parts: &[&[u8]]) -> Vec<u8> {
        // Several streams, as `pbzip2` or `cat a.bz2 b.bz2` makes.
        let mut out = Vec::new();
        for part in parts {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        out
    }

    fn decompressed(bz: &mut Bzip2, bytes: &[u8], cut: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            bz.inflate(chunk, |c| out.extend_from_slice(c));
        }
        bz.finish(|c| out.extend_from_slice(c));
        out
    }

    #[test]
    fn bzip2_decompresses_whatever_the_chunks_and_stops_at_its_limit() {
        // Runs that expand a thousandfold and more: the output comes in pieces.
        let a = b"card 4111111111111111\n".repeat(50_000);
        let b = [
            b"iban GB82WEST12345698765432\n".repeat(3000),
            vec![b'0'; 300_000],
        ]
        .concat();
        let bytes = bzip2(&[&a, &b, b""]);
        assert!(Bzip2::magic(bytes[..10].try_into().unwrap()));
        let whole = [a.clone(), b.clone()].concat();
        for cut in [1, 7, 4096, 4097, 1 << 20] {
            let mut bz = Bzip2::new(Budget::new());
            assert_eq!(decompressed(&mut bz, &bytes, cut), whole, "{cut}");
            assert!(!bz.cut);
        }
        // A bomb: the contents stop at the limit, the same in any chunks.
        for cut in [3, 5000] {
            let mut bz = Bzip2::new(Budget::with(200_000, 0));
            assert_eq!(
                decompressed(&mut bz, &bytes, cut),
                whole[..200_000],
                "{cut}"
            );
            assert!(bz.cut);
        }
        // Broken off, or not bzip2 after its magic number, or junk after a stream: cut, what
        // came before kept.
        let one = bzip2(&[&a]);
        for cut in [2, 4096] {
            let mut bz = Bzip2::new(Budget::new());
            let head = decompressed(&mut bz, &bytes[..bytes.len() / 2], cut);
            assert!(bz.cut && whole.starts_with(&head) && head.len() < whole.len());
            let mut bz = Bzip2::new(Budget::new());
            let junk = b"BZh91AY&SYnot a block at all";
            assert!(decompressed(&mut bz, junk, cut).is_empty());
            assert!(bz.cut);
            let mut bz = Bzip2::new(Budget::new());
            let trailed = [one.as_slice(), b"trailing"].concat();
            assert_eq!(decompressed(&mut bz, &trailed, cut), a);
            assert!(bz.cut);
        }
        // Only a stream's beginning is one: a text beginning `BZh9` is text.
        assert!(!Bzip2::magic(b"BZh9 is no"));
    }

    /// A file of many streams of a line each (a gzip member, a bzip2 or xz stream, a zstd
    /// frame): each start draws its cost on the budget and pays for its line, so a budget of
    /// ten starts reads ten lines and cuts the file, whatever the chunks (each stream whole, or
    /// a few bytes at a time); without the budget, every line is read.
    #[test]
    fn each_stream_start_draws_on_the_budget() {
        let line = b"card 4111111111111111\n";
        let one_gzip = gzip(&[line]);
        let one_zstd = ruzstd::encoding::compress_to_vec(
            &line[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for (one, cost) in [
            (one_gzip, STREAM_COST),
            (bzip2(&[line]), BZIP2_STREAM_COST),
            (crate::tests::xz(line, &["-0"]), STREAM_COST),
            (one_zstd, STREAM_COST),
        ] {
            let file = one.repeat(100);
            let first: &[u8; 10] = file[..10].try_into().unwrap();
            for cut in [one.len(), 7] {
                let read = |budget: Budget| {
                    let mut layer = Compressed::from_magic(first, || budget).unwrap();
                    let mut out = Vec::new();
                    for chunk in file.chunks(cut) {
                        layer.inflate(chunk, |c| out.extend_from_slice(c));
                    }
                    layer.finish(|c| out.extend_from_slice(c));
                    (out, layer.cut(), layer.format())
                };
                let (out, cut_off, format) = read(Budget::with(10 * cost, 0));
                assert_eq!(out, line.repeat(10), "{format:?} in chunks of {cut}");
                assert!(cut_off, "{format:?}");
                let (out, cut_off, _) = read(Budget::new());
                assert_eq!(out, line.repeat(100), "{format:?} in chunks of {cut}");
                assert!(!cut_off, "{format:?}");
            }
        }
    }

    fn unxz(x: &mut Xz, bytes: &[u8], cut: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            x.inflate(chunk, |c| out.extend_from_slice(c));
        }
        x.finish(|c| out.extend_from_slice(c));
        out
    }

    #[test]
    fn xz_decompresses_whatever_the_chunks_and_stops_at_its_limit() {
        use crate::tests::xz;
        let a = b"card 4111111111111111\n".repeat(50_000);
        let b = [
            b"iban GB82WEST12345698765432\n".repeat(3000),
            vec![b'0'; 300_000],
        ]
        .concat();
        let whole = [a.clone(), b.clone()].concat();
        // What XZ Utils writes: its presets (the dictionary 256 KiB to 64 MiB), each check,
        // blocks of their own size (as `xz -T` writes them), a delta filter, and streams one
        // after another with
        // stream padding between them (as `cat a.xz b.xz` makes).
        let padded = [xz(&a, &["-1"]), vec![0; 8], xz(&b, &["-6"]), vec![0; 4]].concat();
        for bytes in [
            xz(&whole, &["-0"]),
            xz(&whole, &["-6"]),
            xz(&whole, &["-9", "--check=sha256"]),
            xz(&whole, &["--check=crc32", "--block-size=100000"]),
            xz(&whole, &["--check=none"]),
            xz(&whole, &["--delta=dist=2", "--lzma2"]),
            padded,
        ] {
            assert!(Xz::magic(bytes[..10].try_into().unwrap()));
            for cut in [1, 7, 4096, 4097, 1 << 20] {
                let mut x = Xz::new(Budget::new());
                assert_eq!(unxz(&mut x, &bytes, cut), whole, "{cut}");
                assert!(!x.cut, "{cut}");
            }
        }
        // A bomb: the contents stop at the limit, the same in any chunks, never more than an
        // output buffer at a time.
        let bomb = xz(&vec![b'7'; 64 << 20], &["-6"]);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        for cut in [3, 5000, 1 << 20] {
            let mut x = Xz::new(Budget::with(100_000, 0));
            let mut largest = 0;
            let mut out = Vec::new();
            for chunk in bomb.chunks(cut) {
                x.inflate(chunk, |c| {
                    largest = largest.max(c.len());
                    out.extend_from_slice(c);
                });
            }
            x.finish(|c| out.extend_from_slice(c));
            assert_eq!(out, vec![b'7'; 100_000], "{cut}");
            assert!(x.cut && largest <= XZ_OUT, "{cut}");
        }
        // The decoder keeps the dictionary its stream declared.
        let six = xz(&a, &["-6"]);
        let mut held = Compressed::Xz(Box::new(Xz::new(Budget::new())));
        held.inflate(&six[..six.len() / 2], |_| {});
        assert!(held.held_bytes() >= 8 << 20 && held.held_bytes() < 9 << 20);
        // Broken off, not xz after its magic number, junk after a stream, a dictionary past
        // the limit, two filters before LZMA2 (XZ Utils' one delta or executable filter is
        // read): cut, what came before kept.
        let one = xz(&a, &["-6"]);
        let trailed = [one.as_slice(), b"trailing"].concat();
        for cut in [2, 4096] {
            let mut x = Xz::new(Budget::new());
            let head = unxz(&mut x, &one[..one.len() / 2], cut);
            assert!(
                x.cut && a.starts_with(&head) && head.len() < a.len(),
                "{cut}"
            );
            let mut x = Xz::new(Budget::new());
            let junk = b"\xFD7zXZ\0not a stream header at all";
            assert!(unxz(&mut x, junk, cut).is_empty());
            assert!(x.cut);
            let mut x = Xz::new(Budget::new());
            let got = unxz(&mut x, &trailed, cut);
            assert!(got == a, "{cut}: {} of {}", got.len(), a.len());
            assert!(x.cut);
            for args in [
                &["--lzma2=dict=128MiB"][..],
                &["--delta=dist=1", "--delta=dist=2", "--lzma2"],
            ] {
                let mut x = Xz::new(Budget::new());
                assert!(
                    unxz(&mut x, &xz(&a[..5000], args), cut).is_empty(),
                    "{args:?}"
                );
                assert!(x.cut, "{args:?}");
            }
        }
        // Only a stream's beginning is one.
        assert!(!Xz::magic(b"\xFD7zXY\0...."));
    }
}
