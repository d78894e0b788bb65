//! X9 image cash letters (ANSI X9.37, X9.100-187: the files in which banks, the Federal
//! Reserve and remote deposit capture systems exchange checks, each check's MICR line as
//! fields and then its images). Records each after a four-byte big-endian length, or one per
//! line, in EBCDIC (code page 037) or ASCII, told by the file header's first bytes
//! ([`magic`]). Read as they stream ([`ImageCashLetter`]): of a record only its first [`KEPT`]
//! bytes are kept, the rest (an image's, in an image view data record) passed over by its
//! length. Counted by the fields where the standard puts them: a check's, a return's or a
//! credit's payor bank routing number (`aba_routing` where the checksum holds) and, beside
//! it, the account number of its on-us field (`us_bank_account`: the digits before the on-us
//! symbol `/`, dashes and blanks taken out); an addendum A's bank of first deposit (or return
//! location) routing number and the depositor's account there. The routing numbers of the
//! file's, cash letters' and bundles' headers name banks, not customers' accounts: not
//! counted. Named `x9_37`.
//!
//! Pure: bytes in, classes out. Nothing is allocated by a record's length: at most [`KEPT`]
//! bytes of a record are kept, whatever it says.

use crate::Format;
use crate::scan::{Class, Classification, Counts};
use crate::validate;

/// Bytes of a record kept: every field read lies in a record's first 80.
const KEPT: usize = 80;

/// How records follow one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Each after a four-byte big-endian length (the standard's record descriptor word).
    Lengths,
    /// One per line (ASCII), as some systems write the records without images.
    Lines,
}

/// Whether a file's first bytes are an image cash letter's file header (record type `01`):
/// its framing and whether it is EBCDIC. The header's standard level (two digits), test or
/// production indicator (`T`, `P`) and destination routing number (nine digits) are checked.
fn header(head: &[u8]) -> Option<(Framing, bool)> {
    let framed = head
        .get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]))
        .filter(|l| (80..=200).contains(l));
    let (framing, record) = match framed {
        Some(_) => (Framing::Lengths, head.get(4..)?),
        None => (Framing::Lines, head),
    };
    let ebcdic = match record.get(..2)? {
        b"01" => false,
        b"\xF0\xF1" => true,
        _ => return None,
    };
    if ebcdic && framing == Framing::Lines {
        return None;
    }
    let fields = record.get(..14)?;
    let ascii: Vec<u8> = fields.iter().map(|&b| char_of(b, ebcdic)).collect();
    let digits = |r: std::ops::Range<usize>| ascii[r].iter().all(u8::is_ascii_digit);
    let header = digits(2..4) && matches!(ascii[4], b'T' | b'P') && digits(5..14);
    // A line-framed header is 80 bytes and its line end.
    let line = framing == Framing::Lines && {
        let end = record.iter().position(|&b| b == b'\n')?;
        record[..end]
            .strip_suffix(b"\r")
            .unwrap_or(&record[..end])
            .len()
            == 80
    };
    (header && (framing == Framing::Lengths || line)).then_some((framing, ebcdic))
}

/// Whether a file's first bytes are an image cash letter's.
pub(crate) fn magic(head: &[u8]) -> bool {
    header(head).is_some()
}

/// A byte of a record as ASCII.
fn char_of(b: u8, ebcdic: bool) -> u8 {
    if ebcdic {
        crate::encoding::ascii_of_ebcdic(b)
    } else {
        b
    }
}

/// An image cash letter read record by record.
pub(crate) struct ImageCashLetter {
    framing: Framing,
    ebcdic: bool,
    /// The record being read: its first bytes (at most [`KEPT`]); with lengths, its length's
    /// bytes read so far and the record's bytes still to come.
    record: Vec<u8>,
    length: [u8; 4],
    length_read: usize,
    left: Option<u64>,
    counts: Counts,
    distinct: crate::Distinct,
    /// A record's length said it was empty or shorter than its type: nothing after it is read.
    damaged: bool,
}

