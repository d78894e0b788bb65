//! A tenant's removal (crypto-shredding), in steps that leave the catalog's writer to others
//! between them. [`Catalog::begin_tenant_removal`] deletes, in one short transaction, what makes
//! the tenant readable or reachable (its key, its accounts, the detection overrides of it and of
//! them) and marks it as being removed; [`Catalog::remove_tenant_step`] then deletes its files a
//! batch a transaction (handing back their blob ids for the caller to delete), then its class
//! history and its directories the same way, and its row last. One transaction for all of it
//! held the writer, and so every other tenant's upload commits, for 7.5 s over a tenant of
//! 600,000 files (past the 10 s they wait, from about 800,000).
//!
//! A tenant being removed is not looked up by name ([`CatalogError::BeingRemoved`]), listed
//! with the tenants or swept by retention; beginning its removal again (an interrupted one)
//! goes on with it. Never here: blob files, pacing beyond the pause between steps, the ledger.

use std::time::{Duration, Instant};

use rusqlite::OptionalExtension;

use crate::{Catalog, CatalogError, Result};

/// Files (else class history rows, else directories) deleted in one step's transaction: some
/// 25 ms of the writer at about 12 µs a file.
const STEP_ROWS: i64 = if cfg!(test) { 16 } else { 2048 };

/// The pause before a step after the first: a writer waiting for the lock (every tenant's
/// upload commit) tries again after SQLite's busy handler's sleeps, at most 100 ms apart, so a
/// pause at least that long lets every waiting writer in between two steps.
const PAUSE: Duration = Duration::from_millis(if cfg!(test) { 1 } else { 100 });

/// A tenant whose removal has begun ([`Catalog::begin_tenant_removal`]).
#[derive(Debug)]
pub struct TenantRemoval {
    pub tenant_id: i64,
    /// When its removal began (Unix seconds; an interrupted removal's first beginning).
    pub since: i64,
    /// Its files when this beginning read them (for progress).
    pub files: u64,
    /// Whether a step was taken (the next pauses first).
    stepped: bool,
}

/// What one step of a removal deleted ([`Catalog::remove_tenant_step`]).
#[derive(Debug, Default)]
pub struct RemovalStep {
    /// Files deleted.
    pub files: usize,
    /// The blob ids of the deleted files stored as blobs: for the caller to delete, now that
    /// nothing refers to them.
    pub blobs: Vec<String>,
    /// Class history rows and directories deleted.
    pub other_rows: usize,
    /// Nothing is left of the tenant: its row is deleted too.
    pub done: bool,
}

