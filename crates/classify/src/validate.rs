//! One validator per data class: each takes the candidate's characters (separators already
//! removed where the class allows them) and says whether it is a well-formed, checksummed
//! instance. No allocation; no regular expressions.

/// Luhn (ISO/IEC 7812-1) over ASCII digits; `false` for anything that is not all digits.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // A doubled digit's contribution (2d, less 9 above 9), looked up.
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    // From the right: the check digit as it is, the next doubled, and so on, two at a time.
    let mut sum = 0u32;
    let mut pairs = digits.rchunks_exact(2);
    for pair in &mut pairs {
        sum += u32::from(pair[1] - b'0') + u32::from(DOUBLED[usize::from(pair[0] - b'0')]);
    }
    if let [first] = pairs.remainder() {
        sum += u32::from(first - b'0');
    }
    sum.is_multiple_of(10)
}

/// A payment card number: 13 to 19 digits under a known issuer's prefix and length, Luhn valid.
pub fn card_number(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && card_number_of_digits(digits)
}

/// The lengths (bit `n` for `n` digits) that a card number may have under its first two digits,
/// where those alone tell the issuer; built at compile time. Visa 4 (13, 16, 19 digits);
/// Mastercard 51-55 (16); Maestro and others 50, 56-58 and every 6 (Discover 6011, 644-649, 65;
/// UnionPay 62; any length here); American Express 34, 37 (15); Diners 36, 38, 39 (14 and
/// more). [`TOLD_BY_MORE`] marks the prefixes under which three or four digits tell the issuer
/// (Mastercard 2221-2720, Diners 300-305, JCB 3528-3589).
const fn issuer_lengths() -> [u32; 100] {
    const ANY: u32 = 0xf_e000; // 13 to 19
    let mut t = [0u32; 100];
    let mut p = 0;
    while p < 100 {
        t[p] = match p {
            40..=49 => 1 << 13 | 1 << 16 | 1 << 19,
            51..=55 => 1 << 16,
            50 | 56..=58 | 60..=69 => ANY,
            34 | 37 => 1 << 15,
            36 | 38 | 39 => ANY & !(1 << 13),
            22..=27 | 30 | 35 => TOLD_BY_MORE,
            _ => 0,
        };
        p += 1;
    }
    t
}
static ISSUER_LENGTHS: [u32; 100] = issuer_lengths();
/// See [`issuer_lengths`] (no length has bit 0).
const TOLD_BY_MORE: u32 = 1;

/// [`card_number`] for a caller that knows `digits` are 13 to 19 ASCII digits (the scanner):
/// the issuer's prefix and length from one table read (a column of numbers that are not cards
/// starts with any digits: a branch per first digit would be mispredicted), then Luhn eight
/// digits at a time.
pub(crate) fn card_number_of_digits(digits: &[u8]) -> bool {
    let n = digits.len();
    debug_assert!((13..=19).contains(&n) && digits.iter().all(u8::is_ascii_digit));
    let p2 = u32::from(digits[0] - b'0') * 10 + u32::from(digits[1] - b'0');
    // (Never past the table for digits; nothing for anything else, rather than a panic.)
    let lengths = ISSUER_LENGTHS.get(p2 as usize).copied().unwrap_or(0);
    let issuer = if lengths == TOLD_BY_MORE {
        let p3 = p2 * 10 + u32::from(digits[2] - b'0');
        let p4 = p3 * 10 + u32::from(digits[3] - b'0');
        (2221..=2720).contains(&p4) && n == 16
            || (300..=305).contains(&p3) && n >= 14
            || (3528..=3589).contains(&p4) && n >= 16
    } else {
        lengths >> n & 1 == 1
    };
    issuer && luhn_13_to_19(digits)
}

