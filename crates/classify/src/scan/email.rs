//! E-mail addresses: the local part and the domain around an `@`, crossed run by run with the
//! scanner's bitmaps, and the last domains judged kept with the bytes they read. Never here:
//! other classes.

use super::Scanner;
use super::keywords::load;
use crate::bitmap::Bitmap;
use crate::scan::Class;

impl Scanner {
    /// An e-mail address around the `@` at `at` (RFC 5321's common form: a dot-atom local part
    /// and a domain of at least two labels, the last alphabetic). Runs of letters and digits
    /// are crossed with the bitmaps; only the bytes between them are read.
    pub(super) fn email(&mut self, seg: &[u8], m: &Bitmap, at: usize) {
        // The local part, backwards: at most 64 characters, no dot first, last or doubled.
        let lo = at.saturating_sub(64);
        let mut right = b'@';
        let mut start = at;
        let start = loop {
            let Some(p) = m.last_set_before(lo, start, |k| !k.alnum()) else {
                break lo;
            };
            if p + 1 < start {
                right = seg[p + 1];
            }
            let c = seg[p];
            if !matches!(c, b'.' | b'_' | b'%' | b'+' | b'-') {
                break p + 1;
            }
            if c == b'.' && right == b'.' {
                return;
            }
            right = c;
            start = p;
        };
        if start == at || seg[at - 1] == b'.' || seg[start] == b'.' {
            return;
        }
        // The domain: judged once per spelling (a file names the same few domains again and
        // again), from what the last judgements read.
        let limit = (at + 254).min(seg.len());
        let rest = &seg[at + 1..limit];
        // (`end`: where the bytes the judgement read end; the domain is before them.)
        let (valid, end) = match self.domains.judged(rest) {
            Some((valid, len)) => (valid, at + len),
            None => {
                let (valid, read) = domain(seg, m, at + 1, limit);
                // A judgement that read to the limit depended on where the text ends: not kept.
                if read < limit {
                    self.domains.keep(&seg[at + 1..=read], valid);
                }
                (valid, read)
            }
        };
        if valid {
            // The address in small letters (a domain's case never matters; a local part's
            // almost never does), without the dots that trail it.
            let mut address = &seg[start..end];
            while let [before @ .., b'.'] = address {
                address = before;
            }
            self.counts.add(Class::Email, 1);
            self.distinct.insert_address(address);
        }
    }
}

/// Whether an e-mail domain starts at `from`: at most 253 letters, digits, dashes and dots
/// before `limit` (trailing dots are not part of it), in labels of 1 to 63 letters, digits and
/// inner dashes joined by single dots, the last all letters and at least two; read once, label
/// by label. Also the last byte it read (`limit` if it read to the end): the judgement depends
/// on the bytes up to that one and on nothing else.
fn domain(seg: &[u8], m: &Bitmap, from: usize, limit: usize) -> (bool, usize) {
    let mut labels = 0;
    let mut from = from;
    loop {
        let to = run_end(seg, m, from, limit, |c| c == b'-');
        let label = &seg[from..to];
        let (Some(first), Some(last)) = (label.first(), label.last()) else {
            return (false, to);
        };
        if label.len() > 63 || *first == b'-' || *last == b'-' {
            return (false, to);
        }
        labels += 1;
        // Dots, then more of the domain (the next label) or not (they trail it).
        let mut next = to;
        while next < limit && seg[next] == b'.' {
            next += 1;
        }
        let more = next < limit && (seg[next].is_ascii_alphanumeric() || seg[next] == b'-');
        if !more {
            let letters = m.window(from, label.len(), |k| k.upper | k.lower);
            let valid =
                labels >= 2 && label.len() >= 2 && letters.count_ones() as usize == label.len();
            return (valid, next);
        }
        if next > to + 1 {
            // An empty label between two dots.
            return (false, next);
        }
        from = next;
    }
}

/// Domains already judged: the bytes each judgement read (up to and with the byte that ended
/// it), and its outcome. A domain spelt the same and followed by the same byte is the same
/// judgement. Four kept, the oldest replaced; longer than [`DOMAIN_KEPT`] bytes not kept.
pub(super) struct Domains {
    kept: [([u8; DOMAIN_KEPT], u8, bool); 4],
    next: usize,
}

impl Default for Domains {
    fn default() -> Self {
        Self {
            kept: [([0; DOMAIN_KEPT], 0, false); 4],
            next: 0,
        }
    }
}

/// Whether `a` and `b` (of one length) hold the same bytes: their first and last eight bytes
/// compared as words first (most domains that differ, differ there), the rest only then.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n < 8 {
        return a == b;
    }
    load(a, 0, 8) == load(b, 0, 8)
        && load(a, n - 8, 8) == load(b, n - 8, 8)
        && (n <= 16 || a[8..n - 8] == b[8..n - 8])
}

/// Longest domain judgement kept (with the byte that ended it).
const DOMAIN_KEPT: usize = 48;

impl Domains {
    /// The judgement of the domain at the start of `rest`, if one kept read the same bytes,
    /// and how many it read.
    fn judged(&self, rest: &[u8]) -> Option<(bool, usize)> {
        self.kept.iter().find_map(|(bytes, len, valid)| {
            let len = usize::from(*len);
            let text = rest.get(..len)?;
            (len > 0 && same_bytes(text, &bytes[..len])).then_some((*valid, len))
        })
    }

    fn keep(&mut self, read: &[u8], valid: bool) {
        if read.len() > DOMAIN_KEPT {
            return;
        }
        let slot = &mut self.kept[self.next];
        slot.0[..read.len()].copy_from_slice(read);
        slot.1 = read.len() as u8;
        slot.2 = valid;
        self.next = (self.next + 1) % self.kept.len();
    }
}

/// Where the run from `i` of letters, digits and single bytes that `joins` accepts ends, at
/// `limit` at the latest (runs of letters and digits crossed with the bitmaps).
fn run_end(
    seg: &[u8],
    m: &Bitmap,
    mut i: usize,
    limit: usize,
    joins: impl Fn(u8) -> bool,
) -> usize {
    loop {
        i = m.alnum_end(i).min(limit);
        if i < limit && joins(seg[i]) {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Whether an `@` follows the word at `end` (it is an e-mail's local part, not a BIC).
pub(super) fn email_follows(seg: &[u8], end: usize) -> bool {
    seg.get(end) == Some(&b'@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time comparison of kept domains is byte equality, whichever byte
        /// differs.
        #[test]
        fn same_bytes_is_equality(
            a in proptest::collection::vec(any::<u8>(), 0..50),
            at in any::<proptest::sample::Index>(),
            change in any::<bool>(),
        ) {
            let mut b = a.clone();
            if change && !b.is_empty() {
                let i = at.index(b.len());
                b[i] ^= 1;
            }
            prop_assert_eq!(same_bytes(&a, &b), a == b);
        }
    }
}
