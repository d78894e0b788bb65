//! The keywords that name what a number near them is (`card`, `routing`, `ssn`, `bic`, XML
//! elements such as `<BICFI>` …): the context bits they give, a perfect hash of them built and
//! checked at compile time, and the context of one word (its camelCase parts too). Never here:
//! where a word stands or what its context decides.

use crate::bitmap::Bitmap;

// Context bits: what the surrounding text says a number is.
pub(crate) const CARD: u8 = 1;
pub(crate) const ROUTING: u8 = 2;
pub(crate) const SSN: u8 = 4;
pub(crate) const BIC: u8 = 8;
/// Names an account (for recognising delimited files whose headers name accounts).
pub(crate) const ACCOUNT: u8 = 16;
/// Names an IBAN (an account identified with its bank: a table's IBAN column is not one of
/// US account numbers).
pub(crate) const IBAN: u8 = 32;

/// The keywords, with the context each gives (letters and digits only, in small letters).
const KEYWORDS: [(&[u8], u8); 53] = [
    (b"cc", CARD),
    (b"pan", CARD),
    (b"ccn", CARD),
    (b"aba", ROUTING),
    (b"rtn", ROUTING),
    (b"ssn", SSN),
    (b"bic", BIC),
    (b"52a", BIC),
    (b"53a", BIC),
    (b"54a", BIC),
    (b"56a", BIC),
    (b"57a", BIC),
    (b"58a", BIC),
    (b"card", CARD),
    (b"visa", CARD),
    (b"amex", CARD),
    (b"rdfi", ROUTING),
    // ISO 20022's code of the clearing system whose member ids are ABA routing numbers.
    (b"usaba", ROUTING),
    (b"odfi", ROUTING),
    (b"acct", ACCOUNT),
    // A demand deposit account: US banks' and treasury systems' name for a checking account.
    (b"dda", ACCOUNT),
    (b"iban", ACCOUNT | IBAN),
    (b"cards", CARD),
    (b"karte", CARD),
    (b"carte", CARD),
    (b"bicfi", BIC),
    (b"swift", BIC),
    (b"konto", ACCOUNT),
    (b"social", SSN),
    (b"anybic", BIC),
    (b"compte", ACCOUNT),
    (b"cuenta", ACCOUNT),
    (b"tarjeta", CARD),
    (b"routing", ROUTING),
    (b"transit", ROUTING),
    (b"account", ACCOUNT),
    (b"swiftbic", BIC),
    (b"bicorbei", BIC),
    (b"accounts", ACCOUNT),
    (b"mastercard", CARD),
    (b"creditcard", CARD),
    (b"cardnumber", CARD),
    (b"kreditkarte", CARD),
    (b"kontonummer", ACCOUNT),
    (b"routingnumber", ROUTING),
    (b"accountnumber", ACCOUNT),
    (b"socialsecurity", SSN),
    // Legacy systems' column names: `SOC_SEC_NO`, `SocSecNum`, `SOCSECNO`; `SSNO`; the
    // military's social security account number, `SSAN`.
    (b"soc", SSN),
    (b"ssan", SSN),
    (b"ssno", SSN),
    (b"socsec", SSN),
    (b"socsecno", SSN),
    (b"socsecnum", SSN),
];
/// The longest keyword.
const MAX_KEYWORD: usize = longest_keyword();

const fn longest_keyword() -> usize {
    let mut longest = 0;
    let mut i = 0;
    while i < KEYWORDS.len() {
        if KEYWORDS[i].0.len() > longest {
            longest = KEYWORDS[i].0.len();
        }
        i += 1;
    }
    // A key holds a word's first and last eight bytes.
    assert!(longest <= 16, "a keyword longer than a key holds");
    longest
}

/// A word as the keyword table keys it: its first eight bytes and its last eight (overlapping
/// when it is shorter than 16; none when it is eight or shorter), little-endian, letters in
/// small letters (`| 0x20` lower-cases a letter and leaves a digit as it is; words hold
/// nothing else), and its length.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct WordKey {
    head: u64,
    tail: u64,
    len: u8,
}

