//! 7-Zip archives (`.7z`): told by their signature, and whether their contents are encrypted
//! (7-Zip's AES, `7z a -p`), read from the header at the archive's end, through the LZMA
//! compression 7-Zip gives that header by default (`lzma-rust2`'s decoder) (an encrypted header, `-mhe=on`, says as
//! much by its own coders). Their contents are not read: a 7-Zip archive is `binary` beside
//! `7z`, and `encrypted:7z` where a folder of it is encrypted, so that the incident report
//! counts it among the files exposed only with their password.
//!
//! Pure: bytes in, a verdict out. Only the signature header and the bytes about the header
//! are kept as the archive streams ([`MAX_HEADER`] each side of where it begins); every number
//! from the archive is bounded before it is used, and the header's decompressed size too
//! ([`MAX_UNPACKED_HEADER`]).

use crate::Format;
use crate::scan::Classification;

/// The signature every 7-Zip archive begins with.
const SIGNATURE: [u8; 6] = [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C];
/// The signature header: the signature, the version, a CRC, and where the header is.
const START: usize = 32;
/// Most bytes of the header kept, and of the archive before it (where the compressed header's
/// packed stream is): a larger header is not read, and the archive is `binary, 7z` only.
pub const MAX_HEADER: u64 = 1 << 20;
/// Most bytes a compressed header may unpack to (a header listing some hundred thousand files).
pub const MAX_UNPACKED_HEADER: u64 = 4 << 20;
/// Headers compressed inside headers followed at most this deep.
const MAX_ENCODED: u8 = 2;

/// The ids of the coders that matter here: 7-Zip's AES-256 and LZMA.
const AES: &[u8] = &[0x06, 0xF1, 0x07, 0x01];
const LZMA: &[u8] = &[0x03, 0x01, 0x01];

/// The header's property ids (7-Zip's `7zFormat.txt`).
const END: u8 = 0x00;
const HEADER: u8 = 0x01;
const ARCHIVE_PROPERTIES: u8 = 0x02;
const ADDITIONAL_STREAMS: u8 = 0x03;
const MAIN_STREAMS: u8 = 0x04;
const PACK_INFO: u8 = 0x06;
const UNPACK_INFO: u8 = 0x07;
const SIZE: u8 = 0x09;
const CRC: u8 = 0x0A;
const FOLDER: u8 = 0x0B;
const CODERS_UNPACK_SIZE: u8 = 0x0C;
const ENCODED_HEADER: u8 = 0x17;

/// Whether a file's first bytes are a 7-Zip archive's signature.
pub(crate) fn magic(head: &[u8]) -> bool {
    head.starts_with(&SIGNATURE)
}

/// A 7-Zip archive being read, chunk by chunk: its signature header, then the bytes about its
/// header.
pub(crate) struct SevenZip {
    start: Vec<u8>,
    /// Where the next byte is in the archive.
    at: u64,
    /// Where the kept bytes begin, and what is kept.
    kept_from: u64,
    kept: Vec<u8>,
}