impl ImageCashLetter {
    /// The reader of a file whose first bytes are `head` (a header [`magic`] accepts).
    pub(crate) fn new(head: &[u8]) -> ImageCashLetter {
        let (framing, ebcdic) = header(head).unwrap_or((Framing::Lengths, false));
        ImageCashLetter {
            framing,
            ebcdic,
            record: Vec::with_capacity(KEPT),
            length: [0; 4],
            length_read: 0,
            left: None,
            counts: Counts::default(),
            distinct: crate::Distinct::default(),
            damaged: false,
        }
    }

    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.damaged {
            data = match self.framing {
                Framing::Lengths => self.framed(data),
                Framing::Lines => self.line(data),
            };
        }
    }

    /// The next bytes of a file of length-framed records: a length's, or a record's.
    fn framed<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let Some(left) = self.left else {
            let take = (4 - self.length_read).min(data.len());
            self.length[self.length_read..self.length_read + take].copy_from_slice(&data[..take]);
            self.length_read += take;
            if self.length_read == 4 {
                let length = u32::from_be_bytes(self.length);
                self.damaged = length < 2;
                self.left = Some(u64::from(length));
                self.length_read = 0;
            }
            return &data[take..];
        };
        let take = usize::try_from(left).map_or(data.len(), |l| l.min(data.len()));
        self.keep(&data[..take]);
        let left = left - take as u64;
        self.left = Some(left);
        if left == 0 {
            self.record_end();
            self.left = None;
        }
        &data[take..]
    }

    /// The next bytes of a file of records one per line.
    fn line<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        match memchr::memchr(b'\n', data) {
            Some(end) => {
                self.keep(&data[..end]);
                self.record_end();
                &data[end + 1..]
            }
            None => {
                self.keep(data);
                &[]
            }
        }
    }

    /// Keeps a record's next bytes, to [`KEPT`].
    fn keep(&mut self, bytes: &[u8]) {
        let room = KEPT - self.record.len().min(KEPT);
        self.record
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// A record read: counted by its fields.
    fn record_end(&mut self) {
        let mut record = std::mem::take(&mut self.record);
        if self.ebcdic {
            for b in &mut record {
                *b = char_of(*b, true);
            }
        }
        if record.last() == Some(&b'\r') {
            record.pop();
        }
        self.count(&record);
        record.clear();
        self.record = record;
    }

    /// What a record's fields hold (positions from 0, as the standard's from 1 less one).
    fn count(&mut self, r: &[u8]) {
        // (routing number, account field) by record type: a check's detail (25), a return's
        // (31), a credit's (61) and a credit item's (62) on-us field; an addendum A's (26, 32)
        // deposit account at the bank of first deposit.
        let (routing, account, on_us) = match r.get(..2) {
            Some(b"25" | b"61" | b"62") => (18..27, 27..47, true),
            Some(b"31") => (2..11, 11..31, true),
            Some(b"26" | b"32") => (3..12, 35..53, false),
            _ => return,
        };
        let Some(routing) = r.get(routing) else {
            return;
        };
        if !validate::aba_routing(routing) {
            return;
        }
        self.counts.add(Class::AbaRouting, 1);
        self.distinct.insert(Class::AbaRouting, routing);
        // (A line's trailing blanks may have been cut: the field as far as the record goes.)
        let field = &r[account.start.min(r.len())..account.end.min(r.len())];
        if account_number(field, on_us) {
            self.counts.add(Class::UsBankAccount, 1);
            self.distinct.insert_digits(Class::UsBankAccount, field);
        }
    }

    pub(crate) fn finish(mut self) -> Classification {
        let cut = self.damaged || self.left.is_some() || self.length_read > 0;
        if self.framing == Framing::Lines && !self.record.is_empty() {
            self.record_end();
        }
        let mut formats = vec![Format::X937];
        if cut {
            formats.push(Format::ScannedInPart);
        }
        Classification {
            counts: self.counts,
            distinct: self.distinct,
            formats,
            ..Classification::default()
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.record.capacity()
    }
}

/// Whether a record's account field (an on-us field, or an addendum's deposit account) holds
/// a US account number: an on-us field's digits before its on-us symbol (`1211-1234-56789/`,
/// `123456789/1234`: account, then the check's serial number), dashes and blanks out; a
/// deposit account's digits.
fn account_number(field: &[u8], on_us: bool) -> bool {
    let field = if on_us {
        field.split(|&b| b == b'/').next().unwrap_or(field)
    } else {
        field
    };
    validate::us_account_printed(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{classify, in_chunks};

    /// A record of `fields` (ASCII), blank-filled to `len`.
    fn record(fields: &str, len: usize) -> Vec<u8> {
        let mut r = fields.as_bytes().to_vec();
        r.resize(len.max(r.len()), b' ');
        r
    }

    /// An image cash letter as a bank's capture system writes one: a file header, a cash
    /// letter and a bundle, `checks` checks (each a detail record, its addendum A, an image
    /// view detail and the image's data, whose bytes hold digits that look like routing
    /// numbers), one return with its addendum, the controls. Every fourth check's payor
    /// routing number fails its checksum; every third check's addendum has no deposit
    /// account. Length-framed, EBCDIC or ASCII, or (`lines`) ASCII records one per line
    /// without images. Its truth: routing numbers and accounts.
    fn letter(checks: usize, ebcdic: bool, lines: bool) -> (Vec<u8>, u64, u64) {
        let routings = ["021000021", "011000015", "026009593", "121000248"];
        let mut records: Vec<Vec<u8>> = Vec::new();
        let (mut routing_numbers, mut accounts) = (0, 0);
        records.push(record(
            "0103T0610001460260731502026120509 11NBANK OF DEPOSIT   FED",
            80,
        ));
        records.push(record(
            "100106100014602607315020261205202612050911IG74753",
            80,
        ));
        records.push(record("2001061000146026073150202612052026120574753", 80));
        for i in 0..checks {
            let near = i % 4 == 3;
            let routing = if near { "021000022" } else { routings[i % 4] };
            let account = format!("{}-{:06}", 1211 + i, 100 + i);
            let on_us = format!("{account}/{:04}", 1000 + i);
            records.push(record(
                &format!(
                    "25{:>15} {routing}{on_us:>20}{:010}{:>15}G01Y",
                    "",
                    12_500 + i,
                    i
                ),
                80,
            ));
            if !near {
                routing_numbers += 1;
                accounts += 1;
            }
            let deposit = if i % 3 == 2 {
                String::new()
            } else {
                format!("{:010}", 4_000_000 + i)
            };
            records.push(record(
                &format!("261026073150202612051{i:>14}{deposit:<18}00029TEST PAYEE     Y20"),
                80,
            ));
            routing_numbers += 1;
            accounts += u64::from(!deposit.is_empty());
            if !lines {
                records.push(record("50102026120500000000000000000", 80));
                // The image: a TIFF's header, then bytes that a scanner would read as numbers.
                let mut image = record("52026073150202612050000000000000001", 117);
                image.extend_from_slice(b"II*\0");
                image.extend(b"021000021 12345678 ".iter().cycle().take(3000));
                records.push(image);
            }
        }
        records.push(record(
            "31021000021            5558881/000100000012345A",
            80,
        ));
        records.push(record("321021000021202612051              938383", 80));
        routing_numbers += 2;
        accounts += 2;
        records.push(record("70000100000000000000000000000001", 80));
        records.push(record("9000000100000001000000000000000001", 80));
        records.push(record("9900000001000000010000000100000000000000000001", 80));
        let mut file = Vec::new();
        for r in records {
            let r = if ebcdic {
                crate::encoding::ebcdic(&r)
            } else {
                r
            };
            if lines {
                file.extend_from_slice(&r);
                file.extend_from_slice(b"\r\n");
            } else {
                file.extend_from_slice(&(r.len() as u32).to_be_bytes());
                file.extend_from_slice(&r);
            }
        }
        (file, routing_numbers, accounts)
    }

    fn counts(found: &Classification) -> (u64, u64) {
        (
            found.counts.get(Class::AbaRouting),
            found.counts.get(Class::UsBankAccount),
        )
    }

    /// Each check's payor routing number and its on-us account, its addendum's bank of first
    /// deposit and deposit account, the return's; not the near misses, the headers' banks or
    /// the images' bytes. EBCDIC and ASCII, length-framed and by lines, in any chunks.
    #[test]
    fn checks_count_their_routing_numbers_and_accounts() {
        for (ebcdic, lines) in [(true, false), (false, false), (false, true)] {
            let (file, routing, accounts) = letter(12, ebcdic, lines);
            assert!(magic(&file), "{ebcdic} {lines}");
            assert_eq!((routing, accounts), (9 + 12 + 2, 9 + 8 + 2));
            for size in [1, 3, 80, 4096, file.len()] {
                let found = in_chunks(&file, size);
                assert_eq!(found.formats, vec![Format::X937], "{ebcdic} {lines} {size}");
                assert_eq!(
                    counts(&found),
                    (routing, accounts),
                    "{ebcdic} {lines} {size}"
                );
            }
        }
    }

    /// A file cut inside a record is read in part, its records before counted; a record whose
    /// length is under two bytes ends the reading there. A length of 4 GiB keeps no more than
    /// a record's first bytes.
    #[test]
    fn damage_is_read_in_part() {
        let (file, _, _) = letter(4, true, false);
        let cut = classify(&file[..file.len() - 10]);
        assert_eq!(cut.formats, vec![Format::X937, Format::ScannedInPart]);
        assert_eq!(counts(&cut), (3 + 4 + 2, 3 + 3 + 2));
        let mut zero = file[..(4 + 80) * 3].to_vec();
        zero.extend_from_slice(&[0, 0, 0, 0]);
        zero.extend_from_slice(&file[(4 + 80) * 3..]);
        let damaged = classify(&zero);
        assert_eq!(damaged.formats, vec![Format::X937, Format::ScannedInPart]);
        assert_eq!(counts(&damaged), (0, 0));
        let mut huge = file[..(4 + 80) * 3].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend(std::iter::repeat_n(b'2', 1 << 20));
        let mut reader = ImageCashLetter::new(&huge);
        for piece in huge.chunks(64 << 10) {
            reader.feed(piece);
            assert!(reader.held_bytes() <= KEPT);
        }
        assert_eq!(
            reader.finish().formats,
            vec![Format::X937, Format::ScannedInPart]
        );
    }

    /// Only a file header opens one: text that begins with `01`, a header with letters for
    /// its routing number, a line of another length are read as text.
    #[test]
    fn only_a_file_header_is_one() {
        let (file, _, _) = letter(1, false, true);
        assert!(magic(&file));
        assert!(!magic(b"01 January 2026: ABA 021000021\n"));
        let mut letters = file.clone();
        letters[5..14].copy_from_slice(b"ABCDEFGHI");
        assert!(!magic(&letters));
        let mut long = file.clone();
        long.insert(40, b' ');
        assert!(!magic(&long));
        assert!(!magic(&crate::encoding::ebcdic(&file)));
    }
}
