//! Numbers: a run of digits and its groups told as a candidate (a card, an SSN, a routing
//! number printed or bare), decided by the context that names it, else weighed with its
//! column's (card-length numbers, a headerless table's nine-digit ones). Never here: words
//! and addresses.

use super::{
    CARD, MAX_COLUMN_EVIDENCE, MIN_COLUMN_ALL_VALID, MIN_COLUMN_CANDIDATES, ROUTING, SSN, Scanner,
};
use crate::account;
use crate::bitmap::Bitmap;
use crate::scan::Class;
use crate::validate;

impl Scanner {
    /// A run of digits from `at`, where a run of letters and digits starts (groups joined by
    /// single spaces or dashes); returns where it ends, and whether it was skipped to there
    /// (glued to what precedes or follows it, or longer than any candidate: then letters may be
    /// in what it skipped, as in `57A`).
    pub(super) fn digits(&mut self, seg: &[u8], m: &Bitmap, at: usize) -> (usize, bool) {
        debug_assert!(at == 0 || !seg[at - 1].is_ascii_alphanumeric());
        // Part of a longer number (`1.5`): not a candidate.
        let glued = at > 0 && seg[at - 1] == b'.';
        let first_end = m.digits_end(at);
        if !joins_group(seg, first_end) {
            // One group, as most numbers are: decided by its length.
            if glued || glued_after(seg, first_end) || first_end - at > 19 {
                return (skip_alnum(seg, first_end), true);
            }
            self.single_number(seg, m, at, &seg[at..first_end]);
            return (first_end, false);
        }
        // A first group of a candidate's length begins no printed form: a number of its own,
        // and the groups after it theirs (a routing number and its account one blank apart in
        // a fixed-width record, `021000021 12345678`; a card number and its code,
        // `4111111111111111 123`).
        if !glued && matches!(first_end - at, 9 | 13..=19) {
            self.single_number(seg, m, at, &seg[at..first_end]);
            return (first_end, false);
        }
        // Groups joined by single separators of one kind (spaces or dashes), at most five.
        let mut groups = [0u8; 5];
        let mut starts = [0usize; 5];
        groups[0] = (first_end - at).min(255) as u8;
        starts[0] = at;
        let mut ngroups = 1;
        let mut len = first_end - at;
        let sep = seg[first_end];
        let mut i = first_end + 1;
        loop {
            let end = m.digits_end(i);
            len += end - i;
            groups[ngroups] = (end - i).min(255) as u8;
            starts[ngroups] = i;
            ngroups += 1;
            i = end;
            if ngroups < groups.len() && joins_group(seg, i) && seg[i] == sep {
                i += 1;
                continue;
            }
            break;
        }
        if glued || glued_after(seg, i) || len > 19 {
            return (skip_alnum(seg, i), true);
        }
        let g = &groups[..ngroups];
        // The digits without their separators, gathered only for a shape worth validating.
        let mut gathered = [0u8; 19];
        match g {
            [3, 2, 4] => {
                let [area, group, serial] =
                    [(0, 3), (1, 2), (2, 4)].map(|(g, n)| &seg[starts[g]..starts[g] + n]);
                if validate::us_ssn(area, group, serial) {
                    self.counts.add(Class::UsSsn, 1);
                    self.distinct.insert_digits(Class::UsSsn, &seg[at..i]);
                }
            }
            // A card number printed in groups (13 to 19 digits) counts without a context.
            [4, 6, 5] | [4, 6, 4] | [4, 4, 4, 4] | [4, 4, 4, 4, 1..=3] | [4, 4, 4, 1..=4] => {
                let number = gather(seg, &starts[..ngroups], g, &mut gathered);
                if validate::card_number_of_digits(number) {
                    self.found(Class::CardNumber, number);
                }
            }
            _ => {}
        }
        (i, false)
    }

