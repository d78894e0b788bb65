//! The namespace: directories and files of each tenant as rows of `nodes`. A file row points at
//! the blob holding its contents; swapping that pointer is how an upload becomes visible, so a
//! reader sees either the old contents or the new, never a mix.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Catalog, CatalogError, Result, exists_or};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub tenant_id: i64,
    pub parent_id: Option<i64>,
    pub name: Vec<u8>,
    pub kind: NodeKind,
    pub size: u64,
    /// `st_mode`, file type bits included.
    pub mode: u32,
    pub mtime: i64,
    pub atime: i64,
    /// Hex id of the blob holding a file's contents; `None` for directories and empty files.
    pub blob_id: Option<String>,
}

const NODE_COLUMNS: &str =
    "SELECT id, tenant_id, parent_id, name, kind, size, mode, mtime, atime, blob_id FROM nodes";

fn node_from_row(r: &SqliteRow) -> Result<Node> {
    let kind = match r.try_get::<&str, _>("kind")? {
        "dir" => NodeKind::Dir,
        _ => NodeKind::File,
    };
    Ok(Node {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        kind,
        size: r.try_get::<i64, _>("size")? as u64,
        mode: r.try_get::<i64, _>("mode")? as u32,
        mtime: r.try_get("mtime")?,
        atime: r.try_get("atime")?,
        blob_id: r.try_get("blob_id")?,
    })
}

fn exists(name: &[u8]) -> CatalogError {
    CatalogError::AlreadyExists {
        what: "file",
        name: String::from_utf8_lossy(name).into_owned(),
    }
}

/// A file upload ready to be made visible.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    pub tenant_id: i64,
    pub parent_id: i64,
    pub name: &'a [u8],
    pub blob_id: Option<&'a str>,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    /// Fail if the name exists by now (the upload was opened with EXCL).
    pub exclusive: bool,
}

