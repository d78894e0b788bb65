//! Per-account rate limits (`user throttle`): one pacer per account, shared by all its sessions,
//! that READs and WRITEs pass through before they are served. A change of rate reaches requests
//! already waiting within [`RECHECK`], so a throttle applies to live sessions at once.
//!
//! Pacing is a virtual clock: each request reserves its bytes' transmission time after the
//! previous reservation; it waits until its start time comes. Never touches I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How often a waiting request looks at the rate again.
pub const RECHECK: Duration = Duration::from_millis(100);

/// One account's pacer.
#[derive(Default)]
pub struct Pacer {
    /// (bytes per second, 0 = unlimited; when the next request may start).
    state: Mutex<(u64, Option<Instant>)>,
}

impl Pacer {
    /// Waits until `bytes` may pass at the account's rate.
    pub async fn pace(&self, bytes: u64) {
        loop {
            let wait = {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let (rate, next) = *st;
                if rate == 0 {
                    return;
                }
                let now = Instant::now();
                match next {
                    Some(at) if at > now => at - now,
                    _ => {
                        let cost = Duration::from_secs_f64(bytes as f64 / rate as f64);
                        st.1 = Some(now + cost);
                        return;
                    }
                }
            };
            tokio::time::sleep(wait.min(RECHECK)).await;
        }
    }

    fn set(&self, rate: Option<u64>) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A new rate starts now: waits reserved at the old one are forgotten.
        *st = (rate.unwrap_or(0), None);
    }

    pub fn rate(&self) -> Option<u64> {
        let r = self.state.lock().map(|s| s.0).unwrap_or(0);
        (r > 0).then_some(r)
    }
}

/// The pacers of every account with a live session, by account name.
#[derive(Default)]
pub struct Throttles {
    by_account: Mutex<HashMap<String, Arc<Pacer>>>,
}

impl Throttles {
    /// The pacer of `account` for a new session, set to `rate` (the catalog's, read at login).
    pub fn for_session(&self, account: &str, rate: Option<u64>) -> Arc<Pacer> {
        let mut m = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        // Forget pacers no session holds any more.
        m.retain(|_, p| Arc::strong_count(p) > 1);
        let p = m.entry(account.to_owned()).or_default().clone();
        p.set(rate);
        p
    }

    /// Sets each account's rate in `rates` (the catalog's) where its live sessions' differs;
    /// returns the accounts changed. An account with no live session is passed over.
    pub fn follow(&self, rates: &[(String, Option<u64>)]) -> Vec<String> {
        let m = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = Vec::new();
        for (account, rate) in rates {
            if let Some(p) = m.get(account)
                && Arc::strong_count(p) > 1
                && p.rate() != *rate
            {
                p.set(*rate);
                changed.push(account.clone());
            }
        }
        changed
    }

    /// Changes `account`'s rate for its live sessions; whether any was live.
    pub fn set(&self, account: &str, rate: Option<u64>) -> bool {
        let m = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(account) {
            Some(p) if Arc::strong_count(p) > 1 => {
                p.set(rate);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paces_at_the_rate_and_follows_changes() {
        let t = Throttles::default();
        let p = t.for_session("alice", Some(100_000));
        let start = Instant::now();
        for _ in 0..5 {
            p.pace(20_000).await;
        }
        // Four waits of 0.2 s (the first request goes at once).
        assert!(start.elapsed() >= Duration::from_millis(750));
        assert!(t.set("alice", None));
        let start = Instant::now();
        p.pace(1 << 30).await;
        p.pace(1 << 30).await;
        assert!(start.elapsed() < Duration::from_millis(1));
        assert!(!t.set("bob", Some(5)));
        // The catalog's rates followed: only where they differ, only for live accounts.
        let rates = |a: Option<u64>| vec![("alice".to_owned(), a), ("bob".to_owned(), Some(5))];
        assert_eq!(t.follow(&rates(Some(1_000))), ["alice"]);
        assert_eq!(p.rate(), Some(1_000));
        assert!(t.follow(&rates(Some(1_000))).is_empty());
        assert_eq!(t.follow(&rates(None)), ["alice"]);
        assert_eq!(p.rate(), None);
    }
}
