//! The namespace: directories and files of each tenant as rows of `nodes`. A file row points at
//! the blob holding its contents; swapping that pointer is how an upload becomes visible, so a
//! reader sees either the old contents or the new, never a mix.
//!
//! Names arrive already in their stored forms (lookup MAC and sealed name): this crate never
//! sees a file name in clear. Mutations that store key material check, in their transaction,
//! that the tenant key has not been rotated since the caller derived it.

use std::sync::Arc;

use sqlx::{Sqlite, Transaction};

use crate::outbox::{self, OutboxRecord};
use crate::{Catalog, CatalogError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
}

/// How a file's contents are sealed (absent for unsealed contents and directories).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSeal {
    pub key_id: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub key_version: i64,
    pub content_root: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub tenant_id: i64,
    pub parent_id: Option<i64>,
    pub name_mac: Vec<u8>,
    pub sealed_name: Vec<u8>,
    pub kind: NodeKind,
    pub size: u64,
    /// `st_mode`, file type bits included.
    pub mode: u32,
    pub mtime: i64,
    pub atime: i64,
    /// Hex id of the blob holding a file's contents; `None` for directories.
    pub blob_id: Option<String>,
    pub seal: Option<NodeSeal>,
    pub created_at: i64,
    pub first_download_at: Option<i64>,
    /// The contents are kept in the catalog row (read them with `Catalog::contents`), not in
    /// the blob store.
    pub inline: bool,
    /// What classification found, sealed (`None`: not classified yet).
    pub classes: Option<Vec<u8>>,
}

/// A name in its stored forms.
#[derive(Debug, Clone, Copy)]
pub struct StoredName<'a> {
    pub mac: &'a [u8],
    pub sealed: &'a [u8],
    /// While a rotation of the tenant key goes on, the name's lookup form under the key it
    /// replaces: a row the rotation has not reached yet holds the name so, and is the name
    /// (an existing file or directory) as much as one under the new key.
    pub retiring_mac: Option<&'a [u8]>,
}

/// `SELECT` of the columns [`node_from_row`] reads, in its order, from `nodes` `WHERE $filter`:
/// one constant string per query (no formatting per lookup on the request path).
macro_rules! select_nodes {
    ($filter:literal) => {
        concat!(
            "SELECT id, tenant_id, parent_id, name_mac, sealed_name, kind, size, mode,
                mtime, atime, blob_id, key_id, wrapped_key, key_version, content_root,
                created_at, first_download_at, contents IS NOT NULL, classes
               FROM nodes WHERE ",
            $filter
        )
    };
}

/// A `nodes` row selected with [`select_nodes!`], in that column order.
fn node_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Node> {
    let kind = match r.get_ref(5)?.as_str()? {
        "dir" => NodeKind::Dir,
        _ => NodeKind::File,
    };
    let seal = match (
        r.get::<_, Option<Vec<u8>>>(11)?,
        r.get::<_, Option<Vec<u8>>>(12)?,
        r.get::<_, Option<i64>>(13)?,
        r.get::<_, Option<Vec<u8>>>(14)?,
    ) {
        (Some(key_id), Some(wrapped_key), Some(key_version), Some(content_root)) => {
            Some(NodeSeal {
                key_id,
                wrapped_key,
                key_version,
                content_root,
            })
        }
        _ => None,
    };
    Ok(Node {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        parent_id: r.get(2)?,
        name_mac: r.get(3)?,
        sealed_name: r.get(4)?,
        kind,
        size: r.get::<_, i64>(6)? as u64,
        mode: r.get::<_, i64>(7)? as u32,
        mtime: r.get(8)?,
        atime: r.get(9)?,
        blob_id: r.get(10)?,
        seal,
        created_at: r.get(15)?,
        first_download_at: r.get(16)?,
        inline: r.get(17)?,
        classes: r.get(18)?,
    })
}

