//! Tar archives (POSIX ustar and pax, GNU, the old v7 form), as `tar` and Python's `tarfile`
//! write them, read as they stream: each 512-byte header block says what follows it, each
//! regular file's contents go to a scanner of their own, and what the files hold is summed
//! ([`crate::archive::Entries`]). A tar archive is usually compressed (`.tar.gz`): the gzip
//! or bzip2 layer inflates it before it is told here. A header whose checksum fails, the file's
//! entries spent ([`crate::encoding::MAX_ENTRIES`] in all its layers), a pax header over
//! [`MAX_EXTENDED`] bytes or an archive that breaks off make it `scanned_in_part`. An archive or
//! compressed file inside an entry (`.csv.gz` files bundled) is opened in turn, as in a ZIP
//! archive, within the file's budget.
//!
//! Pure: bytes in, what the files hold out; sizes from the headers are only counted down, never
//! allocated.

use std::sync::Arc;

use crate::Format;
use crate::archive::{Entries, count_down};
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::pg_archive::DumpFiles;
use crate::scan::{Classification, Scanner};

/// A tar archive's unit: every header, and every entry's contents padded to a whole number.
pub(crate) const BLOCK: usize = 512;
/// Most bytes of a pax extended header kept (its records name a long path, a file's size
/// beyond 8 GiB, attributes); a larger one is passed over and what follows may not be read.
const MAX_EXTENDED: u64 = 64 << 10;
/// Where a header's fields are.
const SIZE: std::ops::Range<usize> = 124..136;
const CHECKSUM: std::ops::Range<usize> = 148..156;
const TYPE: usize = 156;
const NAME: std::ops::Range<usize> = 0..100;
const MAGIC: std::ops::Range<usize> = 257..262;
/// An old GNU sparse header's flag: extension blocks follow the header.
const SPARSE_EXTENDED: usize = 482;

/// Whether a file's contents begin with a tar header: its checksum holds, and it says `ustar`
/// (POSIX and GNU) or is of a type the old v7 form knows.
pub(crate) fn magic(head: &[u8]) -> bool {
    let Some(block) = head.get(..BLOCK) else {
        return false;
    };
    checksum_holds(block) && (&block[MAGIC] == b"ustar" || b"\x0001234567".contains(&block[TYPE]))
}

