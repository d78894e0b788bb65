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

use crate::scan::{ACCOUNT, BIC, CARD, IBAN, ROUTING, keyword};
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
/// them (`Routing Number`, `Acct #`, `SSN`).
pub(crate) fn heading_names(heading: &[u8]) -> u8 {
    heading
        .split(|c| !c.is_ascii_alphanumeric())
        .fold(0, |n, w| n | names(w))
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

/// Most lines above or below a labelled routing number's line that its account's line may be
/// (wire instructions put the bank's name, the account's name or an address between).
const LINES_APART: usize = 4;

/// Most bytes of a label (`Beneficiary Bank ABA Routing Number: `).
const LABEL: usize = 64;

/// What a line of a block of labelled lines (`Account number: 123456789`) is.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Its label names an account and its value is an account number, ending at this offset
    /// of the line.
    Account(usize),
    /// Its label names a routing number: another pair begins.
    Routing,
    /// Nothing but blanks: the block ends.
    Blank,
    /// A number of an account's form alone, ending at this offset of the line: a value whose
    /// label may be the line above, alone ([`label_alone`]: `Account number` / `12345678`, as
    /// a form's fields are printed).
    Value(usize),
    /// Anything else (`Account name: ACME Corp`, `Bank: …`).
    Other,
}

/// Whether `label` is a label: words of letters (a letter beyond ASCII too: `Número de
/// cuenta`, `N° de compte`) and punctuation only, at least one letter, at most [`LABEL`] bytes;
/// a configuration key's digits too, before any blank (`vendor.1.routing = `,
/// `payee[2].account:`). What its words name (a key's digits part its words).
fn label(label: &[u8]) -> Option<u8> {
    if label.len() > LABEL {
        return None;
    }
    // One pass: each word looked up as it ends.
    let mut named = 0;
    let mut word: Option<usize> = None;
    let mut letters = false;
    let mut blanks = false;
    for (i, &c) in label.iter().enumerate() {
        if c.is_ascii_alphabetic() || c >= 0x80 {
            letters = true;
            word.get_or_insert(i);
        } else if punctuation(c) || blank(&c) || c.is_ascii_digit() && !blanks {
            // (A digit after a blank: a sentence's number, not a key's.)
            blanks |= blank(&c);
            if let Some(s) = word.take() {
                named |= names(&label[s..i]);
            }
        } else {
            return None;
        }
    }
    if let Some(s) = word {
        named |= names(&label[s..]);
    }
    letters.then_some(named)
}

/// The label of a configuration key's line (`vendor.1.account=12345678`, whose label
/// [`line()`] would end at its first digit): what it names and where its value begins, after the
/// first `=` or `:`.
fn key_label(line: &[u8]) -> Option<(u8, usize)> {
    let k = line.iter().position(|&c| c == b'=' || c == b':')?;
    let named = label(&line[..=k])?;
    let value = line[k + 1..].iter().position(|c| !blank(c))?;
    Some((named, k + 1 + value))
}

