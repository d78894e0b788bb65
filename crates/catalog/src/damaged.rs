//! Replacing a tenant's sealed values that no longer open (`tenant repair`): a node's name
//! with a new one, a file's classes cleared (to be classified again), a class history row
//! removed. Each is changed only while its stored bytes are still those judged damaged (the
//! caller opened them and failed), so a value rewritten meanwhile (a rename, a rotation's
//! step, a new classification) is left as it now is. Never here: which values open (the
//! service, with the tenant's key).

use crate::{Catalog, CatalogError, Result};

/// What became of a damaged value asked to be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Replaced.
    Done,
    /// Its row is gone or its bytes changed since they were judged: left as it is now.
    Changed,
}

fn replaced(rows: usize) -> Replaced {
    match rows {
        0 => Replaced::Changed,
        _ => Replaced::Done,
    }
}

impl Catalog {
    /// Gives node `id`, whose stored name is `damaged` (its sealed form), the name whose
    /// lookup form is `mac` and sealed form `sealed`; [`CatalogError::AlreadyExists`] where its
    /// directory holds that name already.
    pub async fn replace_damaged_name(
        &self,
        id: i64,
        damaged: Vec<u8>,
        mac: Vec<u8>,
        sealed: Vec<u8>,
    ) -> Result<Replaced> {
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE nodes SET name_mac = ?2, sealed_name = ?3
                      WHERE id = ?1 AND sealed_name = ?4",
                )?
                .execute(rusqlite::params![id, mac, sealed, damaged]);
            match changed {
                Ok(rows) => Ok(replaced(rows)),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    Err(CatalogError::AlreadyExists {
                        what: "name for node",
                        name: id.to_string(),
                    })
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Clears the stored classes of file `id`, sealed as `damaged`: it counts as not
    /// classified (`classify run` classifies it again).
    pub async fn clear_damaged_classes(&self, id: i64, damaged: Vec<u8>) -> Result<Replaced> {
        self.write(move |tx| {
            let rows = tx
                .prepare_cached("UPDATE nodes SET classes = NULL WHERE id = ?1 AND classes = ?2")?
                .execute(rusqlite::params![id, damaged])?;
            Ok(replaced(rows))
        })
        .await
    }

    /// Removes class history row `id`, whose classes are sealed as `damaged`.
    pub async fn remove_damaged_class_history(
        &self,
        id: i64,
        damaged: Vec<u8>,
    ) -> Result<Replaced> {
        self.write(move |tx| {
            let rows = tx
                .prepare_cached("DELETE FROM class_history WHERE id = ?1 AND classes = ?2")?
                .execute(rusqlite::params![id, damaged])?;
            Ok(replaced(rows))
        })
        .await
    }

    /// The sealed classes of class history row `id` of tenant `tenant_id`, with the contents'
    /// root they are bound to.
    pub async fn class_history_value(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<(Option<Vec<u8>>, Vec<u8>)>> {
        use rusqlite::OptionalExtension as _;
        self.direct.with(|c| {
            Ok(c.prepare_cached(
                "SELECT content_root, classes FROM class_history WHERE tenant_id = ?1 AND id = ?2",
            )?
            .query_row([tenant_id, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
    }
}
