//! The byte classes of a block's 64 bytes in SIMD registers on x86-64: all 64 at once with
//! AVX-512BW, 32 at a time with AVX2 (each where the CPU has it, detected at run time by
//! [`super::class_blocks`]), 16 with SSE2 (part of the architecture's baseline). They give the
//! bits of [`super::block_scalar`], which property tests compare. Never here: the bits derived
//! from them.

use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};

/// How far ahead of the byte classes the text is prefetched.
const PREFETCH_AHEAD: usize = 1024;

/// Asks for the text a kilobyte after block `n` of `text`, now: a document read for the first
/// time comes from memory, and the scan waits less for it (1-3% on the benchmark's corpus).
#[target_feature(enable = "sse")]
fn prefetch_ahead(text: &[u8], n: usize) {
    if let Some(later) = text.get(n * 64 + PREFETCH_AHEAD) {
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(later).cast());
    }
}

#[cfg(target_feature = "sse2")]
pub mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8, _mm_sub_epi8,
    };

    use crate::bitmap::Block;

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
            k.joiner |= bits(_mm_or_si128(is(v, b' '), is(v, b'-')), q);
        }
        k
    }
}

/// 64 bytes at once where the CPU has AVX-512BW (detected at run time): each class is one or two
/// comparisons straight into a 64-bit mask.
pub mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_set_epi64,
        _mm512_set1_epi8, _mm512_sub_epi8,
    };

    use super::prefetch_ahead;
    use crate::bitmap::Block;

    /// Bytes in `first..first + count`.
    #[target_feature(enable = "avx512bw")]
    fn in_range(v: __m512i, first: u8, count: u8) -> u64 {
        _mm512_cmplt_epu8_mask(
            _mm512_sub_epi8(v, _mm512_set1_epi8(first as i8)),
            _mm512_set1_epi8(count as i8),
        )
    }

    #[target_feature(enable = "avx512bw")]
    fn is(v: __m512i, b: u8) -> u64 {
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8))
    }

    /// The class bits of every whole 64 bytes of `text`, appended to `out`.
    #[target_feature(enable = "avx512bw")]
    pub fn blocks(text: &[u8], out: &mut Vec<Block>) {
        for (n, bytes) in text.chunks_exact(64).enumerate() {
            prefetch_ahead(text, n);
            let word = |i: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
                i64::from_le_bytes(w)
            };
            let v = _mm512_set_epi64(
                word(7),
                word(6),
                word(5),
                word(4),
                word(3),
                word(2),
                word(1),
                word(0),
            );
            out.push(Block {
                digit: in_range(v, b'0', 10),
                upper: in_range(v, b'A', 26),
                lower: in_range(v, b'a', 26),
                event: is(v, b'\n') | is(v, b'@'),
                separator: is(v, b',') | is(v, b';') | is(v, b'\t') | is(v, b'|'),
                joiner: is(v, b' ') | is(v, b'-'),
                ..Block::default()
            });
        }
    }
}

/// 32 bytes at a time where the CPU has AVX2 but not AVX-512BW (detected at run time): each
/// class a range check or a few comparisons, then its byte mask; two halves to a block.
pub mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_or_si256,
        _mm256_set1_epi8, _mm256_sub_epi8,
    };

    use super::prefetch_ahead;
    use crate::bitmap::Block;

    /// Bytes in `first..first + count`, as 0xff lanes.
    #[target_feature(enable = "avx2")]
    fn in_range(v: __m256i, first: u8, count: u8) -> __m256i {
        let d = _mm256_sub_epi8(v, _mm256_set1_epi8(first as i8));
        _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8((count - 1) as i8)), d)
    }

    #[target_feature(enable = "avx2")]
    fn is(v: __m256i, b: u8) -> __m256i {
        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8))
    }

    /// The bits of two halves' lanes, the first half's at the low end.
    #[target_feature(enable = "avx2")]
    fn bits(lo: __m256i, hi: __m256i) -> u64 {
        u64::from(movemask(lo)) | u64::from(movemask(hi)) << 32
    }

    /// `vpmovmskb`, out of the optimiser's sight: seeing two of them joined into 64 bits, LLVM
    /// rewrites them as one 64-lane comparison and lowers it to byte inserts through the stack
    /// (a third slower than SSE2).
    #[target_feature(enable = "avx2")]
    fn movemask(v: __m256i) -> u32 {
        let bits: u32;
        // SAFETY: `vpmovmskb` reads a register and writes one; the CPU has AVX2 (this function
        // requires it).
        unsafe {
            std::arch::asm!(
                "vpmovmskb {bits:e}, {v}",
                bits = lateout(reg) bits,
                v = in(ymm_reg) v,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        bits
    }

    /// Where a half is an event, a separator or a joiner.
    #[target_feature(enable = "avx2")]
    fn punctuation(v: __m256i) -> [__m256i; 3] {
        [
            _mm256_or_si256(is(v, b'\n'), is(v, b'@')),
            _mm256_or_si256(
                _mm256_or_si256(is(v, b','), is(v, b';')),
                _mm256_or_si256(is(v, b'\t'), is(v, b'|')),
            ),
            _mm256_or_si256(is(v, b' '), is(v, b'-')),
        ]
    }

    /// The class bits of every whole 64 bytes of `text`, appended to `out`.
    #[target_feature(enable = "avx2")]
    pub fn blocks(text: &[u8], out: &mut Vec<Block>) {
        for (n, bytes) in text.chunks_exact(64).enumerate() {
            prefetch_ahead(text, n);
            // SAFETY: `bytes` is 64 bytes long, each load reads 32 of them, at any alignment.
            let (lo, hi) = unsafe {
                (
                    _mm256_loadu_si256(bytes.as_ptr().cast()),
                    _mm256_loadu_si256(bytes.as_ptr().add(32).cast()),
                )
            };
            let [event_lo, separator_lo, joiner_lo] = punctuation(lo);
            let [event_hi, separator_hi, joiner_hi] = punctuation(hi);
            out.push(Block {
                digit: bits(in_range(lo, b'0', 10), in_range(hi, b'0', 10)),
                upper: bits(in_range(lo, b'A', 26), in_range(hi, b'A', 26)),
                lower: bits(in_range(lo, b'a', 26), in_range(hi, b'a', 26)),
                event: bits(event_lo, event_hi),
                separator: bits(separator_lo, separator_hi),
                joiner: bits(joiner_lo, joiner_hi),
                ..Block::default()
            });
        }
    }
}
