//! ASC X12 EDI interchanges (`ISA` … `IEA`): the payment orders and remittance advices US
//! banks and their customers exchange (820), lockbox deposits (823), health care claim
//! payments (835), benefit enrollments (834). X12 names a number by a qualifier in the element
//! before it, not by a word a scanner reads beside it, so the interchange is read segment by
//! segment beside the file's scanner (which still finds what names itself: an IBAN, an
//! e-mail address in a contact's `PER` segment):
//! - a payment's `BPR` segment: the originating bank's routing number after the qualifier
//!   `01` (ABA) and its account after an account qualifier (`DA` demand deposit, `SG`
//!   savings, `03` checking; BPR06-BPR09), the receiving bank's likewise (BPR12-BPR15);
//! - a US Social Security number of nine bare digits after the qualifier `34` in a name's
//!   `NM1` (NM108, NM109) or `N1` (N103, N104) segment, or as a `REF` segment's reference of
//!   type `SY` (a member's or a claim's identifier of nine digits is none).
//!
//! The interchange's header (`ISA`, fixed at 106 bytes by the standard, read by its separators
//! here) says which bytes separate elements and end segments; its first transaction set's
//! `ST` segment names the format (`x12:820`).
//!
//! Pure and bounded: bytes in any chunks; a segment's first [`MAX_SEGMENT`] bytes are kept
//! (the elements read are within its first hundred). Never here: the text's other classes
//! (the scanner's).

use crate::scan::{Class, Counts};
use crate::validate;

/// Most bytes of a segment kept.
const MAX_SEGMENT: usize = 512;
/// Elements of the `ISA` segment (its last is the component separator).
const ISA_ELEMENTS: usize = 16;

/// What an interchange's header says: its separators, and its first transaction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub element: u8,
    pub terminator: u8,
    pub transaction: Option<u16>,
}

/// The header of the interchange `head` begins with (a byte order mark and white space
/// before it allowed), if it is one.
pub(crate) fn header(head: &[u8]) -> Option<Header> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let head = head.trim_ascii_start();
    let rest = head.strip_prefix(b"ISA")?;
    let element = *rest.first()?;
    if element.is_ascii_alphanumeric() || element.is_ascii_whitespace() {
        return None;
    }
    // The 16th separator, then the component separator, then the segment's terminator.
    let (at, _) = rest
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == element)
        .nth(ISA_ELEMENTS - 1)?;
    let terminator = *rest.get(at + 2)?;
    if terminator.is_ascii_alphanumeric() || terminator == element || terminator == b' ' {
        return None;
    }
    // Its first transaction set's identifier: `ST*820*0001`.
    let transaction = head
        .split(|b| *b == terminator)
        .map(|s| s.trim_ascii_start())
        .find(|s| s.starts_with(b"ST") && s.get(2) == Some(&element))
        .and_then(|s| s.get(3..6))
        .filter(|id| id.iter().all(u8::is_ascii_digit))
        .and_then(|id| std::str::from_utf8(id).ok()?.parse().ok());
    Some(Header {
        element,
        terminator,
        transaction,
    })
}

/// An interchange being read, segment by segment.
pub(crate) struct Interchange {
    element: u8,
    terminator: u8,
    /// The segment under way (its first [`MAX_SEGMENT`] bytes).
    segment: Vec<u8>,
    counts: Counts,
    distinct: crate::Distinct,
}

impl Interchange {
    pub(crate) fn new(header: Header) -> Self {
        Interchange {
            element: header.element,
            terminator: header.terminator,
            segment: Vec::new(),
            counts: Counts::default(),
            distinct: crate::Distinct::default(),
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.segment) + self.distinct.held_bytes()
    }

