//! Byte-class bitmaps: for each 64 bytes of text, one bit per byte saying whether it is a
//! digit, a capital, a small letter, or an event the scanner must see (a line end, a field
//! separator, an `@`), and where candidates start. The scanner jumps between the set bits
//! instead of looking at every byte, and measures runs of digits and letters with one
//! trailing-zeros count instead of a loop.
//!
//! Built 64 bytes at a time with AVX-512BW where the CPU has it (detected at run time), else 32
//! at a time with AVX2, else 16 with SSE2 on x86-64 (part of the architecture's baseline), byte
//! by byte elsewhere ([`classes_x86`]); the bits derived from them (stops, number ends,
//! camelCase joints) eight blocks at a time in AVX-512 registers, else four in AVX2 ones
//! ([`derive_x86`]), else a block at a time. All give the same bits (property tests compare
//! them). Never here: what a candidate means (the scanner decides).

#[cfg(target_arch = "x86_64")]
mod classes_x86;
#[cfg(target_arch = "x86_64")]
mod derive_x86;

/// The bits of 64 bytes (bit `j` is byte `j`; bytes past the text's end have no bits). Laid out
/// as written (`repr(C)`): the SIMD derivations read one field of several blocks at a time by
/// its place in the structure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Block {
    pub digit: u64,
    pub upper: u64,
    pub lower: u64,
    /// The field separators `,` `;` `\t` `|`.
    pub separator: u64,
    /// `\n` and `@`.
    pub event: u64,
    /// A space or a dash: what joins the groups of a printed number.
    pub joiner: u64,
    /// Where a number ends (the byte after its last digit): a run of digits that starts a
    /// run of letters and digits and is not followed by a letter (`42`, `3` of `3.14`; not
    /// `57A`, not the `25` of `GB25`).
    pub number_end: u64,
    /// A small letter followed by a capital (`cardNumber`): where a camelCase word's parts meet.
    pub camel: u64,
    /// Where the scanner stops on a delimited file's first line: the first byte of each run
    /// of letters and digits, and events.
    pub stop: u64,
    /// Where it stops elsewhere: the first byte of each run of at least nine digits, counting
    /// single spaces or dashes between digits (no shorter number can be a candidate), except a
    /// number of 10 to 12 digits that nothing joins or glues to what follows (no such number
    /// is a candidate either: [`dead_numbers`]), or of
    /// each run that starts with two capitals, a capital and a digit, or two small letters and
    /// two digits (no other word can be a candidate), and events.
    pub lean: u64,
}

impl Block {
    pub fn alnum(&self) -> u64 {
        self.digit | self.upper | self.lower
    }
}

/// What starts at a stop ([`Bitmap::next_stop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Digit,
    Letter,
    /// A line end or an `@`.
    Event,
}

/// A step of a backward walk over a line's words ([`Bitmap::step_back`]).
pub enum StepBack {
    /// A word: where it starts and ends.
    Word(usize, usize),
    /// The end of a number.
    NumberEnd,
}

/// The bitmaps of a text, rebuilt in place for each text (the buffer is reused).
#[derive(Default)]
pub struct Bitmap {
    blocks: Vec<Block>,
    len: usize,
}

impl Bitmap {
    /// The memory its buffer keeps.
    pub fn held_bytes(&self) -> usize {
        crate::encoding::held(&self.blocks)
    }
}

/// Whether byte `b` is an event (see [`Block::event`]).
fn is_event(b: u8) -> bool {
    matches!(b, b'\n' | b'@')
}

/// Whether byte `b` separates fields (see [`Block::separator`]).
fn is_separator(b: u8) -> bool {
    matches!(b, b',' | b';' | b'\t' | b'|')
}

/// Whether byte `b` joins the groups of a printed number (see [`Block::joiner`]).
fn is_joiner(b: u8) -> bool {
    matches!(b, b' ' | b'-')
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
        } else if is_joiner(b) {
            k.joiner |= bit;
        }
    }
    k
}