/// Luhn over 13 to 19 ASCII digits, eight at a time: the digits as the bytes of three words
/// (right-aligned, so that the doubled digits are the even bytes of each), each doubled digit
/// less 9 where it was 5 or more, then all bytes summed with one multiplication.
fn luhn_13_to_19(d: &[u8]) -> bool {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const EVEN: u64 = 0x00ff_00ff_00ff_00ff;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let n = d.len();
    let word = |from: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&d[from..from + 8]);
        u64::from_le_bytes(w) - ZEROS
    };
    // The last eight digits; the eight before them; the one to three before those. Bytes
    // before the first digit are zero (shifted in), which Luhn ignores.
    let last = word(n - 8);
    let (middle, head) = if n >= 16 {
        let head = if n == 16 {
            0
        } else {
            word(0) << (8 * (24 - n))
        };
        (word(n - 16), head)
    } else {
        (word(0) << (8 * (16 - n)), 0)
    };
    let contribution = |w: u64| {
        let doubled = w & EVEN;
        // A doubled digit of 5 or more (its byte plus 0x7b reaches 0x80) loses 9.
        let big = ((doubled + 0x7b7b_7b7b_7b7b_7b7b) & 0x8080_8080_8080_8080 & (EVEN << 7)) >> 7;
        w + doubled - 9 * big
    };
    let bytes = contribution(last) + contribution(middle) + contribution(head);
    let sum = bytes.wrapping_mul(ONES) >> 56;
    sum % 10 == 0
}

/// IBAN lengths by country, from the ISO 13616 registry (SWIFT), sorted for binary search.
const IBAN_LENGTHS: &[(&[u8; 2], u8)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// [`IBAN_LENGTHS`] as a table indexed by the two letters (0: no IBANs), built at compile time:
/// one load per candidate instead of a search.
const fn iban_length_table() -> [u8; 26 * 26] {
    let mut t = [0u8; 26 * 26];
    let mut i = 0;
    while i < IBAN_LENGTHS.len() {
        let (c, n) = IBAN_LENGTHS[i];
        t[(c[0] - b'A') as usize * 26 + (c[1] - b'A') as usize] = n;
        i += 1;
    }
    t
}
static IBAN_LENGTH_BY_COUNTRY: [u8; 26 * 26] = iban_length_table();

/// The registered IBAN length of a country, if it has IBANs.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    let [a, b] = *country else { return None };
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    match IBAN_LENGTH_BY_COUNTRY[usize::from(a - b'A') * 26 + usize::from(b - b'A')] {
        0 => None,
        n => Some(usize::from(n)),
    }
}