/// Blanks: spaces, tabs and the carriage return of a CRLF line end.
fn blank(c: &u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// What a whole line (without its line end) of a block of labelled lines is: a label, then a
/// number or nothing that counts.
fn line(line: &[u8]) -> Line {
    let end = line.iter().rposition(|c| !blank(c)).map_or(0, |p| p + 1);
    let start = line[..end].iter().position(|c| !blank(c)).unwrap_or(end);
    if start == end {
        return Line::Blank;
    }
    let Some(digit) = line[start..end].iter().position(u8::is_ascii_digit) else {
        return Line::Other;
    };
    if digit == 0 {
        return if validate::us_account(&line[start..end]) {
            Line::Value(end)
        } else {
            Line::Other
        };
    }
    let (named, value) = match label(&line[start..start + digit]) {
        Some(named) if named != 0 => (named, start + digit),
        _ => match key_label(&line[start..end]) {
            Some((named, value)) => (named, start + value),
            None => return Line::Other,
        },
    };
    if named & ROUTING != 0 {
        Line::Routing
    } else if named & ACCOUNT != 0 && validate::us_account(&line[value..end]) {
        Line::Account(end)
    } else {
        Line::Other
    }
}

/// What a line that is a label alone names (`Account number`, `ABA routing number:`; not
/// `Account name: ACME Corp`, a label and its value): its value is the next line.
fn label_alone(line: &[u8]) -> Option<u8> {
    let end = line.iter().rposition(|c| !blank(c)).map_or(0, |p| p + 1);
    let start = line[..end].iter().position(|c| !blank(c)).unwrap_or(end);
    let text = &line[start..end];
    let text = text.strip_suffix(b":").unwrap_or(text);
    if text.is_empty() || memchr::memchr(b':', text).is_some() {
        return None;
    }
    label(text)
}

/// Whether a routing number whose line holds nothing else but blanks after it is a labelled
/// line's value, and the account number of a labelled line above it: `window` holds the bytes
/// before the routing number (at most [`FAR`]; `whole` when they begin at a line's
/// start). Returns whether the line is labelled, and how many bytes before the routing number
/// the account number above ends.
pub(crate) fn labelled_above(window: &[u8], whole: bool) -> (bool, Option<usize>) {
    // The routing number's line: its label.
    let line_start = match window.iter().rposition(|&b| b == b'\n') {
        Some(p) => p + 1,
        None if whole => 0,
        None => return (false, None),
    };
    // The start of the line above the one that ends at `end` (its line end), if the window
    // holds it whole.
    let line_above = |end: usize| -> Option<usize> {
        let last = end.checked_sub(1)?;
        match window[..last].iter().rposition(|&b| b == b'\n') {
            Some(p) => Some(p + 1),
            None if whole => Some(0),
            None => None,
        }
    };
    let mut end = line_start;
    let labelled = match window[line_start..].iter().position(|c| !blank(c)) {
        Some(p) => label(&window[line_start + p..]).is_some_and(|named| named & ROUTING != 0),
        // The number begins its line: its label may be the line above, alone.
        None => match line_above(line_start) {
            Some(start) => match label_alone(&window[start..line_start - 1]) {
                Some(named) if named & ROUTING != 0 => {
                    end = start;
                    true
                }
                _ => false,
            },
            None => false,
        },
    };
    if !labelled {
        return (false, None);
    }
    // The lines above, nearest first: those the window holds whole.
    for _ in 0..LINES_APART {
        let Some(start) = line_above(end) else {
            break;
        };
        match line(&window[start..end - 1]) {
            Line::Account(e) => return (true, Some(window.len() - (start + e))),
            // A value whose label alone is the line above it: an account's, or another
            // routing number's (another pair).
            Line::Value(e) => {
                let named = line_above(start)
                    .and_then(|above| label_alone(&window[above..start - 1]))
                    .unwrap_or(0);
                if named & ROUTING != 0 {
                    break;
                }
                if named & ACCOUNT != 0 {
                    return (true, Some(window.len() - (start + e)));
                }
                end = start;
            }
            Line::Routing | Line::Blank => break,
            Line::Other => end = start,
        }
    }
    (true, None)
}

/// Where a search that reads on past a routing number stands (below its labelled line, or
/// along its table row).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Onward {
    /// An account number, ending at this offset of the bytes.
    Account(usize),
    /// None below it.
    Nothing,
    /// The bytes ended first.
    More,
}

/// The account number of a labelled line below a labelled routing number's: `b` holds the
/// bytes from the line after the routing number's (at most [`FAR`]); `complete` when
/// the file ended there. A line whose label names
/// a routing number ends the search as soon as its label is read, before its number: so the
/// search is always decided before the scanner meets the next routing number.
pub(crate) fn below(b: &[u8], complete: bool) -> Onward {
    let mut start = 0;
    // Where the line before begins: a value's label alone may be it.
    let mut before: Option<usize> = None;
    for _ in 0..LINES_APART {
        let (end, next) = match b[start..].iter().position(|&c| c == b'\n') {
            Some(n) => (start + n, start + n + 1),
            None if complete => (b.len(), b.len()),
            None => {
                // A line still cut: its label, once its number begins, may already decide.
                let rest = &b[start..];
                let routing = rest.iter().position(u8::is_ascii_digit).is_some_and(|d| {
                    let from = rest[..d].iter().position(|c| !blank(c)).unwrap_or(d);
                    label(&rest[from..d]).is_some_and(|named| named & ROUTING != 0)
                });
                // A line longer than the bytes read is not one of a block.
                return if routing || b.len() >= FAR {
                    Onward::Nothing
                } else {
                    Onward::More
                };
            }
        };
        match line(&b[start..end]) {
            Line::Account(e) => return Onward::Account(start + e),
            // A value whose label alone is the line before: an account's, or another routing
            // number's (another pair begins).
            Line::Value(e) => {
                let named = before
                    .and_then(|from| label_alone(&b[from..start - 1]))
                    .unwrap_or(0);
                if named & ROUTING != 0 {
                    return Onward::Nothing;
                }
                if named & ACCOUNT != 0 {
                    return Onward::Account(start + e);
                }
            }
            Line::Routing | Line::Blank => return Onward::Nothing,
            Line::Other => {}
        }
        if next >= b.len() && complete {
            return Onward::Nothing;
        }
        before = Some(start);
        start = next;
    }
    Onward::Nothing
}

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