/// Derives the bits of blocks `from..` a block at a time (`carry`: a number's end carried into
/// block `from`).
fn derive_scalar(blocks: &mut [Block], from: usize, mut carry: bool) {
    let digit_of = |q: usize| blocks.get(q).map_or(0, |k| k.digit);
    // What follows a byte may be in the next block (and what precedes it in the last).
    let mut previous_alnum = from.checked_sub(1).map_or(0, |p| blocks[p].alnum() >> 63);
    // The number bytes of the block (computed with the block before, carried over).
    let mut joined = blocks.get(from).map_or(0, |k| {
        number_bytes(
            from.checked_sub(1).map_or(0, |p| digit_of(p) >> 63),
            k,
            digit_of(from + 1),
        )
    });
    for q in from..blocks.len() {
        let next = blocks.get(q + 1).copied().unwrap_or_default();
        let after = blocks.get(q + 2).map_or(0, |k| k.digit);
        let k = &mut blocks[q];
        let alnum = k.alnum();
        k.stop = (alnum & !((alnum << 1) | previous_alnum)) | k.event;
        previous_alnum = alnum >> 63;
        let upper2 = k.upper & ahead(k.upper, next.upper, 1);
        // A capital before a digit: a record type glued to a number (`D4111…`).
        let upper_digit = k.upper & ahead(k.digit, next.digit, 1);
        // Two small letters and two digits: an IBAN typed in small letters (`de89 3704 …`).
        let lower2_digit2 = k.lower
            & ahead(k.lower, next.lower, 1)
            & ahead(k.digit, next.digit, 2)
            & ahead(k.digit, next.digit, 3);
        // Digits and the single joiners between them; where nine of them in a row begin.
        let joined_next = number_bytes(k.digit >> 63, &next, after);
        let dead = dead_numbers(
            k.digit,
            next.digit,
            clean_end(k, next.digit),
            clean_end(&next, after),
        );
        let long_number = k.digit & runs_of_nine(joined, joined_next) & !dead;
        joined = joined_next;
        let starts = long_number | upper2 | upper_digit | lower2_digit2;
        k.lean = (k.stop & starts) | k.event;
        k.camel = k.lower & ahead(k.upper, next.upper, 1);
        // Adding a run's first bit to the run carries to the bit after its end.
        let (sum, c1) = k.digit.overflowing_add(k.stop & k.digit);
        let (sum, c2) = sum.overflowing_add(u64::from(carry));
        carry = c1 || c2;
        k.number_end = sum & !k.digit & !(k.upper | k.lower);
    }
}

/// Appends the class bits of `text`, 64 bytes to a block (the last may be shorter).
fn class_blocks(text: &[u8], out: &mut Vec<Block>) {
    let whole = text.len() / 64 * 64;
    #[cfg(target_arch = "x86_64")]
    {
        // The whole blocks in the widest registers the CPU has, the last short one byte by byte.
        let wide = if std::is_x86_feature_detected!("avx512bw") {
            // SAFETY: `avx512::blocks` requires AVX-512BW, and the CPU was just seen to have it.
            unsafe { classes_x86::avx512::blocks(&text[..whole], out) };
            true
        } else if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `avx2::blocks` requires AVX2, and the CPU was just seen to have it.
            unsafe { classes_x86::avx2::blocks(&text[..whole], out) };
            true
        } else {
            false
        };
        if wide {
            if whole < text.len() {
                out.push(block_scalar(&text[whole..]));
            }
            return;
        }
    }
    out.extend(text.chunks(64).map(block_of));
}

fn block_of(bytes: &[u8]) -> Block {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Ok(full) = <&[u8; 64]>::try_from(bytes) {
        // SAFETY: the only requirement is that the CPU has SSE2, and every x86-64 CPU has it
        // (it is part of the architecture's baseline, and this is compiled for it only when the
        // target enables it).
        return unsafe { classes_x86::sse2::block(full) };
    }
    block_scalar(bytes)
}

/// The bits of `now` moved down `by` places, with the bits of the block after it coming in.
fn ahead(now: u64, later: u64, by: u32) -> u64 {
    (now >> by) | (later << (64 - by))
}

/// A block's digits and the joiners between two digits (`previous`: whether the byte before the
/// block is a digit; `later`: the digits of the block after it).
fn number_bytes(previous: u64, k: &Block, later: u64) -> u64 {
    let before = (k.digit << 1) | previous;
    let after = ahead(k.digit, later, 1);
    k.digit | (k.joiner & before & after)
}

