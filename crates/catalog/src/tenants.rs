//! Tenants: client institutions, each with its own namespace root, tenant key, retention
//! policy and quotas. Removing one is `tenant_removal`'s; rotating its key, `key_rotation`'s.

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

/// What serving a tenant's files needs of it: its key in force, the key that one replaces while
/// a rotation goes on (`crate::key_rotation`), and its byte quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantState {
    pub key: TenantKeyRow,
    pub retiring: Option<TenantKeyRow>,
    pub quota_bytes: Option<i64>,
}

/// Changes to a tenant's settings: `None` keeps a value, `Some(None)` turns it off.
#[derive(Debug, Clone, Default)]
pub struct TenantSettings {
    pub retention_days: Option<Option<i64>>,
    pub retention_after_download_hours: Option<Option<i64>>,
    pub quota_bytes: Option<Option<i64>>,
    pub quota_files: Option<Option<i64>>,
}

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
    pub async fn tenant_state(&self, tenant_id: i64) -> Result<Option<TenantState>> {
        // Read at every upload's OPEN: on the caller's thread (see `direct`).
        self.direct.with(|c| {
            Ok(c.prepare_cached(
                "SELECT k.version, k.master_key_id, k.wrapped, t.quota_bytes,
                        r.version, r.master_key_id, r.wrapped
                   FROM tenant_keys k JOIN tenants t ON t.id = k.tenant_id
                   LEFT JOIN retiring_tenant_keys r ON r.tenant_id = k.tenant_id
                  WHERE k.tenant_id = ?",
            )?
            .query_row([tenant_id], |r| {
                let retiring = match r.get::<_, Option<i64>>(4)? {
                    Some(version) => Some(TenantKeyRow {
                        tenant_id,
                        version,
                        master_key_id: r.get(5)?,
                        wrapped: r.get(6)?,
                    }),
                    None => None,
                };
                Ok(TenantState {
                    key: TenantKeyRow {
                        tenant_id,
                        version: r.get(0)?,
                        master_key_id: r.get(1)?,
                        wrapped: r.get(2)?,
                    },
                    retiring,
                    quota_bytes: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    /// Folds the WAL into the database and empties it, so that rows just deleted or replaced
    /// (a shredded tenant, old wrapped keys) do not linger in the log file.
    pub(crate) async fn truncate_wal(&self) -> Result<()> {
        sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether tenant `tenant_id` is there and not being removed (a removal deletes its key
    /// first, then its files in steps: a file still listed then cannot be read, and is no
    /// damage).
    pub async fn tenant_in_service(&self, tenant_id: i64) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tenants WHERE id = ? AND removing_since IS NULL")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
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

    /// Every tenant key: those in force, and those being replaced by rotations under way.
    pub async fn all_tenant_keys(&self) -> Result<Vec<TenantKeyRow>> {
        let rows: Vec<(i64, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT tenant_id, version, master_key_id, wrapped FROM tenant_keys
             UNION ALL
             SELECT tenant_id, version, master_key_id, wrapped FROM retiring_tenant_keys
             ORDER BY tenant_id, version",
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
        // A key being replaced by a rotation under way is re-wrapped as one in force.
        for sql in [
            "UPDATE tenant_keys SET master_key_id = ?, wrapped = ? WHERE tenant_id = ? AND version = ?",
            "UPDATE retiring_tenant_keys SET master_key_id = ?, wrapped = ?
              WHERE tenant_id = ? AND version = ?",
        ] {
            for r in rows {
                sqlx::query(sql)
                    .bind(&r.master_key_id)
                    .bind(&r.wrapped)
                    .bind(r.tenant_id)
                    .bind(r.version)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let under_another: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM tenant_keys WHERE master_key_id != ?1)
                  + (SELECT COUNT(*) FROM retiring_tenant_keys WHERE master_key_id != ?1)",
        )
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
pub(crate) fn insert_key_in(
    tx: &rusqlite::Transaction<'_>,
    k: &TenantKeyRow,
    now: i64,
) -> Result<()> {
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
