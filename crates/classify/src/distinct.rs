//! How many different values of each class a file holds, as against how many times they occur:
//! a customer in thirty daily extracts is thirty occurrences and one customer, and a bank's
//! notice of a breach counts customers and cards. Per class, a HyperLogLog sketch of the
//! values' fingerprints (Flajolet et al., 2007), read with Ertl's improved estimator (2017):
//! 1,024 registers, about 3% standard error at any count, sketches of several files merged
//! into the sketch of their union. Pure: values in, registers and estimates out.
//!
//! A sketch keeps no value: a register holds the largest rank (leading zeros, plus one) of the
//! fingerprints whose first ten bits chose it, so even a file of one card number keeps ten bits
//! of its fingerprint and a rank, not the number (a card number's fingerprint is still only
//! stored sealed, with the file's classes). Never here: finding the values (the scanner hands
//! each one it counts, in one canonical form per class), or storing sketches (the stored form
//! is [`crate::Classification`]'s).

use crate::scan::Class;
use base64::Engine as _;

/// Most digits of a value written with separators that are sketched (a US account number has
/// at most 17).
pub(crate) const MAX_DIGITS: usize = 32;
/// Bits of a fingerprint that choose its register.
const PRECISION: u32 = 10;
/// Registers per sketch.
pub const REGISTERS: usize = 1 << PRECISION;
/// The largest rank: the fingerprint's bits after the register's, all zero, plus one.
const MAX_RANK: u8 = (64 - PRECISION + 1) as u8;
/// Bytes of a sketch's dense stored form: six bits per register.
const DENSE_BYTES: usize = REGISTERS * 6 / 8;
/// Longest stored form of a sketch accepted back: its dense form in base64 and its tag.
pub const MAX_STORED_SKETCH: usize = 1 + DENSE_BYTES.div_ceil(3) * 4;

/// A fingerprint of a value in its canonical form (a card number's digits without their
/// groups' separators, an IBAN's electronic form, an address in small letters): 64 bits,
/// the same on every machine and in every version (stored sketches depend on it), spread
/// evenly enough that their leading zeros count. Not a secret's hash: it keeps no value from
/// a reader of the sealed sketch because the sketch keeps a few of its bits only.
pub fn fingerprint(class: Class, value: &[u8]) -> u64 {
    of_class(unclassed(value, 0), class)
}

/// Bits set in every byte of an e-mail address read in small letters: `A`-`Z` become
/// `a`-`z`, and none of the other bytes an address holds (digits, `.`, `-`, `+`, `%`, `_`,
/// `@`) becomes another one of them.
pub const SMALL_LETTERS: u64 = 0x2020_2020_2020_2020;

/// [`fingerprint`] of `value` with the bits of `fold` set in its bytes (an address's
/// [`SMALL_LETTERS`]), without copying it.
#[inline]
pub fn fingerprint_folded(class: Class, value: &[u8], fold: u64) -> u64 {
    of_class(unclassed(value, fold), class)
}

