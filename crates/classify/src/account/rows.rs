//! Tables: a routing number's account in its row, the nearest account column after it or
//! before it in a delimited or fixed-width table whose header names one (no bank's column
//! between), and in a headerless table the field right after it, or right before it. Never
//! here: the header's reading (`crate::format`, the scanner).

use super::{Delimiter, FAR};
use crate::scan::{ACCOUNT, BIC, CARD, IBAN, ROUTING};
use crate::validate;

use super::labelled::{Onward, blank};

/// Whether a table's column whose header names `h` holds account numbers: it names an
/// account and neither a routing number, a card nor an IBAN (`account_routing_number` is the
/// routing number's column).
pub(crate) fn account_column(h: u8) -> bool {
    h & ACCOUNT != 0 && h & (ROUTING | CARD | IBAN) == 0
}

/// Whether a table's column whose header names `h` identifies a bank (a routing number, a
/// BIC, an IBAN): an account column on its far side belongs to that bank, not to the routing
/// number on its near side (`account;bic;routing_number`: the account is at the BIC's bank).
pub(crate) fn bank_column(h: u8) -> bool {
    h & (ROUTING | BIC | IBAN) != 0
}

/// Whether a table's header names account columns that may pair with a routing number in
/// field `field`: after it and before it, with no bank's column between.
pub(crate) fn pairable(header: &[u8], field: usize) -> (bool, bool) {
    fn pairs<'a>(columns: impl Iterator<Item = &'a u8>) -> bool {
        let mut columns = columns.take_while(|&&h| !bank_column(h));
        columns.any(|&h| account_column(h))
    }
    let after = pairs(header.iter().skip(field + 1));
    let before = pairs(header.iter().take(field).rev());
    (after, before)
}

/// A table field's value as an account number (blanks and double quotes around it taken
/// off): where it ends in the field.
fn account_value(field: &[u8]) -> Option<usize> {
    let unblank = |f: &[u8], from: usize| {
        let s = f.iter().position(|c| !blank(c)).unwrap_or(f.len());
        let e = f.iter().rposition(|c| !blank(c)).map_or(s, |p| p + 1);
        (from + s, from + e)
    };
    let (mut s, mut e) = unblank(field, 0);
    if e - s >= 2 && field[s] == b'"' && field[e - 1] == b'"' {
        (s, e) = unblank(&field[s + 1..e - 1], s + 1);
    }
    validate::us_account(&field[s..e]).then_some(e)
}

/// Where the account number beside a routing number that its column's evidence counts is
/// looked for: a delimited table's next field (`quoted` when the table quotes fields, the
/// routing number's closing quote passed over), or, in lines of fixed-width columns, the next
/// run of digits across blanks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextField {
    Delimited(bool, Delimiter),
    Blanks,
}

/// In a delimited table without a header, the account number in the field right before a
/// routing number, where that field is not the row's first (a record's id stands there:
/// `1001,021000021,ACME`): `before` holds the bytes before the routing number (at most
/// [`FAR`]; a field that reaches their start is not judged), `quoted` when the table quotes
/// its fields. The account's value, for its column's evidence that its values are not a
/// counter's or a constant's.
pub(crate) fn account_before(before: &[u8], quoted: bool, delimiter: Delimiter) -> Option<u64> {
    let w = if quoted {
        before.strip_suffix(b"\"").unwrap_or(before)
    } else {
        before
    };
    let (&separator, w) = w.split_last()?;
    if !delimiter.ends_field(separator) {
        return None;
    }
    let start = w
        .iter()
        .rposition(|&c| delimiter.ends_field(c) || c == b'\n')?;
    if w[start] == b'\n' {
        return None;
    }
    let field = &w[start + 1..];
    let end = account_value(field)?;
    Some(
        field[..end]
            .iter()
            .filter(|c| c.is_ascii_digit())
            // At most 17 digits: no overflow.
            .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')),
    )
}

/// In a table without a header (a delimited one whose first line is a record, or lines of
/// fixed-width columns), whether the field right after a routing number holds an account
/// number, and where in `after` that field is: `after` holds the bytes after the routing
/// number (at most [`FAR`]), `end` when the file ends there. `None` when the field goes on
/// past `after` (its next bytes are in the next text); a field longer than [`FAR`] holds none.
pub(crate) fn account_next(
    after: &[u8],
    end: bool,
    next: NextField,
) -> Option<Option<std::ops::Range<usize>>> {
    // Where `after` ends before the field does: judged with the next text's bytes.
    let undecided = if !end && after.len() < FAR {
        None
    } else {
        Some(None)
    };
    let (field, ends): (&[u8], &dyn Fn(u8) -> bool) = match next {
        NextField::Delimited(quoted, delimiter) => {
            let i = usize::from(quoted && after.first() == Some(&b'"'));
            let Some(&c) = after.get(i) else {
                return undecided;
            };
            if !delimiter.ends_field(c) {
                return Some(None);
            }
            (&after[i + 1..], &move |c| {
                delimiter.ends_field(c) || c == b'\n' || c == b'\r'
            })
        }
        NextField::Blanks => {
            let blanks = after.iter().take_while(|&&c| c == b' ').count();
            if blanks == after.len() {
                return undecided;
            }
            if blanks == 0 {
                return Some(None);
            }
            (&after[blanks..], &|c| matches!(c, b' ' | b'\r' | b'\n'))
        }
    };
    let value = |f: &[u8]| match next {
        NextField::Delimited(..) => account_value(f).is_some(),
        NextField::Blanks => validate::us_account(f),
    };
    let start = after.len() - field.len();
    let judged = |n: usize| value(&field[..n]).then_some(start..start + n);
    match field.iter().position(|&c| ends(c)) {
        Some(n) => Some(judged(n)),
        None if after.len() >= FAR => Some(None),
        None if end => Some(judged(field.len())),
        None => None,
    }
}