/// An IBAN in electronic form (upper case, no spaces): the country's registered length, two
/// check digits, an alphanumeric BBAN, and the ISO 7064 mod-97-10 check equal to 1.
pub fn iban(s: &[u8]) -> bool {
    if s.len() < 15
        || iban_length(&s[..2]) != Some(s.len())
        || !s[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    // The BBAN, then the country and check digits, as one decimal number (a letter takes two
    // places: A = 10 … Z = 35), mod 97: the sum of its parts' values times ten to the power of
    // their places, each part reduced on its own (no part waits for the one before). From the
    // end: the country and check digits, then the BBAN eight characters at a time, then what
    // is left.
    let mut sum = 0u64;
    let mut place = 0;
    let mut add = |(value, width): (u64, usize)| {
        sum += value % 97 * u64::from(TEN_TO_MOD_97[place]);
        place += width;
    };
    let Some(country) = iban_part(&s[..4]) else {
        return false;
    };
    add(country);
    let mut bban = &s[4..];
    while let Some((rest, eight)) = bban.split_last_chunk::<8>() {
        match eight_digits(eight)
            .map(|v| (v, 8))
            .or_else(|| iban_part(eight))
        {
            Some(part) => add(part),
            None => return false,
        }
        bban = rest;
    }
    match iban_part(bban) {
        Some(part) => add(part),
        None => return false,
    }
    sum % 97 == 1
}

/// 10^i mod 97 for every place of an IBAN's number (34 characters, two places at most each).
const TEN_TO_MOD_97: [u8; 69] = {
    let mut t = [0u8; 69];
    let mut p = 1u32;
    let mut i = 0;
    while i < t.len() {
        t[i] = p as u8;
        p = p * 10 % 97;
        i += 1;
    }
    t
};

/// The value of up to eight characters of an IBAN (a letter two places: A = 10 … Z = 35) and
/// how many places it takes; `None` for a character an IBAN cannot hold.
fn iban_part(chars: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    let mut width = 0;
    for &c in chars {
        let digit = c.wrapping_sub(b'0');
        if digit < 10 {
            value = value * 10 + u64::from(digit);
            width += 1;
            continue;
        }
        let letter = c.wrapping_sub(b'A');
        if letter >= 26 {
            return None;
        }
        value = value * 100 + u64::from(letter) + 10;
        width += 2;
    }
    Some((value, width))
}

/// The value of eight ASCII digits (the first the most significant), if they are all digits:
/// pairs, then fours, then the eight, each with one multiplication.
fn eight_digits(bytes: &[u8; 8]) -> Option<u64> {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let raw = u64::from_le_bytes(*bytes);
    // Every byte 0x30-0x3f, and still so with 6 added (no byte carries: 0x3f + 6 < 0x100).
    if raw & HIGH != ZEROS || (raw + 0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let x = raw - ZEROS;
    let x = (x * 10 + (x >> 8)) & 0x00ff_00ff_00ff_00ff;
    let x = (x * 100 + (x >> 16)) & 0x0000_ffff_0000_ffff;
    Some((x * 10_000 + (x >> 32)) & 0xffff_ffff)
}

/// Eight digits with the leading zero a spreadsheet dropped put back (`21000021` read as a
/// number: `021000021`), for the validators of nine-digit numbers; `None` for anything else.
pub fn zero_back(digits: &[u8]) -> Option<[u8; 9]> {
    let digits = <[u8; 8]>::try_from(digits).ok()?;
    let mut padded = [b'0'; 9];
    padded[1..].copy_from_slice(&digits);
    digits.iter().all(u8::is_ascii_digit).then_some(padded)
}

/// A US ABA routing number: nine digits, a Federal Reserve prefix (00-12, 21-32, 61-72, 80),
/// and the weighted checksum 3-7-1 divisible by 10.
pub fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut v = [0u32; 9];
    for (v, c) in v.iter_mut().zip(d) {
        *v = u32::from(c - b'0');
    }
    let prefix = v[0] * 10 + v[1];
    if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let sum = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    sum.is_multiple_of(10) && sum != 0
}

/// Digits a US bank account number has: 4 to 17 (NACHA's DFI account field holds 17; banks
/// issue from 4 up). No checksum: it counts only beside a valid routing number.
pub const US_ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 4..=17;

/// A US bank account number written as digits: 4 to 17 of them, not all zeros.
pub fn us_account(d: &[u8]) -> bool {
    US_ACCOUNT_DIGITS.contains(&d.len())
        && d.iter().any(|&c| c != b'0')
        && d.iter().all(u8::is_ascii_digit)
}

/// A US account number as forms print it: 4 to 17 digits, not all zeros, dashes and blanks
/// between them taken out (`1211-1234-56789`: an X9 on-us field's, a Fedwire party's).
pub fn us_account_printed(s: &[u8]) -> bool {
    let (mut digits, mut nonzero) = (0usize, false);
    for &c in s {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                nonzero |= c != b'0';
            }
            b'-' | b' ' => {}
            _ => return false,
        }
    }
    US_ACCOUNT_DIGITS.contains(&digits) && nonzero
}

/// A NACHA entry's DFI account number field (17 bytes, left-justified, blank-filled): an
/// account number of digits, single dashes allowed between them (as some banks print it), then
/// blanks. Digits then blanks, as most are, are judged 16 bytes at a time; others byte by byte.
pub fn us_account_field(field: &[u8]) -> bool {
    if let Some(judged) = us_account_field_at_once(field) {
        return judged;
    }
    us_account_field_bytes(field)
}

/// The low seven bits and the high bit of each of 16 bytes.
const LOW7: u128 = 0x7F7F_7F7F_7F7F_7F7F_7F7F_7F7F_7F7F_7F7F;
const HIGH: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;

/// The high bit of each byte of `w` that is an ASCII digit (the low seven bits of each byte
/// added apart so that no carry crosses into the next byte).
fn digit_bits(w: u128) -> u128 {
    let v = w ^ 0x3030_3030_3030_3030_3030_3030_3030_3030;
    // A byte of `v` below 10 stays below 0x80 when 0x76 is added; one of 10 or more does not.
    !(((v & LOW7) + 0x7676_7676_7676_7676_7676_7676_7676_7676) | v) & HIGH
}