/// The low `len` bytes (1 to 8) of a word, folded to small letters.
const fn folded(word: u64, len: usize) -> u64 {
    let mask = if len >= 8 {
        !0
    } else {
        (1u64 << (8 * len)) - 1
    };
    (word | 0x2020_2020_2020_2020) & mask
}

/// The table slot of a key: a multiplicative hash, checked at compile time to give every
/// keyword a slot of its own ([`keyword_table`]).
const fn slot_of(k: WordKey) -> usize {
    let mixed = k.head ^ k.tail.rotate_left(29) ^ k.len as u64;
    (mixed.wrapping_mul(0x919E_0D04_1B3C_F9D1) >> (64 - 7)) as usize
}

const fn key_of_keyword(word: &[u8]) -> WordKey {
    let len = word.len();
    let mut head = 0u64;
    let mut tail = 0u64;
    let mut j = 0;
    while j < len {
        if j < 8 {
            head |= (word[j] as u64) << (8 * j);
        }
        if len > 8 && j + 8 >= len {
            tail |= (word[j] as u64) << (8 * (j + 8 - len));
        }
        j += 1;
    }
    WordKey {
        head: folded(head, if len < 8 { len } else { 8 }),
        tail: if len > 8 { folded(tail, 8) } else { 0 },
        len: len as u8,
    }
}

/// The keywords by slot, with their contexts (an empty slot has length 0, which no word has).
const fn keyword_table() -> [(WordKey, u8); 128] {
    let empty = WordKey {
        head: 0,
        tail: 0,
        len: 0,
    };
    let mut table = [(empty, 0u8); 128];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let key = key_of_keyword(KEYWORDS[i].0);
        let slot = slot_of(key);
        assert!(
            table[slot].0.len == 0,
            "two keywords share a slot: change the multiplier"
        );
        table[slot] = (key, KEYWORDS[i].1);
        i += 1;
    }
    table
}
static KEYWORD_TABLE: [(WordKey, u8); 128] = keyword_table();

/// The low `len` bytes (1 to 8) of `t` from `at`, little-endian: one load where eight bytes
/// are there to read.
#[inline]
pub(super) fn load(t: &[u8], at: usize, len: usize) -> u64 {
    match t.get(at..at + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => t[at..at + len]
            .iter()
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b)),
    }
}

/// The context the word `t[from..to]` gives (letters compared without case; letters and digits
/// only): one table slot read and compared.
#[inline]
pub(crate) fn keyword_at(t: &[u8], from: usize, to: usize) -> u8 {
    let len = to - from;
    if !(2..=MAX_KEYWORD).contains(&len) {
        return 0;
    }
    let key = WordKey {
        head: folded(load(t, from, len.min(8)), len.min(8)),
        tail: if len > 8 {
            folded(load(t, to - 8, 8), 8)
        } else {
            0
        },
        len: len as u8,
    };
    let (k, context) = KEYWORD_TABLE[slot_of(key)];
    if k == key { context } else { 0 }
}

/// Whether the one-letter word `t[from..to]` is the `c` of `A/C`, banks' abbreviation of an
/// account (`A/C No`, `a/c number`, `credit A/C 12345678`): a slash and an `a` of its own right
/// before it. (Its letters are words of one letter, which are never keywords.)
#[inline]
pub(crate) fn account_abbreviation(t: &[u8], from: usize, to: usize) -> bool {
    to == from + 1
        && from >= 2
        && to <= t.len()
        && t[from] | 0x20 == b'c'
        && t[from - 1] == b'/'
        && t[from - 2] | 0x20 == b'a'
        && (from == 2 || !t[from - 3].is_ascii_alphanumeric())
}