/// Where a byte is one after which a number has nothing more (`digit_later`: the digits of the
/// block after): a field separator, a line end or `@`, or a space or dash not followed by a
/// digit.
fn clean_end(k: &Block, digit_later: u64) -> u64 {
    k.separator | k.event | (k.joiner & !ahead(k.digit, digit_later, 1))
}

/// Where a number of 10, 11 or 12 digits begins that nothing joins or glues to what follows it
/// (`clean`: [`clean_end`]; `_later`: of the block after): no such number is a candidate, and
/// where it ends a keyword's reach is in the number-end bits, so the scan need not stop there.
fn dead_numbers(digit: u64, digit_later: u64, clean: u64, clean_later: u64) -> u64 {
    let two = digit & ahead(digit, digit_later, 1);
    let two_later = digit_later & (digit_later >> 1);
    let four = two & ahead(two, two_later, 2);
    let four_later = two_later & (two_later >> 2);
    let eight = four & ahead(four, four_later, 4);
    let ten = eight & ahead(two, two_later, 8);
    let eleven = ten & ahead(digit, digit_later, 10);
    let twelve = ten & ahead(two, two_later, 10);
    (ten & ahead(clean, clean_later, 10))
        | (eleven & ahead(clean, clean_later, 11))
        | (twelve & ahead(clean, clean_later, 12))
}

/// Where nine set bits in a row begin (`later`: the bits of the block after).
fn runs_of_nine(now: u64, later: u64) -> u64 {
    let two = now & ahead(now, later, 1);
    let two_later = later & (later >> 1);
    let four = two & ahead(two, two_later, 2);
    let four_later = two_later & (two_later >> 2);
    let eight = four & ahead(four, four_later, 4);
    eight & ahead(now, later, 8)
}

/// How the bits derived from the byte classes are computed: a block at a time, or a group of
/// blocks at once in SIMD registers ([`derive_x86`]). All give the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derivation {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Derivation {
    /// Every derivation this CPU runs, the fastest last.
    fn available() -> Vec<Derivation> {
        let mut ways = vec![Derivation::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                ways.push(Derivation::Avx2);
            }
            if std::is_x86_feature_detected!("avx512f") {
                ways.push(Derivation::Avx512);
            }
        }
        ways
    }

    /// The fastest this CPU runs (detected once).
    fn fastest() -> Derivation {
        static FASTEST: std::sync::OnceLock<Derivation> = std::sync::OnceLock::new();
        *FASTEST.get_or_init(|| {
            *Derivation::available()
                .last()
                .expect("scalar is always there")
        })
    }
}

/// The double quotes of a block of 64 bytes, one bit each (written so that the compiler
/// compares the bytes in vector registers).
#[inline]
fn quote_bits(bytes: &[u8; 64]) -> u64 {
    let mut q = 0u64;
    for (i, &c) in bytes.iter().enumerate() {
        q |= u64::from(c == b'"') << i;
    }
    q
}

impl Bitmap {
    /// Rebuilds the bitmaps for `text`.
    pub fn build(&mut self, text: &[u8]) {
        self.build_with(text, Derivation::fastest());
    }

    /// Rebuilds the bitmaps for `text`, deriving with `way` (which this CPU must run).
    fn build_with(&mut self, text: &[u8], way: Derivation) {
        self.blocks.clear();
        self.blocks.reserve(text.len().div_ceil(64));
        self.len = text.len();
        class_blocks(text, &mut self.blocks);
        // A group of blocks at a time up to the last whole group with a block after it, the
        // rest a block at a time.
        #[cfg(target_arch = "x86_64")]
        let end = |lanes: usize| self.blocks.len().saturating_sub(1) / lanes * lanes;
        let (from, carry) = match way {
            Derivation::Scalar => (0, false),
            #[cfg(target_arch = "x86_64")]
            Derivation::Avx2 => {
                let from = end(derive_x86::avx2::LANES);
                // SAFETY: `derive` requires AVX2, and `way` is one this CPU runs.
                (from, unsafe {
                    derive_x86::avx2::derive(&mut self.blocks, from)
                })
            }
            #[cfg(target_arch = "x86_64")]
            Derivation::Avx512 => {
                let from = end(derive_x86::avx512::LANES);
                // SAFETY: `derive` requires AVX-512F, and `way` is one this CPU runs.
                (from, unsafe {
                    derive_x86::avx512::derive(&mut self.blocks, from)
                })
            }
        };
        derive_scalar(&mut self.blocks, from, carry);
    }