impl SevenZip {
    pub(crate) fn new() -> Self {
        SevenZip {
            start: Vec::with_capacity(START),
            at: 0,
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

    pub(crate) fn feed(&mut self, mut data: &[u8]) {
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
        crate::encoding::held(&self.kept) + START
    }

    /// What the archive says: `binary`, `encrypted:7z` where it is, `7z`.
    pub(crate) fn finish(self) -> Classification {
        let mut formats = vec![Format::Binary];
        if self.encrypted() == Some(true) {
            formats.push(Format::Encrypted("7z".into()));
        }
        formats.push(Format::SevenZip);
        Classification {
            formats,
            ..Default::default()
        }
    }

    /// Whether a folder of the archive is encrypted; `None` where the header cannot be read
    /// (broken off, damaged, too large, in a form not read here).
    fn encrypted(&self) -> Option<bool> {
        if !magic(&self.start) {
            return None;
        }
        let (at, size) = self.header_at()?;
        if at + size != self.at {
            return None;
        }
        let kept = Kept {
            from: self.kept_from,
            bytes: &self.kept,
        };
        let header = kept.get(at, size)?;
        header_encrypted(header, &kept, 0).ok()
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

/// A folder's coders: each one's id and properties; and how many streams they unpack to.
struct Folder<'a> {
    coders: Vec<(&'a [u8], &'a [u8])>,
    outputs: usize,
}

/// What a header's streams info says: where its packed streams are, and its folders with the
/// sizes they unpack to.
struct Streams<'a> {
    pack_at: u64,
    pack_sizes: Vec<u64>,
    folders: Vec<Folder<'a>>,
    unpack_sizes: Vec<u64>,
}

/// Whether a header (plain, or encoded) says a folder of the archive is encrypted.
fn header_encrypted(header: &[u8], kept: &Kept, depth: u8) -> Result<bool, Unreadable> {
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
                encrypted |= any_aes(&streams(&mut r)?);
                id = r.byte()?;
            }
            if id == MAIN_STREAMS {
                encrypted |= any_aes(&streams(&mut r)?);
            }
            Ok(encrypted)
        }
        ENCODED_HEADER => {
            let s = streams(&mut r)?;
            // An encrypted header (`-mhe=on`): so are the contents.
            if any_aes(&s) {
                return Ok(true);
            }
            // Else the header compressed with LZMA alone: unpacked, then read in turn.
            let [folder] = s.folders.as_slice() else {
                return Err(Unreadable);
            };
            let ([(id, properties)], [packed], [unpacked]) = (
                folder.coders.as_slice(),
                s.pack_sizes.as_slice(),
                s.unpack_sizes.as_slice(),
            ) else {
                return Err(Unreadable);
            };
            if *id != LZMA || depth >= MAX_ENCODED || *unpacked > MAX_UNPACKED_HEADER {
                return Err(Unreadable);
            }
            let at = (START as u64).checked_add(s.pack_at).ok_or(Unreadable)?;
            let packed = kept.get(at, *packed).ok_or(Unreadable)?;
            let inner = unlzma(properties, packed, *unpacked)?;
            header_encrypted(&inner, kept, depth + 1)
        }
        _ => Err(Unreadable),
    }
}

fn any_aes(s: &Streams) -> bool {
    s.folders
        .iter()
        .any(|f| f.coders.iter().any(|(id, _)| *id == AES))
}

/// Reads a streams info up to its folders and their sizes (what follows is not needed).
fn streams<'a>(r: &mut Reader<'a>) -> Result<Streams<'a>, Unreadable> {
    let mut s = Streams {
        pack_at: 0,
        pack_sizes: Vec::new(),
        folders: Vec::new(),
        unpack_sizes: Vec::new(),
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
        let outputs: usize = s.folders.iter().map(|f| f.outputs).sum();
        if outputs > r.bytes.len() {
            return Err(Unreadable);
        }
        s.unpack_sizes = (0..outputs).map(|_| r.number()).collect::<Result<_, _>>()?;
    }
    Ok(s)
}

/// One folder: its coders (id, properties), bind pairs and packed streams.
fn folder<'a>(r: &mut Reader<'a>) -> Result<Folder<'a>, Unreadable> {
    let n = r.count()?;
    let mut f = Folder {
        coders: Vec::new(),
        outputs: 0,
    };
    let mut inputs = 0usize;
    for _ in 0..n {
        let flags = r.byte()?;
        if flags & 0xC0 != 0 {
            return Err(Unreadable);
        }
        let id = r.take(u64::from(flags & 0x0F))?;
        let (ins, outs) = if flags & 0x10 != 0 {
            (r.count()?, r.count()?)
        } else {
            (1, 1)
        };
        let properties = if flags & 0x20 != 0 {
            let len = r.number()?;
            r.take(len)?
        } else {
            &[]
        };
        inputs = inputs.checked_add(ins).ok_or(Unreadable)?;
        f.outputs = f.outputs.checked_add(outs).ok_or(Unreadable)?;
        f.coders.push((id, properties));
    }
    let pairs = f.outputs.checked_sub(1).ok_or(Unreadable)?;
    for _ in 0..pairs {
        r.number()?;
        r.number()?;
    }
    let packed = inputs.checked_sub(pairs).ok_or(Unreadable)?;
    if packed > 1 {
        for _ in 0..packed {
            r.number()?;
        }
    }
    Ok(f)
}

