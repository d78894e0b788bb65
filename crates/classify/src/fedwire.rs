//! Fedwire Funds Service messages in the Fedwire Application Interface Manual's tagged format
//! (FAIM: `{1510}1000{2000}000001234567{3100}121042882WELLS SF*…`), as US banks' wire rooms,
//! their correspondents and their archives hold them: each field a tag of four digits in
//! braces, its elements after it, variable ones ended by `*`. A message's parties name
//! themselves by an identification code and an identifier glued together (`{4200}D12345678*`),
//! which no word names, so the text's scan counts none of them; they are read here, beside it
//! ([`Messages`]), by their tags and codes:
//!
//! - the sender's and receiver's institutions (`{3100}`, `{3400}`): their ABA routing numbers;
//! - the parties (`{4000}` intermediary, `{4100}` beneficiary's institution, `{4200}`
//!   beneficiary, `{4400}` account debited in a drawdown, `{5000}` originator, `{5100}`
//!   originator's institution, `{5200}` instructing institution): code `F` a routing number,
//!   `D` a demand deposit account number, `B` a BIC;
//! - the originator in option F (`{5010}`): an account after a slash, a social security
//!   number after `SOSE/`.
//!
//! Routing numbers count where the checksum holds, BICs where their structure does; account
//! numbers of a US account's form count as accounts at the message's banks, at most one per
//! routing number it names (as an ISO 20022 message's). Named `fedwire`.
//!
//! Pure: bytes in, counts out; a field's elements are kept to [`KEPT`] bytes.

use crate::Distinct;
use crate::scan::{Class, Counts};
use crate::validate;

/// Bytes of a field kept: a code, an identifier of 34 and its `*`.
const KEPT: usize = 40;

/// Whether a text's first bytes are Fedwire messages: the first non-blank bytes are the tag
/// of a message's sender-supplied information or type (`{1500}`, `{1510}`), and the head
/// holds the message's accountability data (`{1520}`).
pub(crate) fn magic(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let first = &head[start..];
    (first.starts_with(b"{1500}") || first.starts_with(b"{1510}"))
        && memchr::memmem::find(head, b"{1520}").is_some()
}

/// Where the reading of tags is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Between fields (or in a field not read).
    Outside,
    /// A tag's digits after its `{`: the value so far, and how many.
    Tag(u16, u8),
    /// A read field's elements (kept in `field`).
    Field(u16),
}

/// Fedwire messages read beside a text's scan.
pub(crate) struct Messages {
    at: At,
    field: Vec<u8>,
    /// The message being read: routing numbers and accounts found so far.
    routings: u64,
    accounts: u64,
    /// Their values sketched, until the message's end counts them.
    message: Distinct,
    counts: Counts,
    distinct: Distinct,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            at: At::Outside,
            field: Vec::with_capacity(KEPT),
            routings: 0,
            accounts: 0,
            message: Distinct::default(),
            counts: Counts::default(),
            distinct: Distinct::default(),
        }
    }
}

/// Whether a tag's field is read: the institutions' and the parties'.
fn read(tag: u16) -> bool {
    matches!(
        tag,
        3100 | 3400 | 4000 | 4100 | 4200 | 4400 | 5000 | 5010 | 5100 | 5200
    )
}

