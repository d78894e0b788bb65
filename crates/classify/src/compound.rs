//! Compound files (Microsoft's Compound File Binary format, "OLE2"): the container of the
//! older Office documents (`.xls`, `.doc`, Outlook's `.msg`) and of password-protected Office
//! Open XML files. A compound file is a small file system whose streams are scattered over its
//! sectors, so it cannot be read as it streams: its first [`MAX_COMPOUND`] bytes are kept and
//! read when it ends. An Excel 97-2003 workbook's `Workbook` stream is read by
//! [`crate::xls`], a Word 97-2003 document's `WordDocument` stream by [`crate::doc`] (its text
//! scanned as a file's); an encrypted document (`EncryptionInfo` and `EncryptedPackage` streams, as a
//! password-protected `.xlsx` or `.docx` is stored) is `encrypted:office`; an Outlook message
//! (`.msg`, its properties in streams of storages) is read by [`crate::msg`]; other compound
//! files are `binary`.
//!
//! Pure: the file's bytes in, a stream's bytes out; every sector number, chain and size from
//! the file is checked against the bytes kept before it is used, and a chain is followed at
//! most as many steps as there are sectors (a loop ends it).

/// A compound file's signature.
const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
use crate::Format;
use crate::scan::Classification;

/// Most bytes of a compound file kept to be read at its end (an `.xls` of Excel's 65,536 rows
/// and a few columns is some 10 MB); of a larger one, what the kept part holds of it is read.
pub const MAX_COMPOUND: usize = 32 << 20;
/// Sector numbers that end a chain or are not one.
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// A directory entry's size, and where its fields are.
const ENTRY: usize = 128;
/// A directory entry's link that names no entry.
const NO_ENTRY: u32 = 0xFFFF_FFFF;
/// A directory entry's types: a storage (a folder of entries), a stream.
const STORAGE: u8 = 1;
const STREAM: u8 = 2;
/// The header's own list of the sectors that hold the allocation table.
const HEADER_DIFAT: usize = 109;

/// What a compound file's kept `bytes` hold (`cut`: more of it was not kept): an Excel
/// 97-2003 workbook's classes, a Word 97-2003 document's text's; `encrypted:office` for a
/// document protected by a password; else `binary`.
pub(crate) fn classify(
    bytes: &[u8],
    cut: bool,
    patterns: Option<std::sync::Arc<crate::Patterns>>,
    layers: (crate::encoding::Budget, u8),
) -> Classification {
    let not_read = |encrypted: bool| Classification {
        formats: std::iter::once(Format::Binary)
            .chain(encrypted.then(|| Format::Encrypted("office".into())))
            .collect(),
        ..Classification::default()
    };
    let Some(file) = Compound::open(bytes) else {
        return not_read(false);
    };
    if file.has(b"EncryptedPackage") {
        return not_read(true);
    }
    if crate::msg::is_message(&file) {
        return crate::msg::read(&file, cut, patterns, layers);
    }
    if let Some((stream, whole)) = file.stream(b"Workbook") {
        return match crate::xls::read(&stream, whole && !cut, patterns) {
            crate::xls::Read::Classified(found) => found,
            crate::xls::Read::Encrypted => not_read(true),
        };
    }
    let Some((word, whole)) = file.stream(b"WordDocument") else {
        return not_read(false);
    };
    let text = crate::doc::read(&word, |name| {
        file.stream(name)
            .filter(|(_, whole)| *whole)
            .map(|(s, _)| s)
    });
    match text {
        crate::doc::Read::Text(text) => {
            let mut scanner = crate::Scanner::with_patterns(patterns);
            scanner.reads_document();
            scanner.feed(&text);
            let mut found = scanner.finish();
            found.formats.push(Format::Doc);
            if !whole || cut {
                found.formats.push(Format::ScannedInPart);
            }
            found
        }
        crate::doc::Read::Encrypted => not_read(true),
        crate::doc::Read::Unreadable => not_read(false),
    }
}

/// Whether a file's first bytes are a compound file's signature.
pub(crate) fn magic(first: &[u8]) -> bool {
    first.starts_with(&SIGNATURE)
}