/// In a delimited table whose header names account columns, the account number in the row of
/// a routing number in field `field`, before it: `row` holds the row's bytes before the
/// routing number, from the row's start; `quoted` when separators inside double quotes do not
/// end a field. The nearest column before it that holds one with no bank's column between
/// ([`bank_column`]), or `None` (also when the row's fields do not come to `field`). Returns
/// where it ends in `row`.
pub(crate) fn row_before(
    row: &[u8],
    (quoted, delimiter): (bool, Delimiter),
    field: usize,
    header: &[u8],
) -> Option<usize> {
    let mut found = None;
    let mut k = 0;
    let mut start = 0;
    let mut in_quotes = false;
    for (i, &c) in row.iter().enumerate() {
        if quoted && c == b'"' {
            in_quotes = !in_quotes;
        } else if delimiter.ends_field(c) && !in_quotes {
            let h = header.get(k).copied().unwrap_or(0);
            if account_column(h) {
                found = account_value(&row[start..i]).map(|e| start + e).or(found);
            } else if bank_column(h) {
                found = None;
            }
            k += 1;
            start = i + 1;
        }
    }
    (k == field).then_some(found).flatten()
}

/// In a delimited table whose header names account columns, the account number in the row of
/// a routing number in field `field`, after it: `b` holds the bytes after the routing number
/// (at most [`FAR`]); `end` when the file ended there. The nearest column after it that holds
/// one with no bank's column between.
pub(crate) fn row_after(
    b: &[u8],
    end: bool,
    (quoted, delimiter): (bool, Delimiter),
    field: usize,
    header: &[u8],
) -> Onward {
    if !header.iter().skip(field + 1).any(|&h| account_column(h)) {
        return Onward::Nothing;
    }
    // A quoted routing number's closing quote.
    let mut i = usize::from(quoted && b.first() == Some(&b'"'));
    let mut k = field;
    let mut start = i;
    let mut in_quotes = false;
    loop {
        let c = b.get(i).copied();
        let field_end = match c {
            Some(b'"') if quoted => {
                in_quotes = !in_quotes;
                false
            }
            Some(c) if !in_quotes && (delimiter.ends_field(c) || c == b'\n') => true,
            None if end => true,
            None if b.len() >= FAR => return Onward::Nothing,
            None => return Onward::More,
            Some(_) => false,
        };
        if field_end {
            let h = header.get(k).copied().unwrap_or(0);
            if k > field && account_column(h) {
                if let Some(e) = account_value(&b[start..i]) {
                    return Onward::Account(start + e);
                }
            } else if k > field && bank_column(h) {
                return Onward::Nothing;
            }
            if c.is_none_or(|c| c == b'\n') {
                return Onward::Nothing;
            }
            k += 1;
            start = i + 1;
        }
        i += 1;
    }
}

/// In a fixed-width table whose headings name account columns (`columns`: where each begins
/// in a line and what its heading names), the account number in the line of a routing number
/// `offset` bytes into it, after it: `b` holds the bytes after the routing number (at most
/// [`FAR`]); `end` when the file ended there. The nearest column after it that holds one (its
/// bytes, blanks taken off) with no bank's column between.
pub(crate) fn fixed_after(b: &[u8], end: bool, offset: usize, columns: &[(usize, u8)]) -> Onward {
    let base = offset + 9;
    let line_end = b.iter().position(|&c| c == b'\n');
    let have = line_end.unwrap_or(b.len());
    let whole = line_end.is_some() || end;
    for (k, &(from, h)) in columns.iter().enumerate() {
        // The routing number's column and those before it.
        if from <= offset {
            continue;
        }
        if bank_column(h) {
            return Onward::Nothing;
        }
        if !account_column(h) {
            continue;
        }
        let s = from.saturating_sub(base);
        let e = columns
            .get(k + 1)
            .map_or(usize::MAX, |c| c.0.saturating_sub(base));
        if e > have && !whole {
            return if b.len() >= FAR {
                Onward::Nothing
            } else {
                Onward::More
            };
        }
        let e = e.min(have);
        if s >= e {
            return Onward::Nothing;
        }
        if let Some(v) = account_value(&b[s..e]) {
            return Onward::Account(s + v);
        }
    }
    Onward::Nothing
}

/// In a fixed-width table, the account number in the line of a routing number, before it:
/// `line` holds the line's bytes before the routing number, from the line's start. The
/// nearest column before it that holds one with no bank's column between; where it ends in
/// `line`.
pub(crate) fn fixed_before(line: &[u8], columns: &[(usize, u8)]) -> Option<usize> {
    let offset = line.len();
    let here = columns.partition_point(|c| c.0 <= offset).checked_sub(1)?;
    for k in (0..here).rev() {
        let (from, h) = columns[k];
        if bank_column(h) {
            return None;
        }
        if account_column(h) {
            let to = columns[k + 1].0.min(offset);
            if let Some(v) = account_value(&line[from.min(to)..to]) {
                return Some(from + v);
            }
        }
    }
    None
}