/// The high bit of each byte of `w` that is `byte`.
fn byte_bits(w: u128, byte: u8) -> u128 {
    let v = w ^ (u128::from(byte) * 0x0101_0101_0101_0101_0101_0101_0101_0101);
    !(((v & LOW7) + LOW7) | v) & HIGH
}

/// [`us_account_field`] for a 17-byte field of digits then blanks; `None` for anything else
/// (a dash, another length), which is judged byte by byte.
fn us_account_field_at_once(field: &[u8]) -> Option<bool> {
    let (head, last) = field
        .split_first_chunk::<16>()
        .filter(|(_, rest)| rest.len() == 1)?;
    let last = last[0];
    let w = u128::from_le_bytes(*head);
    let digits = digit_bits(w);
    let blanks = byte_bits(w, b' ');
    if digits | blanks != HIGH {
        return None;
    }
    // The digits come first: as many as the bytes before the first blank.
    let n = if blanks == 0 {
        16
    } else {
        blanks.trailing_zeros() as usize / 8
    };
    let first_n = if n == 16 { !0 } else { (1u128 << (8 * n)) - 1 };
    if digits != first_n & HIGH {
        return Some(false);
    }
    let n = match last {
        b' ' => n,
        b'0'..=b'9' if n == 16 => 17,
        _ => return Some(false),
    };
    // Not all zeros: some digit byte differs from `0`.
    let zeros = byte_bits(w, b'0');
    let nonzero = digits & !zeros != 0 || (n == 17 && last != b'0');
    Some(US_ACCOUNT_DIGITS.contains(&n) && nonzero)
}

fn us_account_field_bytes(field: &[u8]) -> bool {
    let mut digits = 0usize;
    let mut nonzero = false;
    let mut previous = b' ';
    let mut end = field.len();
    for (i, &c) in field.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                nonzero |= c != b'0';
            }
            b'-' if previous.is_ascii_digit() => {}
            b' ' if i > 0 => {
                end = i;
                break;
            }
            _ => return false,
        }
        previous = c;
    }
    previous.is_ascii_digit()
        && field[end..].iter().all(|&c| c == b' ')
        && US_ACCOUNT_DIGITS.contains(&digits)
        && nonzero
}

/// A US Social Security number as area, group and serial (digits only): area not 000, 666 or
/// 900-999; group not 00; serial not 0000; not one of the numbers published as examples.
pub fn us_ssn(area: &[u8], group: &[u8], serial: &[u8]) -> bool {
    let all = |s: &[u8], n| s.len() == n && s.iter().all(u8::is_ascii_digit);
    if !all(area, 3) || !all(group, 2) || !all(serial, 4) {
        return false;
    }
    if area == b"000" || area == b"666" || area[0] == b'9' || group == b"00" || serial == b"0000" {
        return false;
    }
    // Published in advertising and documentation; belong to nobody.
    !matches!(
        (area, group, serial),
        (b"078", b"05", b"1120") | (b"219", b"09", b"9999")
    )
}

/// A UK National Insurance number (no spaces): two prefix letters as allocated (first not D, F,
/// I, Q, U, V; second not D, F, I, O, Q, U, V; not BG, GB, KN, NK, NT, TN, ZZ), six digits and
/// a suffix A to D.
pub fn uk_nino(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !b"DFIQUV".contains(&a)
        && !b"DFIOQUV".contains(&b)
        && !matches!(
            &s[..2],
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        )
        && s[2..8].iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(&s[8])
}