impl Catalog {
    /// Runs `f` as one immediate transaction on the direct writer, on a blocking thread (one
    /// hop for the whole transaction; see `direct`).
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let direct = self.direct.clone();
        tokio::task::spawn_blocking(move || direct.write(f))
            .await
            .map_err(|e| CatalogError::Invalid {
                what: "catalog write",
                why: e.to_string(),
            })?
    }

    /// Nodes selected by `sql` (a [`select_nodes!`]), with `params` bound.
    fn nodes_where(&self, sql: &'static str, params: impl rusqlite::Params) -> Result<Vec<Node>> {
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map(params, node_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<Node>>>()?)
        })
    }
}

fn exists() -> CatalogError {
    CatalogError::AlreadyExists {
        what: "file",
        name: "(name withheld)".into(),
    }
}

/// [`exists`] for a unique-constraint failure (the name is taken), else the error itself.
fn exists_or_direct(e: rusqlite::Error) -> CatalogError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            exists()
        }
        _ => e.into(),
    }
}

/// Fails with `KeyRotated` unless the tenant key is still at `version` (names were derived
/// with it), inside `tx`.
fn key_version_is(tx: &rusqlite::Transaction<'_>, tenant_id: i64, version: i64) -> Result<()> {
    use rusqlite::OptionalExtension;
    let current: Option<i64> = tx
        .prepare_cached("SELECT version FROM tenant_keys WHERE tenant_id = ?")?
        .query_row([tenant_id], |r| r.get(0))
        .optional()?;
    match current {
        Some(v) if v == version => Ok(()),
        _ => Err(CatalogError::KeyRotated),
    }
}

/// A child as a namespace change inside a transaction weighs it: its id, kind, blob and size.
type Child = (i64, String, Option<String>, i64);

/// The child of `parent` whose name has lookup form `mac`, inside a transaction.
fn named(tx: &rusqlite::Transaction<'_>, parent: i64, mac: &[u8]) -> Result<Option<Child>> {
    use rusqlite::OptionalExtension;
    Ok(tx
        .prepare_cached(
            "SELECT id, kind, blob_id, size FROM nodes WHERE parent_id = ? AND name_mac = ?",
        )?
        .query_row((parent, mac), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?)
}

/// A node's size, inside a transaction (0 if it is gone).
fn size_of(tx: &rusqlite::Transaction<'_>, id: i64) -> Result<u64> {
    use rusqlite::OptionalExtension;
    let size: Option<i64> = tx
        .prepare_cached("SELECT size FROM nodes WHERE id = ?")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(size.unwrap_or(0) as u64)
}

/// The node a change touched, as its audit record names it: stable id, and size then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    pub id: i64,
    pub size: u64,
    /// What the change replaced: an upload over a file's contents (the same id, the size of
    /// the contents replaced), or a rename over a file or an empty directory (that node, now
    /// gone). `None` for every other change.
    pub replaced: Option<ReplacedNode>,
    /// A directory's rename: the files under it, which moved with it.
    pub moved: Option<MovedNodes>,
}

/// The files under a renamed directory, at any depth: how many (counted among at most
/// [`MAX_MOVED_COUNTED`] entries), and the ids of [`MAX_MOVED_IDS`] of them (the first in the
/// catalog's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedNodes {
    pub count: u64,
    pub ids: Vec<i64>,
}

/// Most files under a renamed directory whose ids its record names ([`MovedNodes`]): enough for
/// the detector to tell whose files they are (`mass_change` counts others' past 100), at some
/// 4 KiB of record.
pub const MAX_MOVED_IDS: usize = 500;

/// Most entries (files and directories) under a renamed directory that its record's count
/// reads ([`MovedNodes`]), and most directories its walk reads: a larger tree's count is a
/// lower bound.
pub const MAX_MOVED_COUNTED: u64 = 1_000_000;

impl NodeRef {
    /// Node `id` of `size` bytes, touched by a change that replaced nothing.
    pub fn touched(id: i64, size: u64) -> Self {
        Self {
            id,
            size,
            replaced: None,
            moved: None,
        }
    }
}

/// A node whose contents a change replaced: its id and its size then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplacedNode {
    pub id: i64,
    pub size: u64,
}

/// A change's audit record, made inside the change's transaction once the change knows the
/// node it touched (a new file's or directory's id exists only there). It may be called more
/// than once (a change retried under a rotated key); only the committed call's record counts.
pub type RecordOf = Arc<dyn Fn(NodeRef) -> OutboxRecord + Send + Sync>;

