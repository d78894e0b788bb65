//! Words: a run of letters and digits that may be an IBAN, a BIC or a UK National Insurance
//! number, in one piece or printed in groups. Never here: numbers and addresses.

use super::email::email_follows;
use super::{BIC, Scanner};
use crate::account;
use crate::bitmap::Bitmap;
use crate::scan::Class;
use crate::validate;

impl Scanner {
    /// A run of letters and digits at `at..end` that starts with a letter: an IBAN (also
    /// printed in groups of four), a NINO (also printed in pairs), or a BIC in a BIC context.
    /// Returns where the candidate counted ends, or `None`.
    pub(super) fn word(&mut self, seg: &[u8], m: &Bitmap, at: usize, end: usize) -> Option<usize> {
        debug_assert!(at == 0 || !seg[at - 1].is_ascii_alphanumeric());
        let word = &seg[at..end];
        if at > 0 && seg[at - 1] == b'.' {
            return None;
        }
        let upper2 = word.len() >= 2 && word[..2].iter().all(u8::is_ascii_uppercase);
        let lower2 = word.len() >= 2 && word[..2].iter().all(u8::is_ascii_lowercase);
        if (upper2 || lower2)
            && word.len() >= 4
            && word[2..4].iter().all(u8::is_ascii_digit)
            && let Some(want) =
                validate::iban_length(&[word[0].to_ascii_uppercase(), word[1].to_ascii_uppercase()])
        {
            if upper2 && word.len() == want && validate::iban(word) {
                self.found(Class::Iban, word);
                return Some(end);
            }
            // Printed form: groups of four (the last shorter) joined by single spaces; people
            // type it in small letters too.
            if word.len() == 4
                && let Some(k) = self.printed_iban(seg, at, want)
            {
                return Some(k);
            }
        }
        // A card's magnetic stripe, track 1 (`%B4111111111111111^DOE/JOHN^2712…`): the format
        // code `B`, the card number, the field separator. Counted without other context: the
        // stripe is the card.
        if word[0] == b'B'
            && (14..=20).contains(&word.len())
            && seg.get(end) == Some(&b'^')
            && word[1..].iter().all(u8::is_ascii_digit)
        {
            if validate::card_number_of_digits(&word[1..]) {
                self.found(Class::CardNumber, &word[1..]);
                return Some(end);
            }
            return None;
        }
        // A fixed-width record whose type letter is glued to a card-length number
        // (`D4111111111111111 …`): the number is weighed as its column's candidate.
        if at == 0 || seg[at - 1] == b'\n' {
            let digits = &word[1..];
            if word[0].is_ascii_uppercase()
                && (13..=19).contains(&digits.len())
                && digits.iter().all(u8::is_ascii_digit)
            {
                self.column_candidate(seg, m, at + 1, digits);
                return None;
            }
        }
        // A NINO typed in small letters (`ab123456c`), compact: the same rules on its capitals.
        if lower2 && word.len() == 9 && word[8].is_ascii_lowercase() {
            let mut capitals = [0u8; 9];
            capitals.copy_from_slice(word);
            capitals.make_ascii_uppercase();
            if validate::uk_nino(&capitals) {
                self.found(Class::UkNino, &capitals);
                return Some(end);
            }
        }
        // SWIFT MT's Fedwire code before an ABA routing number (`:57D://FW021000021`).
        if self.accounts.tagged == Some(account::Tagged::SwiftMt)
            && word.len() == 11
            && word.starts_with(b"FW")
            && validate::aba_routing(&word[2..])
        {
            self.found(Class::AbaRouting, &word[2..]);
            return Some(end);
        }
        if upper2 {
            if word.len() == 9 && validate::uk_nino(word) {
                self.found(Class::UkNino, word);
                return Some(end);
            }
            if word.len() == 2
                && let Some(k) = self.printed_nino(seg, at)
            {
                return Some(k);
            }
            // (A workbook's cell of a BIC alone is its sheet's reading's, by its column.)
            if (word.len() == 8 || word.len() == 11)
                && !email_follows(seg, end)
                && validate::bic(word)
                && !self.workbook_value(seg, at, word.len())
                && self.context_at(seg, m, at, BIC) & BIC != 0
            {
                self.found(Class::SwiftBic, word);
                return Some(end);
            }
        }
        None
    }

    fn printed_iban(&mut self, seg: &[u8], at: usize, want: usize) -> Option<usize> {
        let mut buf = [0u8; 34];
        let mut len = 0;
        let mut i = at;
        while len < want {
            let start = i;
            while i < seg.len() && i - start < 4 && seg[i].is_ascii_alphanumeric() {
                buf[len] = seg[i].to_ascii_uppercase();
                len += 1;
                i += 1;
                if len == want {
                    break;
                }
            }
            let group = i - start;
            if len == want {
                break;
            }
            if group != 4 || i + 1 >= seg.len() || seg[i] != b' ' {
                return None;
            }
            i += 1;
        }
        let ends_clean = i >= seg.len() || !seg[i].is_ascii_alphanumeric();
        if ends_clean && validate::iban(&buf[..len]) {
            self.found(Class::Iban, &buf[..len]);
            Some(i)
        } else {
            None
        }
    }

    fn printed_nino(&mut self, seg: &[u8], at: usize) -> Option<usize> {
        // "AB 12 34 56 C": 13 bytes.
        let s = seg.get(at..at + 13)?;
        let spaced = [2, 5, 8, 11].iter().all(|&k| s[k] == b' ');
        if !spaced || seg.get(at + 13).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        let compact = [s[0], s[1], s[3], s[4], s[6], s[7], s[9], s[10], s[12]];
        if validate::uk_nino(&compact) {
            self.found(Class::UkNino, &compact);
            Some(at + 13)
        } else {
            None
        }
    }
}
