//! Wire instructions' labelled lines: a routing number that is a line's value after a label
//! (`ABA Routing Number: 021000021`) pairs with the account number of a labelled line above it
//! or below it (`Account Number: 4121234567`), a few lines apart; a configuration key is a label
//! too. Never here: whether the routing number counts.

use super::{FAR, names, punctuation};
use crate::scan::{ACCOUNT, ROUTING};
use crate::validate;

/// Most lines above or below a labelled routing number's line that its account's line may be
/// (wire instructions put the bank's name, the account's name or an address between).
const LINES_APART: usize = 4;

/// Most bytes of a label (`Beneficiary Bank ABA Routing Number: `).
const LABEL: usize = 64;

/// What a line of a block of labelled lines (`Account number: 123456789`) is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
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
pub(super) fn blank(c: &u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// What a whole line (without its line end) of a block of labelled lines is: a label, then a
/// number or nothing that counts.
pub(super) fn line(line: &[u8]) -> Line {
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
pub(super) fn label_alone(line: &[u8]) -> Option<u8> {
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