    /// Clears the separator bits of `text` (whose bitmaps these are) inside double quotes, as a
    /// delimited table quotes a field that holds one (`"Doe, John"`; a quote doubled inside a
    /// quoted field toggles twice and changes nothing), and the stops at line ends there (a
    /// field of two lines). `inside` says whether `text` begins inside quotes; returns whether
    /// it ends inside them.
    pub fn unquote_separators(&mut self, text: &[u8], mut inside: bool) -> bool {
        for (k, bytes) in self.blocks.iter_mut().zip(text.chunks(64)) {
            // The block's quotes, one bit each (compared 64 at once where the block is whole: a
            // table that quotes every field has a quote every few bytes).
            let q = match <&[u8; 64]>::try_from(bytes) {
                Ok(whole) => quote_bits(whole),
                Err(_) => bytes
                    .iter()
                    .enumerate()
                    .fold(0, |q, (i, &c)| q | u64::from(c == b'"') << i),
            };
            if q == 0 && !inside {
                continue;
            }
            // Bit i: whether an odd number of quotes stand at or before byte i of the block.
            let mut parity = q;
            for shift in [1, 2, 4, 8, 16, 32] {
                parity ^= parity << shift;
            }
            let within = if inside { !parity } else { parity };
            k.separator &= !within;
            // A line end inside a quoted field (an address typed on two lines) ends no line:
            // the record goes on (an `@` there is still an e-mail address's).
            let mut quoted_events = k.event & within;
            while quoted_events != 0 {
                let j = quoted_events.trailing_zeros() as usize;
                if bytes.get(j) == Some(&b'\n') {
                    let bit = !(1u64 << j);
                    k.event &= bit;
                    k.stop &= bit;
                    k.lean &= bit;
                }
                quoted_events &= quoted_events - 1;
            }
            inside ^= q.count_ones() % 2 == 1;
        }
        inside
    }