/// In a table without a header (a delimited one whose first line is a record, or lines of
/// fixed-width columns), whether the field right after a routing number holds an account
/// number: `after` holds the bytes after the routing number (at most [`FAR`]), `end` when the
/// file ends there. `None` when the field goes on past `after` (its next bytes are in the next
/// text); a field longer than [`FAR`] holds none.
pub(crate) fn account_next(after: &[u8], end: bool, next: NextField) -> Option<bool> {
    // Where `after` ends before the field does: judged with the next text's bytes.
    let undecided = if !end && after.len() < FAR {
        None
    } else {
        Some(false)
    };
    let (field, ends): (&[u8], &dyn Fn(u8) -> bool) = match next {
        NextField::Delimited(quoted, delimiter) => {
            let i = usize::from(quoted && after.first() == Some(&b'"'));
            let Some(&c) = after.get(i) else {
                return undecided;
            };
            if !delimiter.ends_field(c) {
                return Some(false);
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
                return Some(false);
            }
            (&after[blanks..], &|c| matches!(c, b' ' | b'\r' | b'\n'))
        }
    };
    let value = |f: &[u8]| match next {
        NextField::Delimited(..) => account_value(f).is_some(),
        NextField::Blanks => validate::us_account(f),
    };
    match field.iter().position(|&c| ends(c)) {
        Some(n) => Some(value(&field[..n])),
        None if after.len() >= FAR => Some(false),
        None if end => Some(value(field)),
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
fn customer_field_before(before: &[u8]) -> bool {
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
fn swift_number(b: &[u8], from: usize) -> AfterTag {
    let rest = b.get(from..).unwrap_or_default();
    let n = rest
        .iter()
        .take(*validate::US_ACCOUNT_DIGITS.end() + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    match rest.get(n) {
        None if n <= *validate::US_ACCOUNT_DIGITS.end() => AfterTag::More,
        Some(b'\n' | b'\r') if validate::us_account(&rest[..n]) => AfterTag::Account,
        _ => AfterTag::Not,
    }
}

/// Whether an account number follows a tag ([`Tagged::number`]). ISO 20022, from just after
/// its `<Othr>`: `<Id>`, then 4 to 17 digits, then `</Id>` (IBANs, `<Id><IBAN>`, are their own
/// class; an identification with letters is not a US account number).
pub(crate) enum AfterTag {
    /// An account number of the form.
    Account,
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
fn iso20022_number(b: &[u8], from: usize) -> AfterTag {
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
        Some(true) if validate::us_account(&b[start..end]) => AfterTag::Account,
        Some(_) => AfterTag::Not,
    }
}

/// Whether the bytes before an `<Othr>` (`before`, at most [`TAGGED_ACCOUNT`] of them) end in
/// an account element's opening tag and `<Id>`, with any layout between: `<CdtrAcct><Id>`,
/// camt's `<Acct><Id>` (an element whose name ends in `Acct`).
fn account_opened_before(before: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let found = |s: &str| matches!(iso20022_number(s.as_bytes(), 0), AfterTag::Account);
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
        assert!(matches!(number("0012345678\r\nACME"), AfterTag::Account));
        assert!(matches!(number("12345678\n"), AfterTag::Account));
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