/// ISO 3166 alpha-2 codes SWIFT uses in BICs: every IBAN country plus the other large banking
/// jurisdictions (sorted).
const BIC_COUNTRIES: &[&[u8; 2]] = &[
    b"AD", b"AE", b"AL", b"AR", b"AT", b"AU", b"AZ", b"BA", b"BD", b"BE", b"BG", b"BH", b"BI",
    b"BM", b"BR", b"BS", b"BY", b"CA", b"CH", b"CL", b"CN", b"CO", b"CR", b"CY", b"CZ", b"DE",
    b"DJ", b"DK", b"DO", b"DZ", b"EC", b"EE", b"EG", b"ES", b"FI", b"FK", b"FO", b"FR", b"GB",
    b"GE", b"GG", b"GH", b"GI", b"GL", b"GR", b"GT", b"HK", b"HN", b"HR", b"HU", b"ID", b"IE",
    b"IL", b"IM", b"IN", b"IQ", b"IS", b"IT", b"JE", b"JO", b"JP", b"KE", b"KR", b"KW", b"KY",
    b"KZ", b"LB", b"LC", b"LI", b"LK", b"LT", b"LU", b"LV", b"LY", b"MA", b"MC", b"MD", b"ME",
    b"MK", b"MN", b"MO", b"MR", b"MT", b"MU", b"MX", b"MY", b"NG", b"NI", b"NL", b"NO", b"NZ",
    b"OM", b"PA", b"PE", b"PH", b"PK", b"PL", b"PS", b"PT", b"QA", b"RO", b"RS", b"RU", b"SA",
    b"SC", b"SD", b"SE", b"SG", b"SI", b"SK", b"SM", b"SO", b"ST", b"SV", b"TH", b"TL", b"TN",
    b"TR", b"TW", b"UA", b"US", b"UY", b"VA", b"VG", b"VN", b"XK", b"YE", b"ZA",
];