    /// A number of one group at `at` (`number`: its digits, at most 19): nine digits are a
    /// routing number or an SSN where the context names one; 13 to 19 a card number where the
    /// context names one, else weighed in its column.
    fn single_number(&mut self, seg: &[u8], m: &Bitmap, at: usize, number: &[u8]) {
        match number.len() {
            9 | 13..=19 if self.workbook_value(seg, at, number.len()) => {}
            9 => {
                if self.statement_account(seg, m, at, number) {
                    return;
                }
                let context = self.context_at(seg, m, at, ROUTING);
                if context & ROUTING != 0 && validate::aba_routing(number) {
                    self.found(Class::AbaRouting, number);
                    self.account_beside(seg, m, at, at + 9, context);
                } else if context & SSN != 0
                    && validate::us_ssn(&number[..3], &number[3..5], &number[5..])
                {
                    self.found(Class::UsSsn, number);
                } else if context == 0 && self.table {
                    // A table whose first line holds such a number has no header.
                    self.headerless |= self.first_line;
                    if self.headerless {
                        self.routing_evidence(seg, m, at, number);
                    }
                } else if context == 0 && self.prose() {
                    // Text that is no table, format or markup: its lines' columns are their
                    // places in the line (a core system's fixed-width extract).
                    self.routing_evidence(seg, m, at, number);
                }
            }
            8 if self.zeros_dropped => self.number_without_its_zero(seg, m, at, number),
            13..=19 => {
                // A card's magnetic stripe, track 2 (`;4111111111111111=2712…?`): the start
                // sentinel, the card number, the separator. The stripe is the card.
                if seg.get(at + number.len()) == Some(&b'=')
                    && self.byte_before(seg, at) == Some(b';')
                {
                    if validate::card_number_of_digits(number) {
                        self.found(Class::CardNumber, number);
                    }
                    return;
                }
                if self.context_at(seg, m, at, CARD) & CARD != 0 {
                    if validate::card_number_of_digits(number) {
                        self.found(Class::CardNumber, number);
                    }
                } else {
                    self.column_candidate(seg, m, at, number);
                }
            }
            _ => {}
        }
    }

    /// An eight-digit number at `at` in a table whose numbers lost their leading zero: a
    /// routing number, with the account beside it, or an SSN, where its column's heading names
    /// one, the field holds nothing else (blanks and quotes aside) and the zero put back makes
    /// it valid.
    fn number_without_its_zero(&mut self, seg: &[u8], m: &Bitmap, at: usize, number: &[u8]) {
        if self.first_line || self.header.is_empty() {
            return;
        }
        let delimiter = self.delimiter;
        let bounds = |c: Option<u8>| {
            c.is_none_or(|c| matches!(c, b'"' | b' ' | b'\r' | b'\n') || delimiter.ends_field(c))
        };
        if !bounds(self.byte_before(seg, at)) || !bounds(seg.get(at + 8).copied()) {
            return;
        }
        self.field_at(m, at);
        let column = self.column();
        let Some(padded) = validate::zero_back(number) else {
            return;
        };
        if column & ROUTING != 0 && validate::aba_routing(&padded) {
            self.found(Class::AbaRouting, &padded);
            self.account_beside(seg, m, at, at + 8, ROUTING);
        } else if column & SSN != 0 && validate::us_ssn(&padded[..3], &padded[3..5], &padded[5..]) {
            self.found(Class::UsSsn, &padded);
        }
    }

    /// Whether the number of `len` digits at `at` is a whole value of a spreadsheet's cell or
    /// shared string: an element's text (`>021000021<`) or an attribute's value (OpenDocument's
    /// `office:value="21000021"`). A routing number, an SSN or a card number there is left to
    /// the sheets' columns ([`Scanner::in_workbook`]).
    pub(super) fn workbook_value(&self, seg: &[u8], at: usize, len: usize) -> bool {
        if !self.workbook {
            return false;
        }
        match (self.byte_before(seg, at), seg.get(at + len)) {
            (Some(b'>'), Some(b'<')) => true,
            (Some(q @ (b'"' | b'\'')), Some(&after)) => after == q,
            _ => false,
        }
    }

    /// A bare card-length number at `at` with nothing naming it: weighed with the others in
    /// its column (the field of a delimited line, or the offset in a fixed-width one). A column
    /// of card numbers validates throughout; one of random numbers or ids only by chance (some
    /// 3%): [`Scanner::finish`] counts a column's valid numbers when nearly all are.
    pub(super) fn column_candidate(&mut self, t: &[u8], m: &Bitmap, at: usize, number: &[u8]) {
        self.field_at(m, at);
        // In markup an element is a column: a spreadsheet's cells (`<t>…</t>`, `<v>…</v>`), or
        // a record's `<Pan>`, whatever the layout of the lines.
        let element = if self.layout {
            self.element_before(t, at)
        } else {
            None
        };
        let key = if let Some(element) = element {
            (u16::MAX, element)
        } else if self.field > 0 {
            (self.field.min(usize::from(u16::MAX)) as u16, 0)
        } else {
            let offset = (self.text_start + at as u64).saturating_sub(self.line_start);
            (0, offset.min(u64::from(u16::MAX)) as u16)
        };
        let valid = validate::card_number_of_digits(number);
        // Most lines put their numbers in the same columns as the line before: look there first.
        let slot = match self.columns.iter().rposition(|c| c.0 == key) {
            Some(i) => i,
            None if self.columns.len() < MAX_COLUMN_EVIDENCE => {
                self.columns.push((key, 0, 0, Default::default()));
                self.columns.len() - 1
            }
            None => return,
        };
        let c = &mut self.columns[slot];
        c.1 += 1;
        c.2 += u64::from(valid);
        if valid {
            c.3.insert(Class::CardNumber, number);
        }
    }

