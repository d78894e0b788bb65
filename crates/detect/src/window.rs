//! Sliding-window counters in fixed buckets: bounded memory whatever the traffic.

/// Bytes and files counted over the last `buckets × bucket_ms` milliseconds, at the bucket's
/// granularity (what falls out of the window leaves a whole bucket at a time).
#[derive(Debug, Clone)]
pub struct Window {
    bucket_ms: i64,
    buckets: u32,
    /// (bucket index since the epoch, bytes, files), as a ring; allocated at the first count
    /// (most accounts are idle most of the time, and an idle account's windows cost nothing).
    slots: Vec<(i64, u64, u64)>,
}

impl Window {
    pub fn new(span_ms: i64, buckets: usize) -> Self {
        Self {
            bucket_ms: (span_ms / buckets.max(1) as i64).max(1),
            buckets: buckets.clamp(1, u32::MAX as usize) as u32,
            slots: Vec::new(),
        }
    }

    pub fn add(&mut self, now_ms: i64, bytes: u64, files: u64) {
        if self.slots.is_empty() {
            self.slots = vec![(i64::MIN, 0, 0); self.buckets as usize];
        }
        let index = now_ms.div_euclid(self.bucket_ms);
        let n = self.slots.len() as i64;
        let slot = &mut self.slots[index.rem_euclid(n) as usize];
        if slot.0 != index {
            *slot = (index, 0, 0);
        }
        slot.1 = slot.1.saturating_add(bytes);
        slot.2 = slot.2.saturating_add(files);
    }

    /// Takes back `files` counted at `at_ms`, when that count is still in the window's ring
    /// (a count that left the window has nothing to take back).
    pub fn take_back(&mut self, at_ms: i64, files: u64) {
        let index = at_ms.div_euclid(self.bucket_ms);
        let n = self.slots.len() as i64;
        if n == 0 {
            return;
        }
        let slot = &mut self.slots[index.rem_euclid(n) as usize];
        if slot.0 == index {
            slot.2 = slot.2.saturating_sub(files);
        }
    }

    /// (bytes, files) within the window ending at `now_ms`.
    pub fn sum(&self, now_ms: i64) -> (u64, u64) {
        let index = now_ms.div_euclid(self.bucket_ms);
        let oldest = index - i64::from(self.buckets) + 1;
        self.slots
            .iter()
            .filter(|s| s.0 >= oldest && s.0 <= index)
            .fold((0, 0), |(b, f), s| (b + s.1, f + s.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_the_window_as_it_slides() {
        let mut w = Window::new(60_000, 12);
        w.add(0, 10, 1);
        w.add(30_000, 20, 1);
        assert_eq!(w.sum(30_000), (30, 2));
        assert_eq!(w.sum(59_999), (30, 2));
        assert_eq!(w.sum(60_000), (20, 1));
        assert_eq!(w.sum(95_000), (0, 0));
        // A bucket reused after a full turn starts from zero.
        w.add(120_000, 5, 1);
        assert_eq!(w.sum(120_000), (5, 1));
        // A count taken back leaves its bucket; one that left the window changes nothing in it.
        w.add(125_000, 0, 2);
        w.take_back(125_000, 1);
        assert_eq!(w.sum(125_000), (5, 2));
        w.take_back(30_000, 1);
        assert_eq!(w.sum(125_000), (5, 2));
    }
}