/// What a line's abbreviations name ([`account_abbreviation`]): for headings read as a whole,
/// whose words are split at the slash.
pub(crate) fn abbreviations(line: &[u8]) -> u8 {
    let named = memchr::memchr_iter(b'/', line).any(|p| {
        account_abbreviation(line, p + 1, p + 2)
            && line.get(p + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
    });
    if named { ACCOUNT } else { 0 }
}

/// The context a word of letters and digits gives.
pub(crate) fn keyword(word: &[u8]) -> u8 {
    keyword_at(word, 0, word.len())
}

/// The context of the word `t[from..to]`: the word looked up, and when it is camelCase
/// (`CardNumber`; `BICFI` is one word) each of its parts too (`card_number` is two words
/// already). The parts are found from the camelCase bits, not by reading the letters.
#[inline]
pub(super) fn word_context(t: &[u8], m: &Bitmap, from: usize, to: usize) -> u8 {
    #[cfg(test)]
    crate::tests::WORD_LOOKUPS.with(|n| n.set(n.get() + 1));
    let len = to - from;
    if len == 1 && account_abbreviation(t, from, to) {
        return ACCOUNT;
    }
    if !(2..=24).contains(&len) {
        return 0;
    }
    let mut mask = keyword_at(t, from, to);
    // Each bit: a small letter whose next letter, a capital, begins a part.
    let mut camel = m.window(from, len, |k| k.camel);
    let mut start = from;
    while camel != 0 {
        let part_end = from + camel.trailing_zeros() as usize + 1;
        mask |= keyword_at(t, start, part_end);
        start = part_end;
        camel &= camel - 1;
    }
    if start > from {
        mask |= keyword_at(t, start, to);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every keyword is found in any case, wherever it lies in a text (the one-load path and
    /// the byte-by-byte path at a text's end), and a word one letter longer or shorter is not.
    #[test]
    fn every_keyword_is_found_and_nothing_near_it() {
        for (k, context) in KEYWORDS {
            let lower = std::str::from_utf8(k).unwrap();
            for word in [lower.to_owned(), lower.to_uppercase(), {
                let mut w = lower.to_owned();
                w[..1].make_ascii_uppercase();
                w
            }] {
                assert_eq!(keyword(word.as_bytes()), context, "{word}");
                let text = format!("{word} and more text after it");
                assert_eq!(
                    keyword_at(text.as_bytes(), 0, word.len()),
                    context,
                    "{word}"
                );
                let text = format!("x {word}");
                assert_eq!(
                    keyword_at(text.as_bytes(), 2, text.len()),
                    context,
                    "{word}"
                );
                let longer = format!("{word}s1");
                assert_eq!(keyword(longer.as_bytes()), 0, "{longer}");
                let shorter = &word[..word.len() - 1];
                let is_keyword = KEYWORDS
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case(shorter.as_bytes()));
                if !is_keyword {
                    assert_eq!(keyword(shorter.as_bytes()), 0, "{shorter}");
                }
            }
        }
        for (line, named) in [
            ("A/C No", ACCOUNT),
            ("a/c number", ACCOUNT),
            ("Beneficiary A/C", ACCOUNT),
            ("A/C#", ACCOUNT),
            ("(a/c)", ACCOUNT),
            ("A/CD", 0),
            ("AA/C", 0),
            ("B/C", 0),
            ("A-C", 0),
            ("/C", 0),
            ("A/", 0),
            ("a/", 0),
            ("/", 0),
            ("x/", 0),
        ] {
            assert_eq!(abbreviations(line.as_bytes()), named, "{line}");
            let at = line.find("/C").or(line.find("/c"));
            if let Some(p) = at
                .filter(|p| line.len() == p + 2 || !line.as_bytes()[p + 2].is_ascii_alphanumeric())
            {
                assert_eq!(
                    account_abbreviation(line.as_bytes(), p + 1, p + 2),
                    named != 0,
                    "{line}"
                );
            }
        }
        for word in [
            "",
            "c",
            "cardnumbers",
            "socialsecurityx",
            "ACCT1",
            "bicf1",
            "card_",
        ] {
            assert_eq!(keyword(word.as_bytes()), 0, "{word}");
        }
    }
}