/// The fingerprint of a value of class `class` from its [`unclassed`] part: the class mixed
/// in, then the public MurmurHash3 `fmix64` finaliser, so that every bit of the value moves
/// every bit of the fingerprint. (A value that may be of several classes, a workbook's cell of
/// nine digits, is read once.)
#[inline]
pub(crate) fn of_class(unclassed: u64, class: Class) -> u64 {
    finalise(unclassed ^ (class as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A value's fingerprint before its class: each eight bytes folded in by a multiplication and a
/// shift, the last eight overlapping the ones before where the length is no multiple of eight
/// (a shorter value in two overlapping halves), the length first (so that `12` and `120`
/// differ); `fold`'s bits set in every byte.
#[inline]
pub(crate) fn unclassed(value: &[u8], fold: u64) -> u64 {
    let mut h = 0xc2b2_ae3d_27d4_eb4f ^ (value.len() as u64) << 8;
    let n = value.len();
    if n >= 8 {
        let mut rest = value;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            h = mix(h, u64::from_le_bytes(*word) | fold);
            rest = tail;
        }
        if !rest.is_empty() {
            h = mix(h, load(value, n - 8) | fold);
        }
    } else if n >= 4 {
        let half = |at| {
            u64::from(u32::from_le_bytes([
                value[at],
                value[at + 1],
                value[at + 2],
                value[at + 3],
            ]))
        };
        h = mix(h, (half(0) << 32 | half(n - 4)) | fold);
    } else if n > 0 {
        let word =
            u64::from(value[0]) << 16 | u64::from(value[n / 2]) << 8 | u64::from(value[n - 1]);
        h = mix(h, word | fold);
    }
    h
}

/// The eight bytes of `value` from `at` (which has them), as a little-endian word.
fn load(value: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&value[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline]
fn mix(h: u64, word: u64) -> u64 {
    let h = (h ^ word).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ h >> 32
}

/// MurmurHash3's 64-bit finaliser: every input bit moves every output bit.
fn finalise(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The sketch of one class's values.
#[derive(Clone, PartialEq, Eq)]
pub struct Sketch {
    registers: Box<[u8; REGISTERS]>,
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch(about {})", self.estimate())
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            registers: Box::new([0; REGISTERS]),
        }
    }
}

impl Sketch {
    /// Adds a value by its [`fingerprint`].
    pub fn insert(&mut self, fingerprint: u64) {
        let register = (fingerprint >> (64 - PRECISION)) as usize;
        let rest = fingerprint << PRECISION;
        let rank = (rest.leading_zeros() + 1).min(u32::from(MAX_RANK)) as u8;
        let r = &mut self.registers[register];
        *r = (*r).max(rank);
    }

    /// The sketch of both sketches' values together.
    pub fn merge(&mut self, other: &Sketch) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// How many different values were added, estimated (Ertl, "New cardinality estimation
    /// algorithms for HyperLogLog sketches", 2017: the improved raw estimator, unbiased from
    /// none to billions without tables of corrections).
    pub fn estimate(&self) -> f64 {
        let m = REGISTERS as f64;
        let q = usize::from(MAX_RANK) - 1;
        let mut histogram = [0u32; MAX_RANK as usize + 1];
        for &r in self.registers.iter() {
            histogram[usize::from(r)] += 1;
        }
        let mut z = m * tau(1.0 - f64::from(histogram[q + 1]) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(histogram[k]));
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        if z.is_infinite() {
            return 0.0;
        }
        m * m / (2.0 * std::f64::consts::LN_2) / z
    }

    /// The stored form: `s` and, for each register in use, its index (ten bits) and rank (six)
    /// in two bytes; or `d` and every register's rank in six bits; whichever is shorter; then
    /// URL-safe base64 without padding (no `;` or `=` in it).
    pub fn encode(&self) -> String {
        let used = self.registers.iter().filter(|r| **r != 0).count();
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        if used * 2 < DENSE_BYTES {
            let mut bytes = Vec::with_capacity(used * 2);
            for (i, &r) in self.registers.iter().enumerate().filter(|(_, r)| **r != 0) {
                bytes.extend_from_slice(&((i as u16) << 6 | u16::from(r)).to_be_bytes());
            }
            format!("s{}", engine.encode(bytes))
        } else {
            let mut bytes = Vec::with_capacity(DENSE_BYTES);
            for four in self.registers.chunks_exact(4) {
                let bits = four
                    .iter()
                    .fold(0u32, |acc, &r| acc << 6 | u32::from(r & 0x3f));
                bytes.extend_from_slice(&bits.to_be_bytes()[1..]);
            }
            format!("d{}", engine.encode(bytes))
        }
    }

    /// Reads [`Sketch::encode`]'s form back; `None` for anything it does not write (a rank
    /// beyond the largest, a register twice or out of order, a length of neither form).
    pub fn decode(s: &str) -> Option<Sketch> {
        if s.len() > MAX_STORED_SKETCH {
            return None;
        }
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut sketch = Sketch::default();
        match s.as_bytes().first()? {
            b's' => {
                let bytes = engine.decode(&s[1..]).ok()?;
                if bytes.len() % 2 != 0 {
                    return None;
                }
                let mut next = 0;
                for pair in bytes.chunks_exact(2) {
                    let v = u16::from_be_bytes([pair[0], pair[1]]);
                    let (i, r) = (usize::from(v >> 6), (v & 0x3f) as u8);
                    if i < next || r == 0 || r > MAX_RANK {
                        return None;
                    }
                    sketch.registers[i] = r;
                    next = i + 1;
                }
            }
            b'd' => {
                let bytes = engine.decode(&s[1..]).ok()?;
                if bytes.len() != DENSE_BYTES {
                    return None;
                }
                for (three, four) in bytes
                    .chunks_exact(3)
                    .zip(sketch.registers.chunks_exact_mut(4))
                {
                    let bits = u32::from_be_bytes([0, three[0], three[1], three[2]]);
                    for (k, r) in four.iter_mut().enumerate() {
                        *r = (bits >> (18 - 6 * k) & 0x3f) as u8;
                        if *r > MAX_RANK {
                            return None;
                        }
                    }
                }
            }
            _ => return None,
        }
        Some(sketch)
    }
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), for the registers never set.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3, for the registers at the largest
/// rank.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// The sketches of a file's classes, and how many of each class's occurrences are in its
/// sketch: a count made without the values (a classification stored before sketches; a
/// message's accounts beyond what its routing numbers pair) leaves those occurrences out, and a
/// report says so. Nothing is allocated until a value is added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distinct(Option<Box<PerClass>>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PerClass {
    sketches: [Option<Sketch>; Class::ALL.len()],
    sketched: [u64; Class::ALL.len()],
}

impl Distinct {
    /// One occurrence of `value` (its canonical form) of class `c`.
    pub fn insert(&mut self, c: Class, value: &[u8]) {
        self.insert_fingerprint(c, fingerprint(c, value));
    }

    /// One value of class `c` written with separators between its digits (`021-000-021`, a
    /// record's field with blanks): its digits alone, the first [`MAX_DIGITS`] of them.
    pub(crate) fn insert_digits(&mut self, c: Class, printed: &[u8]) {
        let mut digits = [0u8; MAX_DIGITS];
        let mut n = 0;
        for &d in printed
            .iter()
            .filter(|d| d.is_ascii_digit())
            .take(MAX_DIGITS)
        {
            digits[n] = d;
            n += 1;
        }
        self.insert(c, &digits[..n]);
    }

    /// One e-mail address, as it is written: counted in small letters.
    pub(crate) fn insert_address(&mut self, address: &[u8]) {
        let f = fingerprint_folded(Class::Email, address, SMALL_LETTERS);
        self.insert_fingerprint(Class::Email, f);
    }

    pub(crate) fn insert_fingerprint(&mut self, c: Class, fingerprint: u64) {
        let all = self.0.get_or_insert_default();
        all.sketches[c as usize]
            .get_or_insert_with(Sketch::default)
            .insert(fingerprint);
        all.sketched[c as usize] += 1;
    }

    /// The values of both.
    pub fn merge(&mut self, other: &Distinct) {
        for c in Class::ALL {
            self.merge_as(other, c, other.sketched(c));
        }
    }

    /// The values of class `c` of `other`, standing for `occurrences` of them (fewer than
    /// were added there, where a count takes only some of what was found: a message's accounts
    /// no more than its routing numbers).
    pub(crate) fn merge_as(&mut self, other: &Distinct, c: Class, occurrences: u64) {
        let i = c as usize;
        if let Some(theirs) = other.sketch(c) {
            let all = self.0.get_or_insert_default();
            match &mut all.sketches[i] {
                Some(ours) => ours.merge(theirs),
                none => *none = Some(theirs.clone()),
            }
            all.sketched[i] = all.sketched[i].saturating_add(occurrences);
        }
    }

    /// `n` more occurrences of class `c` whose values are already in its sketch (a workbook's
    /// shared string that more cells show); none where the class has no sketch.
    pub(crate) fn add_repeats(&mut self, c: Class, n: u64) {
        if let Some(all) = &mut self.0
            && all.sketches[c as usize].is_some()
        {
            all.sketched[c as usize] = all.sketched[c as usize].saturating_add(n);
        }
    }

    /// The sketch of class `c`, if any value of it was added.
    pub fn sketch(&self, c: Class) -> Option<&Sketch> {
        self.0.as_ref()?.sketches[c as usize].as_ref()
    }

    /// How many occurrences of class `c` went into its sketch.
    pub fn sketched(&self, c: Class) -> u64 {
        self.0.as_ref().map_or(0, |all| all.sketched[c as usize])
    }

    /// How many different values of class `c` its sketch holds, estimated: never more than the
    /// occurrences it was made of (an estimate's error is about 3%; a handful of values is
    /// counted nearly exactly).
    pub fn estimate(&self, c: Class) -> u64 {
        self.sketch(c).map_or(0, |s| {
            (s.estimate().round() as u64).clamp(1, self.sketched(c).max(1))
        })
    }

    /// Bytes its sketches take.
    pub fn held_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |all| {
            std::mem::size_of::<PerClass>() + all.sketches.iter().flatten().count() * REGISTERS
        })
    }

    /// Restores what a stored form says of class `c` (`Classification::decode`).
    pub(crate) fn restore(&mut self, c: Class, sketch: Sketch, sketched: u64) {
        let all = self.0.get_or_insert_default();
        all.sketches[c as usize] = Some(sketch);
        all.sketched[c as usize] = sketched;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values `from..from + n` of a card number's form, each once.
    fn cards(d: &mut Distinct, from: u64, n: u64) {
        for v in from..from + n {
            d.insert(
                Class::CardNumber,
                format!("{:016}", 4_000_000_000_000_000 + v).as_bytes(),
            );
        }
    }

    #[test]
    fn a_few_values_are_counted_nearly_exactly_and_repeats_are_not_counted() {
        for n in [1, 2, 5, 17, 100, 500] {
            let mut d = Distinct::default();
            for _ in 0..3 {
                cards(&mut d, 0, n);
            }
            let got = d.estimate(Class::CardNumber);
            assert_eq!(d.sketched(Class::CardNumber), 3 * n);
            // Below a few hundred values most registers are empty and the estimate is one of
            // linear counting (about 2% standard error at a hundred): three of them.
            let tolerance = (n as f64 * 0.07).max(1.0) as u64;
            assert!(got.abs_diff(n) <= tolerance, "{n} values: {got}");
        }
    }

    #[test]
    fn large_counts_are_within_a_few_standard_errors() {
        // 1.04 / √1024 = 3.25%: three standard errors.
        for n in [2_000u64, 20_000, 300_000] {
            let mut d = Distinct::default();
            cards(&mut d, 7, n);
            let got = d.estimate(Class::CardNumber) as f64;
            assert!((got / n as f64 - 1.0).abs() < 0.1, "{n} values: {got}");
        }
    }

    #[test]
    fn merged_sketches_count_the_union() {
        let (mut a, mut b) = (Distinct::default(), Distinct::default());
        cards(&mut a, 0, 6_000);
        cards(&mut b, 3_000, 6_000);
        a.merge(&b);
        let got = a.estimate(Class::CardNumber) as f64;
        assert!((got / 9_000.0 - 1.0).abs() < 0.1, "{got}");
        assert_eq!(a.sketched(Class::CardNumber), 12_000);
        assert_eq!(a.estimate(Class::Iban), 0);
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        // Stored sketches depend on it: a change here is a change of every stored sketch.
        assert_eq!(
            fingerprint(Class::CardNumber, b"4111111111111111"),
            0xf95a_ef09_a904_90d3
        );
        assert_ne!(
            fingerprint(Class::CardNumber, b"12"),
            fingerprint(Class::CardNumber, b"120")
        );
        assert_eq!(
            fingerprint_folded(Class::Email, b"Jane.Doe@Example.COM", SMALL_LETTERS),
            fingerprint_folded(Class::Email, b"jane.doe@example.com", SMALL_LETTERS),
        );
        assert_ne!(
            fingerprint_folded(Class::Email, b"jane.doe@example.com", SMALL_LETTERS),
            fingerprint_folded(Class::Email, b"jane.doe@example.org", SMALL_LETTERS),
        );
        assert_ne!(
            fingerprint(Class::UsSsn, b"123456789"),
            fingerprint(Class::AbaRouting, b"123456789")
        );
    }

    #[test]
    fn both_stored_forms_read_back_and_damage_does_not() {
        for n in [1, 40, 5_000] {
            let mut d = Distinct::default();
            cards(&mut d, 0, n);
            let s = d.sketch(Class::CardNumber).unwrap();
            let stored = s.encode();
            assert!(stored.len() <= MAX_STORED_SKETCH);
            assert_eq!(stored.starts_with('s'), n < 300, "{n}: {stored:.8}");
            assert_eq!(Sketch::decode(&stored).as_ref(), Some(s));
        }
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let sparse = |pairs: &[u16]| {
            let bytes: Vec<u8> = pairs.iter().flat_map(|p| p.to_be_bytes()).collect();
            format!("s{}", engine.encode(bytes))
        };
        assert!(Sketch::decode(&sparse(&[1 << 6 | 3, 2 << 6 | 1])).is_some());
        let rank_zero = sparse(&[1 << 6]);
        let rank_too_high = sparse(&[1 << 6 | 56]);
        let out_of_order = sparse(&[2 << 6 | 1, 1 << 6 | 1]);
        let twice = sparse(&[1 << 6 | 1, 1 << 6 | 2]);
        let odd = format!("s{}", engine.encode([1u8, 2, 3]));
        let short_dense = format!("d{}", engine.encode([0u8; 10]));
        for bad in [
            "",
            "x",
            "d",
            "s!!!",
            &rank_zero,
            &rank_too_high,
            &out_of_order,
            &twice,
            &odd,
            &short_dense,
        ] {
            assert_eq!(Sketch::decode(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_stored_form_reads_back_or_is_refused(s in "[sd][A-Za-z0-9_-]{0,1100}") {
            if let Some(sketch) = Sketch::decode(&s) {
                proptest::prop_assert_eq!(Sketch::decode(&sketch.encode()), Some(sketch));
            }
        }
    }
}