impl Catalog {
    /// The root directory of a tenant.
    pub async fn root(&self, tenant_id: i64) -> Result<Node> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{NODE_COLUMNS} WHERE tenant_id = ? AND parent_id IS NULL"
        ));
        let r = sqlx::query(sql)
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CatalogError::NotFound {
                what: "tenant root",
                name: tenant_id.to_string(),
            })?;
        node_from_row(&r)
    }

    pub async fn node(&self, id: i64) -> Result<Option<Node>> {
        let sql = sqlx::AssertSqlSafe(format!("{NODE_COLUMNS} WHERE id = ?"));
        sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(node_from_row)
            .transpose()
    }

    /// The child `name` of directory `parent`, if any.
    pub async fn lookup(&self, parent: i64, name: &[u8]) -> Result<Option<Node>> {
        let sql = sqlx::AssertSqlSafe(format!("{NODE_COLUMNS} WHERE parent_id = ? AND name = ?"));
        sqlx::query(sql)
            .bind(parent)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(node_from_row)
            .transpose()
    }

    /// Up to `limit` children of `dir` ordered by name, starting after `after` (a cursor).
    pub async fn list_dir(&self, dir: i64, after: Option<&[u8]>, limit: u32) -> Result<Vec<Node>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{NODE_COLUMNS} WHERE parent_id = ?1 AND (?2 IS NULL OR name > ?2)
             ORDER BY name LIMIT ?3"
        ));
        let rows = sqlx::query(sql)
            .bind(dir)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(node_from_row).collect()
    }

    pub async fn mkdir(
        &self,
        tenant_id: i64,
        parent: i64,
        name: &[u8],
        mode: u32,
        now: i64,
    ) -> Result<Node> {
        let id = sqlx::query(
            "INSERT INTO nodes (tenant_id, parent_id, name, kind, size, mode, mtime, atime)
             VALUES (?, ?, ?, 'dir', 0, ?, ?, ?)",
        )
        .bind(tenant_id)
        .bind(parent)
        .bind(name)
        .bind(mode)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| exists_or(e, "file", || String::from_utf8_lossy(name).into_owned()))?
        .last_insert_rowid();
        self.node(id).await?.ok_or(CatalogError::NotFound {
            what: "directory",
            name: String::from_utf8_lossy(name).into_owned(),
        })
    }

    /// Removes a file; returns its blob id so the caller can delete the contents.
    pub async fn remove_file(&self, id: i64) -> Result<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let blob: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT kind, blob_id FROM nodes WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let blob = match blob {
            None => {
                return Err(CatalogError::NotFound {
                    what: "file",
                    name: id.to_string(),
                });
            }
            Some((kind, _)) if kind == "dir" => return Err(CatalogError::IsADirectory),
            Some((_, blob)) => blob,
        };
        sqlx::query("DELETE FROM nodes WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(blob)
    }

    /// Removes an empty directory (never a tenant root).
    pub async fn rmdir(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let kind: Option<(String,)> =
            sqlx::query_as("SELECT kind FROM nodes WHERE id = ? AND parent_id IS NOT NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match kind {
            None => {
                return Err(CatalogError::NotFound {
                    what: "directory",
                    name: id.to_string(),
                });
            }
            Some((k,)) if k != "dir" => return Err(CatalogError::NotADirectory),
            _ => {}
        }
        let (children,): (i64,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM nodes WHERE parent_id = ?)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if children != 0 {
            return Err(CatalogError::NotEmpty);
        }
        sqlx::query("DELETE FROM nodes WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves node `id` to `new_parent/new_name`. With `replace`, an existing file there is
    /// replaced atomically and its blob id returned; otherwise an existing name is an error.
    pub async fn rename(
        &self,
        id: i64,
        new_parent: i64,
        new_name: &[u8],
        replace: bool,
    ) -> Result<Option<String>> {
        let mut tx = self.pool.begin().await?;
        // Refuse to move a directory under itself: walk up from the new parent.
        let mut cursor = Some(new_parent);
        while let Some(c) = cursor {
            if c == id {
                return Err(CatalogError::MoveIntoSelf);
            }
            let up: Option<(Option<i64>,)> =
                sqlx::query_as("SELECT parent_id FROM nodes WHERE id = ?")
                    .bind(c)
                    .fetch_optional(&mut *tx)
                    .await?;
            cursor = up.and_then(|u| u.0);
        }
        let target: Option<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT id, kind, blob_id FROM nodes WHERE parent_id = ? AND name = ?")
                .bind(new_parent)
                .bind(new_name)
                .fetch_optional(&mut *tx)
                .await?;
        let mut replaced = None;
        if let Some((tid, kind, blob)) = target {
            if tid == id {
                return Ok(None);
            }
            if !replace {
                return Err(exists(new_name));
            }
            if kind == "dir" {
                return Err(CatalogError::IsADirectory);
            }
            sqlx::query("DELETE FROM nodes WHERE id = ?")
                .bind(tid)
                .execute(&mut *tx)
                .await?;
            replaced = blob;
        }
        sqlx::query(
            "UPDATE nodes SET parent_id = ?, name = ? WHERE id = ? AND parent_id IS NOT NULL",
        )
        .bind(new_parent)
        .bind(new_name)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// Makes an upload visible: inserts the file or points the existing one at the new blob.
    /// Returns the blob id the file had before, which the caller deletes.
    pub async fn commit_upload(&self, u: &Upload<'_>) -> Result<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let existing: Option<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT id, kind, blob_id FROM nodes WHERE parent_id = ? AND name = ?")
                .bind(u.parent_id)
                .bind(u.name)
                .fetch_optional(&mut *tx)
                .await?;
        let old = match existing {
            Some((_, kind, _)) if kind == "dir" => return Err(CatalogError::IsADirectory),
            Some(_) if u.exclusive => return Err(exists(u.name)),
            Some((id, _, old)) => {
                sqlx::query("UPDATE nodes SET blob_id = ?, size = ?, mtime = ? WHERE id = ?")
                    .bind(u.blob_id)
                    .bind(u.size as i64)
                    .bind(u.mtime)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                old
            }
            None => {
                sqlx::query(
                    "INSERT INTO nodes (tenant_id, parent_id, name, kind, size, mode, mtime, atime, blob_id)
                     VALUES (?, ?, ?, 'file', ?, ?, ?, ?, ?)",
                )
                .bind(u.tenant_id)
                .bind(u.parent_id)
                .bind(u.name)
                .bind(u.size as i64)
                .bind(u.mode)
                .bind(u.mtime)
                .bind(u.mtime)
                .bind(u.blob_id)
                .execute(&mut *tx)
                .await?;
                None
            }
        };
        tx.commit().await?;
        Ok(old)
    }

    /// Changes permission bits (type bits kept) and/or times of a node.
    pub async fn set_attrs(
        &self,
        id: i64,
        permissions: Option<u32>,
        times: Option<(i64, i64)>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE nodes SET
                mode  = CASE WHEN ?1 IS NULL THEN mode ELSE (mode & ~4095) | (?1 & 4095) END,
                atime = COALESCE(?2, atime),
                mtime = COALESCE(?3, mtime)
             WHERE id = ?4",
        )
        .bind(permissions)
        .bind(times.map(|t| t.0))
        .bind(times.map(|t| t.1))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every blob id the namespace refers to (for sweeping orphaned blobs).
    pub async fn referenced_blobs(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT blob_id FROM nodes WHERE blob_id IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Bytes and files stored by a tenant.
    pub async fn usage(&self, tenant_id: i64) -> Result<(u64, u64)> {
        let (bytes, files): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM nodes WHERE tenant_id = ? AND kind = 'file'",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((bytes as u64, files as u64))
    }
}