/// A header's packed bytes unpacked with LZMA (the coder's five bytes of properties: the
/// literal and position bits, the dictionary), to `unpacked` bytes. The dictionary is made no
/// larger than what it unpacks to (no match reaches further back).
fn unlzma(properties: &[u8], packed: &[u8], unpacked: u64) -> Result<Vec<u8>, Unreadable> {
    let [bits, d0, d1, d2, d3] = *properties else {
        return Err(Unreadable);
    };
    let dictionary = u32::from_le_bytes([d0, d1, d2, d3]).min(unpacked.max(4096) as u32);
    let mut decoder = lzma_rust2::LzmaStream::new_with_props(unpacked, bits, dictionary, None)
        .map_err(|_| Unreadable)?;
    let mut out = vec![0; unpacked as usize];
    let mut made = 0;
    let mut input = packed;
    loop {
        let r = decoder
            .process(input, &mut out[made..], lzma_rust2::Action::Finish)
            .map_err(|_| Unreadable)?;
        input = &input[r.bytes_consumed.min(input.len())..];
        made += r.bytes_produced;
        if r.status == lzma_rust2::Status::StreamEnd || made == out.len() {
            break;
        }
        if r.bytes_consumed == 0 && r.bytes_produced == 0 {
            return Err(Unreadable);
        }
    }
    if made != out.len() {
        return Err(Unreadable);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::classify;

    /// Archives written by 7-Zip 22.01 (`7zz`) of a small customer extract and a note, in
    /// `tests/sevenzip/`: plain; with a password (its header compressed, its folder
    /// encrypted); with its header encrypted too (`-mhe=on`); with its header neither
    /// compressed nor encrypted (`-mhc=off`), with and without a password.
    #[test]
    fn archives_by_7zip_say_whether_they_are_encrypted_in_any_chunks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sevenzip");
        for (name, encrypted) in [
            ("plain.7z", false),
            ("locked.7z", true),
            ("hidden.7z", true),
            ("open-header.7z", false),
            ("locked-open-header.7z", true),
        ] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let mut want = vec![Format::Binary];
            if encrypted {
                want.push(Format::Encrypted("7z".into()));
            }
            want.push(Format::SevenZip);
            for size in [1, 7, 31, 33, 4096] {
                let found = crate::scan::in_chunks(&bytes, size);
                assert_eq!(found.formats, want, "{name} in chunks of {size}");
                assert!(found.counts.is_empty());
            }
            // Broken off, or a byte of its header changed: still a 7-Zip archive, its
            // encryption not known.
            let found = classify(&bytes[..bytes.len() - 1]);
            assert_eq!(found.formats, vec![Format::Binary, Format::SevenZip]);
            let mut damaged = bytes.clone();
            let at = bytes.len() - 3;
            damaged[at] ^= 0x55;
            let found = classify(&damaged);
            assert!(found.formats.contains(&Format::SevenZip), "{name}");
        }
    }

    proptest::proptest! {
        /// 7-Zip's archives with any bytes changed, cut anywhere, in any chunks: a verdict,
        /// never a panic; the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..5,
            changes in proptest::collection::vec((0usize..1000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..1000,
            size in 1usize..64,
        ) {
            let name = ["plain.7z", "locked.7z", "hidden.7z", "open-header.7z", "locked-open-header.7z"][which];
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sevenzip");
            let mut bytes = std::fs::read(dir.join(name)).unwrap();
            for (at, b) in changes {
                let n = bytes.len();
                bytes[at % n] = b;
            }
            bytes.truncate(bytes.len() - cut % bytes.len());
            let found = classify(&bytes);
            proptest::prop_assert_eq!(crate::scan::in_chunks(&bytes, size), found.clone());
            if magic(&bytes) {
                proptest::prop_assert!(found.formats.contains(&Format::SevenZip), "{:?}", found);
            }
        }
    }
}