impl Messages {
    pub(crate) fn feed(&mut self, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            match self.at {
                At::Outside => match memchr::memchr(b'{', &data[i..]) {
                    Some(p) => {
                        self.at = At::Tag(0, 0);
                        i += p + 1;
                    }
                    None => return,
                },
                At::Tag(value, n) => {
                    let c = data[i];
                    i += 1;
                    self.at = match (c, n) {
                        (b'0'..=b'9', 0..=3) => At::Tag(value * 10 + u16::from(c - b'0'), n + 1),
                        (b'}', 4) => self.tag(value),
                        (b'{', _) => At::Tag(0, 0),
                        _ => At::Outside,
                    };
                }
                At::Field(tag) => {
                    // A field ends at the next tag or a line's end.
                    let rest = &data[i..];
                    let end = rest.iter().position(|&c| matches!(c, b'{' | b'\n' | b'\r'));
                    let part = &rest[..end.unwrap_or(rest.len())];
                    let room = KEPT - self.field.len().min(KEPT);
                    self.field.extend_from_slice(&part[..room.min(part.len())]);
                    i += part.len();
                    if end.is_some() {
                        self.field_end(tag);
                        self.at = At::Outside;
                    }
                }
            }
        }
    }

    /// A tag read: a new message at its type (`{1510}`), a field to read, or one passed over.
    fn tag(&mut self, tag: u16) -> At {
        if tag == 1510 {
            self.message_end();
        }
        if read(tag) {
            self.field.clear();
            At::Field(tag)
        } else {
            At::Outside
        }
    }

    /// A read field's elements: what they name.
    fn field_end(&mut self, tag: u16) {
        let f = std::mem::take(&mut self.field);
        if matches!(tag, 3100 | 3400) {
            // The institution's routing number, then its short name.
            if let Some(routing) = f.get(..9).filter(|r| validate::aba_routing(r)) {
                self.routings += 1;
                self.message.insert(Class::AbaRouting, routing);
            }
        } else if tag == 5010 {
            let id = &f[..f.iter().position(|&c| c == b'*').unwrap_or(f.len())];
            self.party_identifier(id.trim_ascii());
        } else if let Some((&code, rest)) = f.split_first() {
            let id = &rest[..rest.iter().position(|&c| c == b'*').unwrap_or(rest.len())];
            let id = id.trim_ascii();
            match code {
                b'F' if validate::aba_routing(id) => {
                    self.routings += 1;
                    self.message.insert(Class::AbaRouting, id);
                }
                b'D' if validate::us_account_printed(id) => self.account(id),
                b'B' if validate::bic(id) => {
                    self.counts.add(Class::SwiftBic, 1);
                    self.distinct.insert(Class::SwiftBic, id);
                }
                _ => {}
            }
        }
        self.field = f;
        self.field.clear();
    }

    /// The originator's party identifier in option F (`{5010}`, as SWIFT's field 50F): an
    /// account after a slash (`/12345678`), or a code, a slash, perhaps a country and a slash,
    /// and the identifier (`SOSE/US/123456789`: a social security number). An SSN printed
    /// `123-45-6789` is counted by the text's scan, as anywhere: not again here.
    fn party_identifier(&mut self, id: &[u8]) {
        if let Some(number) = id.strip_prefix(b"/") {
            if validate::us_account_printed(number) {
                self.account(number);
            }
            return;
        }
        let Some(rest) = id.strip_prefix(b"SOSE/") else {
            return;
        };
        let ssn = match rest {
            [a, b, b'/', number @ ..] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                number
            }
            _ => rest,
        };
        let groups: Vec<usize> = ssn
            .split(|&c| c == b'-' || c == b' ')
            .map(<[u8]>::len)
            .collect();
        let digits: Vec<u8> = ssn.iter().copied().filter(u8::is_ascii_digit).collect();
        let other = ssn
            .iter()
            .any(|&c| !(c.is_ascii_digit() || c == b'-' || c == b' '));
        if !other
            && groups != [3, 2, 4]
            && digits.len() == 9
            && validate::us_ssn(&digits[..3], &digits[3..5], &digits[5..])
        {
            self.counts.add(Class::UsSsn, 1);
            self.distinct.insert_digits(Class::UsSsn, ssn);
        }
    }

    /// An account number (printed: its digits are its value).
    fn account(&mut self, printed: &[u8]) {
        self.accounts += 1;
        self.message.insert_digits(Class::UsBankAccount, printed);
    }

    /// A message's end: its routing numbers, and its accounts as far as they name banks.
    fn message_end(&mut self) {
        self.counts.add(Class::AbaRouting, self.routings);
        let accounts = self.accounts.min(self.routings);
        self.counts.add(Class::UsBankAccount, accounts);
        let message = std::mem::take(&mut self.message);
        self.distinct
            .merge_as(&message, Class::AbaRouting, self.routings);
        if accounts > 0 {
            self.distinct
                .merge_as(&message, Class::UsBankAccount, accounts);
        }
        self.routings = 0;
        self.accounts = 0;
    }

    pub(crate) fn finish(mut self) -> (Counts, Distinct) {
        if let At::Field(tag) = self.at {
            self.field_end(tag);
        }
        self.message_end();
        (self.counts, self.distinct)
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.field.capacity() + self.message.held_bytes() + self.distinct.held_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::scan::{classify, in_chunks};

    /// A customer transfer: the sender's and receiver's routing numbers, the beneficiary's
    /// institution by its routing number (`F`), the beneficiary's and the originator's
    /// accounts (`D`), the originator's institution by its BIC (`B`).
    fn transfer(i: usize, receiver: &str) -> String {
        format!(
            "{{1500}}30MSG{i:05}P {{1510}}1000{{1520}}20261205QMGFT015{i:06}{{2000}}000001234567\
             {{3100}}121000248WELLS SF*{{3400}}{receiver}JPMCHASE NYC*{{3600}}CTR*\
             {{4100}}F026009593*CITIBANK NA*{{4200}}D{account}*JOHN DOE*123 MAIN ST*\
             {{5000}}D1211-{i:06}*ACME CORP*{{5100}}BCHASUS33*JPMORGAN*{{6000}}INVOICE {i}*\n",
            account = 40_000_000 + i,
        )
    }

    /// Messages one per line, each counted by its tags; the text's own classes beside them.
    /// The same in any chunks, and with every message on one line or its tags on lines of
    /// their own (as programs print them).
    #[test]
    fn messages_count_their_parties_by_their_codes() {
        let mut text = String::new();
        for i in 0..20 {
            // Every fifth receiver's routing number fails its checksum.
            text.push_str(&transfer(
                i,
                if i % 5 == 4 { "021000022" } else { "021000021" },
            ));
        }
        let found = classify(text.as_bytes());
        assert_eq!(found.formats, vec![Format::Fedwire]);
        assert_eq!(found.counts.get(Class::AbaRouting), 20 * 3 - 4);
        assert_eq!(found.counts.get(Class::UsBankAccount), 20 * 2);
        assert_eq!(found.counts.get(Class::SwiftBic), 20);
        for size in [1, 2, 5, 64, 4096] {
            assert_eq!(
                in_chunks(text.as_bytes(), size).counts,
                found.counts,
                "{size}"
            );
        }
        let one_line = text.replace('\n', "");
        assert_eq!(classify(one_line.as_bytes()).counts, found.counts);
        let tag_lines = text.replace("{", "\n{");
        assert_eq!(classify(tag_lines.as_bytes()).counts, found.counts);
    }

    /// A message's accounts count no further than the routing numbers that name its banks;
    /// identifiers of other codes (a tax id, `2`) and malformed tags count nothing.
    #[test]
    fn accounts_need_banks_and_codes_name_what_counts() {
        let text = "{1510}1000{1520}20261205X{3100}12100024X*{4200}D12345678*{5000}D87654321*\n";
        let found = classify(text.as_bytes());
        assert_eq!(found.formats, vec![Format::Fedwire]);
        assert!(found.counts.is_empty(), "{found:?}");
        let text = "{1510}1000{1520}20261205X{3400}021000021X*{4200}D12345678*\
                    {5000}D87654321*{4000}2123456789*{5200}F{99}021000021*\n";
        // The originator in option F: an account after a slash; an SSN after `SOSE/`, with a
        // country or not, once (a dashed one is the text's).
        let option_f = |id: &str| {
            let text =
                format!("{{1510}}1000{{1520}}2026X{{3400}}021000021X*{{5010}}{id}*1/NAME*\n");
            classify(text.as_bytes()).counts
        };
        assert_eq!(option_f("/12345678").get(Class::UsBankAccount), 1);
        assert_eq!(option_f("SOSE/US/234567890").get(Class::UsSsn), 1);
        assert_eq!(option_f("SOSE/234567890").get(Class::UsSsn), 1);
        assert_eq!(option_f("SOSE/US/234-56-7890").get(Class::UsSsn), 1);
        assert_eq!(option_f("SOSE/666000000").get(Class::UsSsn), 0);
        assert_eq!(option_f("TXID/234567890").get(Class::UsSsn), 0);
        let found = classify(text.as_bytes());
        assert_eq!(found.counts.get(Class::AbaRouting), 1);
        assert_eq!(found.counts.get(Class::UsBankAccount), 1);
        // Not Fedwire: JSON, a text that mentions a tag.
        assert!(!magic(b"{\"a\": 1}"));
        assert!(!magic(b"see {1510} in the manual"));
    }
}
