//! A tenant key's rotation, in steps that leave the catalog's writer to others between them.
//! [`Catalog::begin_key_rotation`] makes the new key the tenant's key in force and keeps the
//! one it replaces as retiring (`retiring_tenant_keys`), with the tenant's TOTP secrets (one
//! per account: few) re-sealed in the same transaction; [`Catalog::rekey_step`] then re-keys
//! the tenant's nodes that existed when it began, a batch a transaction, then its class history
//! the same way, and deletes the retiring key in the transaction of the last step. One
//! transaction for all of it held the writer, and so every tenant's upload commits, for 40 s
//! over a tenant of 620,000 files (past the 10 s they wait).
//!
//! Between the beginning and the last step each of the tenant's sealed values is under one of
//! the two keys: whatever is written is under the new one (every write checks the version in
//! force), and a server holding both looks a name up under both (the vault's `TenantKey`). A
//! write of a name passes its lookup form under the retiring key too
//! ([`crate::StoredName::retiring_mac`]), so that a name not re-keyed yet is still found taken.
//! An interrupted rotation goes on where it stopped when taken up again. Never here: the keys
//! themselves (the caller's [`Rekey`] holds them; the catalog never does), blob files.

use std::hash::BuildHasher as _;
use std::time::Duration;

use rusqlite::OptionalExtension;

use crate::{Catalog, CatalogError, Result, TenantKeyRow};

/// A node as a tenant key rotation re-keys it: its name forms, data key and sealed classes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RekeyableNode {
    pub id: i64,
    pub name_mac: Vec<u8>,
    pub sealed_name: Vec<u8>,
    /// The data key's id and wrapped form (`None`: contents not sealed, or a directory), and
    /// the version of the tenant key it is wrapped under.
    pub key_id: Option<Vec<u8>>,
    pub wrapped_key: Option<Vec<u8>>,
    pub key_version: Option<i64>,
    pub content_root: Option<Vec<u8>>,
    pub classes: Option<Vec<u8>>,
}

/// A node re-keyed: its name forms and classes as they are to be stored (re-sealed, or as they
/// were where they were under the new key already), and its data key re-wrapped (`None`: kept).
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
/// the catalog never does). A step calls it for each row of its batch before its transaction,
/// and inside it for the rows changed since. A row (or class history value) already under the
/// new key is `None`: nothing to store.
pub trait Rekey: Send {
    fn node(&mut self, n: &RekeyableNode) -> std::result::Result<Option<Rekeyed>, RekeyError>;
    fn class_history(
        &mut self,
        v: &RekeyableValue,
    ) -> std::result::Result<Option<Vec<u8>>, RekeyError>;
    fn totp_secret(&mut self, v: &RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError>;
}

/// Rows re-keyed in one step's transaction: some 20-60 ms of the writer.
/// (Small in tests, so that their rotations take several steps.)
const STEP_ROWS: i64 = if cfg!(test) { 16 } else { 2048 };

/// The pause before a step after the first, as a removal's (`tenant_removal`): a writer
/// waiting for the lock tries again at most 100 ms apart, so every waiting writer gets in
/// between two steps.
const PAUSE: Duration = Duration::from_millis(if cfg!(test) { 1 } else { 100 });

/// The tenant's nodes (but its root) after an id (`?2`) up to one (`?3`), a step (`?4`) at a
/// time; its class history rows the same; its accounts' TOTP secrets.
const NODES_BETWEEN: &str =
    "SELECT id, name_mac, sealed_name, key_id, wrapped_key, key_version, content_root, classes
       FROM nodes WHERE tenant_id = ?1 AND parent_id IS NOT NULL AND id > ?2 AND id <= ?3
      ORDER BY id LIMIT +?4";
const HISTORY_BETWEEN: &str = "SELECT id, content_root, classes FROM class_history
      WHERE tenant_id = ?1 AND id > ?2 AND id <= ?3 ORDER BY id LIMIT +?4";
const TOTP_SECRETS: &str =
    "SELECT id, NULL, totp_secret FROM accounts WHERE tenant_id = ? AND totp_secret IS NOT NULL";

/// How a step stores a re-keyed node (`?5`: the new key's version, for a re-wrapped data
/// key), class history row and TOTP secret.
const STORE_NODE: &str = "UPDATE nodes SET name_mac = ?1, sealed_name = ?2, classes = ?3,
        wrapped_key = COALESCE(?4, wrapped_key),
        key_version = CASE WHEN ?4 IS NULL THEN key_version ELSE ?5 END
  WHERE id = ?6 AND tenant_id = ?7";
const STORE_HISTORY: &str = "UPDATE class_history SET classes = ? WHERE id = ? AND tenant_id = ?";
const STORE_TOTP: &str = "UPDATE accounts SET totp_secret = ? WHERE id = ? AND tenant_id = ?";

const ROTATION_OF: &str =
    "SELECT r.tenant_id, r.version, k.version, r.retiring_since, r.until_node, r.nodes_done_to,
            r.history_done_to
       FROM retiring_tenant_keys r JOIN tenant_keys k ON k.tenant_id = r.tenant_id";

fn node_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<RekeyableNode> {
    Ok(RekeyableNode {
        id: r.get(0)?,
        name_mac: r.get(1)?,
        sealed_name: r.get(2)?,
        key_id: r.get(3)?,
        wrapped_key: r.get(4)?,
        key_version: r.get(5)?,
        content_root: r.get(6)?,
        classes: r.get(7)?,
    })
}

fn value_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<RekeyableValue> {
    Ok(RekeyableValue {
        id: r.get(0)?,
        content_root: r.get(1)?,
        sealed: r.get(2)?,
    })
}

fn rotation_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRotation> {
    Ok(KeyRotation {
        tenant_id: r.get(0)?,
        from_version: r.get(1)?,
        to_version: r.get(2)?,
        since: r.get(3)?,
        until_node: r.get(4)?,
        nodes_done_to: r.get(5)?,
        history_done_to: r.get(6)?,
        stepped: false,
    })
}

/// A rotation of a tenant's key under way: begun, not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    pub tenant_id: i64,
    /// The version of the key being replaced, and of the key in force.
    pub from_version: i64,
    pub to_version: i64,
    /// When it began (Unix seconds).
    pub since: i64,
    /// The highest node id when it began (every node made since is under the new key), and
    /// how far nodes, then class history rows, have been re-keyed (by id).
    until_node: i64,
    nodes_done_to: i64,
    history_done_to: i64,
    /// Whether a step was taken (the next pauses first).
    stepped: bool,
}

