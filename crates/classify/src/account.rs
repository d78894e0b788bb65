//! US bank account numbers beside the routing numbers that name their bank.
//!
//! An account number has no checksum and no form of its own (4 to 17 digits, as an amount, a
//! date or an invoice number may be), so it counts only where a valid routing number stands
//! beside it and the text names it as an account:
//! - after the routing number, across separators and [`FILLER`] words, named by an account
//!   keyword between them (`ABA 021000021 acct 123456789`) or by its column's header in a
//!   delimited file (`routing_number,account_number`); across a query string's `&`, and in
//!   markup and JSON across tags, brackets and line ends ([`BESIDE_LAYOUT`]);
//! - before it, with nothing between but separators, words naming the routing number and
//!   [`FILLER`], and itself named the same way (`Account number: 123456789, routing number:
//!   021000021`);
//! - in wire instructions' labelled lines, where the routing number is a line's value after a
//!   label (`ABA Routing Number: 021000021`): the account number of a labelled line above or
//!   below (`Account Number: 4121234567`), a few lines apart ([`labelled_above`], [`below`]);
//! - in a delimited or fixed-width table whose header names account columns, the nearest one
//!   in the routing number's row, whatever columns stand between, unless a bank's column
//!   (another routing number, a BIC, an IBAN) does ([`row_after`], [`row_before`],
//!   [`fixed_after`], [`fixed_before`]).
//!
//! In ISO 20022 and SWIFT MT an account has a tag of its own ([`Tagged`]: `<Othr>` inside an
//! account element, a customer field's `:/`), found apart from the routing numbers and counted
//! as far as the message names its banks by them. NACHA entries and BAI2 account records are
//! read by position instead ([`crate::scan`]).
//!
//! Pure functions over bytes; the scanner decides when to ask and keeps what must cross from
//! one text to the next (a search under way, the file's last bytes before the text, a tag cut).

mod labelled;
mod rows;
mod tagged;

pub(crate) use labelled::{Onward, below, labelled_above};
pub(crate) use rows::{
    NextField, account_before, account_column, account_next, bank_column, fixed_after,
    fixed_before, pairable, row_after, row_before,
};
pub(crate) use tagged::{AfterTag, TAGGED_ACCOUNT, Tagged};

use crate::scan::{ACCOUNT, ROUTING, keyword};
use crate::validate;

/// Most bytes between a routing number and its account number (either side).
pub(crate) const BESIDE: usize = 48;

/// The same in markup and JSON, where tags, keys and indentation stand between them
/// (`<AccountNumber>12345678</AccountNumber>` and `<RoutingNumber>` on the next line).
pub(crate) const BESIDE_LAYOUT: usize = 96;

/// Words that may stand between an account number, its name and its routing number without
/// breaking their tie (`bank account number`, `checking acct no.`).
const FILLER: [&[u8]; 21] = [
    // The glue of a sentence between the two (`021000021 for credit to our account number
    // 12345678`, `account 12345678 at routing 021000021`).
    b"at",
    b"to",
    b"for",
    b"the",
    b"our",
    b"your",
    b"credit",
    b"of",
    b"number",
    b"no",
    b"nr",
    b"num",
    b"nbr",
    b"bank",
    b"and",
    b"checking",
    b"savings",
    b"dda",
    b"dfi",
    b"deposit",
    b"is",
];

/// A word of at most eight letters as one number, in small letters (`| 0x20` folds a capital
/// and leaves small letters and digits as they are), and its length (`None` for a longer
/// word): the filler words are compared as such.
const fn folded_word(word: &[u8]) -> Option<(u64, usize)> {
    if word.len() > 8 {
        return None;
    }
    let mut w = 0u64;
    let mut i = 0;
    while i < word.len() {
        w |= ((word[i] | 0x20) as u64) << (8 * i);
        i += 1;
    }
    Some((w, word.len()))
}

const fn filler_keys() -> [(u64, usize); FILLER.len()] {
    let mut keys = [(0, 0); FILLER.len()];
    let mut i = 0;
    while i < FILLER.len() {
        keys[i] = match folded_word(FILLER[i]) {
            Some(k) => k,
            None => panic!("a filler word longer than eight letters"),
        };
        i += 1;
    }
    keys
}
static FILLER_KEYS: [(u64, usize); FILLER.len()] = filler_keys();

