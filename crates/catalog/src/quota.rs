//! Per-tenant storage quotas (bytes and files), checked inside the transaction that commits an
//! upload, so that concurrent uploads cannot together exceed them.

use rusqlite::Connection;

use crate::{Catalog, CatalogError, Result};

/// Fails with `QuotaExceeded` if adding a file of `new_bytes` (replacing `replaced_bytes`, adding
/// `added_files` files) would take the tenant over a quota.
pub(crate) fn check(
    conn: &Connection,
    tenant_id: i64,
    quotas: (Option<i64>, Option<i64>),
    new_bytes: u64,
    replaced_bytes: u64,
    added_files: i64,
) -> Result<()> {
    let (qb, qf) = quotas;
    if qb.is_none() && qf.is_none() {
        return Ok(());
    }
    let (bytes, files) = usage_in(conn, tenant_id)?;
    let bytes_after = (bytes + new_bytes).saturating_sub(replaced_bytes);
    let files_after = files as i64 + added_files;
    if qb.is_some_and(|q| bytes_after > q as u64) || qf.is_some_and(|q| files_after > q) {
        return Err(CatalogError::QuotaExceeded);
    }
    Ok(())
}

fn usage_in(conn: &Connection, tenant_id: i64) -> Result<(u64, u64)> {
    let (bytes, files): (i64, i64) = conn
        .prepare_cached(
            // Every file (kept by triggers: migration 0020), less the canaries (the few
            // canaries read first, CROSS JOIN: joined the other way, SQLite walked the
            // tenant's every file looking each up among them, 41 ms for 520,000 files).
            "WITH files AS (SELECT COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(files), 0) AS count
                              FROM tenant_usage WHERE tenant_id = ?1),
                  decoys AS (SELECT COALESCE(SUM(n.size), 0) AS bytes, COUNT(*) AS count
                               FROM canaries c CROSS JOIN nodes n ON n.id = c.node_id
                              WHERE c.tenant_id = ?1 AND n.kind = 'file')
             SELECT files.bytes - decoys.bytes, files.count - decoys.count FROM files, decoys",
        )?
        .query_row([tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((bytes as u64, files as u64))
}

impl Catalog {
    /// Bytes and files stored by a tenant.
    pub async fn usage(&self, tenant_id: i64) -> Result<(u64, u64)> {
        self.direct.with(|c| usage_in(c, tenant_id))
    }

    /// Bytes the tenant may still add under a byte quota `quota` (an early check for uploads
    /// in progress; the commit checks again).
    pub async fn byte_headroom(&self, tenant_id: i64, quota: i64) -> Result<u64> {
        Ok((quota as u64).saturating_sub(self.usage(tenant_id).await?.0))
    }
}
