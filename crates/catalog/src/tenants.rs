//! Tenants: client institutions, each with its own namespace root, tenant key, retention
//! policy and quotas. Removing one is `tenant_removal`'s.

use std::hash::BuildHasher as _;

use rusqlite::OptionalExtension;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Catalog, CatalogError, Result, exists_or, validate_name};

/// Retention of new tenants: files expire this many days after upload.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub retention_days: Option<i64>,
    pub retention_after_download_hours: Option<i64>,
    pub quota_bytes: Option<i64>,
    pub quota_files: Option<i64>,
}

/// A tenant key as stored: wrapped by the master key `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantKeyRow {
    pub tenant_id: i64,
    pub version: i64,
    pub master_key_id: Vec<u8>,
    pub wrapped: Vec<u8>,
}

/// Changes to a tenant's settings: `None` keeps a value, `Some(None)` turns it off.
#[derive(Debug, Clone, Default)]
pub struct TenantSettings {
    pub retention_days: Option<Option<i64>>,
    pub retention_after_download_hours: Option<Option<i64>>,
    pub quota_bytes: Option<Option<i64>>,
    pub quota_files: Option<Option<i64>>,
}

/// A node as a tenant key rotation re-keys it: its name forms, data key and sealed classes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RekeyableNode {
    pub id: i64,
    pub name_mac: Vec<u8>,
    pub sealed_name: Vec<u8>,
    /// The data key's id and wrapped form (`None`: contents not sealed, or a directory).
    pub key_id: Option<Vec<u8>>,
    pub wrapped_key: Option<Vec<u8>>,
    pub content_root: Option<Vec<u8>>,
    pub classes: Option<Vec<u8>>,
}

/// A node re-keyed: its new name forms, re-wrapped data key and re-sealed classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    pub name_mac: Vec<u8>,
    pub sealed_name: Vec<u8>,
    pub wrapped_key: Option<Vec<u8>>,
    pub classes: Option<Vec<u8>>,
}

/// A value sealed under the tenant key besides nodes, as a rotation re-seals it: a class
/// history row (by its id, with its contents' root) or an account's TOTP secret (by the
/// account's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RekeyableValue {
    pub id: i64,
    pub content_root: Option<Vec<u8>>,
    pub sealed: Vec<u8>,
}

/// An error of re-keying a row (the vault's, carried through the catalog).
pub type RekeyError = Box<dyn std::error::Error + Send + Sync>;