/// Which bytes end a field (as the scanner's bitmaps have them): any of `,` `;` tab `|` (in
/// text, and in a comma-separated table), or a table's own delimiter alone (a tab-, pipe- or
/// semicolon-separated table, whose fields may hold commas unquoted: `Doe, John`, `1234,56`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Delimiter(Option<u8>);

impl Delimiter {
    pub(crate) const ANY: Delimiter = Delimiter(None);

    pub(crate) const fn only(d: u8) -> Delimiter {
        Delimiter(Some(d))
    }

    /// The byte a table's fields end with, other than a comma (a comma-separated table's
    /// fields end at any separator, as text's do).
    pub(crate) fn other_than_comma(self) -> Option<u8> {
        self.0.filter(|&d| d != b',')
    }

    /// Whether `c` ends a field.
    pub(crate) fn ends_field(self, c: u8) -> bool {
        match self.0 {
            Some(d) => c == d,
            None => matches!(c, b',' | b';' | b'\t' | b'|'),
        }
    }
}

/// Bytes that may stand between a routing number, its account number and the words that name
/// them (besides field separators): punctuation and a query string's `&`; in markup and JSON
/// (`layout`), their brackets and line ends too. (In the formats read by their tags, ISO 20022
/// and SWIFT MT, accounts are found by the tags instead.)
fn between(c: u8, layout: bool) -> bool {
    punctuation(c) || c == b'&' || layout && matches!(c, b'<' | b'>' | b'{' | b'}' | b'\n' | b'\r')
}

/// Bytes that may stand between the words and numbers of one tie (besides field separators),
/// and between a label's words.
fn punctuation(c: u8) -> bool {
    matches!(
        c,
        b' ' | b':'
            | b'#'
            | b'.'
            | b'/'
            | b'-'
            | b'_'
            | b'"'
            | b'\''
            | b'='
            | b'('
            | b')'
            | b'['
            | b']'
    )
}

/// What a word of letters (and digits) names: itself and each of its camelCase parts looked up
/// as keywords (the scanner does the same from its bitmaps where it has them).
pub(crate) fn names(word: &[u8]) -> u8 {
    let mut mask = keyword(word);
    let mut start = 0;
    for i in 1..word.len() {
        if word[i - 1].is_ascii_lowercase() && word[i].is_ascii_uppercase() {
            mask |= keyword(&word[start..i]);
            start = i;
        }
    }
    if start > 0 {
        mask |= keyword(&word[start..]);
    }
    mask
}

/// What a heading names: each of its words (runs of letters and digits) as [`names`] reads
/// them (`Routing Number`, `Acct #`, `SSN`), and its abbreviations (`A/C No`).
pub(crate) fn heading_names(heading: &[u8]) -> u8 {
    heading
        .split(|c| !c.is_ascii_alphanumeric())
        .fold(crate::scan::abbreviations(heading), |n, w| n | names(w))
}

/// Whether a word of letters and digits is a [`FILLER`] word, in any case.
fn filler(word: &[u8]) -> bool {
    folded_word(word).is_some_and(|k| FILLER_KEYS.contains(&k))
}

/// A search for the account number after a routing number that counted; it may go on in the
/// next text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct After {
    /// Bytes crossed since the routing number.
    crossed: usize,
    /// An account keyword was crossed.
    named: bool,
    /// Nothing but blanks was crossed (the routing number may end a labelled line).
    bare: bool,
    /// In markup or JSON: line ends are layout, and the reach is [`BESIDE_LAYOUT`].
    layout: bool,
    /// The field the search is in, when the file's header names columns, and what ends one.
    field: Option<usize>,
    delimiter: Delimiter,
    /// In prose: a line end that wraps a sentence is crossed ([`After::in_prose`]); one was
    /// (the next line must go on with the sentence); the last byte crossed ended one.
    prose: bool,
    wrapped: bool,
    sentence_end: bool,
}