    /// A bare nine-digit number at `at`, nothing naming it, in a table without a header: a
    /// delimited one whose first line is a record, or text's lines (a core system's
    /// fixed-width extract). Weighed with the others in its column (its field, or its place in
    /// the line) as card numbers are: a column of routing numbers passes the ABA checksum
    /// throughout; random numbers and ids one time in 27 (a Federal Reserve prefix, then the
    /// check digit). [`Scanner::finish`] counts a column's valid numbers when nearly all are,
    /// and the account numbers right after them (the next field, or the next number across
    /// blanks) when nearly every such row has one there, else in a delimited table those right
    /// before them ([`RoutingColumn::accounts`]; never the row's first field: a record's id
    /// stands there, `1001,021000021,ACME`).
    fn routing_evidence(&mut self, t: &[u8], m: &Bitmap, at: usize, number: &[u8]) {
        let (column, next) = if self.table {
            self.field_at(m, at);
            let field = self.field.min(usize::from(u16::MAX - 1)) as u16 + 1;
            let form = account::NextField::Delimited(self.quoted, self.delimiter);
            ((field, 0), form)
        } else {
            let offset = (self.text_start + at as u64).saturating_sub(self.line_start);
            let offset = offset.min(u64::from(u16::MAX)) as u16;
            ((0, offset), account::NextField::Blanks)
        };
        let valid = validate::aba_routing(number);
        let slot = match self.routing_columns.iter().position(|c| c.column == column) {
            Some(i) => i,
            None if self.routing_columns.len() < MAX_COLUMN_EVIDENCE => {
                self.routing_columns.push(RoutingColumn {
                    column,
                    ..Default::default()
                });
                self.routing_columns.len() - 1
            }
            None => return,
        };
        let c = &mut self.routing_columns[slot];
        c.seen += 1;
        c.valid += u64::from(valid);
        if valid {
            c.values.insert(Class::AbaRouting, number);
        }
        if let (true, account::NextField::Delimited(quoted, delimiter)) = (valid, next) {
            let mut buf = [0u8; account::FAR];
            let (before, _) = self.bytes_before(t, at, account::FAR, &mut buf);
            if let Some(value) = account::account_before(before, quoted, delimiter) {
                let c = &mut self.routing_columns[slot];
                c.accounts_before += 1;
                let digits = decimal_digits(value);
                c.values_before
                    .insert(Class::UsBankAccount, digits.as_slice());
                let last = std::mem::replace(&mut c.last_before, value);
                c.counted_up += u64::from(value == last || value == last.wrapping_add(1));
            }
        }
        if valid {
            let end = at + number.len();
            let rest = &t[end..(end + account::FAR).min(t.len())];
            let text_ends = end + account::FAR > t.len();
            match account::account_next(rest, self.ending && text_ends, next) {
                Some(account) => self.routing_columns[slot].account_after(rest, account),
                // The row goes on in the next text: judged there.
                None => self.routing_pending = Some((slot, next, rest.to_vec())),
            }
        }
    }

    /// The field after a routing number its column weighs, cut by the end of the last text:
    /// read on into `t` ([`Scanner::routing_evidence`]).
    pub(super) fn routing_goes_on(&mut self, t: &[u8]) {
        let Some((slot, next, mut read)) = self.routing_pending.take() else {
            return;
        };
        let more = t.len().min(account::FAR - read.len());
        read.extend_from_slice(&t[..more]);
        let end = self.ending && more == t.len();
        match account::account_next(&read, end, next) {
            Some(account) => self.routing_columns[slot].account_after(&read, account),
            None => self.routing_pending = Some((slot, next, read)),
        }
    }
}

/// A headerless table's column of bare nine-digit numbers ([`Scanner::routing_evidence`]):
/// its column (a delimited table's field from 1, or 0 and the place in the line), the numbers
/// seen, those that are valid routing numbers, and of those the rows with an account number
/// right after; in a delimited table, the rows with one right before (not in the row's first
/// field), the last of those, and how many were the one before it again or one more (a
/// constant's or a counter's values, not accounts).
#[derive(Debug, Clone, Default)]
pub(super) struct RoutingColumn {
    column: (u16, u16),
    /// Its valid routing numbers, sketched: counted with them when the column is; and the
    /// accounts after them and before them ([`RoutingColumn::accounts`]).
    pub(super) values: crate::Distinct,
    pub(super) values_after: crate::Distinct,
    pub(super) values_before: crate::Distinct,
    pub(super) seen: u64,
    pub(super) valid: u64,
    pub(super) accounts: u64,
    pub(super) accounts_before: u64,
    last_before: u64,
    pub(super) counted_up: u64,
}