impl Catalog {
    /// Begins removing tenant `name` at `now`, or goes on with a removal begun before: deletes
    /// its key (crypto-shredding: its names, file keys and classes can no longer be unsealed),
    /// its accounts with their credentials, and the detection overrides of the tenant and its
    /// accounts, in one transaction; then truncates the WAL so that the key's row does not
    /// linger in it (freed pages are zeroed: `secure_delete`).
    pub async fn begin_tenant_removal(&self, name: &str, now: i64) -> Result<TenantRemoval> {
        let name = name.to_owned();
        let removal = self
            .write(move |tx| {
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM tenants WHERE name = ?")?
                    .query_row([&name], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| CatalogError::NotFound {
                        what: "tenant",
                        name: name.clone(),
                    })?;
                tx.prepare_cached("DELETE FROM tenant_keys WHERE tenant_id = ?")?
                    .execute([id])?;
                // And the key a rotation under way is replacing.
                tx.prepare_cached("DELETE FROM retiring_tenant_keys WHERE tenant_id = ?")?
                    .execute([id])?;
                // The overrides first: those of its accounts are found by their names.
                tx.prepare_cached(
                    "DELETE FROM detection_overrides
                      WHERE (scope = 'tenant' AND name = ?1)
                         OR (scope = 'account'
                             AND name IN (SELECT name FROM accounts WHERE tenant_id = ?2))",
                )?
                .execute(rusqlite::params![name, id])?;
                tx.prepare_cached("DELETE FROM accounts WHERE tenant_id = ?")?
                    .execute([id])?;
                let since: i64 = tx
                    .prepare_cached(
                        "UPDATE tenants SET removing_since = COALESCE(removing_since, ?1)
                          WHERE id = ?2 RETURNING removing_since",
                    )?
                    .query_row(rusqlite::params![now, id], |r| r.get(0))?;
                let files: i64 = tx
                    .prepare_cached("SELECT files FROM tenant_usage WHERE tenant_id = ?")?
                    .query_row([id], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                Ok(TenantRemoval {
                    tenant_id: id,
                    since,
                    files: files.max(0) as u64,
                    stepped: false,
                })
            })
            .await?;
        self.truncate_wal().await?;
        Ok(removal)
    }

    /// One step of a removal: up to 2,048 of the tenant's files deleted in one
    /// transaction, else (none left) as many class history rows, else empty directories (a
    /// tree taken a level a step, its root last), else the tenant's row itself (what still
    /// refers to it goes with it) and the WAL truncated. Nothing is added to a tenant being
    /// removed (an upload's commit or a `mkdir` needs its key, gone). After the first step,
    /// each waits 100 ms before taking the writer (see `PAUSE`).
    pub async fn remove_tenant_step(&self, removal: &mut TenantRemoval) -> Result<RemovalStep> {
        if std::mem::replace(&mut removal.stepped, true) {
            tokio::time::sleep(PAUSE).await;
        }
        let id = removal.tenant_id;
        let began = Instant::now();
        let step = self.write(move |tx| removal_step(tx, id)).await?;
        tracing::debug!(
            tenant_id = id,
            files = step.files,
            held_ms = began.elapsed().as_millis() as u64,
            "tenant removal step"
        );
        if step.done {
            self.truncate_wal().await?;
        }
        Ok(step)
    }

    /// Tenants whose removal began and has not finished (interrupted): name and since when.
    pub async fn tenants_being_removed(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT name, removing_since FROM tenants
              WHERE removing_since IS NOT NULL ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

/// [`Catalog::remove_tenant_step`]'s transaction.
fn removal_step(tx: &rusqlite::Transaction<'_>, id: i64) -> Result<RemovalStep> {
    let removing: Option<Option<i64>> = tx
        .prepare_cached("SELECT removing_since FROM tenants WHERE id = ?")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match removing {
        // Finished (by another command meanwhile).
        None => {
            return Ok(RemovalStep {
                done: true,
                ..RemovalStep::default()
            });
        }
        Some(None) => {
            return Err(CatalogError::Invalid {
                what: "tenant removal",
                why: "the tenant is not being removed".into(),
            });
        }
        Some(Some(_)) => {}
    }
    let files: Vec<(i64, Option<String>)> = tx
        .prepare_cached(
            "SELECT id, blob_id FROM nodes WHERE tenant_id = ?1 AND kind = 'file' LIMIT +?2",
        )?
        .query_map(rusqlite::params![id, STEP_ROWS], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if !files.is_empty() {
        let mut delete = tx.prepare_cached("DELETE FROM nodes WHERE id = ?")?;
        for (file, _) in &files {
            delete.execute([file])?;
        }
        return Ok(RemovalStep {
            files: files.len(),
            blobs: files.into_iter().filter_map(|(_, blob)| blob).collect(),
            ..RemovalStep::default()
        });
    }
    for sql in [
        "DELETE FROM class_history WHERE id IN
            (SELECT id FROM class_history WHERE tenant_id = ?1 LIMIT +?2)",
        // Directories with nothing under them: none takes more with it; the root goes last.
        "DELETE FROM nodes WHERE id IN
            (SELECT id FROM nodes d WHERE tenant_id = ?1
                AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent_id = d.id) LIMIT +?2)",
    ] {
        let n = tx
            .prepare_cached(sql)?
            .execute(rusqlite::params![id, STEP_ROWS])?;
        if n > 0 {
            return Ok(RemovalStep {
                other_rows: n,
                ..RemovalStep::default()
            });
        }
    }
    tx.prepare_cached("DELETE FROM tenants WHERE id = ?")?
        .execute([id])?;
    Ok(RemovalStep {
        done: true,
        ..RemovalStep::default()
    })
}