/// Where a search after a routing number stands.
pub(crate) enum Found {
    /// An account number, ending at this offset of the text.
    Account(usize),
    /// None beside it.
    Nothing,
    /// The text ended first: go on in the next one.
    More(After),
    /// Only blanks stand between the routing number and its line's end, which is followed by
    /// the next line at this offset of the text: the number may be a labelled line's value
    /// ([`labelled_above`], [`below`]).
    LineEnd(usize),
}

impl After {
    /// A search from a routing number in field `field` (`None` where no header names columns).
    pub(crate) fn new(field: Option<usize>) -> Self {
        After {
            crossed: 0,
            named: false,
            bare: true,
            layout: false,
            field,
            delimiter: Delimiter::ANY,
            prose: false,
            wrapped: false,
            sentence_end: false,
        }
    }

    /// The same search in a table whose fields end at `delimiter`.
    pub(crate) fn delimited_by(self, delimiter: Delimiter) -> Self {
        After { delimiter, ..self }
    }

    /// The same search in prose: a line end that wraps a sentence (the line did not end with
    /// a full stop, the next begins with a small letter or a digit) is crossed, as a space is
    /// (`… 021000021 and our account number is` / `12345678.`).
    pub(crate) fn in_prose(self) -> Self {
        After {
            prose: true,
            ..self
        }
    }

    /// The same search after a routing number whose label names an account too: the account
    /// number may follow with no keyword of its own.
    pub(crate) fn named_before(self) -> Self {
        After {
            named: true,
            ..self
        }
    }

    /// The same search in markup or JSON.
    pub(crate) fn in_layout(self) -> Self {
        After {
            layout: true,
            ..self
        }
    }

    /// A search from a routing number whose place names what follows it as its account (a
    /// SWIFT MT statement's `:25:` field, `routing/account`).
    pub(crate) fn named() -> Self {
        After {
            crossed: 0,
            named: true,
            bare: false,
            layout: false,
            field: None,
            delimiter: Delimiter::ANY,
            prose: false,
            wrapped: false,
            sentence_end: false,
        }
    }