impl RoutingColumn {
    /// The field after one of its routing numbers (`in_field`: where in `after` it holds an
    /// account number, if it does).
    fn account_after(&mut self, after: &[u8], in_field: Option<std::ops::Range<usize>>) {
        let Some(range) = in_field else {
            return;
        };
        self.accounts += 1;
        self.values_after
            .insert_digits(Class::UsBankAccount, &after[range]);
    }

    /// Bytes its sketches take.
    pub(super) fn held_bytes(&self) -> usize {
        self.values.held_bytes() + self.values_after.held_bytes() + self.values_before.held_bytes()
    }

    /// The sketch of the accounts [`RoutingColumn::accounts`] counts.
    pub(super) fn account_values(&self) -> &crate::Distinct {
        if self.accounts * 100 >= self.valid * 95 {
            &self.values_after
        } else {
            &self.values_before
        }
    }

    /// The accounts its routing numbers pair with: the fields right after them where nearly
    /// every row (95%) has one; else the fields right before them where nearly every row has
    /// one and at most one in ten is the one before it again or one more.
    pub(super) fn accounts(&self) -> u64 {
        if self.accounts * 100 >= self.valid * 95 {
            self.accounts
        } else if self.accounts_before * 100 >= self.valid * 95
            && self.counted_up * 10 <= self.accounts_before
        {
            self.accounts_before
        } else {
            0
        }
    }
}

/// The decimal digits of `value`, as a number's field holds them (without leading zeros).
struct Digits {
    bytes: [u8; 20],
    from: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[self.from..]
    }
}

fn decimal_digits(mut value: u64) -> Digits {
    let mut d = Digits {
        bytes: [b'0'; 20],
        from: 20,
    };
    loop {
        d.from -= 1;
        d.bytes[d.from] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return d;
        }
    }
}

/// Whether a column's bare numbers count by their evidence: all of at least
/// [`MIN_COLUMN_ALL_VALID`] valid, or 95% of at least [`MIN_COLUMN_CANDIDATES`].
pub(crate) fn evident(candidates: u64, valid: u64) -> bool {
    let all = candidates >= MIN_COLUMN_ALL_VALID && valid == candidates;
    all || candidates >= MIN_COLUMN_CANDIDATES && valid * 100 >= candidates * 95
}

/// Whether a headerless table's column of bare nine-digit numbers holds routing numbers: all
/// of at least [`MIN_COLUMN_ALL_VALID`] valid, or three in four of at least
/// [`MIN_COLUMN_CANDIDATES`]. Random numbers pass the checksum and a Federal Reserve prefix one
/// time in 27 (twelve of sixteen: about one in 10^14); a column of routing numbers with a typing
/// error in one row in twenty still counts (at 95%, as card columns need, a few such rows in a
/// short file left all its routing numbers uncounted).
pub(crate) fn routing_evident(candidates: u64, valid: u64) -> bool {
    let all = candidates >= MIN_COLUMN_ALL_VALID && valid == candidates;
    all || candidates >= MIN_COLUMN_CANDIDATES && valid * 4 >= candidates * 3
}

/// The digits of a number's groups (`starts` and lengths `groups`, 19 digits at most), without
/// their separators.
fn gather<'a>(seg: &[u8], starts: &[usize], groups: &[u8], out: &'a mut [u8; 19]) -> &'a [u8] {
    // Byte by byte: the groups are short, and a copy of a length known only at run time would
    // be a call.
    let mut n = 0;
    for (&from, &run) in starts.iter().zip(groups) {
        for &digit in &seg[from..from + usize::from(run)] {
            out[n] = digit;
            n += 1;
        }
    }
    &out[..n]
}

/// Whether another group of a printed number follows at `i`: a single space or dash, then a
/// digit.
fn joins_group(seg: &[u8], i: usize) -> bool {
    i + 1 < seg.len() && matches!(seg[i], b' ' | b'-') && seg[i + 1].is_ascii_digit()
}

/// Whether the number ending at `i` is glued on the right to letters, an `@` or a decimal
/// point (then it is part of something else, not a candidate).
fn glued_after(seg: &[u8], i: usize) -> bool {
    seg.get(i).is_some_and(|&c| {
        c.is_ascii_alphabetic()
            || c == b'@'
            || (c == b'.' && seg.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

fn skip_alnum(seg: &[u8], mut i: usize) -> usize {
    while i < seg.len() && (seg[i].is_ascii_alphanumeric() || seg[i] == b'.') {
        i += 1;
    }
    i
}