/// A record that is already made (it does not depend on the node).
pub fn ready(r: OutboxRecord) -> RecordOf {
    Arc::new(move |_| r.clone())
}

/// Adds the change's audit record, if any, to the ledger outbox in the change's transaction.
fn insert_record(
    tx: &rusqlite::Transaction<'_>,
    record: Option<&RecordOf>,
    node: NodeRef,
) -> Result<()> {
    record.map_or(Ok(()), |r| outbox::insert(tx, &r(node)))
}

/// The files under directory `dir`, at any depth ([`MovedNodes`]: bounded). The walk reads its
/// directories through their own index (migration 0012), the ids of the first files in index
/// order, and counts the entries under it from the index of names alone; each bounded, so
/// that the rename of a tree of a million files holds its transaction for milliseconds.
fn files_under(tx: &rusqlite::Connection, dir: i64) -> Result<MovedNodes> {
    const TREE: &str = "WITH RECURSIVE tree(id) AS (
                            SELECT ?1
                            UNION ALL
                            SELECT n.id FROM nodes n JOIN tree t ON n.parent_id = t.id
                             WHERE n.kind = 'dir'
                            LIMIT +?2)";
    let ids = tx
        .prepare_cached(&format!(
            "{TREE} SELECT id FROM nodes WHERE parent_id IN tree AND kind = 'file' LIMIT +?3"
        ))?
        .query_map((dir, MAX_MOVED_COUNTED as i64, MAX_MOVED_IDS as i64), |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    let count = if ids.len() < MAX_MOVED_IDS {
        ids.len() as u64
    } else {
        // Entries under it, less its subdirectories (every directory of the tree but itself).
        let (entries, dirs): (i64, i64) = tx
            .prepare_cached(&format!(
                "{TREE} SELECT (SELECT count(*) FROM (SELECT 1 FROM nodes
                                 WHERE parent_id IN tree LIMIT +?2)),
                               (SELECT count(*) FROM tree)"
            ))?
            .query_row((dir, MAX_MOVED_COUNTED as i64), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        (entries - (dirs - 1)).max(ids.len() as i64) as u64
    };
    Ok(MovedNodes { count, ids })
}

/// A file upload ready to be made visible.
#[derive(Clone)]
pub struct Upload<'a> {
    pub tenant_id: i64,
    pub parent_id: i64,
    pub name: StoredName<'a>,
    /// The blob holding the contents (`None` when they are kept inline).
    pub blob_id: Option<&'a str>,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub seal: Option<&'a NodeSeal>,
    /// The raw contents, for a small file kept inline (then the blob store holds nothing).
    pub contents: Option<Vec<u8>>,
    /// Fail if the name exists by now (the upload was opened with EXCL).
    pub exclusive: bool,
    /// The tenant key version the names were derived with.
    pub key_version: i64,
    pub now: i64,
    /// The upload's audit record, committed with it (see `outbox`).
    pub record: Option<RecordOf>,
    /// The upload's open-for-write record, committed in the same transaction before `record`
    /// (an open for write changes nothing until its upload commits).
    pub opened: Option<RecordOf>,
    /// What classification found, sealed (`None`: not classified; classified later).
    pub classes: Option<Vec<u8>>,
}

/// Fails with `KeyRotated` unless the tenant key is still at `version`.
pub(crate) async fn check_key_version(
    tx: &mut Transaction<'_, Sqlite>,
    tenant_id: i64,
    version: i64,
) -> Result<()> {
    let current: Option<(i64,)> = sqlx::query_as(crate::tenants::CURRENT_KEY_VERSION)
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
    match current {
        Some((v,)) if v == version => Ok(()),
        _ => Err(CatalogError::KeyRotated),
    }
}

impl Catalog {
    /// The root directory of a tenant.
    pub async fn root(&self, tenant_id: i64) -> Result<Node> {
        self.nodes_where(
            select_nodes!("tenant_id = ? AND parent_id IS NULL"),
            [tenant_id],
        )?
        .pop()
        .ok_or_else(|| CatalogError::NotFound {
            what: "tenant root",
            name: tenant_id.to_string(),
        })
    }