    /// Goes on over `t` from `i` (the end of the routing number, or 0 in a later text);
    /// `names(from, to)` is what the word `t[from..to]` names, `digits_end(at)` where the run
    /// of digits at `at` ends.
    pub(crate) fn go(
        mut self,
        t: &[u8],
        mut i: usize,
        header: &[u8],
        names: impl Fn(usize, usize) -> u8,
        digits_end: impl Fn(usize) -> usize,
    ) -> Found {
        let reach = if self.layout { BESIDE_LAYOUT } else { BESIDE };
        while i < t.len() {
            if self.crossed > reach {
                return Found::Nothing;
            }
            let c = t[i];
            // After a wrap, the next line goes on with the sentence (after a reply's quote
            // marks), or the search ends.
            if self.wrapped && c == b'>' {
                self.crossed += 1;
                i += 1;
                continue;
            }
            if self.wrapped && !matches!(c, b' ' | b'\t' | b'\r') {
                if !(c.is_ascii_lowercase() || c.is_ascii_digit()) {
                    return Found::Nothing;
                }
                self.wrapped = false;
            }
            if self.bare && !self.layout && matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                if c == b'\n' {
                    return Found::LineEnd(i + 1);
                }
                self.field = self.field.map(|f| f + usize::from(c == b'\t'));
                self.crossed += 1;
                i += 1;
                continue;
            }
            self.bare = false;
            if c.is_ascii_digit() {
                // Letters, an `@` or a decimal point glued to the digits make them part of
                // something else.
                let end = digits_end(i);
                let glued = t.get(end).is_some_and(|&n| {
                    n.is_ascii_alphanumeric()
                        || n == b'@'
                        || (n == b'.' && t.get(end + 1).is_some_and(u8::is_ascii_digit))
                });
                let column = self
                    .field
                    .and_then(|f| header.get(f))
                    .is_some_and(|h| h & ACCOUNT != 0);
                let account = validate::US_ACCOUNT_DIGITS.contains(&(end - i))
                    && t[i..end].iter().any(|&c| c != b'0');
                return if (self.named || column) && !glued && account {
                    Found::Account(end)
                } else {
                    Found::Nothing
                };
            } else if c.is_ascii_alphabetic() {
                let run = t[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(t.len(), |n| i + n);
                // `A/C` names the account (its letters are words of one letter).
                if run == i + 1
                    && t.get(run) == Some(&b'/')
                    && crate::scan::account_abbreviation(t, run + 1, run + 2)
                    && t.get(run + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
                {
                    self.named = true;
                    self.crossed += 3;
                    self.sentence_end = false;
                    i = run + 2;
                    continue;
                }
                // Words naming the routing number may stand between too (a closing tag).
                let named = names(i, run);
                if named & ACCOUNT != 0 {
                    self.named = true;
                } else if named & ROUTING == 0 && !filler(&t[i..run]) {
                    return Found::Nothing;
                }
                self.crossed += run - i;
                self.sentence_end = false;
                i = run;
            } else if self.delimiter.ends_field(c) {
                self.field = self.field.map(|f| f + 1);
                self.crossed += 1;
                i += 1;
            } else if between(c, self.layout) {
                if c != b' ' {
                    self.sentence_end = matches!(c, b'.' | b'!' | b'?');
                }
                self.crossed += 1;
                i += 1;
            } else if self.prose && matches!(c, b'\r' | b'\n') && !self.sentence_end {
                self.wrapped |= c == b'\n';
                self.crossed += 1;
                i += 1;
            } else {
                return Found::Nothing;
            }
        }
        Found::More(self)
    }
}

/// Whether an account number stands before a routing number: `line` holds the bytes before it
/// (at most about [`BESIDE`] of them; a line end among them ends the search; `whole` when they
/// start at a line's start), `field` the routing number's field where a header names columns.
/// `names(from, to)` is what the word `line[from..to]` names. Returns how many bytes before the
/// routing number the account number ends.
pub(crate) fn before(
    line: &[u8],
    whole: bool,
    field: Option<usize>,
    header: &[u8],
    names: impl Fn(usize, usize) -> u8,
    shape: (bool, Delimiter),
) -> Option<usize> {
    let mut field = field;
    // Back to the account number: words naming the routing number or an account (a closing
    // tag) and filler.
    let mut i = line.len();
    let (from, to) = loop {
        let (start, end) = run_before(line, i, whole, &mut field, shape)?;
        let run = &line[start..end];
        if run.iter().all(u8::is_ascii_digit) {
            break (start, end);
        }
        if names(start, end) & (ROUTING | ACCOUNT) == 0 && !filler(run) {
            return None;
        }
        i = start;
    };
    let decimal = from >= 2 && line[from - 1] == b'.' && line[from - 2].is_ascii_digit();
    if decimal || !validate::us_account(&line[from..to]) {
        return None;
    }
    if field
        .and_then(|f| header.get(f))
        .is_some_and(|h| h & ACCOUNT != 0)
    {
        return Some(line.len() - to);
    }
    // Before the account number: filler back to a word naming it.
    let mut i = from;
    loop {
        let (start, end) = run_before(line, i, whole, &mut None, shape)?;
        if names(start, end) & ACCOUNT != 0 {
            return Some(line.len() - to);
        }
        if !filler(&line[start..end]) {
            return None;
        }
        i = start;
    }
}

/// Walking back from `line[i]` across separators (each field separator taken off `field`),
/// the run of letters and digits that ends there: `None` when something else stands first, when
/// the bytes begin first, or when the run reaches back to where they begin without their being
/// `whole` (a run the window cut).
fn run_before(
    line: &[u8],
    mut i: usize,
    whole: bool,
    field: &mut Option<usize>,
    (layout, delimiter): (bool, Delimiter),
) -> Option<(usize, usize)> {
    loop {
        let c = *line.get(i.checked_sub(1)?)?;
        if c.is_ascii_alphanumeric() {
            break;
        }
        if delimiter.ends_field(c) {
            *field = field.and_then(|f| f.checked_sub(1));
        } else if !between(c, layout) {
            return None;
        }
        i -= 1;
    }
    let start = line[..i]
        .iter()
        .rposition(|b| !b.is_ascii_alphanumeric())
        .map_or(0, |p| p + 1);
    (start > 0 || whole).then_some((start, i))
}

/// Most bytes read around a routing number for an account number on another line or in
/// another column: back over a labelled line's label and the lines above it and on over the
/// lines below it; a delimited table's row before and after it.
pub(crate) const FAR: usize = 256;

#[cfg(test)]
mod tests {
    use super::labelled::{Line, label_alone, line};
    use super::tagged::{
        account_opened_before, customer_field_before, iso20022_number, swift_number,
    };
    use super::*;
    use crate::scan::{BIC, IBAN};