/// A compound file's structure, read from its kept bytes.
pub(crate) struct Compound<'a> {
    bytes: &'a [u8],
    sector_shift: u32,
    /// The allocation table: each sector's next in its chain.
    fat: Vec<u32>,
    mini_fat: Vec<u32>,
    /// The mini stream (small streams' sectors of 64 bytes), gathered from the root entry's
    /// chain.
    mini_stream: Vec<u8>,
    mini_cutoff: u64,
    /// The directory's entries, in its order (the root storage first), and those a walk of a
    /// storage's tree has reached ([`Compound::children`]: each entry is reached once in all,
    /// so walking every storage of a directory of 262,144 entries costs one pass).
    entries: Vec<Entry>,
    reached: std::cell::RefCell<Vec<bool>>,
}

/// A directory entry: its name (UTF-16 read as its low bytes), type, its siblings and first
/// child in the tree of its storage's entries, and a stream's start sector and size.
struct Entry {
    name: Vec<u8>,
    kind: u8,
    left: u32,
    right: u32,
    child: u32,
    start: u32,
    size: u64,
}

impl<'a> Compound<'a> {
    /// Reads the structure of the compound file in `bytes` (its beginning, at most
    /// [`MAX_COMPOUND`]); `None` where its header is not one.
    pub(crate) fn open(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < 512 || !magic(bytes) {
            return None;
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let sector_shift = u32::from(u16_at(0x1E));
        if sector_shift != 9 && sector_shift != 12 {
            return None;
        }
        let mut c = Compound {
            bytes,
            sector_shift,
            fat: Vec::new(),
            mini_fat: Vec::new(),
            mini_stream: Vec::new(),
            mini_cutoff: u64::from(u32_at(0x38)),
            entries: Vec::new(),
            reached: std::cell::RefCell::new(Vec::new()),
        };
        // The sectors of the allocation table: the header's 109, then the DIFAT's chain (no
        // more than the file has sectors: the table then covers every one).
        let fat_sectors = (u32_at(0x2C) as usize).min(c.sectors());
        let mut fat_list: Vec<u32> = (0..HEADER_DIFAT)
            .map(|i| u32_at(0x4C + 4 * i))
            .take(fat_sectors)
            .collect();
        let mut difat = u32_at(0x44);
        let per_sector = c.sector_size() / 4;
        let mut steps = 0;
        while fat_list.len() < fat_sectors && difat < END_OF_CHAIN && steps < c.sectors() {
            let sector = c.sector(difat)?;
            for i in 0..per_sector - 1 {
                fat_list.push(u32::from_le_bytes(
                    sector[4 * i..4 * i + 4].try_into().ok()?,
                ));
            }
            difat = u32::from_le_bytes(sector[4 * (per_sector - 1)..].try_into().ok()?);
            steps += 1;
        }
        fat_list.truncate(fat_sectors);
        for s in fat_list {
            // A sector of the table beyond what is kept: the table ends there.
            let Some(sector) = c.sector(s) else { break };
            c.fat.extend(
                sector
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        // The mini allocation table, and the directory.
        let mini_fat = c.chain(u32_at(0x3C), u64::MAX);
        c.mini_fat = mini_fat
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let directory = c.chain(u32_at(0x30), u64::MAX);
        for (i, e) in directory.chunks_exact(ENTRY).enumerate() {
            let name_len = usize::from(u16::from_le_bytes([e[64], e[65]])).min(64);
            let name: Vec<u8> = e[..name_len.saturating_sub(2)]
                .chunks_exact(2)
                .map(|u| if u[1] == 0 { u[0] } else { b'?' })
                .collect();
            let start = u32::from_le_bytes([e[116], e[117], e[118], e[119]]);
            let size = u64::from_le_bytes(e[120..128].try_into().ok()?);
            // Version 3 files keep only the low 32 bits of a size.
            let size = if sector_shift == 9 {
                size & 0xFFFF_FFFF
            } else {
                size
            };
            if e[66] == 5 && i == 0 {
                c.mini_stream = c.chain(start, size);
            }
            let link = |at: usize| u32::from_le_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]);
            c.entries.push(Entry {
                name,
                kind: e[66],
                left: link(68),
                right: link(72),
                child: link(76),
                start,
                size,
            });
        }
        c.reached = std::cell::RefCell::new(vec![false; c.entries.len()]);
        Some(c)
    }

    fn sector_size(&self) -> usize {
        1 << self.sector_shift
    }

    /// How many sectors the kept bytes hold.
    fn sectors(&self) -> usize {
        (self.bytes.len() >> self.sector_shift).saturating_sub(1)
    }

    /// Sector `n`'s bytes, if they are kept.
    fn sector(&self, n: u32) -> Option<&'a [u8]> {
        let at = (usize::try_from(n).ok()? + 1).checked_mul(self.sector_size())?;
        self.bytes.get(at..at.checked_add(self.sector_size())?)
    }