    /// The interchange's next bytes.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match memchr::memchr(self.terminator, data) {
                Some(end) => {
                    self.keep(&data[..end]);
                    let segment = std::mem::take(&mut self.segment);
                    self.segment_ended(&segment);
                    self.segment = segment;
                    self.segment.clear();
                    data = &data[end + 1..];
                }
                None => {
                    self.keep(data);
                    data = &[];
                }
            }
        }
    }

    /// What its segments held (a segment the file ends in, without its terminator, too).
    pub(crate) fn finish(mut self) -> (Counts, crate::Distinct) {
        let segment = std::mem::take(&mut self.segment);
        self.segment_ended(&segment);
        (self.counts, self.distinct)
    }

    fn keep(&mut self, data: &[u8]) {
        let room = MAX_SEGMENT - self.segment.len();
        self.segment
            .extend_from_slice(&data[..data.len().min(room)]);
    }

    /// A whole segment (line ends between segments, as many writers put them, aside).
    fn segment_ended(&mut self, segment: &[u8]) {
        let segment = segment.trim_ascii();
        let mut elements = [&b""[..]; 16];
        for (slot, e) in elements
            .iter_mut()
            .zip(segment.split(|b| *b == self.element))
        {
            *slot = e;
        }
        match elements[0] {
            // The originating and the receiving bank: a routing number after `01`, its
            // account after an account qualifier.
            b"BPR" => {
                for at in [6, 12] {
                    self.bank_account(
                        elements[at],
                        elements[at + 1],
                        elements[at + 2],
                        elements[at + 3],
                    );
                }
            }
            b"NM1" if elements[8] == b"34" => self.ssn(elements[9]),
            b"N1" if elements[3] == b"34" => self.ssn(elements[4]),
            b"REF" if elements[1] == b"SY" => self.ssn(elements[2]),
            _ => {}
        }
    }

    fn bank_account(&mut self, qualifier: &[u8], routing: &[u8], kind: &[u8], account: &[u8]) {
        if qualifier != b"01" || !validate::aba_routing(routing) {
            return;
        }
        self.counts.add(Class::AbaRouting, 1);
        self.distinct.insert(Class::AbaRouting, routing);
        if !kind.is_empty() && validate::us_account(account) {
            self.counts.add(Class::UsBankAccount, 1);
            self.distinct.insert(Class::UsBankAccount, account);
        }
    }

    /// A Social Security number of nine bare digits (one printed in its groups, `234-56-7890`,
    /// names itself: the scanner counts it).
    fn ssn(&mut self, id: &[u8]) {
        if id.len() == 9 && validate::us_ssn(&id[..3], &id[3..5], &id[5..]) {
            self.counts.add(Class::UsSsn, 1);
            self.distinct.insert(Class::UsSsn, id);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use proptest::prelude::*;

    /// A payment order as a corporate's ERP sends one to its bank (`*` between elements, `~`
    /// after segments, a line end after each as many write them): a payment from one account
    /// to another, a second whose routing number's checksum fails, payees' SSNs (and a member's
    /// identifier of nine digits, `MI`, which is none).
    pub(crate) const PAYMENT_ORDER: &str = concat!(
        "ISA*00*          *00*          *ZZ*ACMECORP       *ZZ*FIRSTBANK      *261205*1200*U*00401*000000101*0*P*>~\n",
        "GS*RA*ACMECORP*FIRSTBANK*20261205*1200*101*X*004010~\n",
        "ST*820*0001~\n",
        "BPR*C*15000.00*C*ACH*CCP*01*021000021*DA*123456789*1234567890**01*011000015*DA*987654321*20261207~\n",
        "TRN*1*REF0001~\n",
        "N1*PR*ACME CORPORATION~\n",
        "N1*PE*JOHN DOE*34*123456789~\n",
        "PER*IC*ACCOUNTS PAYABLE*EM*ap@acme.example~\n",
        "ENT*1~\n",
        "NM1*QE*1*DOE*JANE****34*234-56-7890~\n",
        "NM1*QC*1*ROE*RICHARD****MI*456789012~\n",
        "REF*SY*345678901~\n",
        "REF*SY*666123456~\n",
        "RMR*IV*INV-1001**15000.00~\n",
        "SE*12*0001~\n",
        "ST*820*0002~\n",
        "BPR*C*99.00*C*ACH*CCP*01*021000022*DA*555555555*1234567890~\n",
        "SE*3*0002~\n",
        "GE*2*101~\n",
        "IEA*1*000000101~\n",
    );

    fn counted(text: &[u8], chunk: usize) -> Counts {
        let mut x = Interchange::new(header(text).unwrap());
        for c in text.chunks(chunk) {
            x.feed(c);
        }
        x.finish().0
    }

    #[test]
    fn a_payment_orders_banks_and_payees_count() {
        let h = header(PAYMENT_ORDER.as_bytes()).unwrap();
        assert_eq!(
            h,
            Header {
                element: b'*',
                terminator: b'~',
                transaction: Some(820)
            }
        );
        for chunk in [1, 2, 7, 64, 4096] {
            let c = counted(PAYMENT_ORDER.as_bytes(), chunk);
            assert_eq!(c.get(Class::AbaRouting), 2, "{chunk}");
            assert_eq!(c.get(Class::UsBankAccount), 2, "{chunk}");
            // John Doe's and the REF's (area 666 is none; Jane Doe's, printed in its groups,
            // is the scanner's).
            assert_eq!(c.get(Class::UsSsn), 2, "{chunk}");
        }
        // Other separators, no line ends, the last segment without its terminator.
        let other = PAYMENT_ORDER
            .replace('\n', "")
            .replace('*', "|")
            .replace('~', "\u{1c}")
            .replace(">\u{1c}", "^\u{1c}");
        let other = other.strip_suffix('\u{1c}').unwrap();
        assert_eq!(
            header(other.as_bytes()).map(|h| (h.element, h.terminator)),
            Some((b'|', 0x1C))
        );
        assert_eq!(
            counted(other.as_bytes(), 5),
            counted(PAYMENT_ORDER.as_bytes(), 4096)
        );
    }

    /// The scanner of a file that is an interchange adds what its segments name to what it
    /// finds itself (the contact's e-mail address), and counts nothing twice.
    #[test]
    fn a_file_that_is_an_interchange_counts_its_segments() {
        for chunk in [1, 3, 64, 1 << 20] {
            let found = crate::scan::in_chunks(PAYMENT_ORDER.as_bytes(), chunk);
            assert_eq!(
                found.formats,
                vec![crate::Format::X12(Some(820))],
                "{chunk}"
            );
            let mut want = counted(PAYMENT_ORDER.as_bytes(), 4096);
            want.add(Class::Email, 1);
            want.add(Class::UsSsn, 1);
            assert_eq!(found.counts, want, "{chunk}");
        }
        // Segments on one line and in chunks carried over (a long interchange).
        let long = PAYMENT_ORDER.replace('\n', "").repeat(2000);
        let found = crate::scan::in_chunks(long.as_bytes(), 65536);
        assert_eq!(found.counts.get(Class::AbaRouting), 4000);
        assert_eq!(found.counts.get(Class::UsSsn), 6000);
    }

    #[test]
    fn only_an_interchange_has_a_header() {
        assert!(header(b"ISA*00*short~").is_none());
        assert!(header(b"ISA 00 something else entirely").is_none());
        assert!(header(b"name,routing\nISA,1\n").is_none());
        let unpadded =
            b"\xEF\xBB\xBF\r\nISA*00**00**ZZ*A*ZZ*B*261205*1200*U*00401*1*0*P*:~ST*835*1~";
        assert_eq!(
            header(unpadded),
            Some(Header {
                element: b'*',
                terminator: b'~',
                transaction: Some(835)
            })
        );
    }

    proptest! {
        /// Any bytes after a header, in any chunks: no panic, the same counts.
        #[test]
        fn any_segments_in_any_chunks(
            body in proptest::collection::vec(
                proptest::sample::select(vec!["BPR", "*", "~", "01", "021000021", "DA", "123456789", "NM1", "34", "REF", "SY", "\n", "x"]),
                0..200,
            ),
            cut in 1usize..40,
        ) {
            let text = format!("{}{}", &PAYMENT_ORDER[..107], body.concat());
            let whole = counted(text.as_bytes(), text.len());
            prop_assert_eq!(counted(text.as_bytes(), cut), whole);
        }
    }
}
