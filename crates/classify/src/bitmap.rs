//! Byte-class bitmaps: for each 64 bytes of text, one bit per byte saying whether it is a
//! digit, a capital, a small letter, or an event the scanner must see (a line end, a field
//! separator, an `@`), and where candidates start. The scanner jumps between the set bits
//! instead of looking at every byte, and measures runs of digits and letters with one
//! trailing-zeros count instead of a loop.
//!
//! Built 16 bytes at a time with SSE2 on x86-64 (part of the architecture's baseline, so no
//! detection at run time), byte by byte elsewhere; both give the same bits. Never here: what a
//! candidate means (the scanner decides).

/// The bits of 64 bytes (bit `j` is byte `j`; bytes past the text's end have no bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Block {
    pub digit: u64,
    pub upper: u64,
    pub lower: u64,
    /// The field separators `,` `;` `\t` `|`.
    pub separator: u64,
    /// `\n` and `@`.
    pub event: u64,
    /// Where the scanner stops on a delimited file's first line: the first byte of each run
    /// of letters and digits, and events.
    pub stop: u64,
    /// Where it stops elsewhere: the first byte of each run that starts with a digit, two
    /// capitals, a capital and a digit, or two small letters and two digits (no other word can
    /// be a candidate), and events.
    pub lean: u64,
}

impl Block {
    pub fn alnum(&self) -> u64 {
        self.digit | self.upper | self.lower
    }
}

/// The bitmaps of a text, rebuilt in place for each text (the buffer is reused).
#[derive(Default)]
pub struct Bitmap {
    blocks: Vec<Block>,
    len: usize,
}

/// Whether byte `b` is an event (see [`Block::event`]).
fn is_event(b: u8) -> bool {
    matches!(b, b'\n' | b'@')
}

/// Whether byte `b` separates fields (see [`Block::separator`]).
fn is_separator(b: u8) -> bool {
    matches!(b, b',' | b';' | b'\t' | b'|')
}

/// The bits of up to 64 bytes, one byte at a time (the reference; the fallback off x86-64).
fn block_scalar(bytes: &[u8]) -> Block {
    let mut k = Block::default();
    for (j, &b) in bytes.iter().enumerate() {
        let bit = 1u64 << j;
        if b.is_ascii_digit() {
            k.digit |= bit;
        } else if b.is_ascii_uppercase() {
            k.upper |= bit;
        } else if b.is_ascii_lowercase() {
            k.lower |= bit;
        } else if is_event(b) {
            k.event |= bit;
        } else if is_separator(b) {
            k.separator |= bit;
        }
    }
    k
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8, _mm_sub_epi8,
    };

    use super::Block;

    /// Bytes in `first..first + count`, as 0xff lanes.
    #[target_feature(enable = "sse2")]
    fn in_range(v: __m128i, first: u8, count: u8) -> __m128i {
        let d = _mm_sub_epi8(v, _mm_set1_epi8(first as i8));
        _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((count - 1) as i8)), d)
    }

    #[target_feature(enable = "sse2")]
    fn is(v: __m128i, b: u8) -> __m128i {
        _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))
    }

    #[target_feature(enable = "sse2")]
    fn bits(lanes: __m128i, q: usize) -> u64 {
        u64::from(_mm_movemask_epi8(lanes) as u16) << (16 * q)
    }

    /// The bits of 64 bytes, 16 at a time.
    #[target_feature(enable = "sse2")]
    pub fn block(bytes: &[u8; 64]) -> Block {
        let mut k = Block::default();
        for (q, lane) in bytes.chunks_exact(16).enumerate() {
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&lane[..8]);
            hi.copy_from_slice(&lane[8..]);
            let v = _mm_set_epi64x(i64::from_le_bytes(hi), i64::from_le_bytes(lo));
            k.digit |= bits(in_range(v, b'0', 10), q);
            k.upper |= bits(in_range(v, b'A', 26), q);
            k.lower |= bits(in_range(v, b'a', 26), q);
            k.event |= bits(_mm_or_si128(is(v, b'\n'), is(v, b'@')), q);
            let separators = _mm_or_si128(
                _mm_or_si128(is(v, b','), is(v, b';')),
                _mm_or_si128(is(v, b'\t'), is(v, b'|')),
            );
            k.separator |= bits(separators, q);
        }
        k
    }
}

fn block_of(bytes: &[u8]) -> Block {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Ok(full) = <&[u8; 64]>::try_from(bytes) {
        // SAFETY: the only requirement is that the CPU has SSE2, and every x86-64 CPU has it
        // (it is part of the architecture's baseline, and this is compiled for it only when the
        // target enables it).
        return unsafe { sse2::block(full) };
    }
    block_scalar(bytes)
}

impl Bitmap {
    /// Rebuilds the bitmaps for `text`.
    pub fn build(&mut self, text: &[u8]) {
        self.blocks.clear();
        self.len = text.len();
        let mut previous_alnum = false;
        for bytes in text.chunks(64) {
            let mut k = block_of(bytes);
            let alnum = k.alnum();
            let starts = alnum & !((alnum << 1) | u64::from(previous_alnum));
            k.stop = starts | k.event;
            previous_alnum = alnum >> 63 != 0;
            self.blocks.push(k);
        }
        // What follows a byte may be in the next block.
        for q in 0..self.blocks.len() {
            let next = self.blocks.get(q + 1).copied().unwrap_or_default();
            let k = &mut self.blocks[q];
            let ahead = |now: u64, later: u64, by: u32| (now >> by) | (later << (64 - by));
            let upper2 = k.upper & ahead(k.upper, next.upper, 1);
            // A capital before a digit: a record type glued to a number (`D4111…`).
            let upper_digit = k.upper & ahead(k.digit, next.digit, 1);
            // Two small letters and two digits: an IBAN typed in small letters (`de89 3704 …`).
            let lower2_digit2 = k.lower
                & ahead(k.lower, next.lower, 1)
                & ahead(k.digit, next.digit, 2)
                & ahead(k.digit, next.digit, 3);
            let starts = k.digit | upper2 | upper_digit | lower2_digit2;
            k.lean = (k.stop & starts) | k.event;
        }
    }