    /// Keeps of the separators only the bytes `delimiter` (a tab- or pipe-separated table's:
    /// a comma in its fields separates nothing).
    pub fn only_separator(&mut self, text: &[u8], delimiter: u8) {
        // A separator every few bytes at most: each looked at (cheaper than comparing every
        // byte again).
        for (k, bytes) in self.blocks.iter_mut().zip(text.chunks(64)) {
            let mut bits = k.separator;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                if bytes.get(j) != Some(&delimiter) {
                    k.separator &= !(1 << j);
                }
                bits &= bits - 1;
            }
        }
    }

    /// How many bits of `field` are set in `from..to`.
    #[inline]
    pub fn count(&self, from: usize, to: usize, field: impl Fn(&Block) -> u64) -> usize {
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

    /// Whether any bit of `field` is set in `from..to`.
    #[inline]
    pub fn any(&self, from: usize, to: usize, field: impl Fn(&Block) -> u64) -> bool {
        let q = from / 64;
        if from < to && (to - 1) / 64 == q {
            // Within one block, as most words are.
            let Some(k) = self.blocks.get(q) else {
                return false;
            };
            let width = to - from;
            let window = if width == 64 { !0 } else { (1u64 << width) - 1 } << (from % 64);
            return field(k) & window != 0;
        }
        self.next_set_before(from, to, field).is_some()
    }

    /// The bits of `field` for `from..from + len` (at most 64), bit 0 for `from`.
    #[inline]
    pub fn window(&self, from: usize, len: usize, field: impl Fn(&Block) -> u64) -> u64 {
        let (q, o) = (from / 64, from % 64);
        let Some(k) = self.blocks.get(q) else {
            return 0;
        };
        let mut bits = field(k) >> o;
        if o + len > 64
            && let Some(next) = self.blocks.get(q + 1)
        {
            // `o` is not 0 here (`len` is at most 64).
            bits |= field(next) << (64 - o);
        }
        if len >= 64 {
            bits
        } else {
            bits & ((1u64 << len) - 1)
        }
    }

    #[inline]
    fn bit(&self, i: usize, field: impl Fn(&Block) -> u64) -> bool {
        self.blocks
            .get(i / 64)
            .is_some_and(|k| field(k) >> (i % 64) & 1 == 1)
    }

    #[inline]
    pub fn is_digit(&self, i: usize) -> bool {
        self.bit(i, |k| k.digit)
    }

    /// The first position in `i..to` whose bit in `field` is set, if any (looking no further
    /// than `to`).
    #[inline]
    pub fn next_set_before(
        &self,
        i: usize,
        to: usize,
        field: impl Fn(&Block) -> u64,
    ) -> Option<usize> {
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

    /// The last position in `from..to` whose bit in `field` is set, if any.
    #[inline]
    pub fn last_set_before(
        &self,
        from: usize,
        to: usize,
        field: impl Fn(&Block) -> u64,
    ) -> Option<usize> {
        if from >= to {
            return None;
        }
        let first = from / 64;
        let mut q = (to - 1) / 64;
        let below = |end: usize| if end == 64 { !0 } else { (1u64 << end) - 1 };
        let mut bits = field(self.blocks.get(q)?) & below(to - q * 64);
        loop {
            if bits != 0 {
                let p = q * 64 + 63 - bits.leading_zeros() as usize;
                return (p >= from).then_some(p);
            }
            if q == first {
                return None;
            }
            q -= 1;
            bits = field(self.blocks.get(q)?);
        }
    }

    /// The first stop at or after `i` (of [`Block::stop`] on a delimited file's first line, of
    /// [`Block::lean`] elsewhere), and what starts there: found and told from one block read.
    #[inline]
    pub fn next_stop(&self, i: usize, header: bool) -> Option<(usize, Stop)> {
        let stops = |k: &Block| if header { k.stop } else { k.lean };
        let mut q = i / 64;
        let mut k = self.blocks.get(q)?;
        let mut bits = stops(k) & (!0u64 << (i % 64));
        loop {
            if bits != 0 {
                let j = bits.trailing_zeros();
                let kind = if k.digit >> j & 1 == 1 {
                    Stop::Digit
                } else if (k.upper | k.lower) >> j & 1 == 1 {
                    Stop::Letter
                } else {
                    Stop::Event
                };
                return Some((q * 64 + j as usize, kind));
            }
            q += 1;
            k = self.blocks.get(q)?;
            bits = stops(k);
        }
    }

    /// The last step back before `to` (looking no further than `from`) of a walk over a line's
    /// words: the word (a run of letters and digits, its start and end) that starts last, or the
    /// end of a number after it (see [`Block::number_end`]), whichever comes later.
    #[inline]
    pub fn step_back(&self, from: usize, to: usize) -> Option<StepBack> {
        if from >= to {
            return None;
        }
        let first = from / 64;
        let mut q = (to - 1) / 64;
        let end = to - q * 64;
        let mut k = self.blocks.get(q)?;
        let mut bits = (k.stop & k.alnum() | k.number_end) & (!0u64 >> (64 - end));
        loop {
            if bits != 0 {
                let j = 63 - bits.leading_zeros() as usize;
                let p = q * 64 + j;
                if p < from {
                    return None;
                }
                if k.number_end >> j & 1 == 1 {
                    return Some(StepBack::NumberEnd);
                }
                return Some(StepBack::Word(p, self.alnum_end(p)));
            }
            if q == first {
                return None;
            }
            q -= 1;
            k = self.blocks.get(q)?;
            bits = k.stop & k.alnum() | k.number_end;
        }
    }

    /// The first position at or after `i` whose bit in `field` is clear (the text's length if
    /// none).
    #[inline]
    pub fn next_clear(&self, i: usize, field: impl Fn(&Block) -> u64) -> usize {
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
    #[inline]
    pub fn digits_end(&self, i: usize) -> usize {
        self.next_clear(i, |k| k.digit)
    }

    /// Makes the scanner stop outside a header at every number of exactly `len` digits that is
    /// a word of its own too (where a table's routing numbers lost their leading zero, at
    /// their eight digits): a pass over the text's numbers, for the files that need it.
    pub fn stop_at_numbers_of(&mut self, len: usize) {
        for q in 0..self.blocks.len() {
            let k = self.blocks[q];
            let mut starts = k.stop & k.digit & !k.lean;
            while starts != 0 {
                let at = q * 64 + starts.trailing_zeros() as usize;
                if self.digits_end(at) == at + len && self.alnum_end(at) == at + len {
                    self.blocks[q].lean |= starts & starts.wrapping_neg();
                }
                starts &= starts - 1;
            }
        }
    }

    /// Where the run of letters and digits from `i` ends.
    #[inline]
    pub fn alnum_end(&self, i: usize) -> usize {
        self.next_clear(i, Block::alnum)
    }

    /// Whether any byte in `from..to` is a letter.
    #[inline]
    pub fn any_alpha(&self, from: usize, to: usize) -> bool {
        self.any(from, to, |k| k.upper | k.lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Separators inside quotes are cleared as a byte-by-byte walk says, across blocks and
        /// from one text to the next.
        #[test]
        fn separators_inside_quotes_are_cleared(
            text in "([a-z]{1,5}|[,;\"]|\"\"|\n){0,300}",
            cut in any::<proptest::sample::Index>(),
        ) {
            let bytes = text.as_bytes();
            let mut want = Vec::new();
            let mut inside = false;
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'"' {
                    inside = !inside;
                } else if is_separator(b) && !inside {
                    want.push(i);
                }
            }
            let cut = cut.index(bytes.len() + 1);
            let mut got = Vec::new();
            let mut inside = false;
            for (from, part) in [(0, &bytes[..cut]), (cut, &bytes[cut..])] {
                let mut m = Bitmap::default();
                m.build(part);
                inside = m.unquote_separators(part, inside);
                got.extend((0..part.len()).filter(|&i| m.bit(i, |k| k.separator)).map(|i| from + i));
            }
            prop_assert_eq!(got, want);
        }

        #[test]
        fn the_fast_bits_are_the_reference_bits(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let reference: Vec<Block> = bytes.chunks(64).map(block_scalar).collect();
            // SSE2 (or the scalar code off x86-64), then what this CPU runs (AVX-512BW or AVX2
            // if it has them), and each of those it has.
            let sse2: Vec<Block> = bytes.chunks(64).map(block_of).collect();
            prop_assert_eq!(&sse2, &reference);
            let mut fastest = Vec::new();
            class_blocks(&bytes, &mut fastest);
            prop_assert_eq!(&fastest, &reference);
            #[cfg(target_arch = "x86_64")]
            {
                let whole = bytes.len() / 64 * 64;
                let reference = &reference[..whole / 64];
                if std::is_x86_feature_detected!("avx2") {
                    let mut avx2 = Vec::new();
                    // SAFETY: the CPU was just seen to have AVX2.
                    unsafe { classes_x86::avx2::blocks(&bytes[..whole], &mut avx2) };
                    prop_assert_eq!(&avx2[..], reference);
                }
                if std::is_x86_feature_detected!("avx512bw") {
                    let mut avx512 = Vec::new();
                    // SAFETY: the CPU was just seen to have AVX-512BW.
                    unsafe { classes_x86::avx512::blocks(&bytes[..whole], &mut avx512) };
                    prop_assert_eq!(&avx512[..], reference);
                }
            }
        }

        /// Each derivation a group of blocks at a time that this CPU runs gives the bits of the
        /// one a block at a time, on texts long enough for it (runs of digits and joiners
        /// across blocks, words, line ends; and any bytes).
        #[test]
        fn the_fast_derived_bits_are_the_scalar_ones(
            text in prop_oneof![
                "([0-9]{1,30}|[ -]|[a-zA-Z]{1,6}|[\n@,;.]){100,400}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 600..3000),
            ],
        ) {
            let mut scalar = Bitmap::default();
            scalar.build_with(&text, Derivation::Scalar);
            for way in Derivation::available() {
                let mut fast = Bitmap::default();
                fast.build_with(&text, way);
                prop_assert_eq!(&fast.blocks, &scalar.blocks, "{:?}", way);
            }
        }

        #[test]
        fn runs_and_stops_match_a_byte_loop(text in "([0-9]{1,12}|[a-zA-Z0-9 ,;@\\n.-]){0,200}") {
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
                let joined = |j: usize| {
                    t.get(j).is_some_and(u8::is_ascii_digit)
                        || t.get(j).is_some_and(|b| is_joiner(*b))
                            && j > 0
                            && t[j - 1].is_ascii_digit()
                            && t.get(j + 1).is_some_and(u8::is_ascii_digit)
                };
                // A number of 10 to 12 digits with nothing joined or glued after it is not a
                // stop (`dead_numbers`).
                let run = t[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let clean_after = t.get(i + run).is_some_and(|&b| {
                    is_separator(b)
                        || is_event(b)
                        || is_joiner(b) && !t.get(i + run + 1).is_some_and(u8::is_ascii_digit)
                });
                let dead = (10..=12).contains(&run) && clean_after;
                let long_number = t[i].is_ascii_digit() && (i..i + 9).all(joined) && !dead;
                let lean = start && (long_number || upper2 || upper_digit || lower2_digit2)
                    || is_event(t[i]);
                let camel = at(0, u8::is_ascii_lowercase) && at(1, u8::is_ascii_uppercase);
                prop_assert_eq!(m.bit(i, |k| k.camel), camel);
                // The byte after a run of digits that starts a word and is followed by no letter.
                let number_end = i > 0
                    && t[i - 1].is_ascii_digit()
                    && !t[i].is_ascii_alphanumeric()
                    && {
                        let start = (0..i).rev().find(|&j| !t[j].is_ascii_digit()).map_or(0, |j| j + 1);
                        start == 0 || !t[start - 1].is_ascii_alphanumeric()
                    };
                prop_assert_eq!(m.bit(i, |k| k.number_end), number_end);
                for from in [0, i / 2, i.saturating_sub(70)] {
                    let last = (from..i).rev().find(|&j| m.bit(j, |k| k.event));
                    prop_assert_eq!(m.last_set_before(from, i, |k| k.event), last);
                    // A step back: the last word start or number end in `from..i`.
                    let step = (from..i).rev().find(|&j| {
                        let word_start = t[j].is_ascii_alphanumeric()
                            && (j == 0 || !t[j - 1].is_ascii_alphanumeric());
                        word_start || m.bit(j, |k| k.number_end)
                    });
                    // `Some((start, end))` for a word, `None` for a number's end.
                    let want = step.map(|j| {
                        (!m.bit(j, |k| k.number_end)).then(|| {
                            let end = (j..t.len()).find(|&e| !t[e].is_ascii_alphanumeric()).unwrap_or(t.len());
                            (j, end)
                        })
                    });
                    let got = m.step_back(from, i).map(|s| match s {
                        StepBack::Word(s, e) => Some((s, e)),
                        StepBack::NumberEnd => None,
                    });
                    prop_assert_eq!(got, want);
                }
                prop_assert_eq!(m.bit(i, |k| k.lean), lean);
                for header in [false, true] {
                    let next = (i..t.len()).find(|&j| m.bit(j, |k| if header { k.stop } else { k.lean }));
                    let want = next.map(|j| {
                        let kind = if t[j].is_ascii_digit() {
                            Stop::Digit
                        } else if t[j].is_ascii_alphabetic() {
                            Stop::Letter
                        } else {
                            Stop::Event
                        };
                        (j, kind)
                    });
                    prop_assert_eq!(m.next_stop(i, header), want);
                }
                for len in [0, 1, 13, 64] {
                    let want = (0..len.min(t.len() - i)).filter(|&j| t[i + j].is_ascii_digit()).fold(0u64, |w, j| w | 1 << j);
                    prop_assert_eq!(m.window(i, len, |k| k.digit), want);
                }
                let separators = t[..i].iter().filter(|b| is_separator(**b)).count();
                prop_assert_eq!(m.count(0, i, |k| k.separator), separators);
            }
        }
    }
}