    fn after(text: &str, header: &[u8], field: Option<usize>) -> Option<usize> {
        let t = text.as_bytes();
        let digits_end = |i: usize| i + t[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        match After::new(field).go(t, 0, header, |s, e| names(&t[s..e]), digits_end) {
            Found::Account(end) => Some(end),
            _ => None,
        }
    }

    #[test]
    fn after_a_routing_number() {
        assert_eq!(after(" acct 123456789.", b"", None), Some(15));
        assert_eq!(
            after(", Bank Account No.: 0012345678 ", b"", None),
            Some(30)
        );
        assert_eq!(after(" AccountNumber=12345678", b"", None), Some(23));
        // Not named, or named and then something else, or not an account's form.
        assert_eq!(after(" 123456789", b"", None), None);
        assert_eq!(after(" amount 123456789", b"", None), None);
        assert_eq!(after(" account ref 123456789", b"", None), None);
        assert_eq!(after(" account 123", b"", None), None);
        assert_eq!(after(" account 000000", b"", None), None);
        assert_eq!(after(" account 1234567.50", b"", None), None);
        assert_eq!(after(" account 12345678901234567890", b"", None), None);
        assert_eq!(after(" account\n123456789", b"", None), None);
        assert_eq!(after(" account <b>123456789", b"", None), None);
        // Too far.
        let far = format!("{}account 123456789", " ".repeat(BESIDE + 1));
        assert_eq!(after(&far, b"", None), None);
        // A column named as an account, one field on.
        let header = [ROUTING, ACCOUNT, 0];
        assert_eq!(after(",123456789,5", &header, Some(0)), Some(10));
        assert_eq!(after(",,123456789", &header, Some(0)), None);
        assert_eq!(after(",123456789", &header, None), None);
        // The text ends before anything decides: go on in the next.
        assert!(matches!(
            After::new(None).go(
                b" account ",
                0,
                b"",
                |s, e| names(&b" account "[s..e]),
                |i| i
            ),
            Found::More(After { named: true, .. })
        ));
    }

    #[test]
    fn accounts_in_iso20022() {
        let found = |s: &str| matches!(iso20022_number(s.as_bytes(), 0), AfterTag::Account(_));
        assert!(found("<Id>0012345678</Id>"));
        assert!(found("\n      <Id>12345678</Id>\n"));
        assert!(!found("<Id>ACCT-1</Id>"));
        assert!(!found("<Id>123</Id>"));
        assert!(!found("<Id>123456789012345678</Id>"));
        assert!(!found("<Id>12345678</Ids>"));
        assert!(!found("<Nm>12345678</Nm>"));
        for cut in ["", " ", "<I", "<Id>", "<Id>1234", "<Id>1234</I"] {
            assert!(
                matches!(iso20022_number(cut.as_bytes(), 0), AfterTag::More),
                "{cut:?}"
            );
        }
        assert!(account_opened_before(
            b"<Dbtr><Nm>A</Nm></Dbtr><DbtrAcct><Id>"
        ));
        assert!(account_opened_before(b"<Acct>\n  <Id>\n    "));
        assert!(!account_opened_before(b"</DbtrAcct><Id>"));
        assert!(!account_opened_before(b"<OrgId><Id>"));
        assert!(!account_opened_before(b"<DbtrAcct><Tp>"));
        assert!(
            !account_opened_before(b"DbtrAcct><Id>"),
            "the tag's start not seen"
        );
    }

    #[test]
    fn accounts_in_swift_mt() {
        let before = |s: &str| customer_field_before(s.as_bytes());
        assert!(before("{4:\n:20:REF1\n:59"));
        assert!(before(":50K"));
        assert!(before("x\r\n:59A"));
        assert!(!before("\n:57A"), "an institution's field");
        assert!(!before("\n:59K"));
        assert!(!before("ref:59"), "not at a line's start");
        assert!(!before("\n:5"));
        let number = |s: &str| swift_number(s.as_bytes(), 0);
        assert!(matches!(number("0012345678\r\nACME"), AfterTag::Account(_)));
        assert!(matches!(number("12345678\n"), AfterTag::Account(_)));
        assert!(matches!(number("DE89370400440532013000\n"), AfterTag::Not));
        assert!(matches!(number("123\n"), AfterTag::Not));
        assert!(matches!(number("12345678 X\n"), AfterTag::Not));
        assert!(matches!(number("123456789012345678\n"), AfterTag::Not));
        assert!(matches!(number("1234567"), AfterTag::More));
        assert!(matches!(number(""), AfterTag::More));
    }

    #[test]
    fn filler_words_in_any_case_and_nothing_else() {
        for w in FILLER {
            let s = std::str::from_utf8(w).unwrap();
            assert!(filler(w));
            assert!(filler(s.to_uppercase().as_bytes()));
            assert!(!filler(format!("{s}s1").as_bytes()));
        }
        for w in ["", "n", "numbers", "account", "routing", "n0", "NUMBER1"] {
            assert!(!filler(w.as_bytes()), "{w}");
        }
    }

    #[test]
    fn before_a_routing_number() {
        let within = |line: &[u8], whole, field, header: &[u8]| {
            before(
                line,
                whole,
                field,
                header,
                |s, e| names(&line[s..e]),
                (false, Delimiter::ANY),
            )
        };
        let b = |s: &str| within(s.as_bytes(), true, None, b"");
        // A line end between ends the search.
        assert_eq!(b("account 12345678\nrouting "), None);
        assert_eq!(b("x\naccount 12345678 routing "), Some(9));
        assert_eq!(b("Account number: 123456789, routing number: "), Some(18));
        assert_eq!(b("acct 12345678 ABA "), Some(5));
        // (A routing number counts here only where its column's header names it.)
        assert_eq!(b("Acct 12345678 "), Some(1));
        assert_eq!(b("ref 12345678 routing "), None);
        assert_eq!(b("account 1.2345678 routing "), None);
        assert_eq!(b("12345678 routing "), None);
        assert_eq!(
            within(b"345678 routing ", false, None, b""),
            None,
            "a number the window cut"
        );
        let header = [0, ACCOUNT, ROUTING];
        assert_eq!(within(b"x,12345678,", true, Some(2), &header), Some(1));
        assert_eq!(within(b"12345678,x,", true, Some(2), &header), None);
    }

    #[test]
    fn lines_of_a_labelled_block() {
        let l = |s: &str| line(s.as_bytes());
        assert_eq!(l("Account Number: 123456789"), Line::Account(25));
        assert_eq!(l("  Acct #: 0012345678\r"), Line::Account(20));
        assert_eq!(
            l("Beneficiary account no.\t4121234567  "),
            Line::Account(34)
        );
        assert_eq!(l("ABA/Routing #: 021000021"), Line::Routing);
        assert_eq!(l("Routing number: 12"), Line::Routing);
        assert_eq!(l(" \t\r"), Line::Blank);
        assert_eq!(l(""), Line::Blank);
        assert_eq!(l("Account name: ACME Corp"), Line::Other);
        assert_eq!(l("Número de cuenta: 12345678"), Line::Account(27));
        assert_eq!(l("N° de compte : 12345678"), Line::Account(24));
        // A label alone, and a value alone: a form's field printed over two lines.
        assert_eq!(l("Account number"), Line::Other);
        assert_eq!(label_alone(b"Account number"), Some(ACCOUNT));
        assert_eq!(label_alone(b" ABA routing number:\r"), Some(ROUTING));
        assert_eq!(label_alone(b"Beneficiary"), Some(0));
        assert_eq!(label_alone(b"Account name: ACME Corp"), None);
        assert_eq!(label_alone(b" \r"), None);
        assert_eq!(l("  0012345678 "), Line::Value(12));
        assert_eq!(l("123"), Line::Other, "too short");
        assert_eq!(l("12345678 USD"), Line::Other);
        assert_eq!(l("Account number: 1234 5678"), Line::Other, "grouped");
        assert_eq!(l("Account number: 123"), Line::Other, "too short");
        assert_eq!(l("Account number: 12345678.50"), Line::Other);
        assert_eq!(
            l("Account 2: 12345678"),
            Line::Other,
            "a digit in the label"
        );
        assert_eq!(l("Amount: 12345678"), Line::Other);
        assert_eq!(l("Bank address: 270 Park Avenue"), Line::Other);
        assert_eq!(l("<b>Account</b>: 12345678"), Line::Other, "not a label");
    }

    #[test]
    fn a_labelled_block_above() {
        let above = |s: &str, whole| labelled_above(s.as_bytes(), whole);
        assert_eq!(
            above("Account Number: 123456789\nRouting Number: ", true),
            (true, Some(17))
        );
        assert_eq!(
            above(
                "x\nAccount: 12345678\r\nAccount name: ACME\r\nBank: Chase\r\nABA: ",
                false
            ),
            (true, Some(40))
        );
        // Not labelled: the routing number's line says more than a label, or its start is cut.
        assert_eq!(
            above("Account: 12345678\npay to ABA 1, ABA ", true),
            (false, None)
        );
        assert_eq!(above("Account: 12345678\nwire 5 ABA ", true), (false, None));
        assert_eq!(above("ABA ", false), (false, None));
        assert_eq!(above("ABA ", true), (true, None));
        // A blank line, another routing number, too many lines between, a cut line.
        assert_eq!(above("Account: 12345678\n\nABA: ", true), (true, None));
        assert_eq!(
            above("Account: 12345678\nRouting: 026009593\nABA: ", true),
            (true, None)
        );
        assert_eq!(
            above("Account: 12345678\na\nb\nc\nd\nABA: ", true),
            (true, None)
        );
        assert_eq!(
            above("Account: 12345678\na\nb\nc\nABA: ", true),
            (true, Some(12))
        );
        assert_eq!(above("ount: 12345678\nABA: ", false), (true, None));
    }

    #[test]
    fn a_labelled_block_below() {
        let b = |s: &str, end| below(s.as_bytes(), end);
        assert_eq!(b("Account Number: 123456789\n", false), Onward::Account(25));
        assert_eq!(b("Account Number: 123456789", true), Onward::Account(25));
        assert_eq!(
            b("Account name: ACME\r\nAcct: 12345678\r\n", false),
            Onward::Account(34)
        );
        assert_eq!(b("\nAccount Number: 123456789\n", false), Onward::Nothing);
        assert_eq!(
            b("Routing: 026009593\nAccount: 1234567\n", false),
            Onward::Nothing
        );
        assert_eq!(b("a\nb\nc\nd\nAccount: 1234567\n", false), Onward::Nothing);
        assert_eq!(b("a\nb\nc\nAccount: 1234567\n", false), Onward::Account(22));
        assert_eq!(b("Bank: Chase", true), Onward::Nothing);
        // Not yet decided, or decided by a routing number's label before its number ends.
        assert_eq!(b("Account Number: 123456789", false), Onward::More);
        assert_eq!(b("Account Num", false), Onward::More);
        assert_eq!(b("Bank: Chase\nABA routing: 0", false), Onward::Nothing);
        // A line longer than what is read is no block's.
        let long = format!("Note: {}", "x".repeat(FAR));
        assert_eq!(b(&long[..FAR], false), Onward::Nothing);
    }

    #[test]
    fn after_a_routing_number_its_line_ends() {
        let t = b" \t \r\nAccount: 1";
        let end = |i: usize| i + t[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        assert!(matches!(
            After::new(None).go(t, 0, b"", |s, e| names(&t[s..e]), end),
            Found::LineEnd(5)
        ));
        // Not after anything but blanks.
        let t = b" acct\nAccount: 1";
        assert!(matches!(
            After::new(None).go(t, 0, b"", |s, e| names(&t[s..e]), end),
            Found::Nothing
        ));
    }

    #[test]
    fn accounts_in_a_table_row() {
        // vendor_id, account_number, name, routing_number, bic, iban, account_type, account
        let header = [
            0,
            ACCOUNT,
            0,
            ROUTING,
            BIC,
            ACCOUNT | IBAN,
            ACCOUNT,
            ACCOUNT,
        ];
        let before = |row: &str, quoted, field| {
            row_before(row.as_bytes(), (quoted, Delimiter::ANY), field, &header)
        };
        assert_eq!(before("V1,12345678,ACME,", false, 3), Some(11));
        assert_eq!(
            before("V1, \"12345678\" ,\"ACME, Inc.\",\"", true, 3),
            Some(13)
        );
        // Unquoted, the comma in the name ends a field: the row does not come to field 3.
        assert_eq!(before("V1,12345678,ACME, Inc.,", false, 3), None);
        assert_eq!(before("V1,ACCT-9,ACME,", false, 3), None);
        assert_eq!(before("V1,123,ACME,", false, 3), None);
        // A bank's column between: the account is that bank's.
        assert_eq!(
            before("V1,12345678,ACME,021000021,BOFAUS3N,", false, 5),
            None
        );
        let after =
            |b: &str, field| row_after(b.as_bytes(), false, (true, Delimiter::ANY), field, &header);
        assert_eq!(after(",BOFAUS3N,X,checking,12345678\n", 3), Onward::Nothing);
        assert_eq!(after(",\"DE89\",checking,12345678\n", 4), Onward::Nothing);
        let header = [ROUTING, 0, ACCOUNT, ACCOUNT];
        let after = |b: &str, end| row_after(b.as_bytes(), end, (true, Delimiter::ANY), 0, &header);
        assert_eq!(
            after(
                "\",\"First Bank, N.A.\",\"savings\",\"0012345678\"\r\n",
                false
            ),
            Onward::Account(42)
        );
        assert_eq!(
            after(",Bank,12345678,87654321\n", false),
            Onward::Account(14)
        );
        assert_eq!(after(",Bank,12345678", true), Onward::Account(14));
        assert_eq!(after(",Bank,12345678", false), Onward::More);
        assert_eq!(after(",Bank,checking,n/a\n", false), Onward::Nothing);
        assert_eq!(
            after(",Bank\n12345678,1,12345678\n", false),
            Onward::Nothing
        );
        // No account column after the routing number's.
        assert_eq!(
            row_after(b",1,2", false, (false, Delimiter::ANY), 3, &header),
            Onward::Nothing
        );
    }

    #[test]
    fn in_markup_json_and_query_strings() {
        let t = b"</RoutingNumber>\n      <AccountNumber>0012345678</AccountNumber>";
        let end = |i: usize| i + t[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let go = |a: After| a.go(t, 0, b"", |s, e| names(&t[s..e]), end);
        assert!(matches!(
            go(After::new(None).in_layout()),
            Found::Account(48)
        ));
        assert!(
            matches!(go(After::new(None)), Found::Nothing),
            "in text a line end ends the search"
        );
        let q = b"&account=12345678 HTTP/1.1";
        let end = |i: usize| i + q[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        assert!(matches!(
            After::new(None).go(q, 0, b"", |s, e| names(&q[s..e]), end),
            Found::Account(17)
        ));
        let b = |s: &str, layout| {
            let line = s.as_bytes();
            let shape = (layout, Delimiter::ANY);
            before(line, true, None, b"", |s, e| names(&line[s..e]), shape)
        };
        let laid_out = "<AccountNumber>12345678</AccountNumber>\n  <RoutingNumber>";
        assert_eq!(b(laid_out, true), Some(34));
        assert_eq!(b(laid_out, false), None);
        assert_eq!(
            b("accountNumber=\"12345678\" routingNumber=\"", false),
            Some(17)
        );
        assert_eq!(
            b(
                "\"account_number\": \"12345678\", \"routing_number\": \"",
                false
            ),
            Some(22)
        );
        // Something else between: not its account.
        assert_eq!(
            b(
                "<AccountNumber>12345678</AccountNumber><Name>A</Name><RoutingNumber>",
                true
            ),
            None
        );
    }
}