    pub async fn node(&self, id: i64) -> Result<Option<Node>> {
        Ok(self.nodes_where(select_nodes!("id = ?"), [id])?.pop())
    }

    /// What a file's earlier contents held, oldest first (migration 0009: kept when its
    /// contents were replaced or it was deleted).
    pub async fn class_history(&self, file_id: i64) -> Result<Vec<ClassVersion>> {
        self.class_versions(
            "SELECT id, file_id, created_at, size, content_root, classes FROM class_history
              WHERE file_id = ? ORDER BY created_at, id",
            file_id,
        )
    }

    /// Every earlier contents' classes of a tenant (what tests look at; a key rotation reads
    /// them with the rest of what it re-keys).
    #[cfg(test)]
    pub(crate) async fn tenant_class_history(&self, tenant_id: i64) -> Result<Vec<ClassVersion>> {
        self.class_versions(
            "SELECT id, file_id, created_at, size, content_root, classes FROM class_history
              WHERE tenant_id = ? ORDER BY id",
            tenant_id,
        )
    }

    fn class_versions(&self, sql: &'static str, key: i64) -> Result<Vec<ClassVersion>> {
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map([key], |r| {
                Ok(ClassVersion {
                    id: r.get(0)?,
                    file_id: r.get(1)?,
                    created_at: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    content_root: r.get(4)?,
                    classes: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The contents of a file kept inline (`Node::inline`), if it has them.
    pub async fn contents(&self, id: i64) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        self.direct.with(|c| {
            Ok(c.prepare_cached("SELECT contents FROM nodes WHERE id = ?")?
                .query_row([id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()?
                .flatten())
        })
    }

    /// The child of directory `parent` whose name has lookup form `mac`, if any.
    pub async fn lookup(&self, parent: i64, mac: &[u8]) -> Result<Option<Node>> {
        self.lookup_forms(parent, &[mac.to_vec()]).await
    }

    /// The child of directory `parent` whose name has one of the lookup forms `macs` (a name's
    /// under the tenant key and, while a rotation goes on, under the key it replaces), if any.
    pub async fn lookup_forms(&self, parent: i64, macs: &[Vec<u8>]) -> Result<Option<Node>> {
        Ok(self
            .nodes_where(
                select_nodes!("parent_id = ?1 AND name_mac IN (?2, ?3) LIMIT 1"),
                (parent, macs.first(), macs.get(1)),
            )?
            .pop())
    }

    /// The files under directory `dir`, at any depth, as they are now ([`MovedNodes`]): what
    /// renaming it would move.
    pub async fn files_under_dir(&self, dir: i64) -> Result<MovedNodes> {
        self.direct.with(|c| files_under(c, dir))
    }

    /// Up to `limit` children of `dir`, in id order, after the child `after` (by id: a key
    /// rotation changes the names' lookup forms, never the ids, so a listing beside one neither
    /// skips nor repeats a name).
    pub async fn list_dir(&self, dir: i64, after: Option<i64>, limit: u32) -> Result<Vec<Node>> {
        self.nodes_where(
            select_nodes!("parent_id = ?1 AND id > ?2 ORDER BY id LIMIT +?3"),
            (dir, after.unwrap_or(i64::MIN), limit),
        )
    }

    /// Up to `limit` files of a tenant, in id order, after the file `after` (a page of them:
    /// a tenant's every file, with their stored classes, is not held at once).
    pub async fn tenant_files(
        &self,
        tenant_id: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Node>> {
        self.nodes_where(
            select_nodes!("tenant_id = ?1 AND kind = 'file' AND id > ?2 ORDER BY id LIMIT +?3"),
            (tenant_id, after.unwrap_or(i64::MIN), limit),
        )
    }

    /// Makes a directory (with its audit record, if given: see `outbox`); returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn mkdir(
        &self,
        tenant_id: i64,
        parent: i64,
        name: StoredName<'_>,
        mode: u32,
        key_version: i64,
        now: i64,
        record: Option<RecordOf>,
    ) -> Result<i64> {
        let (mac, sealed) = (name.mac.to_vec(), name.sealed.to_vec());
        let retiring_mac = name.retiring_mac.map(<[u8]>::to_vec);
        self.write(move |tx| {
            key_version_is(tx, tenant_id, key_version)?;
            if let Some(m) = &retiring_mac
                && named(tx, parent, m)?.is_some()
            {
                return Err(exists());
            }
            tx.prepare_cached(
                "INSERT INTO nodes (id, tenant_id, parent_id, name_mac, sealed_name, kind, size,
                                    mode, mtime, atime, created_at)
                 VALUES ((SELECT id + 1 FROM node_id_high_water), ?, ?, ?, ?, 'dir', 0, ?, ?, ?,
                         ?)",
            )?
            .execute(rusqlite::params![
                tenant_id, parent, mac, sealed, mode, now, now, now
            ])
            .map_err(exists_or_direct)?;
            let id = tx.last_insert_rowid();
            insert_record(tx, record.as_ref(), NodeRef::touched(id, 0))?;
            Ok(id)
        })
        .await
    }

    /// Removes a file (with its audit record, if given: see `outbox`); returns its blob id so
    /// the caller can delete the contents.
    pub async fn remove_file(&self, id: i64, record: Option<RecordOf>) -> Result<Option<String>> {
        self.write(move |tx| {
            use rusqlite::OptionalExtension;
            let found: Option<(String, Option<String>, i64)> = tx
                .prepare_cached("SELECT kind, blob_id, size FROM nodes WHERE id = ?")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let (blob, size) = match found {
                None => {
                    return Err(CatalogError::NotFound {
                        what: "file",
                        name: id.to_string(),
                    });
                }
                Some((kind, _, _)) if kind == "dir" => return Err(CatalogError::IsADirectory),
                Some((_, blob, size)) => (blob, size as u64),
            };
            tx.prepare_cached("DELETE FROM nodes WHERE id = ?")?
                .execute([id])?;
            insert_record(tx, record.as_ref(), NodeRef::touched(id, size))?;
            Ok(blob)
        })
        .await
    }

    /// Removes an empty directory (never a tenant root), with its audit record if given.
    pub async fn rmdir(&self, id: i64, record: Option<RecordOf>) -> Result<()> {
        self.write(move |tx| {
            use rusqlite::OptionalExtension;
            let kind: Option<String> = tx
                .prepare_cached("SELECT kind FROM nodes WHERE id = ? AND parent_id IS NOT NULL")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match kind.as_deref() {
                None => {
                    return Err(CatalogError::NotFound {
                        what: "directory",
                        name: id.to_string(),
                    });
                }
                Some(k) if k != "dir" => return Err(CatalogError::NotADirectory),
                _ => {}
            }
            let children: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM nodes WHERE parent_id = ?)")?
                .query_row([id], |r| r.get(0))?;
            if children {
                return Err(CatalogError::NotEmpty);
            }
            tx.prepare_cached("DELETE FROM nodes WHERE id = ?")?
                .execute([id])?;
            insert_record(tx, record.as_ref(), NodeRef::touched(id, 0))
        })
        .await
    }

    /// Moves node `id` to `new_parent/name` (with its audit record, if given). With `replace`,
    /// as POSIX rename(2): a file there is replaced by a file (its blob id returned), an empty
    /// directory by a directory; a file over a directory, a directory over a file or over a
    /// non-empty directory is refused. Without `replace`, an existing name is an error.
    #[allow(clippy::too_many_arguments)]
    pub async fn rename(
        &self,
        tenant_id: i64,
        id: i64,
        new_parent: i64,
        name: StoredName<'_>,
        replace: bool,
        key_version: i64,
        record: Option<RecordOf>,
    ) -> Result<Option<String>> {
        let (mac, sealed) = (name.mac.to_vec(), name.sealed.to_vec());
        let retiring_mac = name.retiring_mac.map(<[u8]>::to_vec);
        self.write(move |tx| {
            use rusqlite::OptionalExtension;
            key_version_is(tx, tenant_id, key_version)?;
            // Refuse to move a directory under itself: walk up from the new parent.
            let mut cursor = Some(new_parent);
            while let Some(c) = cursor {
                if c == id {
                    return Err(CatalogError::MoveIntoSelf);
                }
                cursor = tx
                    .prepare_cached("SELECT parent_id FROM nodes WHERE id = ?")?
                    .query_row([c], |r| r.get::<_, Option<i64>>(0))
                    .optional()?
                    .flatten();
            }
            let moving: Option<(String, i64)> = tx
                .prepare_cached(
                    "SELECT kind, size FROM nodes WHERE id = ? AND parent_id IS NOT NULL",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((moving, size)) = moving else {
                return Err(CatalogError::NotFound {
                    what: "node",
                    name: id.to_string(),
                });
            };
            let target = match named(tx, new_parent, &mac)? {
                None => match &retiring_mac {
                    Some(m) => named(tx, new_parent, m)?,
                    None => None,
                },
                found => found,
            };
            let mut replaced = None;
            let mut replaced_node = None;
            match target {
                // Onto itself: nothing changes (but the request is recorded).
                Some((tid, ..)) if tid == id => {}
                Some(_) if !replace => return Err(exists()),
                // POSIX rename(2): a file replaces only a file (EISDIR), a directory only an
                // empty directory (ENOTDIR, ENOTEMPTY). Anything else would destroy the target.
                Some((_, kind, ..)) if moving != "dir" && kind == "dir" => {
                    return Err(CatalogError::IsADirectory);
                }
                Some((_, kind, ..)) if moving == "dir" && kind != "dir" => {
                    return Err(CatalogError::NotADirectory);
                }
                other => {
                    if let Some((tid, kind, blob, tsize)) = other {
                        if kind == "dir" {
                            let children: bool = tx
                                .prepare_cached(
                                    "SELECT EXISTS (SELECT 1 FROM nodes WHERE parent_id = ?)",
                                )?
                                .query_row([tid], |r| r.get(0))?;
                            if children {
                                return Err(CatalogError::NotEmpty);
                            }
                        }
                        tx.prepare_cached("DELETE FROM nodes WHERE id = ?")?
                            .execute([tid])?;
                        replaced = blob;
                        replaced_node = Some(ReplacedNode {
                            id: tid,
                            size: tsize as u64,
                        });
                    }
                    tx.prepare_cached(
                        "UPDATE nodes SET parent_id = ?, name_mac = ?, sealed_name = ?
                          WHERE id = ? AND parent_id IS NOT NULL",
                    )?
                    .execute(rusqlite::params![new_parent, mac, sealed, id])?;
                }
            }
            // A directory moves the files under it: its record says which.
            let moved = match (&record, moving.as_str()) {
                (Some(_), "dir") => Some(files_under(tx, id)?),
                _ => None,
            };
            insert_record(
                tx,
                record.as_ref(),
                NodeRef {
                    id,
                    size: size as u64,
                    replaced: replaced_node,
                    moved,
                },
            )?;
            Ok(replaced)
        })
        .await
    }

    /// Makes an upload visible: inserts the file or points the existing one at the new blob,
    /// within the tenant's quota. Returns the blob id the file had before (to delete).
    pub async fn commit_upload(&self, u: Upload<'_>) -> Result<Option<String>> {
        // One blocking hop for the whole transaction (see `direct`), with owned copies of the
        // few small values it binds.
        let owned = CommitUpload {
            tenant_id: u.tenant_id,
            parent_id: u.parent_id,
            mac: u.name.mac.to_vec(),
            retiring_mac: u.name.retiring_mac.map(<[u8]>::to_vec),
            sealed: u.name.sealed.to_vec(),
            blob_id: u.blob_id.map(str::to_owned),
            size: u.size,
            mode: u.mode,
            mtime: u.mtime,
            seal: u.seal.cloned(),
            contents: u.contents,
            exclusive: u.exclusive,
            key_version: u.key_version,
            now: u.now,
            record: u.record,
            opened: u.opened,
            classes: u.classes,
        };
        self.write(move |tx| {
            let (old, id, replaced) = commit_upload_in(tx, &owned)?;
            let node = NodeRef {
                id,
                size: owned.size,
                replaced: replaced.map(|size| ReplacedNode { id, size }),
                moved: None,
            };
            insert_record(tx, owned.opened.as_ref(), node.clone())?;
            insert_record(tx, owned.record.as_ref(), node)?;
            Ok(old)
        })
        .await
    }

    /// Stores a file's classification, sealed under tenant `tenant_id`'s key at `key_version`
    /// (refused with `KeyRotated` if the key was rotated since: it would be stored under a key
    /// that is gone), if its contents are still those it was made from (`content_root`, `None`
    /// for unsealed contents, and `size`): a file replaced in the meantime is left for its own
    /// upload's classification. Whether it was stored.
    pub async fn set_classes(
        &self,
        tenant_id: i64,
        id: i64,
        key_version: i64,
        content_root: Option<Vec<u8>>,
        size: u64,
        sealed: Vec<u8>,
    ) -> Result<bool> {
        self.write(move |tx| {
            key_version_is(tx, tenant_id, key_version)?;
            let n = tx
                .prepare_cached(
                    "UPDATE nodes SET classes = ?1
                      WHERE id = ?2 AND tenant_id = ?5 AND kind = 'file' AND size = ?3
                        AND content_root IS ?4",
                )?
                .execute(rusqlite::params![
                    sealed,
                    id,
                    size as i64,
                    content_root,
                    tenant_id
                ])?;
            Ok(n == 1)
        })
        .await
    }

    /// Changes permission bits (type bits kept) and/or times of a node, with the change's
    /// audit record if given.
    pub async fn set_attrs(
        &self,
        id: i64,
        permissions: Option<u32>,
        times: Option<(i64, i64)>,
        record: Option<RecordOf>,
    ) -> Result<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE nodes SET
                    mode  = CASE WHEN ?1 IS NULL THEN mode ELSE (mode & ~4095) | (?1 & 4095) END,
                    atime = COALESCE(?2, atime),
                    mtime = COALESCE(?3, mtime)
                 WHERE id = ?4",
            )?
            .execute(rusqlite::params![
                permissions,
                times.map(|t| t.0),
                times.map(|t| t.1),
                id
            ])?;
            insert_record(tx, record.as_ref(), NodeRef::touched(id, size_of(tx, id)?))
        })
        .await
    }

    /// A download's close: records the file's first complete download if `complete_at` is
    /// given (that starts its after-download retention; later ones change nothing), and the
    /// close's audit record if given (see `outbox`), naming the size read. Writes nothing if
    /// neither is. `read` is the file as the download opened it: an upload that replaced its
    /// contents since (the same id; a new blob, size or upload time) was not downloaded, and
    /// its retention after download does not start (else a file never delivered could go).
    pub async fn close_download(
        &self,
        read: &Node,
        complete_at: Option<i64>,
        record: Option<RecordOf>,
    ) -> Result<()> {
        if complete_at.is_none() && record.is_none() {
            return Ok(());
        }
        let (id, size, blob_id, created_at) =
            (read.id, read.size, read.blob_id.clone(), read.created_at);
        let content_root = read.seal.as_ref().map(|s| s.content_root.clone());
        self.write(move |tx| {
            if let Some(now) = complete_at {
                tx.prepare_cached(
                    "UPDATE nodes SET first_download_at = ?1
                      WHERE id = ?2 AND first_download_at IS NULL
                        AND size = ?3 AND blob_id IS ?4 AND content_root IS ?5
                        AND created_at = ?6",
                )?
                .execute(rusqlite::params![
                    now,
                    id,
                    size as i64,
                    blob_id,
                    content_root,
                    created_at
                ])?;
            }
            insert_record(tx, record.as_ref(), NodeRef::touched(id, size))
        })
        .await
    }

    /// Every blob id the namespace refers to (for sweeping orphaned blobs).
    pub async fn referenced_blobs(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT blob_id FROM nodes WHERE blob_id IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// [`Upload`], owned (it crosses to a blocking thread).
struct CommitUpload {
    tenant_id: i64,
    parent_id: i64,
    mac: Vec<u8>,
    sealed: Vec<u8>,
    retiring_mac: Option<Vec<u8>>,
    blob_id: Option<String>,
    size: u64,
    mode: u32,
    mtime: i64,
    seal: Option<NodeSeal>,
    contents: Option<Vec<u8>>,
    exclusive: bool,
    key_version: i64,
    now: i64,
    record: Option<RecordOf>,
    opened: Option<RecordOf>,
    classes: Option<Vec<u8>>,
}

/// The classes of a file's earlier contents, sealed as [`Node::classes`] (bound to
/// `content_root`; empty when the contents were not sealed).
#[derive(Debug, Clone)]
pub struct ClassVersion {
    pub id: i64,
    pub file_id: i64,
    /// When those contents were committed (Unix seconds).
    pub created_at: i64,
    pub size: u64,
    pub content_root: Option<Vec<u8>>,
    pub classes: Vec<u8>,
}

/// Makes an upload visible, in `tx`: the tenant key must still be at the version the names
/// were made with, the name must not be a directory (nor exist, for an exclusive create), the
/// quota must hold; then the file row is inserted or pointed at the new blob. Returns the blob
/// it replaced, the file's id (kept when it replaces a file: the id is the file's, across
/// uploads and renames), and the size of the contents it replaced (`None`: a new file).
fn commit_upload_in(
    tx: &rusqlite::Transaction<'_>,
    u: &CommitUpload,
) -> Result<(Option<String>, i64, Option<u64>)> {
    use rusqlite::OptionalExtension;
    let row: Option<(i64, Option<i64>, Option<i64>)> = tx
        .prepare_cached(
            "SELECT k.version, t.quota_bytes, t.quota_files
               FROM tenants t JOIN tenant_keys k ON k.tenant_id = t.id WHERE t.id = ?",
        )?
        .query_row([u.tenant_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let quotas = match row {
        Some((v, qb, qf)) if v == u.key_version => (qb, qf),
        _ => return Err(CatalogError::KeyRotated),
    };
    let existing = match named(tx, u.parent_id, &u.mac)? {
        None => match &u.retiring_mac {
            Some(m) => named(tx, u.parent_id, m)?,
            None => None,
        },
        found => found,
    };
    let (old_bytes, old_files) = match &existing {
        Some((_, kind, _, _)) if kind == "dir" => return Err(CatalogError::IsADirectory),
        Some(_) if u.exclusive => return Err(exists()),
        Some((_, _, _, size)) => (*size as u64, 1),
        None => (0, 0),
    };
    crate::quota::check(tx, u.tenant_id, quotas, u.size, old_bytes, 1 - old_files)?;
    let seal = u.seal.as_ref();
    let (key_id, wrapped_key, key_version, content_root) = (
        seal.map(|s| &s.key_id),
        seal.map(|s| &s.wrapped_key),
        seal.map(|s| s.key_version),
        seal.map(|s| &s.content_root),
    );
    match existing {
        Some((id, _, old, _)) => {
            tx.prepare_cached(
                "UPDATE nodes SET blob_id = ?, size = ?, mtime = ?, key_id = ?, wrapped_key = ?,
                        key_version = ?, content_root = ?, created_at = ?, first_download_at = NULL,
                        contents = ?, classes = ?
                  WHERE id = ?",
            )?
            .execute(rusqlite::params![
                u.blob_id,
                u.size as i64,
                u.mtime,
                key_id,
                wrapped_key,
                key_version,
                content_root,
                u.now,
                u.contents,
                u.classes,
                id
            ])?;
            Ok((old, id, Some(old_bytes)))
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO nodes (id, tenant_id, parent_id, name_mac, sealed_name, kind, size,
                                    mode, mtime, atime, blob_id, key_id, wrapped_key, key_version,
                                    content_root, created_at, contents, classes)
                 VALUES ((SELECT id + 1 FROM node_id_high_water), ?, ?, ?, ?, 'file', ?, ?, ?, ?,
                         ?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(rusqlite::params![
                u.tenant_id,
                u.parent_id,
                u.mac,
                u.sealed,
                u.size as i64,
                u.mode,
                u.mtime,
                u.mtime,
                u.blob_id,
                key_id,
                wrapped_key,
                key_version,
                content_root,
                u.now,
                u.contents,
                u.classes
            ])?;
            Ok((None, tx.last_insert_rowid(), None))
        }
    }
}