    /// How many bits of `field` are set in `from..to`.
    pub fn count(&self, from: usize, to: usize, field: fn(&Block) -> u64) -> usize {
        let mut n = 0;
        let mut i = from;
        while i < to {
            let q = i / 64;
            let Some(k) = self.blocks.get(q) else { break };
            let end = to.min(q * 64 + 64);
            let width = end - i;
            let window = if width == 64 {
                !0
            } else {
                ((1u64 << width) - 1) << (i % 64)
            };
            n += (field(k) & window).count_ones() as usize;
            i = end;
        }
        n
    }

    fn bit(&self, i: usize, field: fn(&Block) -> u64) -> bool {
        self.blocks
            .get(i / 64)
            .is_some_and(|k| field(k) >> (i % 64) & 1 == 1)
    }

    pub fn is_digit(&self, i: usize) -> bool {
        self.bit(i, |k| k.digit)
    }

    pub fn is_alpha(&self, i: usize) -> bool {
        self.bit(i, |k| k.upper | k.lower)
    }

    /// The first position at or after `i` whose bit in `field` is set, if any.
    pub fn next_set(&self, i: usize, field: fn(&Block) -> u64) -> Option<usize> {
        self.next_set_before(i, self.len, field)
    }

    /// The first position in `i..to` whose bit in `field` is set, if any (looking no further
    /// than `to`).
    pub fn next_set_before(&self, i: usize, to: usize, field: fn(&Block) -> u64) -> Option<usize> {
        if i >= to {
            return None;
        }
        let last = (to - 1) / 64;
        let mut q = i / 64;
        let mut bits = field(self.blocks.get(q)?) & (!0u64 << (i % 64));
        loop {
            if bits != 0 {
                let p = q * 64 + bits.trailing_zeros() as usize;
                return (p < to).then_some(p);
            }
            q += 1;
            if q > last {
                return None;
            }
            bits = field(self.blocks.get(q)?);
        }
    }

    /// The first position at or after `i` whose bit in `field` is clear (the text's length if
    /// none).
    pub fn next_clear(&self, i: usize, field: fn(&Block) -> u64) -> usize {
        let mut q = i / 64;
        let Some(k) = self.blocks.get(q) else {
            return self.len.min(i);
        };
        let mut bits = !field(k) & (!0u64 << (i % 64));
        loop {
            if bits != 0 {
                return (q * 64 + bits.trailing_zeros() as usize).min(self.len);
            }
            q += 1;
            match self.blocks.get(q) {
                Some(k) => bits = !field(k),
                None => return self.len,
            }
        }
    }

    /// Where the run of digits from `i` ends.
    pub fn digits_end(&self, i: usize) -> usize {
        self.next_clear(i, |k| k.digit)
    }

    /// Where the run of letters and digits from `i` ends.
    pub fn alnum_end(&self, i: usize) -> usize {
        self.next_clear(i, Block::alnum)
    }

    /// Whether any byte in `from..to` is a letter.
    pub fn any_alpha(&self, from: usize, to: usize) -> bool {
        self.next_set_before(from, to, |k| k.upper | k.lower)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_fast_bits_are_the_reference_bits(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let full: &[u8; 64] = bytes.as_slice().try_into().unwrap();
            prop_assert_eq!(block_of(full), block_scalar(full));
        }

        #[test]
        fn runs_and_stops_match_a_byte_loop(text in "[a-zA-Z0-9 ,;@\\n.-]{0,300}") {
            let t = text.as_bytes();
            let mut m = Bitmap::default();
            m.build(t);
            for i in 0..t.len() {
                let alnum_end = (i..t.len()).find(|&j| !t[j].is_ascii_alphanumeric()).unwrap_or(t.len());
                prop_assert_eq!(m.alnum_end(i), alnum_end);
                let digits_end = (i..t.len()).find(|&j| !t[j].is_ascii_digit()).unwrap_or(t.len());
                prop_assert_eq!(m.digits_end(i), digits_end);
                let start = t[i].is_ascii_alphanumeric() && (i == 0 || !t[i - 1].is_ascii_alphanumeric());
                let stop = start || is_event(t[i]);
                prop_assert_eq!(m.bit(i, |k| k.stop), stop);
                let at = |k: usize, f: fn(&u8) -> bool| t.get(i + k).is_some_and(f);
                let upper2 = at(0, u8::is_ascii_uppercase) && at(1, u8::is_ascii_uppercase);
                let upper_digit = at(0, u8::is_ascii_uppercase) && at(1, u8::is_ascii_digit);
                let lower2_digit2 = at(0, u8::is_ascii_lowercase)
                    && at(1, u8::is_ascii_lowercase)
                    && at(2, u8::is_ascii_digit)
                    && at(3, u8::is_ascii_digit);
                let lean = start && (t[i].is_ascii_digit() || upper2 || upper_digit || lower2_digit2)
                    || is_event(t[i]);
                prop_assert_eq!(m.bit(i, |k| k.lean), lean);
                let separators = t[..i].iter().filter(|b| is_separator(**b)).count();
                prop_assert_eq!(m.count(0, i, |k| k.separator), separators);
            }
        }
    }
}