/// What one step of a rotation did ([`Catalog::rekey_step`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RekeyStep {
    /// Nodes and class history rows re-keyed (stored anew).
    pub nodes: usize,
    pub history: usize,
    /// Rows read and found under the new key already (written since the rotation began).
    pub already: usize,
    /// The last step: every row is under the new key, the old key is deleted.
    pub done: bool,
}

/// What a step read before its transaction: each row's fingerprint as read (one that no
/// longer has it changed since, and is re-keyed again inside) with its re-keyed form.
type ReadAhead<T> = std::collections::HashMap<i64, (u64, Option<T>)>;

/// Reads the rows `sql` selects with `params`, whole, before any is handed on.
fn page<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params, read)?
        .collect::<rusqlite::Result<_>>()?)
}

impl Catalog {
    /// The rotation of tenant `tenant_id`'s key under way, if one is.
    pub async fn key_rotation(&self, tenant_id: i64) -> Result<Option<KeyRotation>> {
        self.direct.with(|c| {
            Ok(
                c.prepare_cached(&format!("{ROTATION_OF} WHERE r.tenant_id = ?"))?
                    .query_row([tenant_id], rotation_of)
                    .optional()?,
            )
        })
    }

    /// Every rotation under way, with its tenant's name (an interrupted one is to be finished).
    pub async fn key_rotations(&self) -> Result<Vec<(String, KeyRotation)>> {
        self.direct.with(|c| {
            let sql = format!(
                "SELECT x.*, t.name FROM ({ROTATION_OF}) x JOIN tenants t ON t.id = x.tenant_id
                  ORDER BY t.name"
            );
            let rows = c
                .prepare(&sql)?
                .query_map([], |r| Ok((r.get::<_, String>(7)?, rotation_of(r)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Re-keys with `rekey`, as a check that changes nothing, every row of tenant `tenant_id`
    /// a rotation would re-key (its nodes, class history and TOTP secrets, a step's rows at a
    /// time, outside any transaction), calling `checked(rows so far)` after each batch: the
    /// first that does not re-key (a damaged or altered value) fails it, before anything of
    /// the rotation is begun. Returns the rows checked.
    pub async fn check_rekeyable(
        &self,
        tenant_id: i64,
        rekey: &mut dyn Rekey,
        checked: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<usize> {
        let mut rows = 0;
        for nodes in [true, false] {
            let mut after = 0;
            loop {
                let (ids, n) = self.direct.with(|c| {
                    let params = rusqlite::params![tenant_id, after, i64::MAX, STEP_ROWS];
                    let ids: Vec<i64> = if nodes {
                        let page = page(c, NODES_BETWEEN, params, node_of)?;
                        for n in &page {
                            rekey.node(n).map_err(CatalogError::Rekey)?;
                        }
                        page.iter().map(|n| n.id).collect()
                    } else {
                        let page = page(c, HISTORY_BETWEEN, params, value_of)?;
                        for v in &page {
                            rekey.class_history(v).map_err(CatalogError::Rekey)?;
                        }
                        page.iter().map(|v| v.id).collect()
                    };
                    let n = ids.len();
                    Ok((ids, n))
                })?;
                rows += n;
                if n > 0 {
                    checked(rows);
                }
                match ids.last() {
                    Some(&last) if n as i64 == STEP_ROWS => after = last,
                    _ => break,
                }
            }
        }
        let secrets = self
            .direct
            .with(|c| page(c, TOTP_SECRETS, [tenant_id], value_of))?;
        for v in &secrets {
            rekey.totp_secret(v).map_err(CatalogError::Rekey)?;
        }
        Ok(rows + secrets.len())
    }

    /// Begins replacing tenant `new.tenant_id`'s key (at `old_version`) with `new` at `now`: in
    /// one transaction `new` becomes the key in force, the old key is kept as retiring, and the
    /// tenant's TOTP secrets are re-sealed by `rekey`. [`CatalogError::KeyRotated`] if the key
    /// is no longer at `old_version`; [`CatalogError::RotationUnderWay`] if a rotation has
    /// begun and not finished (it is to be finished first: [`Catalog::rekey_step`]).
    pub async fn begin_key_rotation<R: Rekey + 'static>(
        &self,
        old_version: i64,
        new: &TenantKeyRow,
        mut rekey: R,
        now: i64,
    ) -> Result<(KeyRotation, R)> {
        let new = new.clone();
        let tenant_id = new.tenant_id;
        let rekey = self
            .write(move |tx| {
                let under_way: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM retiring_tenant_keys WHERE tenant_id = ?)",
                    )?
                    .query_row([tenant_id], |r| r.get(0))?;
                if under_way {
                    return Err(CatalogError::RotationUnderWay);
                }
                let current: Option<i64> = tx
                    .prepare_cached(crate::tenants::CURRENT_KEY_VERSION)?
                    .query_row([tenant_id], |r| r.get(0))
                    .optional()?;
                if current != Some(old_version) {
                    return Err(CatalogError::KeyRotated);
                }
                tx.prepare_cached(
                    "INSERT INTO retiring_tenant_keys (tenant_id, version, master_key_id, wrapped,
                                 created_at, retiring_since, until_node)
                     SELECT tenant_id, version, master_key_id, wrapped, created_at, ?,
                            (SELECT id FROM node_id_high_water)
                       FROM tenant_keys WHERE tenant_id = ?",
                )?
                .execute(rusqlite::params![now, tenant_id])?;
                tx.prepare_cached("DELETE FROM tenant_keys WHERE tenant_id = ?")?
                    .execute([tenant_id])?;
                crate::tenants::insert_key_in(tx, &new, now)?;
                for v in page(tx, TOTP_SECRETS, [tenant_id], value_of)? {
                    let sealed = rekey.totp_secret(&v).map_err(CatalogError::Rekey)?;
                    tx.prepare_cached(STORE_TOTP)?
                        .execute(rusqlite::params![sealed, v.id, tenant_id])?;
                }
                Ok(rekey)
            })
            .await?;
        let rotation = self
            .key_rotation(tenant_id)
            .await?
            .ok_or(CatalogError::KeyRotated)?;
        Ok((rotation, rekey))
    }

    /// Takes the next step of `rotation` with `rekey`: re-keys up to a step's rows (its nodes
    /// first, then its class history) in one transaction, each as re-keyed before it unless it
    /// changed since (then again inside). The last step deletes the retiring key, then truncates
    /// the WAL so that its row does not linger there. A step after the first pauses first (see
    /// `PAUSE`). [`CatalogError::KeyRotated`] when the rotation is no longer under way (finished
    /// or the tenant removed by another process); a step another process took meanwhile makes
    /// this one store nothing (the next goes on from there).
    pub async fn rekey_step<R: Rekey + 'static>(
        &self,
        rotation: &mut KeyRotation,
        mut rekey: R,
    ) -> Result<(RekeyStep, R)> {
        if std::mem::replace(&mut rotation.stepped, true) {
            tokio::time::sleep(PAUSE).await;
        }
        let tenant_id = rotation.tenant_id;
        let nodes = rotation.nodes_done_to < rotation.until_node;
        let (after, until) = if nodes {
            (rotation.nodes_done_to, rotation.until_node)
        } else {
            (rotation.history_done_to, i64::MAX)
        };
        // Re-keyed as read, outside any transaction: the cryptography does not hold the writer.
        let seen = std::hash::RandomState::new();
        let mut read_nodes: ReadAhead<Rekeyed> = Default::default();
        let mut read_values: ReadAhead<Vec<u8>> = Default::default();
        let (last, full) = self.direct.with(|c| {
            let params = rusqlite::params![tenant_id, after, until, STEP_ROWS];
            let ids: Vec<i64> = if nodes {
                let rows = page(c, NODES_BETWEEN, params, node_of)?;
                for n in &rows {
                    let r = rekey.node(n).map_err(CatalogError::Rekey)?;
                    read_nodes.insert(n.id, (seen.hash_one(n), r));
                }
                rows.iter().map(|n| n.id).collect()
            } else {
                let rows = page(c, HISTORY_BETWEEN, params, value_of)?;
                for v in &rows {
                    let r = rekey.class_history(v).map_err(CatalogError::Rekey)?;
                    read_values.insert(v.id, (seen.hash_one(v), r));
                }
                rows.iter().map(|v| v.id).collect()
            };
            Ok((ids.last().copied(), ids.len() as i64 == STEP_ROWS))
        })?;
        let was = rotation.clone();
        let (step, rekey, now) = self
            .write(move |tx| {
                let now: Option<KeyRotation> = tx
                    .prepare_cached(&format!("{ROTATION_OF} WHERE r.tenant_id = ?"))?
                    .query_row([tenant_id], rotation_of)
                    .optional()?;
                let Some(mut now) = now.filter(|n| n.from_version == was.from_version) else {
                    return Err(CatalogError::KeyRotated);
                };
                let mut step = RekeyStep::default();
                if (now.nodes_done_to, now.history_done_to)
                    != (was.nodes_done_to, was.history_done_to)
                {
                    // Another process took this step: go on from where it left off.
                    return Ok((step, rekey, now));
                }
                // Up to the last row read: rows made since are under the new key.
                let to = last.unwrap_or(until);
                let params = rusqlite::params![tenant_id, after, to, STEP_ROWS];
                if nodes {
                    for n in page(tx, NODES_BETWEEN, params, node_of)? {
                        let r = match read_nodes.remove(&n.id) {
                            Some((fp, r)) if fp == seen.hash_one(&n) => r,
                            _ => rekey.node(&n).map_err(CatalogError::Rekey)?,
                        };
                        let Some(r) = r else {
                            step.already += 1;
                            continue;
                        };
                        tx.prepare_cached(STORE_NODE)?.execute(rusqlite::params![
                            r.name_mac,
                            r.sealed_name,
                            r.classes,
                            r.wrapped_key,
                            now.to_version,
                            n.id,
                            tenant_id
                        ])?;
                        step.nodes += 1;
                    }
                    now.nodes_done_to = if full { to } else { now.until_node };
                } else {
                    for v in page(tx, HISTORY_BETWEEN, params, value_of)? {
                        let r = match read_values.remove(&v.id) {
                            Some((fp, r)) if fp == seen.hash_one(&v) => r,
                            _ => rekey.class_history(&v).map_err(CatalogError::Rekey)?,
                        };
                        let Some(sealed) = r else {
                            step.already += 1;
                            continue;
                        };
                        tx.prepare_cached(STORE_HISTORY)?
                            .execute(rusqlite::params![sealed, v.id, tenant_id])?;
                        step.history += 1;
                    }
                    if full {
                        now.history_done_to = to;
                    } else {
                        // Every row is under the new key: the old one goes.
                        tx.prepare_cached("DELETE FROM retiring_tenant_keys WHERE tenant_id = ?")?
                            .execute([tenant_id])?;
                        step.done = true;
                        return Ok((step, rekey, now));
                    }
                }
                tx.prepare_cached(
                    "UPDATE retiring_tenant_keys SET nodes_done_to = ?, history_done_to = ?
                      WHERE tenant_id = ?",
                )?
                .execute(rusqlite::params![
                    now.nodes_done_to,
                    now.history_done_to,
                    tenant_id
                ])?;
                Ok((step, rekey, now))
            })
            .await?;
        *rotation = KeyRotation {
            stepped: true,
            ..now
        };
        if step.done {
            self.truncate_wal().await?;
        }
        Ok((step, rekey))
    }
}