/// Re-keys a tenant's rows from its old key to its new one: the caller's (who holds the keys;
/// the catalog never does). A rotation calls it for every row before its transaction, and
/// inside it for the rows changed since.
pub trait Rekey: Send {
    fn node(&mut self, n: &RekeyableNode) -> std::result::Result<Rekeyed, RekeyError>;
    fn class_history(&mut self, v: &RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError>;
    fn totp_secret(&mut self, v: &RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError>;
}

/// A tenant's rows as read for a rotation, each by its fingerprint as read (a row that no
/// longer has it changed since) with its re-keyed form: not the row itself, which would double
/// what a rotation holds.
#[derive(Debug, Default)]
pub struct RekeyedRows {
    /// Keyed at random for each rotation.
    fingerprints: std::hash::RandomState,
    nodes: std::collections::HashMap<i64, (u64, Rekeyed)>,
    history: RekeyedValues,
    totp: RekeyedValues,
}

impl RekeyedRows {
    /// Nodes re-keyed.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }
}

/// Rows of one kind a rotation reads at a time, by id (inside its transaction too: what it
/// holds there is a page, not the tenant).
/// (Small in tests, so that their rotations turn pages.)
const REKEY_PAGE: i64 = if cfg!(test) { 16 } else { 2048 };

/// The tenant's nodes (but its root), its class history rows and its accounts' TOTP secrets,
/// after an id (`?2`), a page (`?3`) at a time.
const NODES_AFTER: &str =
    "SELECT id, name_mac, sealed_name, key_id, wrapped_key, content_root, classes
       FROM nodes WHERE tenant_id = ?1 AND parent_id IS NOT NULL AND id > ?2 ORDER BY id LIMIT +?3";
const HISTORY_AFTER: &str = "SELECT id, content_root, classes FROM class_history
      WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT +?3";
const TOTP_AFTER: &str = "SELECT id, NULL, totp_secret FROM accounts
      WHERE tenant_id = ?1 AND totp_secret IS NOT NULL AND id > ?2 ORDER BY id LIMIT +?3";

fn node_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<RekeyableNode> {
    Ok(RekeyableNode {
        id: r.get(0)?,
        name_mac: r.get(1)?,
        sealed_name: r.get(2)?,
        key_id: r.get(3)?,
        wrapped_key: r.get(4)?,
        content_root: r.get(5)?,
        classes: r.get(6)?,
    })
}

fn value_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<RekeyableValue> {
    Ok(RekeyableValue {
        id: r.get(0)?,
        content_root: r.get(1)?,
        sealed: r.get(2)?,
    })
}

/// Calls `each` with every row of tenant `tenant_id` that `sql` (one of the `…_AFTER`
/// queries) selects, a page at a time; each page is read whole before `each` sees it (it may
/// change the rows it has been given).
fn each_rekeyable<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    tenant_id: i64,
    read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    id_of: fn(&T) -> i64,
    mut each: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut after = i64::MIN;
    loop {
        let page: Vec<T> = conn
            .prepare_cached(sql)?
            .query_map(rusqlite::params![tenant_id, after, REKEY_PAGE], read)?
            .collect::<rusqlite::Result<_>>()?;
        let full = page.len() as i64 == REKEY_PAGE;
        match page.last() {
            Some(last) => after = id_of(last),
            None => return Ok(()),
        }
        for row in page {
            each(row)?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// Values re-keyed as read, by id: their fingerprint as read and their new sealed form.
type RekeyedValues = std::collections::HashMap<i64, (u64, Vec<u8>)>;

/// Re-keys with `rekey_one` every value `sql` selects of the tenant, into `into`.
fn rekey_values(
    conn: &rusqlite::Connection,
    sql: &str,
    tenant_id: i64,
    seen: &std::hash::RandomState,
    into: &mut RekeyedValues,
    mut rekey_one: impl FnMut(&RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError>,
) -> Result<()> {
    each_rekeyable(
        conn,
        sql,
        tenant_id,
        value_of,
        |v| v.id,
        |v| {
            let r = rekey_one(&v).map_err(CatalogError::Rekey)?;
            into.insert(v.id, (seen.hash_one(&v), r));
            Ok(())
        },
    )
}

/// Stores every value `sql` selects of the tenant through `store` (its new sealed form, its
/// id, the tenant): as re-keyed in `read` where it is as read then, else re-keyed now.
fn store_values(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    store: &str,
    tenant_id: i64,
    seen: &std::hash::RandomState,
    read: &mut RekeyedValues,
    mut rekey_one: impl FnMut(&RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError>,
) -> Result<()> {
    each_rekeyable(
        tx,
        sql,
        tenant_id,
        value_of,
        |v| v.id,
        |v| {
            let sealed = match read.remove(&v.id) {
                Some((was, r)) if was == seen.hash_one(&v) => r,
                _ => rekey_one(&v).map_err(CatalogError::Rekey)?,
            };
            tx.prepare_cached(store)?
                .execute(rusqlite::params![sealed, v.id, tenant_id])?;
            Ok(())
        },
    )
}

/// How a rotation stores a re-keyed class history row and TOTP secret.
const STORE_HISTORY: &str = "UPDATE class_history SET classes = ? WHERE id = ? AND tenant_id = ?";
const STORE_TOTP: &str = "UPDATE accounts SET totp_secret = ? WHERE id = ? AND tenant_id = ?";

const TENANT_COLUMNS: &str =
    "SELECT id, name, created_at, retention_days, retention_after_download_hours,
        quota_bytes, quota_files, removing_since FROM tenants";

fn tenant_from_row(r: &SqliteRow) -> Result<Tenant> {
    Ok(Tenant {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        retention_days: r.try_get("retention_days")?,
        retention_after_download_hours: r.try_get("retention_after_download_hours")?,
        quota_bytes: r.try_get("quota_bytes")?,
        quota_files: r.try_get("quota_files")?,
    })
}

/// Mode of a tenant's root directory.
const ROOT_MODE: u32 = 0o040755;

impl Catalog {
    /// Creates a tenant, the root of its namespace and its tenant key, in one transaction.
    /// `new_key(tenant_id)` makes the wrapped key (its AAD binds the id, known only here).
    pub async fn add_tenant(
        &self,
        name: &str,
        now: i64,
        new_key: impl FnOnce(i64) -> TenantKeyRow,
    ) -> Result<Tenant> {
        validate_name("tenant name", name)?;
        let mut tx = self.begin_write().await?;
        let removing: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT removing_since FROM tenants WHERE name = ?")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((Some(_),)) = removing {
            return Err(CatalogError::BeingRemoved {
                name: name.to_owned(),
            });
        }
        let id =
            sqlx::query("INSERT INTO tenants (name, created_at, retention_days) VALUES (?, ?, ?)")
                .bind(name)
                .bind(now)
                .bind(DEFAULT_RETENTION_DAYS)
                .execute(&mut *tx)
                .await
                .map_err(|e| exists_or(e, "tenant", || name.to_owned()))?
                .last_insert_rowid();
        sqlx::query(
            "INSERT INTO nodes (id, tenant_id, parent_id, name_mac, sealed_name, kind, size, mode,
                                mtime, atime, created_at)
             VALUES ((SELECT id + 1 FROM node_id_high_water), ?, NULL, x'', x'', 'dir', 0, ?, ?,
                     ?, ?)",
        )
        .bind(id)
        .bind(ROOT_MODE)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let key = new_key(id);
        insert_key(&mut tx, &key, now).await?;
        tx.commit().await?;
        self.tenant(name).await
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        // Not those being removed ([`Catalog::tenants_being_removed`]).
        let sql = sqlx::AssertSqlSafe(format!(
            "{TENANT_COLUMNS} WHERE removing_since IS NULL ORDER BY name"
        ));
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(tenant_from_row).collect()
    }

    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        let sql = sqlx::AssertSqlSafe(format!("{TENANT_COLUMNS} WHERE name = ?"));
        let r = sqlx::query(sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CatalogError::NotFound {
                what: "tenant",
                name: name.to_owned(),
            })?;
        if r.try_get::<Option<i64>, _>("removing_since")?.is_some() {
            return Err(CatalogError::BeingRemoved {
                name: name.to_owned(),
            });
        }
        tenant_from_row(&r)
    }

    pub async fn update_tenant(&self, name: &str, s: &TenantSettings) -> Result<Tenant> {
        let t = self.tenant(name).await?;
        let pick = |change: Option<Option<i64>>, current: Option<i64>| change.unwrap_or(current);
        crate::retention::check_rule(
            s.retention_days.flatten(),
            s.retention_after_download_hours.flatten(),
        )?;
        sqlx::query(
            "UPDATE tenants SET retention_days = ?, retention_after_download_hours = ?,
                    quota_bytes = ?, quota_files = ? WHERE id = ?",
        )
        .bind(pick(s.retention_days, t.retention_days))
        .bind(pick(
            s.retention_after_download_hours,
            t.retention_after_download_hours,
        ))
        .bind(pick(s.quota_bytes, t.quota_bytes))
        .bind(pick(s.quota_files, t.quota_files))
        .bind(t.id)
        .execute(&self.pool)
        .await?;
        self.tenant(name).await
    }

    /// The tenant key and byte quota in one query (what an upload needs at open).
    pub async fn tenant_state(
        &self,
        tenant_id: i64,
    ) -> Result<Option<(TenantKeyRow, Option<i64>)>> {
        type Row = (i64, Vec<u8>, Vec<u8>, Option<i64>);
        // Read at every upload's OPEN: on the caller's thread (see `direct`).
        let row: Option<Row> = self.direct.with(|c| {
            Ok(c.prepare_cached(
                "SELECT k.version, k.master_key_id, k.wrapped, t.quota_bytes
                   FROM tenant_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.tenant_id = ?",
            )?
            .query_row([tenant_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?)
        })?;
        Ok(row.map(|(version, master_key_id, wrapped, quota)| {
            (
                TenantKeyRow {
                    tenant_id,
                    version,
                    master_key_id,
                    wrapped,
                },
                quota,
            )
        }))
    }

    /// Folds the WAL into the database and empties it, so that rows just deleted or replaced
    /// (a shredded tenant, old wrapped keys) do not linger in the log file.
    pub(crate) async fn truncate_wal(&self) -> Result<()> {
        sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn tenant_key(&self, tenant_id: i64) -> Result<Option<TenantKeyRow>> {
        let row: Option<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT version, master_key_id, wrapped FROM tenant_keys WHERE tenant_id = ?",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(version, master_key_id, wrapped)| TenantKeyRow {
            tenant_id,
            version,
            master_key_id,
            wrapped,
        }))
    }

    pub async fn all_tenant_keys(&self) -> Result<Vec<TenantKeyRow>> {
        let rows: Vec<(i64, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT tenant_id, version, master_key_id, wrapped FROM tenant_keys ORDER BY tenant_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(tenant_id, version, master_key_id, wrapped)| TenantKeyRow {
                    tenant_id,
                    version,
                    master_key_id,
                    wrapped,
                },
            )
            .collect())
    }

    /// Every row of a tenant a key rotation re-keys, read now and re-keyed by `rekey` (outside
    /// any transaction: the cryptography does not hold the writer).
    pub async fn rekey_tenant_rows(
        &self,
        tenant_id: i64,
        rekey: &mut dyn Rekey,
    ) -> Result<RekeyedRows> {
        let mut rows = RekeyedRows::default();
        self.direct.with(|c| {
            let seen = rows.fingerprints.clone();
            each_rekeyable(
                c,
                NODES_AFTER,
                tenant_id,
                node_of,
                |n| n.id,
                |n| {
                    let r = rekey.node(&n).map_err(CatalogError::Rekey)?;
                    rows.nodes.insert(n.id, (seen.hash_one(&n), r));
                    Ok(())
                },
            )?;
            let history = &mut rows.history;
            rekey_values(c, HISTORY_AFTER, tenant_id, &seen, history, |v| {
                rekey.class_history(v)
            })?;
            rekey_values(c, TOTP_AFTER, tenant_id, &seen, &mut rows.totp, |v| {
                rekey.totp_secret(v)
            })
        })?;
        Ok(rows)
    }

    /// Replaces a tenant key (at `old_version`) with `new`, with every node, earlier contents'
    /// classes and TOTP secret of the tenant re-keyed, in one transaction: the old tenant key
    /// is gone when this commits. `rows` were re-keyed as read before; a row changed since (an
    /// upload, a new file, a rename, sealed under the old key, which would otherwise be
    /// overwritten or left under a key that is gone) is re-keyed by `rekey` inside the
    /// transaction, so that a rotation beside a busy server re-keys what changed meanwhile
    /// rather than failing. The transaction holds the catalog's writer (every upload's commit
    /// waits for it): it runs on the direct writer, each row one prepared statement, some 9 µs
    /// a row as measured (a sqlx statement each held it 120 µs a row: a tenant of 100,000
    /// files past the server's 10 s wait for the writer). Returns the number of nodes
    /// re-keyed, and `rekey`.
    pub async fn rotate_tenant_key<R: Rekey + 'static>(
        &self,
        old_version: i64,
        new: &TenantKeyRow,
        mut rows: RekeyedRows,
        mut rekey: R,
        now: i64,
    ) -> Result<(usize, R)> {
        let new = new.clone();
        let count = self
            .write(move |tx| {
                let current: Option<i64> = tx
                    .prepare_cached(CURRENT_KEY_VERSION)?
                    .query_row([new.tenant_id], |r| r.get(0))
                    .optional()?;
                if current != Some(old_version) {
                    return Err(CatalogError::KeyRotated);
                }
                tx.prepare_cached("DELETE FROM tenant_keys WHERE tenant_id = ?")?
                    .execute([new.tenant_id])?;
                insert_key_in(tx, &new, now)?;
                // Each row as re-keyed before, unless it changed since (then re-keyed here).
                let seen = rows.fingerprints.clone();
                let mut count = 0;
                each_rekeyable(
                    tx,
                    NODES_AFTER,
                    new.tenant_id,
                    node_of,
                    |n| n.id,
                    |n| {
                        let r = match rows.nodes.remove(&n.id) {
                            Some((read, r)) if read == seen.hash_one(&n) => r,
                            _ => rekey.node(&n).map_err(CatalogError::Rekey)?,
                        };
                        tx.prepare_cached(
                            "UPDATE nodes SET name_mac = ?, sealed_name = ?, classes = ?,
                                wrapped_key = COALESCE(?, wrapped_key),
                                key_version = CASE WHEN key_version IS NULL THEN NULL ELSE ? END
                          WHERE id = ? AND tenant_id = ?",
                        )?
                        .execute(rusqlite::params![
                            r.name_mac,
                            r.sealed_name,
                            r.classes,
                            r.wrapped_key,
                            new.version,
                            n.id,
                            new.tenant_id
                        ])?;
                        count += 1;
                        Ok(())
                    },
                )?;
                // Earlier contents' classes (by history row id), sealed under the new key.
                let (history, totp) = (&mut rows.history, &mut rows.totp);
                store_values(
                    tx,
                    HISTORY_AFTER,
                    STORE_HISTORY,
                    new.tenant_id,
                    &seen,
                    history,
                    |v| rekey.class_history(v),
                )?;
                store_values(
                    tx,
                    TOTP_AFTER,
                    STORE_TOTP,
                    new.tenant_id,
                    &seen,
                    totp,
                    |v| rekey.totp_secret(v),
                )?;
                Ok((count, rekey))
            })
            .await?;
        self.truncate_wal().await?;
        Ok(count)
    }

    /// The master key the catalog's tenant keys are wrapped under (`None` before the first).
    pub async fn master_key_id(&self) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT master_key_id FROM master_key WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores tenant keys re-wrapped under the master key `master_key_id` (same versions) and
    /// records it as the master key of every tenant key, in one transaction. A tenant key not
    /// among `rows` left under another master key (made since the caller read them: it would
    /// be lost with that key) stores nothing: [`CatalogError::TenantKeyMade`], to read again.
    pub async fn rewrap_tenant_keys(
        &self,
        master_key_id: &[u8],
        rows: &[TenantKeyRow],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO master_key (id, master_key_id) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET master_key_id = excluded.master_key_id",
        )
        .bind(master_key_id)
        .execute(&mut *tx)
        .await?;
        for r in rows {
            sqlx::query(
                "UPDATE tenant_keys SET master_key_id = ?, wrapped = ? WHERE tenant_id = ? AND version = ?",
            )
            .bind(&r.master_key_id)
            .bind(&r.wrapped)
            .bind(r.tenant_id)
            .bind(r.version)
            .execute(&mut *tx)
            .await?;
        }
        let under_another: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tenant_keys WHERE master_key_id != ?")
                .bind(master_key_id)
                .fetch_one(&mut *tx)
                .await?;
        if under_another > 0 {
            return Err(CatalogError::TenantKeyMade);
        }
        tx.commit().await?;
        self.truncate_wal().await?;
        Ok(())
    }
}