/// A SWIFT/BIC code's structure (ISO 9362): four letters, a country, two alphanumeric location
/// characters and optionally three for the branch. Structure only: an eight-letter word can
/// have it, so the scanner counts a BIC only where its context names one.
pub fn bic(s: &[u8]) -> bool {
    (s.len() == 8 || s.len() == 11)
        && s[..4].iter().all(u8::is_ascii_uppercase)
        && bic_country(s[4], s[5])
        && s[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// [`BIC_COUNTRIES`] as one bit per pair of capitals, built at compile time.
const fn bic_country_table() -> [u32; 26] {
    let mut t = [0u32; 26];
    let mut i = 0;
    while i < BIC_COUNTRIES.len() {
        let c = BIC_COUNTRIES[i];
        t[(c[0] - b'A') as usize] |= 1 << (c[1] - b'A');
        i += 1;
    }
    t
}
static BIC_COUNTRY: [u32; 26] = bic_country_table();

/// Whether `a` `b` is a country of [`BIC_COUNTRIES`].
fn bic_country(a: u8, b: u8) -> bool {
    let (a, b) = (a.wrapping_sub(b'A'), b.wrapping_sub(b'A'));
    a < 26 && b < 26 && BIC_COUNTRY[usize::from(a)] >> b & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tables_are_sorted() {
        assert!(IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(BIC_COUNTRIES.windows(2).all(|w| w[0] < w[1]));
    }

    proptest! {
        /// The field judged 16 bytes at a time agrees with the judgement byte by byte.
        #[test]
        fn account_field_at_once_is_bytes(
            digits in proptest::collection::vec(prop_oneof![Just(b'0'), Just(b'7'), 0x20u8..0x7f], 17),
            len in 0usize..=17,
        ) {
            let mut field = digits;
            for b in &mut field[len..] {
                *b = b' ';
            }
            if let Some(judged) = us_account_field_at_once(&field) {
                prop_assert_eq!(judged, us_account_field_bytes(&field), "{:?}", String::from_utf8_lossy(&field));
            }
        }

        #[test]
        fn account_field_of_digits_at_once(
            digits in proptest::collection::vec(prop_oneof![Just(b'0'), b'0'..=b'9'], 0..=17),
        ) {
            let mut field = digits.clone();
            field.resize(17, b' ');
            prop_assert_eq!(us_account_field_at_once(&field), Some(us_account_field_bytes(&field)));
        }
    }

    #[test]
    fn us_account_numbers() {
        assert!(us_account(b"1234"));
        assert!(us_account(b"00012345678901234"));
        assert!(!us_account(b"123"), "too short");
        assert!(!us_account(b"123456789012345678"), "too long");
        assert!(!us_account(b"00000000"));
        assert!(!us_account(b"1234a"));
        for field in [
            &b"123456789012     "[..],
            b"12345678901234567",
            b"12-3456-7       ",
            b"0000000001",
        ] {
            assert!(
                us_account_field(field),
                "{}",
                String::from_utf8_lossy(field)
            );
        }
        for field in [
            &b"                 "[..],
            b" 123456789       ",
            b"123 456789       ",
            b"12--34567        ",
            b"-1234567         ",
            b"1234567-         ",
            b"123              ",
            b"00000000         ",
            b"ABC12345         ",
            b"",
        ] {
            assert!(
                !us_account_field(field),
                "{}",
                String::from_utf8_lossy(field)
            );
        }
    }

    #[test]
    fn known_valid_and_invalid_numbers() {
        // Published test numbers.
        assert!(card_number(b"4111111111111111"));
        assert!(card_number(b"5555555555554444"));
        assert!(card_number(b"378282246310005"));
        assert!(card_number(b"6011111111111117"));
        assert!(card_number(b"2223003122003222"));
        assert!(!card_number(b"4111111111111112"));
        assert!(!card_number(b"1234567812345670"), "no issuer starts with 1");
        assert!(!card_number(b"37828224631000"), "Amex is 15 digits");
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"NO9386011117947"));
        assert!(iban(b"FR1420041010050500013M02606"));
        assert!(!iban(b"DE89370400440532013001"));
        assert!(!iban(b"DE8937040044053201300"), "one short for Germany");
        assert!(!iban(b"XX89370400440532013000"));
        assert!(aba_routing(b"011000015"));
        assert!(aba_routing(b"021000021"));
        assert!(!aba_routing(b"021000022"));
        assert!(!aba_routing(b"991000027"), "not a Federal Reserve prefix");
        assert!(us_ssn(b"123", b"45", b"6789"));
        assert!(!us_ssn(b"666", b"45", b"6789"));
        assert!(!us_ssn(b"900", b"45", b"6789"));
        assert!(!us_ssn(b"123", b"00", b"6789"));
        assert!(!us_ssn(b"078", b"05", b"1120"));
        assert!(uk_nino(b"AB123456C"));
        assert!(!uk_nino(b"GB123456C"));
        assert!(!uk_nino(b"DA123456C"));
        assert!(!uk_nino(b"AB123456E"));
        assert!(bic(b"DEUTDEFF"));
        assert!(bic(b"NWBKGB2LXXX"));
        assert!(!bic(b"DEUTXXFF"));
        assert!(!bic(b"DEUT1EFF"));
    }

    /// ISO 7064 mod 97-10 of an IBAN's rearranged number, one character at a time (a letter
    /// two places): the reference for [`iban`]. `None` for a character an IBAN cannot hold.
    fn iban_remainder(s: &[u8]) -> Option<u32> {
        let mut rem = 0u32;
        for &c in s[4..].iter().chain(&s[..4]) {
            rem = match c {
                b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
                b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A') + 10) % 97,
                _ => return None,
            };
        }
        Some(rem)
    }

    /// Appends the Luhn check digit to `body`.
    fn with_luhn(mut body: Vec<u8>) -> Vec<u8> {
        body.push(b'0');
        for c in b'0'..=b'9' {
            *body.last_mut().unwrap() = c;
            if luhn(&body) {
                break;
            }
        }
        body
    }

    /// The issuer rules as first written, digit by digit: the reference for the table.
    fn issuer_reference(digits: &[u8]) -> bool {
        let n = digits.len();
        let p2 = u32::from(digits[0] - b'0') * 10 + u32::from(digits[1] - b'0');
        let p3 = p2 * 10 + u32::from(digits[2] - b'0');
        let p4 = p3 * 10 + u32::from(digits[3] - b'0');
        match digits[0] {
            b'4' => matches!(n, 13 | 16 | 19),
            b'5' => (51..=55).contains(&p2) && n == 16 || matches!(p2, 50 | 56..=58),
            b'2' => (2221..=2720).contains(&p4) && n == 16,
            b'3' => {
                matches!(p2, 34 | 37) && n == 15
                    || ((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) && n >= 14
                    || (3528..=3589).contains(&p4) && n >= 16
            }
            b'6' => true,
            _ => false,
        }
    }

    /// Every four-digit prefix at every length from 13 to 19, with every last digit (one of them
    /// Luhn valid): the table and range checks decide as the rules written digit by digit do.
    #[test]
    fn issuer_table_is_the_issuer_rules() {
        for prefix in 0..10_000u32 {
            for n in 13..=19usize {
                let mut digits = format!("{prefix:04}{}", "0".repeat(n - 5)).into_bytes();
                digits.push(b'0');
                let body = digits.clone();
                for last in b'0'..=b'9' {
                    digits[n - 1] = last;
                    let want = issuer_reference(&body) && luhn(&digits);
                    assert_eq!(
                        card_number_of_digits(&digits),
                        want,
                        "{}",
                        String::from_utf8_lossy(&digits)
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn eight_digits_at_once_is_their_value(bytes in proptest::array::uniform8(prop_oneof![any::<u8>(), 0x2fu8..0x3b])) {
            let want = bytes.iter().all(u8::is_ascii_digit)
                .then(|| bytes.iter().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')));
            prop_assert_eq!(eight_digits(&bytes), want);
        }

        #[test]
        fn luhn_eight_at_a_time_is_luhn(number in "[0-9]{13,19}") {
            prop_assert_eq!(luhn_13_to_19(number.as_bytes()), luhn(number.as_bytes()));
        }

        #[test]
        fn luhn_catches_every_single_digit_error(
            body in proptest::collection::vec(b'0'..=b'9', 12..18),
            at in any::<proptest::sample::Index>(),
            delta in 1u8..10,
        ) {
            let good = with_luhn(body);
            prop_assert!(luhn(&good));
            let mut bad = good.clone();
            let i = at.index(bad.len());
            bad[i] = b'0' + (bad[i] - b'0' + delta) % 10;
            prop_assert!(!luhn(&bad));
        }

        #[test]
        fn iban_catches_every_single_character_error(
            bban in proptest::collection::vec(b'0'..=b'9', 18),
            at in 4usize..22,
            delta in 1u8..10,
        ) {
            // A German IBAN with its check digits computed.
            let mut s = b"DE00".to_vec();
            s.extend_from_slice(&bban);
            let mut rem = 0u32;
            for &c in s[4..].iter().chain(b"1314") {
                rem = (rem * 10 + u32::from(c - b'0')) % 97;
            }
            let check = 98 - (rem * 100) % 97;
            s[2] = b'0' + (check / 10) as u8;
            s[3] = b'0' + (check % 10) as u8;
            prop_assert!(iban(&s));
            let mut bad = s.clone();
            bad[at] = b'0' + (bad[at] - b'0' + delta) % 10;
            prop_assert!(!iban(&bad));
        }

        #[test]
        fn iban_is_mod_97_of_the_rearranged_number(
            country in prop::sample::select(vec!["GB", "FR", "NL", "DE", "MT", "LC", "NO", "XK"]),
            body in proptest::collection::vec(
                prop_oneof![8 => b'0'..=b'9', 4 => b'A'..=b'Z', 1 => any::<u8>()],
                30,
            ),
            valid in any::<bool>(),
        ) {
            let len = iban_length(country.as_bytes()).unwrap();
            let mut s = country.as_bytes().to_vec();
            s.extend_from_slice(b"00");
            s.extend_from_slice(&body[..len - 4]);
            if valid {
                // Check digits that make it valid (when every character is one an IBAN holds).
                let rem = iban_remainder(&s).unwrap_or(0);
                let check = 98 - rem;
                s[2] = b'0' + (check / 10) as u8;
                s[3] = b'0' + (check % 10) as u8;
            }
            let want = iban_remainder(&s) == Some(1);
            prop_assert_eq!(iban(&s), want, "{}", String::from_utf8_lossy(&s));
        }

        #[test]
        fn validators_never_panic(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = (luhn(&s), card_number(&s), iban(&s), aba_routing(&s), uk_nino(&s), bic(&s));
            if s.len() >= 9 {
                let _ = us_ssn(&s[..3], &s[3..5], &s[5..9]);
            }
        }
    }
}