/// The checksum a header stores: the sum of its bytes, the checksum's own eight counted as
/// spaces (as unsigned bytes; old tars summed them signed).
fn checksum_holds(block: &[u8]) -> bool {
    let Some(stored) = number(&block[CHECKSUM]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if CHECKSUM.contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// A header's number: octal digits between spaces or NULs, or GNU's base-256 form (the first
/// byte's high bit set) for sizes beyond 8 GiB; `None` where it is neither.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut n = u64::from(field[0] & 0x3F);
        for &b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(n);
    }
    let digits = field.trim_ascii_start();
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || digits[end..].iter().any(|&b| b != b' ' && b != 0) {
        return None;
    }
    digits[..end].iter().try_fold(0u64, |n, &d| {
        if d > b'7' {
            return None;
        }
        n.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// How many bytes pad `size` to whole blocks.
fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

enum State {
    /// Gathering the next header block.
    Header,
    /// A file's contents still to come, then its padding.
    Contents { left: u64, pad: u64 },
    /// A pax extended header's records being gathered, then their padding.
    Extended { left: u64, pad: u64 },
    /// Bytes passed over: padding, a long name, another entry's data.
    Skip { left: u64 },
    /// The entries are over (or the rest cannot be read).
    Done,
}

/// A tar archive being read, chunk by chunk.
pub(crate) struct Tar {
    patterns: Option<Arc<Patterns>>,
    /// What the file's layers may still read (the entries' count; their contents are the
    /// archive's own bytes, read once, but an entry compressed or an archive is inflated
    /// within it).
    budget: Budget,
    /// How deep in archives the archive is (its entries one deeper).
    depth: u8,
    state: State,
    /// The bytes of a header block or of a pax header's records gathered so far.
    gathered: Vec<u8>,
    /// The size a pax header gives the entry after it.
    pax_size: Option<u64>,
    entry: Option<Box<Scanner>>,
    entry_bytes: u64,
    /// A `pg_dump -Ft` archive, or a `-Fd` directory tarred: its table of contents and the
    /// tables it names by the files that hold their rows, each such file's rows read under a
    /// header of its table's columns ([`crate::pg_archive::DumpFiles`]).
    dump: DumpFiles,
    found: Entries,
    /// Some of it could not be read.
    cut: bool,
}

impl Tar {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Tar {
            patterns,
            budget,
            depth,
            state: State::Header,
            gathered: Vec::with_capacity(BLOCK),
            pax_size: None,
            entry: None,
            entry_bytes: 0,
            dump: DumpFiles::default(),
            found: Entries::default(),
            cut: false,
        }
    }

    /// About how much memory it keeps between chunks: a header or pax records gathered, the
    /// entry under way's scanner ([`crate::Scanner::held_bytes`]).
    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.gathered)
            + self.entry.as_ref().map_or(0, |s| s.held_bytes())
            + self.dump.held_bytes()
    }

    /// Reads the next bytes of the archive.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            data = match &mut self.state {
                State::Done => return,
                State::Header => self.header(data),
                State::Contents { left, pad } => {
                    let pad = *pad;
                    let (n, ended) = count_down(left, data);
                    if self.dump.keeping() {
                        self.dump.keep(&data[..n]);
                    } else if let Some(s) = self.entry.as_mut() {
                        s.feed(&data[..n]);
                    }
                    self.entry_bytes += n as u64;
                    if ended {
                        self.end_entry();
                        self.state = State::Skip { left: pad };
                    }
                    &data[n..]
                }
                State::Extended { left, pad } => {
                    let pad = *pad;
                    let (n, ended) = count_down(left, data);
                    self.gathered.extend_from_slice(&data[..n]);
                    if ended {
                        self.pax_size = pax_size(&self.gathered);
                        self.gathered.clear();
                        self.state = State::Skip { left: pad };
                    }
                    &data[n..]
                }
                State::Skip { left } => {
                    let (n, ended) = count_down(left, data);
                    if ended {
                        self.state = State::Header;
                    }
                    &data[n..]
                }
            };
        }
    }

    /// The end of the archive: what its files hold.
    pub(crate) fn finish(mut self) -> Classification {
        match self.state {
            State::Done => {}
            // Ended on a block boundary without the closing zero blocks (as some writers
            // leave it): nothing is missing.
            State::Header if self.gathered.is_empty() => {}
            _ => {
                // It broke off: an entry under way counts what came of it.
                self.cut = true;
                self.end_entry();
            }
        }
        // Table files no table of contents named: read as the rows they are, unnamed.
        let at = (&self.patterns, &self.budget, self.depth);
        self.dump.read_held(true, at, &mut self.found);
        self.found.finish(Format::Tar, self.cut || self.dump.cut)
    }

    fn header<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let take = (BLOCK - self.gathered.len()).min(data.len());
        self.gathered.extend_from_slice(&data[..take]);
        let rest = &data[take..];
        if self.gathered.len() < BLOCK {
            return rest;
        }
        let h = std::mem::take(&mut self.gathered);
        self.gathered = Vec::with_capacity(BLOCK);
        if h.iter().all(|&b| b == 0) {
            // The end-of-archive blocks.
            self.state = State::Done;
            return &[];
        }
        if !checksum_holds(&h) || !self.budget.entry() {
            return self.stop();
        }
        let pax_size = self.pax_size.take();
        let Some(size) = pax_size.or_else(|| number(&h[SIZE])) else {
            return self.stop();
        };
        let pad = padding(size);
        self.state = match h[TYPE] {
            // A regular file (`7`: contiguous; `S`: GNU sparse, its stored bytes the file's
            // own in order, unless extension blocks of its map follow the header).
            b'0' | 0 | b'7' => self.begin_entry(&h[NAME], size, pad),
            b'S' if h[SPARSE_EXTENDED] == 0 => self.begin_entry(&h[NAME], size, pad),
            b'S' => return self.stop(),
            b'x' if size <= MAX_EXTENDED => State::Extended { left: size, pad },
            b'x' => {
                self.cut = true;
                State::Skip {
                    left: size.saturating_add(pad),
                }
            }
            // Links, devices, folders and FIFOs: no contents (whatever the size says).
            b'1'..=b'6' => State::Header,
            // A pax global header, GNU long names, a volume label, vendors' types: not a
            // file's contents.
            _ => State::Skip {
                left: size.saturating_add(pad),
            },
        };
        if matches!(self.state, State::Skip { left: 0 }) {
            self.state = State::Header;
        }
        rest
    }

    /// A file's contents begin (or, when empty, end at once): `name`, its header's field.
    fn begin_entry(&mut self, name: &[u8], size: u64, pad: u64) -> State {
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        // A `pg_dump` archive's table of contents, or a table's file before it: kept, not
        // scanned (the table of contents is the schema, in binary).
        self.dump.begin(name, Some(size));
        self.entry = Some(Box::new(self.table_scanner(name)));
        self.entry_bytes = 0;
        if size == 0 {
            self.end_entry();
            State::Header
        } else {
            State::Contents { left: size, pad }
        }
    }

    /// A scanner for an entry named `name` ([`DumpFiles::scanner`]).
    fn table_scanner(&self, name: &[u8]) -> Scanner {
        self.dump
            .scanner(name, (&self.patterns, &self.budget, self.depth))
    }

    /// What the entry under way holds, added to the archive's.
    fn end_entry(&mut self) {
        if self.dump.keeping() {
            let entry = self.entry.take();
            let at = (&self.patterns, &self.budget, self.depth);
            self.cut |= self
                .dump
                .entry_ended(entry, self.entry_bytes, at, &mut self.found);
            return;
        }
        if let Some(s) = self.entry.take() {
            self.found.add(s.finish(), self.entry_bytes, false);
        }
    }

    /// Nothing more can be read: what the entry under way holds counts, the rest is unknown.
    fn stop<'a>(&mut self) -> &'a [u8] {
        self.cut = true;
        self.state = State::Done;
        self.end_entry();
        &[]
    }
}