    /// The bytes of the chain that begins at `start`, at most `size` of them: as far as its
    /// sectors are kept, each at most once (a chain that loops ends).
    fn chain(&self, start: u32, size: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut next = start;
        let mut seen = vec![false; self.sectors()];
        while next < END_OF_CHAIN && (out.len() as u64) < size {
            let Some(sector) = self.sector(next) else {
                break;
            };
            match seen.get_mut(next as usize) {
                Some(s) if !*s => *s = true,
                _ => break,
            }
            out.extend_from_slice(sector);
            next = self.fat.get(next as usize).copied().unwrap_or(END_OF_CHAIN);
        }
        out.truncate(usize::try_from(size).unwrap_or(usize::MAX).min(out.len()));
        out
    }

    /// A small stream's bytes from the mini stream.
    fn mini_chain(&self, start: u32, size: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut next = start;
        let mut seen = vec![false; self.mini_stream.len() / 64];
        while next < END_OF_CHAIN && (out.len() as u64) < size {
            let at = next as usize * 64;
            let Some(sector) = self.mini_stream.get(at..at + 64) else {
                break;
            };
            match seen.get_mut(next as usize) {
                Some(s) if !*s => *s = true,
                _ => break,
            }
            out.extend_from_slice(sector);
            next = self
                .mini_fat
                .get(next as usize)
                .copied()
                .unwrap_or(END_OF_CHAIN);
        }
        out.truncate(usize::try_from(size).unwrap_or(usize::MAX).min(out.len()));
        out
    }

    /// Whether a stream of this name is in the file.
    pub(crate) fn has(&self, name: &[u8]) -> bool {
        self.entries
            .iter()
            .any(|e| e.kind == STREAM && e.name == name)
    }

    /// The bytes of the (first) stream named `name` (as far as they are kept), and whether it
    /// was whole.
    pub(crate) fn stream(&self, name: &[u8]) -> Option<(Vec<u8>, bool)> {
        let i = self
            .entries
            .iter()
            .position(|e| e.kind == STREAM && e.name == name)?;
        self.read(i)
    }

    /// The bytes of the stream that is entry `i` (as far as they are kept), and whether it was
    /// whole.
    pub(crate) fn read(&self, i: usize) -> Option<(Vec<u8>, bool)> {
        let e = self.entries.get(i).filter(|e| e.kind == STREAM)?;
        let bytes = if e.size < self.mini_cutoff {
            self.mini_chain(e.start, e.size)
        } else {
            self.chain(e.start, e.size)
        };
        let whole = bytes.len() as u64 == e.size;
        Some((bytes, whole))
    }

    /// The entries of the storage that is entry `i` (the root is entry 0), in the tree's order.
    /// Each entry is given once in all the walks of a file (a tree that loops, or an entry
    /// two storages link to, is read as far as it was not reached before): a storage is walked
    /// once.
    pub(crate) fn children(&self, i: usize) -> Vec<usize> {
        let mut found = Vec::new();
        let Some(storage) = self.entries.get(i) else {
            return found;
        };
        let mut reached = self.reached.borrow_mut();
        reached[i] = true;
        let mut stack = vec![storage.child];
        while let Some(link) = stack.pop() {
            let Some(e) = usize::try_from(link)
                .ok()
                .filter(|&n| link != NO_ENTRY && n < self.entries.len() && !reached[n])
            else {
                continue;
            };
            reached[e] = true;
            found.push(e);
            stack.push(self.entries[e].right);
            stack.push(self.entries[e].left);
        }
        found
    }

    /// Forgets the entries the walks reached: a reading of the storages begins.
    pub(crate) fn walks_begin(&self) {
        self.reached.borrow_mut().fill(false);
    }

    /// Whether an entry's name passes `test`.
    pub(crate) fn any_name(&self, test: impl Fn(&[u8]) -> bool) -> bool {
        self.entries.iter().any(|e| test(&e.name))
    }

