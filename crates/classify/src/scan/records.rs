//! Bank formats whose records are read by position beside the scan of their text: NACHA entry
//! details' routing and account fields, BAI2's reporting bank and its accounts. Never here:
//! recognising the format (`crate::format`).

use super::{RECORD, Scanner, joined};
use crate::scan::Class;
use crate::validate;

impl Scanner {
    /// The end of a record of a format read by position: its bytes in this text are `line`
    /// (after those the last texts held, if it began there).
    pub(super) fn record_end(&mut self, records: Records, line: &[u8]) {
        let mut buf = [0u8; RECORD];
        let r = if self.record_len == 0 {
            &line[..line.len().min(RECORD)]
        } else {
            let n = line.len().min(RECORD - self.record_len);
            joined(&mut buf, &self.record[..self.record_len], &line[..n])
        };
        match records {
            Records::Nacha => self.nacha_record(r),
            Records::Bai2 => self.bai2_record(r),
        }
        self.record_len = 0;
    }

    /// A NACHA entry detail record ('6'): the receiving bank's routing number (8 digits and
    /// its check digit, positions 4-12) and, beside a valid one, the receiver's account number
    /// (positions 13-29, left-justified, blank-filled).
    fn nacha_record(&mut self, r: &[u8]) {
        if r.len() >= 12 && r[0] == b'6' && validate::aba_routing(&r[3..12]) {
            self.found(Class::AbaRouting, &r[3..12]);
            let field = &r[12..r.len().min(29)];
            if validate::us_account_field(field) {
                self.counts.add(Class::UsBankAccount, 1);
                self.distinct.insert_digits(Class::UsBankAccount, field);
            }
        }
    }

    /// A BAI2 record: the file header's sender (`01`, its first field) and a group header's
    /// originator (`02`, its second) are the reporting bank's routing number; an account
    /// identifier record's account number (`03`, its first field) is an account at the group's
    /// originator, counted when that is a valid routing number. A group trailer (`98`) ends
    /// the group.
    fn bai2_record(&mut self, r: &[u8]) {
        // Most records are of other types: told by their first three bytes.
        if !matches!(r.get(..3), Some(b"01," | b"02," | b"03," | b"98,")) {
            return;
        }
        match &r[..2] {
            b"01" if validate::aba_routing(bai2_field(r, 1)) => {
                self.found(Class::AbaRouting, bai2_field(r, 1));
            }
            b"02" => {
                self.bai2_bank = validate::aba_routing(bai2_field(r, 2));
                if self.bai2_bank {
                    self.found(Class::AbaRouting, bai2_field(r, 2));
                }
            }
            b"03" if self.bai2_bank && validate::us_account(bai2_field(r, 1)) => {
                self.found(Class::UsBankAccount, bai2_field(r, 1));
            }
            b"98" => self.bai2_bank = false,
            _ => {}
        }
    }
}

/// Field `n` of a BAI2 record (`0` is the record's type), without the blanks around it and the
/// `/` that ends a record; empty when the record has fewer fields.
fn bai2_field(record: &[u8], n: usize) -> &[u8] {
    let mut rest = record;
    for _ in 0..n {
        match rest.iter().position(|&b| b == b',') {
            Some(p) => rest = &rest[p + 1..],
            None => return &[],
        }
    }
    let end = rest
        .iter()
        .position(|&b| b == b',' || b == b'/')
        .unwrap_or(rest.len());
    rest[..end].trim_ascii()
}

/// Formats whose records are also read by position, beside the scan of their text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Records {
    /// NACHA ACH: 94-byte records, the entries' routing and account fields.
    Nacha,
    /// BAI2 balance reporting: comma-separated records, the reporting bank's routing number
    /// and its customers' account numbers.
    Bai2,
}