/// The `size` a pax extended header's records give (`"%d size=%d\n"`), if any; records are
/// read while they are well formed.
fn pax_size(mut records: &[u8]) -> Option<u64> {
    let mut size = None;
    while !records.is_empty() {
        let space = records.iter().take(20).position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&records[..space]).ok()?.parse().ok()?;
        let record = records.get(space + 1..len)?;
        let record = record.strip_suffix(b"\n")?;
        if let Some(value) = record.strip_prefix(b"size=") {
            size = Some(std::str::from_utf8(value).ok()?.parse().ok()?);
        }
        records = &records[len..];
    }
    size
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scan::in_chunks;
    use crate::scan::{Class, classify};

    /// A ustar header block for `name` of `size` bytes and type `kind`, its checksum set.
    fn header(name: &str, size: u64, kind: u8) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[SIZE.start..SIZE.start + 11].copy_from_slice(format!("{size:011o}").as_bytes());
        h[TYPE] = kind;
        h[MAGIC.start..MAGIC.start + 6].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[CHECKSUM].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[CHECKSUM.start..CHECKSUM.start + 7].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    /// An entry: its header, its contents padded to whole blocks.
    pub(crate) fn entry(name: &str, data: &[u8], kind: u8) -> Vec<u8> {
        let mut out = header(name, data.len() as u64, kind);
        out.extend(data);
        out.resize(out.len() + padding(data.len() as u64) as usize, 0);
        out
    }

    pub(crate) fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out = entries.concat();
        out.extend([0u8; 2 * BLOCK]);
        out
    }

    const CARDS: &[u8] = b"name,card_number\nA,4111111111111111\nB,5555555555554444\n";
    const NOTES: &[u8] = b"Wire to ABA 021000021 acct 12345678 today.\nSSN 123-45-6789\n";

    /// Table files before any table of contents are kept to [`crate::pg_archive::MAX_HELD`] bytes in all; one
    /// past that is read as it comes (its rows unnamed), so what is held stays bounded.
    #[test]
    fn table_files_kept_for_a_table_of_contents_are_bounded() {
        let row = b"1\tA\t021000021\t12345678\n";
        let big: Vec<u8> = row
            .iter()
            .copied()
            .cycle()
            .take(crate::pg_archive::MAX_HELD + 1)
            .collect();
        let small: Vec<u8> = row.iter().copied().cycle().take(row.len() * 8).collect();
        let tar = archive(&[
            entry("d/3344.dat", &small, b'0'),
            entry("d/3345.dat", &big, b'0'),
        ]);
        let mut t = Tar::new(None, crate::encoding::Budget::new(), 0);
        for piece in tar.chunks(1 << 20) {
            t.feed(piece);
            assert!(t.held_bytes() < 1 << 20, "{}", t.held_bytes());
        }
        let found = t.finish();
        let rows = (8 + (crate::pg_archive::MAX_HELD + 1) / row.len()) as u64;
        assert_eq!(found.counts.get(Class::AbaRouting), rows);
        assert!(
            crate::pg_archive::table_file(b"3344.dat.gz")
                && crate::pg_archive::table_file(b"12.dat")
        );
        assert!(
            !crate::pg_archive::table_file(b"toc.dat")
                && !crate::pg_archive::table_file(b".dat")
                && !crate::pg_archive::table_file(b"a1.dat")
        );
    }

    #[test]
    fn files_count_together_whatever_the_chunks() {
        let tar = archive(&[
            entry("dir/", b"", b'5'),
            entry("dir/cards.csv", CARDS, b'0'),
            entry("dir/link", b"", b'2'),
            entry("dir/notes.txt", NOTES, b'0'),
            entry("empty", b"", b'0'),
        ]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert_eq!(found.counts.get(Class::AbaRouting), 1);
        assert_eq!(found.counts.get(Class::UsBankAccount), 1);
        assert_eq!(found.counts.get(Class::UsSsn), 1);
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Tar]);
        for size in [1, 7, 511, 512, 513, 4096] {
            assert_eq!(in_chunks(&tar, size), found, "chunks of {size}");
        }
        // Compressed, as it is sent: the same, and `gzip`.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let zipped = classify(&gz.finish().unwrap());
        assert_eq!(zipped.counts, found.counts);
        assert_eq!(
            zipped.formats,
            vec![Format::AccountTable, Format::Tar, Format::Gzip]
        );
    }

    #[test]
    fn pax_and_gnu_headers_are_passed_over_and_their_sizes_kept() {
        // A pax header whose `size` is the next file's (its own header's says 0), a global
        // one, a GNU long name, a vendor's type.
        let record = |kv: &str| {
            // A record's length counts its own digits.
            let mut n = kv.len() + 3;
            while format!("{n} {kv}\n").len() != n {
                n += 1;
            }
            format!("{n} {kv}\n")
        };
        let records =
            record("path=a/very/long/name.csv") + &record(&format!("size={}", CARDS.len()));
        let records = records.as_bytes();
        let tar = archive(&[
            entry("pax_global_header", b"9 k=v.x\n", b'g'),
            entry("././@PaxHeader", records, b'x'),
            [
                header("short.csv", 0, b'0'),
                CARDS.to_vec(),
                vec![0; BLOCK - CARDS.len()],
            ]
            .concat(),
            entry("././@LongLink", b"a/long/name/of/notes.txt\0", b'L'),
            entry("notes.txt", NOTES, b'0'),
            entry("vendor", b"card 4111 1111 1111 1111", b'X'),
        ]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2, "{found:?}");
        assert_eq!(found.counts.get(Class::UsSsn), 1);
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Tar]);
        assert_eq!(pax_size(b"11 size=56\n"), Some(56));
        assert_eq!(pax_size(b"12 size=x56\n11 size=56\n"), None);
        assert_eq!(pax_size(b"99 size=56\n"), None);
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        let whole = archive(&[entry("a.csv", CARDS, b'0'), entry("b.txt", NOTES, b'0')]);
        // Broken off in the second file: the first counts, and the second's part.
        let cut = classify(&whole[..BLOCK * 3 + 40]);
        assert_eq!(cut.counts.get(Class::CardNumber), 2);
        assert_eq!(cut.counts.get(Class::AbaRouting), 1);
        assert!(cut.formats.contains(&Format::ScannedInPart), "{cut:?}");
        // A header whose checksum fails after the first file.
        let mut bad = whole.clone();
        bad[BLOCK * 2 + 3] ^= 1;
        let found = classify(&bad);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert_eq!(found.counts.get(Class::UsSsn), 0);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // Without its closing blocks, nothing is missing.
        let open = classify(&whole[..whole.len() - 2 * BLOCK]);
        assert_eq!(open.formats, vec![Format::AccountTable, Format::Tar]);
        // A picture beside a table: its classes are unknown, the table's count.
        let mut picture = vec![0x89, b'P', b'N', b'G', 0, 0, 0, 13];
        picture.resize(600, 0);
        let tar = archive(&[
            entry("a.csv", CARDS, b'0'),
            entry("logo.png", &picture, b'0'),
        ]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert_eq!(
            found.formats,
            vec![Format::AccountTable, Format::Tar, Format::ScannedInPart]
        );
        // Pictures only: unknown.
        let tar = archive(&[entry("logo.png", &picture, b'0')]);
        assert_eq!(classify(&tar).formats, vec![Format::Binary, Format::Tar]);
        // A file encrypted with OpenPGP beside the extract: the archive names it (what it
        // holds is exposed only with the key); alone, the archive's classes are unknown.
        let mut gpg = vec![
            0xC1, 0x4C, 0x03, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81,
        ];
        gpg.extend((0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
        let openpgp = Format::Encrypted("openpgp".into());
        let tar = archive(&[entry("a.csv", CARDS, b'0'), entry("b.csv.gpg", &gpg, b'0')]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert_eq!(
            found.formats,
            vec![
                Format::AccountTable,
                openpgp.clone(),
                Format::Tar,
                Format::ScannedInPart
            ]
        );
        let tar = archive(&[entry("b.csv.gpg", &gpg, b'0')]);
        assert_eq!(
            classify(&tar).formats,
            vec![Format::Binary, openpgp, Format::Tar]
        );
        // A gzip file inside is opened in turn (files compressed, then bundled).
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, CARDS).unwrap();
        let tar = archive(&[entry("c.csv.gz", &gz.finish().unwrap(), b'0')]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert_eq!(
            found.formats,
            vec![Format::AccountTable, Format::Gzip, Format::Tar]
        );
    }

    #[test]
    fn the_limits_hold() {
        let one = entry("e", b"x", b'0');
        let many = archive(&vec![one; crate::encoding::MAX_ENTRIES as usize + 1]);
        let found = classify(&many);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // A pax header too large to keep: passed over, said.
        let big = vec![b'a'; MAX_EXTENDED as usize + 1];
        let tar = archive(&[entry("pax", &big, b'x'), entry("a.csv", CARDS, b'0')]);
        let found = classify(&tar);
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert!(found.formats.contains(&Format::ScannedInPart));
        // Sizes: octal, GNU's base-256, and what is neither.
        assert_eq!(number(b"00000001750\0"), Some(1000));
        assert_eq!(number(b"     1750 \0\0"), Some(1000));
        assert_eq!(
            number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0xE8]),
            Some(1000)
        );
        assert_eq!(
            number(&[
                0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
            ]),
            None
        );
        assert_eq!(number(b"0000000175x\0"), None);
        assert_eq!(number(b"00000001758\0"), None);
        assert_eq!(number(b"\0\0\0\0\0\0\0\0\0\0\0\0"), None);
    }

    /// Texts a file of an archive holds.
    const TEXTS: [&str; 6] = [
        "card 4111 1111 1111 1111\n",
        "SSN 123-45-6789\n",
        "name,card_number\nA,4111111111111111\nB,5555555555554444\n",
        "Wire to ABA 021000021 acct 12345678 today.\n",
        "iban GB82WEST12345698765432 and 123456789\n",
        "<Cdtr><Nm>ACME</Nm></Cdtr>\n",
    ];

    /// An entry of any kind: a file of texts, a folder, a link, a pax header of a path, a GNU
    /// long name, a vendor's entry.
    fn any_entry() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (proptest::collection::vec(0..TEXTS.len(), 0..6), "[a-z]{1,20}").prop_map(|(t, name)| {
                let text: String = t.iter().map(|&i| TEXTS[i]).collect();
                entry(&name, text.as_bytes(), b'0')
            }),
            1 => Just(entry("folder/", b"", b'5')),
            1 => Just(entry("link", b"", b'2')),
            1 => "[a-z/]{1,300}".prop_map(|path| {
                let kv = format!("path={path}");
                let mut n = kv.len() + 3;
                while format!("{n} {kv}\n").len() != n {
                    n += 1;
                }
                entry("././@PaxHeader", format!("{n} {kv}\n").as_bytes(), b'x')
            }),
            1 => Just(entry("././@LongLink", b"a/long/name\0", b'L')),
            1 => Just(entry("vendor", TEXTS[0].as_bytes(), b'V')),
        ]
    }

    proptest::proptest! {
        /// Whatever its entries and however it is cut into chunks, an archive counts what it
        /// counts read whole, and what its files count alone, together.
        #[test]
        fn chunks_change_nothing_and_files_count_as_alone(
            entries in proptest::collection::vec(any_entry(), 0..8),
            cut in 1usize..1100,
        ) {
            let tar = archive(&entries);
            let whole = classify(&tar);
            proptest::prop_assert_eq!(&in_chunks(&tar, cut), &whole);
            let mut alone = crate::Counts::default();
            for e in &entries {
                let h = &e[..BLOCK];
                if h[TYPE] == b'0' {
                    let size = number(&h[SIZE]).unwrap() as usize;
                    for (class, n) in classify(&e[BLOCK..BLOCK + size]).counts.present() {
                        alone.add(class, n);
                    }
                }
            }
            proptest::prop_assert_eq!(whole.counts, alone);
        }
    }

    #[test]
    fn only_a_header_whose_checksum_holds_begins_one() {
        let h = header("a.csv", 10, b'0');
        assert!(magic(&h));
        let mut v7 = h.clone();
        v7[MAGIC.start..MAGIC.start + 8].copy_from_slice(&[0; 8]);
        let sum: u64 = v7
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if CHECKSUM.contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        v7[CHECKSUM.start..CHECKSUM.start + 7].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        assert!(magic(&v7));
        let mut wrong = h.clone();
        wrong[0] ^= 1;
        assert!(!magic(&wrong));
        assert!(!magic(&h[..BLOCK - 1]));
        // Text is text.
        let text = "card 4111 1111 1111 1111\n".repeat(40);
        let found = classify(text.as_bytes());
        assert_eq!(found.counts.get(Class::CardNumber), 40);
        assert!(found.formats.is_empty());
    }
}
