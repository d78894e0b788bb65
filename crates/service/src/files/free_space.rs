//! Free space kept on the data directory's filesystem: uploads stop short of filling it, so
//! that the catalog and the audit ledger (on the same filesystem) can always record the
//! logins, reads and deletions that let an operator recover. An upload refused for space fails
//! with a clear message and leaves nothing behind; reads go on.
//!
//! Never decides anything else; the figure comes from `statvfs`, refreshed at most every
//! `REFRESH` (more often once space runs low).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{FsError, FsResult};

/// How long a free-space reading is trusted while space is plentiful.
const REFRESH: Duration = Duration::from_millis(250);

pub struct FreeSpace {
    dir: PathBuf,
    /// Bytes that uploads must leave free (0: no check).
    keep_free: u64,
    /// The last reading: when, and bytes available then minus what was admitted since.
    last: Mutex<Option<(Instant, u64)>>,
}

impl FreeSpace {
    pub fn new(dir: PathBuf, keep_free: u64) -> Self {
        Self {
            dir,
            keep_free,
            last: Mutex::new(None),
        }
    }

    /// No check (admin commands that write no uploads).
    pub fn unchecked() -> Self {
        Self::new(PathBuf::new(), 0)
    }

    /// Admits `bytes` more of upload data, or refuses with `NoSpace` when they would leave less
    /// than the reserve free.
    pub fn admit(&self, bytes: u64) -> FsResult<()> {
        if self.keep_free == 0 {
            return Ok(());
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let stale = match *last {
            None => true,
            Some((at, avail)) => {
                now.duration_since(at) > REFRESH || avail < self.keep_free.saturating_mul(4)
            }
        };
        if stale {
            *last = Some((now, available(&self.dir).unwrap_or(u64::MAX)));
        }
        let Some((at, avail)) = *last else {
            return Ok(());
        };
        if avail < self.keep_free.saturating_add(bytes) {
            tracing::warn!(
                available = avail,
                keep_free = self.keep_free,
                "upload refused: the data directory's filesystem is nearly full"
            );
            return Err(FsError::NoSpace);
        }
        *last = Some((at, avail - bytes));
        Ok(())
    }
}

/// Bytes available to this process on the filesystem holding `dir`.
fn available(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_would_eat_into_the_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let avail = available(dir.path()).unwrap();
        let f = FreeSpace::new(dir.path().to_path_buf(), avail / 2);
        f.admit(1 << 20).unwrap();
        assert!(matches!(f.admit(avail), Err(FsError::NoSpace)));
        assert!(FreeSpace::unchecked().admit(u64::MAX).is_ok());
    }
}