/// Inserts a tenant key, refused unless it is wrapped under the master key the catalog
/// records ([`CatalogError::MasterKeyRotated`]); the first tenant key records its own.
/// The tenant's current key version.
pub(crate) const CURRENT_KEY_VERSION: &str = "SELECT version FROM tenant_keys WHERE tenant_id = ?";
const MASTER_KEY_ID: &str = "SELECT master_key_id FROM master_key WHERE id = 1";
const INSERT_MASTER_KEY_ID: &str = "INSERT INTO master_key (id, master_key_id) VALUES (1, ?)";
const INSERT_TENANT_KEY: &str =
    "INSERT INTO tenant_keys (tenant_id, version, master_key_id, wrapped, created_at)
     VALUES (?, ?, ?, ?, ?)";

/// Stores tenant key `k`, wrapped under the catalog's master key (recorded with the first
/// tenant key); one wrapped under another is refused ([`CatalogError::MasterKeyRotated`]).
async fn insert_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    k: &TenantKeyRow,
    now: i64,
) -> Result<()> {
    let recorded: Option<Vec<u8>> = sqlx::query_scalar(MASTER_KEY_ID)
        .fetch_optional(&mut **tx)
        .await?;
    match recorded {
        Some(id) if id != k.master_key_id => return Err(CatalogError::MasterKeyRotated),
        Some(_) => {}
        None => {
            sqlx::query(INSERT_MASTER_KEY_ID)
                .bind(&k.master_key_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    sqlx::query(INSERT_TENANT_KEY)
        .bind(k.tenant_id)
        .bind(k.version)
        .bind(&k.master_key_id)
        .bind(&k.wrapped)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// [`insert_key`] in a transaction of the direct writer.
fn insert_key_in(tx: &rusqlite::Transaction<'_>, k: &TenantKeyRow, now: i64) -> Result<()> {
    let recorded: Option<Vec<u8>> = tx
        .prepare_cached(MASTER_KEY_ID)?
        .query_row([], |r| r.get(0))
        .optional()?;
    match recorded {
        Some(id) if id != k.master_key_id => return Err(CatalogError::MasterKeyRotated),
        Some(_) => {}
        None => {
            tx.prepare_cached(INSERT_MASTER_KEY_ID)?
                .execute([&k.master_key_id])?;
        }
    }
    tx.prepare_cached(INSERT_TENANT_KEY)?
        .execute(rusqlite::params![
            k.tenant_id,
            k.version,
            k.master_key_id,
            k.wrapped,
            now
        ])?;
    Ok(())
}
