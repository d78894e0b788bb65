//! Tenants: client institutions, each with its own namespace root.

use sqlx::Row;

use crate::{Catalog, CatalogError, Result, exists_or, validate_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

/// Mode of a tenant's root directory.
const ROOT_MODE: u32 = 0o040755;

impl Catalog {
    /// Creates a tenant and the root directory of its namespace, in one transaction.
    pub async fn add_tenant(&self, name: &str, now: i64) -> Result<Tenant> {
        validate_name("tenant name", name)?;
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query("INSERT INTO tenants (name, created_at) VALUES (?, ?)")
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| exists_or(e, "tenant", || name.to_owned()))?
            .last_insert_rowid();
        sqlx::query(
            "INSERT INTO nodes (tenant_id, parent_id, name, kind, size, mode, mtime, atime)
             VALUES (?, NULL, x'', 'dir', 0, ?, ?, ?)",
        )
        .bind(id)
        .bind(ROOT_MODE)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Tenant {
            id,
            name: name.to_owned(),
            created_at: now,
        })
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Tenant {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        let r = sqlx::query("SELECT id, name, created_at FROM tenants WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CatalogError::NotFound {
                what: "tenant",
                name: name.to_owned(),
            })?;
        Ok(Tenant {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        })
    }
}
