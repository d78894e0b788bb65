//! Which bytes of a file one download's reads covered, so that "read whole" means every byte
//! was sent at least once, not that as many bytes were sent as the file holds (a client that
//! reads one half twice has sent that many and read half). Pure: byte ranges in, answers out.
//! Never here: the reads themselves, or what a whole read sets off (the caller decides).

/// Disjoint ranges kept per download; replies complete out of order (OpenSSH keeps 64 reads in
/// flight), so a sequential download holds a few at a time. Past this, the ranges no longer
/// say exactly what was read ([`Coverage::exact`]).
pub const MAX_COVERAGE_RANGES: usize = 256;

/// The ranges a download's reads covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Sorted, disjoint and not touching: `[start, end)`.
    ranges: Vec<(u64, u64)>,
    /// More than [`MAX_COVERAGE_RANGES`] were needed: two were joined over the gap between
    /// them, so the ranges may include bytes that were never read.
    joined_over_gaps: bool,
}

impl Coverage {
    /// Bytes `offset..offset + len` were read.
    pub fn add(&mut self, offset: u64, len: u64) {
        let end = offset.saturating_add(len);
        if end <= offset {
            return;
        }
        // The ranges that touch or overlap the new one, merged with it.
        let first = self.ranges.partition_point(|&(_, e)| e < offset);
        let last = self.ranges.partition_point(|&(s, _)| s <= end);
        if first == last {
            self.ranges.insert(first, (offset, end));
        } else {
            let start = self.ranges[first].0.min(offset);
            let stop = self.ranges[last - 1].1.max(end);
            self.ranges.drain(first + 1..last);
            self.ranges[first] = (start, stop);
        }
        if self.ranges.len() > MAX_COVERAGE_RANGES {
            // Join the two ranges with the smallest gap between them.
            let i = (0..self.ranges.len() - 1)
                .min_by_key(|&i| self.ranges[i + 1].0 - self.ranges[i].1)
                .unwrap_or(0);
            self.ranges[i].1 = self.ranges[i + 1].1;
            self.ranges.remove(i + 1);
            self.joined_over_gaps = true;
        }
    }

    /// Whether the reads covered every byte of a file of `size` bytes (an empty file is
    /// covered by any download of it). Past [`MAX_COVERAGE_RANGES`] this may say yes for a file
    /// with bytes never read: see [`Coverage::exact`].
    pub fn covers(&self, size: u64) -> bool {
        size == 0
            || self
                .ranges
                .first()
                .is_some_and(|&(s, e)| s == 0 && e >= size)
    }

    /// Whether the reads are known for certain to have covered every byte of a file of `size`
    /// bytes ([`Coverage::covers`], and [`Coverage::exact`]).
    pub fn surely_covers(&self, size: u64) -> bool {
        self.exact() && self.covers(size)
    }

    /// Whether [`Coverage::covers`] is exact (no two ranges were joined over a gap).
    pub fn exact(&self) -> bool {
        !self.joined_over_gaps
    }

    /// The ranges covered, `[start, end)`, in order.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// How many bytes the ranges cover.
    pub fn total(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_half_read_twice_is_not_the_whole() {
        let mut c = Coverage::default();
        c.add(0, 50);
        c.add(0, 50);
        assert!(!c.covers(100));
        c.add(50, 50);
        assert!(c.covers(100) && c.exact());
        assert!(Coverage::default().covers(0));
        assert!(!Coverage::default().covers(1));
    }

    #[test]
    fn replies_out_of_order_join_up() {
        let mut c = Coverage::default();
        for i in [3u64, 1, 0, 2, 5, 4] {
            c.add(i * 10, 10);
        }
        assert_eq!(c.ranges, [(0, 60)]);
        assert!(c.covers(60));
    }

    #[test]
    fn too_many_holes_join_over_the_smallest_gap_and_say_so() {
        let mut c = Coverage::default();
        for i in 0..=MAX_COVERAGE_RANGES as u64 {
            c.add(i * 10, 5 + u64::from(i == 7));
        }
        assert_eq!(c.ranges.len(), MAX_COVERAGE_RANGES);
        assert!(!c.exact());
        // The gap after range 7 was the smallest (4 bytes): joined there.
        assert_eq!(c.ranges[7], (70, 85));
    }

    proptest! {
        /// Below the cap, the ranges are exactly the bytes read.
        #[test]
        fn ranges_are_the_bytes_read(reads in proptest::collection::vec((0u64..300, 0u64..40), 0..60)) {
            let mut c = Coverage::default();
            let mut read = [false; 340];
            for &(offset, len) in &reads {
                c.add(offset, len);
                for b in &mut read[offset as usize..(offset + len) as usize] {
                    *b = true;
                }
            }
            let mut want = Vec::new();
            let mut i = 0;
            while i < read.len() {
                if read[i] {
                    let s = i;
                    while i < read.len() && read[i] {
                        i += 1;
                    }
                    want.push((s as u64, i as u64));
                } else {
                    i += 1;
                }
            }
            prop_assert_eq!(&c.ranges, &want);
            prop_assert!(c.exact());
            for size in [0u64, 1, 100, 339] {
                prop_assert_eq!(c.covers(size), read[..size as usize].iter().all(|b| *b));
            }
        }
    }
}