    /// Entry `i`'s name.
    pub(crate) fn name(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| &e.name)
    }

    /// Whether entry `i` is a storage.
    pub(crate) fn is_storage(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(|e| e.kind == STORAGE)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A compound file (version 3: sectors of 512 bytes) holding `streams`, each in sectors of
    /// its own, those under 4,096 bytes in the mini stream: the layout Excel writes,
    /// simplified. A stream's name may be a path (`storage/stream`): its storages are made,
    /// each storage's entries linked as a chain of right siblings.
    pub(crate) fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut sectors: Vec<Vec<u8>> = Vec::new();
        let mut fat: Vec<u32> = Vec::new();
        let place = |data: &[u8], sectors: &mut Vec<Vec<u8>>, fat: &mut Vec<u32>| -> u32 {
            let start = sectors.len() as u32;
            let chunks: Vec<&[u8]> = data.chunks(512).collect();
            for (i, c) in chunks.iter().enumerate() {
                let mut s = c.to_vec();
                s.resize(512, 0);
                sectors.push(s);
                fat.push(if i + 1 == chunks.len() {
                    END_OF_CHAIN
                } else {
                    start + i as u32 + 1
                });
            }
            if chunks.is_empty() {
                return END_OF_CHAIN;
            }
            start
        };
        // Small streams in the mini stream.
        let mut mini_stream = Vec::new();
        let mut mini_fat: Vec<u32> = Vec::new();
        let mut entries = Vec::new();
        for (name, data) in streams {
            if data.len() < 4096 {
                let start = (mini_stream.len() / 64) as u32;
                let n = data.len().div_ceil(64);
                for i in 0..n {
                    mini_fat.push(if i + 1 == n {
                        END_OF_CHAIN
                    } else {
                        start + i as u32 + 1
                    });
                }
                mini_stream.extend_from_slice(data);
                mini_stream.resize(mini_stream.len().div_ceil(64) * 64, 0);
                entries.push((name.to_string(), start, data.len()));
            } else {
                let start = place(data, &mut sectors, &mut fat);
                entries.push((name.to_string(), start, data.len()));
            }
        }
        let mini_start = place(&mini_stream, &mut sectors, &mut fat);
        let mini_fat_bytes: Vec<u8> = mini_fat.iter().flat_map(|n| n.to_le_bytes()).collect();
        let mini_fat_start = place(&mini_fat_bytes, &mut sectors, &mut fat);
        // The tree: the root, the storages the paths name, the streams.
        let mut nodes: Vec<(String, u8, u32, usize, Vec<usize>)> = vec![(
            "Root Entry".into(),
            5,
            mini_start,
            mini_stream.len(),
            Vec::new(),
        )];
        for (path, start, size) in &entries {
            let parts: Vec<&str> = path.split('/').collect();
            let mut parent = 0;
            for (k, part) in parts.iter().enumerate() {
                let stream = k + 1 == parts.len();
                let existing = nodes[parent]
                    .4
                    .iter()
                    .copied()
                    .find(|&c| !stream && nodes[c].0 == *part && nodes[c].1 == STORAGE);
                parent = match existing {
                    Some(c) => c,
                    None => {
                        let node = if stream {
                            (part.to_string(), STREAM, *start, *size, Vec::new())
                        } else {
                            (part.to_string(), STORAGE, END_OF_CHAIN, 0, Vec::new())
                        };
                        nodes.push(node);
                        let id = nodes.len() - 1;
                        nodes[parent].4.push(id);
                        id
                    }
                };
            }
        }
        let mut right = vec![NO_ENTRY; nodes.len()];
        for node in &nodes {
            for pair in node.4.windows(2) {
                right[pair[0]] = pair[1] as u32;
            }
        }
        let mut directory = Vec::new();
        for (i, (name, kind, start, size, children)) in nodes.iter().enumerate() {
            let mut e = vec![0u8; ENTRY];
            let units: Vec<u8> = name
                .encode_utf16()
                .chain([0])
                .flat_map(|u| u.to_le_bytes())
                .collect();
            e[..units.len()].copy_from_slice(&units);
            e[64..66].copy_from_slice(&(units.len() as u16).to_le_bytes());
            e[66] = *kind;
            let child = children.first().map_or(NO_ENTRY, |&c| c as u32);
            e[68..72].copy_from_slice(&NO_ENTRY.to_le_bytes());
            e[72..76].copy_from_slice(&right[i].to_le_bytes());
            e[76..80].copy_from_slice(&child.to_le_bytes());
            e[116..120].copy_from_slice(&start.to_le_bytes());
            e[120..128].copy_from_slice(&(*size as u64).to_le_bytes());
            directory.extend(e);
        }
        let directory_start = place(&directory, &mut sectors, &mut fat);
        // The allocation table itself, in the sectors after (marked as such: 0xFFFFFFFD).
        let fat_sectors = (fat.len() + 1).div_ceil(127).max(1);
        let first_fat = sectors.len() as u32;
        fat.extend(std::iter::repeat_n(0xFFFF_FFFD, fat_sectors));
        let mut table: Vec<u8> = fat.iter().flat_map(|n| n.to_le_bytes()).collect();
        table.resize(fat_sectors * 512, 0xFF);
        for c in table.chunks(512) {
            sectors.push(c.to_vec());
        }
        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(&SIGNATURE);
        header[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes());
        header[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes());
        header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
        header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes());
        header[0x2C..0x30].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
        header[0x30..0x34].copy_from_slice(&directory_start.to_le_bytes());
        header[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes());
        header[0x3C..0x40].copy_from_slice(&mini_fat_start.to_le_bytes());
        header[0x40..0x44].copy_from_slice(&(mini_fat.len().div_ceil(128) as u32).to_le_bytes());
        header[0x44..0x48].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        for i in 0..HEADER_DIFAT {
            let s = if i < fat_sectors {
                first_fat + i as u32
            } else {
                u32::MAX
            };
            header[0x4C + 4 * i..0x50 + 4 * i].copy_from_slice(&s.to_le_bytes());
        }
        [header, sectors.concat()].concat()
    }

    proptest::proptest! {
        /// Whatever streams a compound file holds, in sectors or in the mini stream, each is
        /// read back as it was written.
        #[test]
        fn streams_read_back_as_written(
            sizes in proptest::collection::vec(0usize..9000, 1..6),
            seed in 0u8..255,
        ) {
            let streams: Vec<(String, Vec<u8>)> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let bytes = (0..n).map(|j| (j as u8).wrapping_mul(31).wrapping_add(seed ^ i as u8)).collect();
                    (format!("Stream{i}"), bytes)
                })
                .collect();
            let named: Vec<(&str, &[u8])> = streams.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            let file = compound(&named);
            let c = Compound::open(&file).unwrap();
            for (name, bytes) in &streams {
                proptest::prop_assert_eq!(c.stream(name.as_bytes()), Some((bytes.clone(), true)));
            }
        }
    }

    /// A storage's entries are its tree's; each entry is given once in a reading's walks.
    #[test]
    fn storages_are_walked_once() {
        let bytes = compound(&[("a/x", b"1"), ("a/y", b"22"), ("b/z", b"333"), ("w", b"4")]);
        let file = Compound::open(&bytes).unwrap();
        let names = |ids: Vec<usize>| -> Vec<Vec<u8>> {
            ids.into_iter().map(|i| file.name(i).to_vec()).collect()
        };
        let top = file.children(0);
        assert_eq!(
            names(top.clone()),
            [b"a".to_vec(), b"b".to_vec(), b"w".to_vec()]
        );
        assert!(file.is_storage(top[0]) && !file.is_storage(top[2]));
        let a = file.children(top[0]);
        assert_eq!(names(a.clone()), [b"x".to_vec(), b"y".to_vec()]);
        assert_eq!(file.read(a[1]), Some((b"22".to_vec(), true)));
        assert!(file.children(top[0]).is_empty(), "reached once");
        file.walks_begin();
        assert_eq!(file.children(top[1]).len(), 1);
        assert_eq!(file.stream(b"z"), Some((b"333".to_vec(), true)));
    }

    #[test]
    fn streams_are_found_by_name_in_sectors_and_the_mini_stream() {
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let small = b"a small stream".to_vec();
        let file = compound(&[("Workbook", &big), ("Small", &small)]);
        let c = Compound::open(&file).unwrap();
        assert_eq!(c.stream(b"Workbook"), Some((big.clone(), true)));
        assert_eq!(c.stream(b"Small"), Some((small.clone(), true)));
        assert!(c.has(b"Small") && !c.has(b"Book"));
        // Cut short (its directory and table are at the end, as Excel writes them: nothing of
        // it can be read).
        assert!(Compound::open(&file[..2048]).is_none_or(|c| c.stream(b"Workbook").is_none()));
        // A chain that loops ends; a sector number past the end is not read.
        let mut file = compound(&[("Workbook", &big)]);
        let fat_at = 512 * (1 + u32::from_le_bytes(file[0x4C..0x50].try_into().unwrap()) as usize);
        file[fat_at..fat_at + 4].copy_from_slice(&0u32.to_le_bytes());
        let c = Compound::open(&file).unwrap();
        let (bytes, whole) = c.stream(b"Workbook").unwrap();
        assert!(!whole && bytes.len() <= file.len());
        assert!(Compound::open(b"not a compound file").is_none());
    }
}
