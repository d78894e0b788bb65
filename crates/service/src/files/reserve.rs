//! Byte-quota reservations of uploads still open. An upload's bytes are on disk before its
//! close commits them, so a quota checked only at commit lets one session fill the disk with
//! uploads it never means to close. Every write that grows an upload reserves the growth
//! against its tenant's byte quota, across all open uploads of the tenant on this node; the
//! reservation is released when the upload is committed or discarded. The catalog's check at
//! commit stays the authority; this one only keeps uncommitted data within the quota.
//!
//! Never touches the catalog or the disk: usage is handed in when an upload opens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{FsError, FsResult};

/// Per tenant: committed bytes as last read from the catalog, and bytes reserved by open
/// uploads beyond the files they replace.
#[derive(Default)]
struct TenantUse {
    usage: u64,
    reserved: u64,
    open: usize,
}

/// The reservations of every tenant on this node, and the node's budget for the writes its
/// uploads hold back for classification and its scanning lanes (what open uploads hold).
#[derive(Default)]
pub struct Reservations {
    tenants: Mutex<HashMap<i64, TenantUse>>,
    scan_budget: Arc<super::classification::ScanBudget>,
    lanes: Arc<super::classification::ScanLanes>,
}

impl Reservations {
    /// With `scan_lanes` threads to scan files on (see [`super::classification::ScanLanes`]).
    pub fn new(scan_lanes: usize) -> Self {
        Self {
            lanes: Arc::new(super::classification::ScanLanes::new(scan_lanes)),
            ..Self::default()
        }
    }

    /// The threads this node scans files on.
    pub fn scan_lanes(&self) -> Arc<super::classification::ScanLanes> {
        self.lanes.clone()
    }

    /// The budget of what this node's uploads hold for their scans (out-of-order writes,
    /// queued batches, the scanners' own state).
    pub fn scan_budget(&self) -> Arc<super::classification::ScanBudget> {
        self.scan_budget.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, TenantUse>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a reservation for an upload of `tenant_id` replacing a file of `base` bytes (0
    /// for a new file), under a byte `quota` (`None`: no quota, nothing is reserved).
    /// `usage`: the tenant's committed bytes, read from the catalog just now.
    pub fn open(
        self: &Arc<Self>,
        tenant_id: i64,
        quota: Option<u64>,
        usage: u64,
        base: u64,
    ) -> Reservation {
        if quota.is_some() {
            let mut t = self.lock();
            let e = t.entry(tenant_id).or_default();
            e.usage = usage;
            e.open += 1;
        }
        Reservation {
            owner: self.clone(),
            tenant_id,
            quota,
            base,
            held: AtomicU64::new(0),
        }
    }

    /// Bytes reserved now by `tenant_id`'s open uploads.
    pub fn reserved(&self, tenant_id: i64) -> u64 {
        self.lock().get(&tenant_id).map_or(0, |e| e.reserved)
    }
}

/// One upload's claim on its tenant's byte quota.
pub struct Reservation {
    owner: Arc<Reservations>,
    tenant_id: i64,
    quota: Option<u64>,
    /// Size of the file the upload replaces: bytes up to it are already counted.
    base: u64,
    /// Bytes reserved beyond `base`.
    held: AtomicU64,
}

impl Reservation {
    /// Makes room for the upload to reach `end` bytes, or refuses with `QuotaExceeded` when
    /// the tenant's committed bytes and every open upload's reservation leave none.
    pub fn grow_to(&self, end: u64) -> FsResult<()> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let want = end.saturating_sub(self.base);
        let held = self.held.load(Ordering::Acquire);
        if want <= held {
            return Ok(());
        }
        let mut t = self.owner.lock();
        let e = t.entry(self.tenant_id).or_default();
        let delta = want - held;
        if e.usage.saturating_add(e.reserved).saturating_add(delta) > quota {
            return Err(FsError::QuotaExceeded);
        }
        e.reserved += delta;
        self.held.store(want, Ordering::Release);
        Ok(())
    }

    /// The upload was committed: its reserved bytes are now committed usage (until the next
    /// upload re-reads the usage from the catalog).
    pub fn committed(&self) {
        if self.quota.is_none() {
            return;
        }
        let held = self.held.swap(0, Ordering::AcqRel);
        let mut t = self.owner.lock();
        if let Some(e) = t.get_mut(&self.tenant_id) {
            e.reserved = e.reserved.saturating_sub(held);
            e.usage = e.usage.saturating_add(held);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.quota.is_none() {
            return;
        }
        let held = *self.held.get_mut();
        let mut t = self.owner.lock();
        if let Some(e) = t.get_mut(&self.tenant_id) {
            e.reserved = e.reserved.saturating_sub(held);
            e.open = e.open.saturating_sub(1);
            if e.open == 0 {
                t.remove(&self.tenant_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_uploads_share_the_quota() {
        let r = Arc::new(Reservations::default());
        let quota = Some(10 << 20);
        let ups: Vec<_> = (0..64).map(|_| r.open(1, quota, 0, 0)).collect();
        // The first upload to reach 9 MiB gets it; the second cannot.
        ups[0].grow_to(9 << 20).unwrap();
        assert!(matches!(
            ups[1].grow_to(9 << 20),
            Err(FsError::QuotaExceeded)
        ));
        ups[1].grow_to(1 << 20).unwrap();
        assert!(matches!(ups[2].grow_to(1), Err(FsError::QuotaExceeded)));
        assert_eq!(r.reserved(1), 10 << 20);
        // Another tenant is not affected.
        r.open(2, quota, 0, 0).grow_to(10 << 20).unwrap();
        // Released when an upload goes away.
        drop(ups);
        assert_eq!(r.reserved(1), 0);
        let again = r.open(1, quota, 0, 0);
        again.grow_to(10 << 20).unwrap();
        // Committed bytes count as usage for the uploads still open.
        let other = r.open(1, quota, 0, 0);
        again.committed();
        drop(again);
        assert!(matches!(other.grow_to(1), Err(FsError::QuotaExceeded)));
    }

    #[test]
    fn replacing_a_file_reserves_only_the_growth() {
        let r = Arc::new(Reservations::default());
        let up = r.open(1, Some(100), 80, 80);
        up.grow_to(80).unwrap();
        assert_eq!(r.reserved(1), 0);
        up.grow_to(100).unwrap();
        assert!(matches!(up.grow_to(101), Err(FsError::QuotaExceeded)));
        // Without a quota nothing is reserved.
        let free = r.open(2, None, 0, 0);
        free.grow_to(u64::MAX).unwrap();
        assert_eq!(r.reserved(2), 0);
    }
}
