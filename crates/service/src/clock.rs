//! The server's one source of time and of randomness that is not key material: both owned by
//! the server state (`server::Shared`) and handed to what needs them, so that nothing else
//! reads the system clock for event times or draws identifiers on its own, and a test can run
//! the server on a clock of its choosing. Keys, nonces and salts are the vault's, never drawn
//! here.

use std::time::{SystemTime, UNIX_EPOCH};

use events::Time;

/// Wall-clock time, to the millisecond.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Time;

    /// Unix seconds (what the catalog stores).
    fn unix_secs(&self) -> i64 {
        self.now().as_secs()
    }
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Time::from_millis(ms)
    }
}

/// Unpredictable bytes for identifiers (session ids, SFTP handles, record ids).
pub trait Entropy: Send + Sync + 'static {
    fn fill(&self, out: &mut [u8]);
}

impl dyn Entropy {
    pub fn array<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }

    pub fn u64(&self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

/// The operating system's generator (through a per-thread CSPRNG seeded from it).
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&self, out: &mut [u8]) {
        rand::fill(out);
    }
}
