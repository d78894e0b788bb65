//! Accounts found by their tags in ISO 20022 (`<Othr><Id>` inside an account element) and
//! SWIFT MT (a customer field's `:/` line), counted as far as the message names its banks by
//! ABA routing numbers. Never here: the routing numbers.

use crate::validate;

/// Most bytes an account's tag is looked back from (ISO 20022: to `<Id>` and the account
/// element's opening tag, across any layout) and forward from (to the end of its number).
pub(crate) const TAGGED_ACCOUNT: usize = 96;

/// Formats whose account numbers are found by the tag before them and counted as far as the
/// message names its banks by ABA routing numbers ([`crate::scan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tagged {
    /// ISO 20022: `<CdtrAcct><Id><Othr><Id>0012345678</Id>`.
    Iso20022,
    /// SWIFT MT: a customer field's account line, `:50K:/0012345678` or `:59:/0012345678`.
    SwiftMt,
}

impl Tagged {
    /// The tag searched for.
    pub(crate) fn needle(self) -> &'static [u8] {
        match self {
            Tagged::Iso20022 => b"<Othr>",
            Tagged::SwiftMt => b":/",
        }
    }

    /// The search for [`Tagged::needle`], built once (a searcher costs more to build than to
    /// run over a text).
    pub(crate) fn finder(self) -> &'static memchr::memmem::Finder<'static> {
        static ISO20022: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(Tagged::Iso20022.needle()));
        static SWIFT_MT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(Tagged::SwiftMt.needle()));
        match self {
            Tagged::Iso20022 => &ISO20022,
            Tagged::SwiftMt => &SWIFT_MT,
        }
    }

    /// Whether the bytes before a tag (at most [`TAGGED_ACCOUNT`]) make it an account's.
    pub(crate) fn account_before(self, before: &[u8]) -> bool {
        match self {
            Tagged::Iso20022 => account_opened_before(before),
            Tagged::SwiftMt => customer_field_before(before),
        }
    }

    /// The account number after a tag, from `b[from..]`.
    pub(crate) fn number(self, b: &[u8], from: usize) -> AfterTag {
        match self {
            Tagged::Iso20022 => iso20022_number(b, from),
            Tagged::SwiftMt => swift_number(b, from),
        }
    }
}

/// Whether the bytes before a SWIFT MT `:/` end in a customer field's tag at a line's start:
/// the ordering customer's (`:50A`, `:50F`, `:50K`) or the beneficiary's (`:59`, `:59A`,
/// `:59F`), whose first line is the account.
pub(super) fn customer_field_before(before: &[u8]) -> bool {
    let (digits, letter) = match before {
        [.., b':', d1, d2, l] if l.is_ascii_uppercase() => ([*d1, *d2], Some(*l)),
        [.., b':', d1, d2] => ([*d1, *d2], None),
        _ => return false,
    };
    let colon = before.len() - 3 - usize::from(letter.is_some());
    let at_line_start = colon == 0 || before[colon - 1] == b'\n';
    let field = matches!(
        (&digits, letter),
        (b"50", Some(b'A' | b'F' | b'K')) | (b"59", None | Some(b'A' | b'F'))
    );
    field && at_line_start
}

/// The account line after a SWIFT MT customer field's `:/`, from `b[from..]`: 4 to 17 digits,
/// then the line's end.
pub(super) fn swift_number(b: &[u8], from: usize) -> AfterTag {
    let rest = b.get(from..).unwrap_or_default();
    let n = rest
        .iter()
        .take(*validate::US_ACCOUNT_DIGITS.end() + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    match rest.get(n) {
        None if n <= *validate::US_ACCOUNT_DIGITS.end() => AfterTag::More,
        Some(b'\n' | b'\r') if validate::us_account(&rest[..n]) => {
            AfterTag::Account(from..from + n)
        }
        _ => AfterTag::Not,
    }
}

/// Whether an account number follows a tag ([`Tagged::number`]). ISO 20022, from just after
/// its `<Othr>`: `<Id>`, then 4 to 17 digits, then `</Id>` (IBANs, `<Id><IBAN>`, are their own
/// class; an identification with letters is not a US account number).
pub(crate) enum AfterTag {
    /// An account number of the form, where its digits are in the bytes.
    Account(std::ops::Range<usize>),
    /// Not one.
    Not,
    /// The bytes ended first.
    More,
}

/// Skips layout (white space) from `i`.
fn layout(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Whether `b[i..]` begins with `want`: `None` when `b` ends before that is known.
fn begins(b: &[u8], i: usize, want: &[u8]) -> Option<bool> {
    let rest = b.get(i..).unwrap_or_default();
    if rest.len() < want.len() {
        return if want.starts_with(rest) {
            None
        } else {
            Some(false)
        };
    }
    Some(rest.starts_with(want))
}

/// The number after an `<Othr>` ([`AfterTag`]), from `b[from..]`.
pub(super) fn iso20022_number(b: &[u8], from: usize) -> AfterTag {
    let i = layout(b, from);
    match begins(b, i, b"<Id>") {
        None => return AfterTag::More,
        Some(false) => return AfterTag::Not,
        Some(true) => {}
    }
    let start = i + 4;
    let end = start
        + b[start.min(b.len())..]
            .iter()
            .take(*validate::US_ACCOUNT_DIGITS.end() + 1)
            .take_while(|c| c.is_ascii_digit())
            .count();
    if end - start > *validate::US_ACCOUNT_DIGITS.end() {
        return AfterTag::Not;
    }
    match begins(b, end, b"</Id>") {
        None => AfterTag::More,
        Some(true) if validate::us_account(&b[start..end]) => AfterTag::Account(start..end),
        Some(_) => AfterTag::Not,
    }
}

/// Whether the bytes before an `<Othr>` (`before`, at most [`TAGGED_ACCOUNT`] of them) end in
/// an account element's opening tag and `<Id>`, with any layout between: `<CdtrAcct><Id>`,
/// camt's `<Acct><Id>` (an element whose name ends in `Acct`).
pub(super) fn account_opened_before(before: &[u8]) -> bool {
    let trim = |b: &[u8]| -> usize {
        b.iter()
            .rposition(|c| !c.is_ascii_whitespace())
            .map_or(0, |p| p + 1)
    };
    let end = trim(before);
    let Some(id) = end.checked_sub(4).filter(|&p| &before[p..end] == b"<Id>") else {
        return false;
    };
    let end = trim(&before[..id]);
    let Some(gt) = end.checked_sub(1).filter(|&p| before[p] == b'>') else {
        return false;
    };
    let name_from = before[..gt]
        .iter()
        .rposition(|c| !c.is_ascii_alphanumeric())
        .map_or(0, |p| p + 1);
    let name = &before[name_from..gt];
    name.ends_with(b"Acct") && name_from > 0 && before[name_from - 1] == b'<'
}
