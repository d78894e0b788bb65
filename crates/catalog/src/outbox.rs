//! The ledger outbox: an audit record written in the same catalog transaction as the change it
//! records, so that a change is never committed without its record and the two reach the disk
//! in one flush. The server's ledger writer appends each such record to the ledger (ledger.db)
//! and then deletes it here; whatever a crash left behind is appended at the next start
//! ([`crate::LedgerStore::append_missing`] skips what had already arrived).
//!
//! Owns the `ledger_outbox` table; never opens or interprets the sealed events.

use std::sync::Arc;

use crate::direct::Direct;
use crate::{LedgerMeta, Result};

/// One audit record waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Random, chosen by the writer: the ledger writer deletes by it.
    pub id: i64,
    /// When it was made (nanoseconds since the epoch): the order of recovery.
    pub queued_ns: i64,
    /// The event's time (seconds), as the ledger stores it.
    pub time: i64,
    pub meta: LedgerMeta,
    /// The event sealed with the ledger body key, byte for byte what the ledger will store.
    pub sealed_event: Vec<u8>,
}

/// Adds `r` to the outbox inside the caller's transaction.
pub(crate) fn insert(tx: &rusqlite::Transaction<'_>, r: &OutboxRecord) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO ledger_outbox (id, queued_ns, time, kind, account, tenant, source, session,
                                    file_id, path_tag, to_tag, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![
        r.id,
        r.queued_ns,
        r.time,
        r.meta.kind,
        r.meta.account,
        r.meta.tenant,
        r.meta.source,
        r.meta.session,
        r.meta.file_id,
        r.meta.path_tag,
        r.meta.to_tag,
        r.sealed_event,
    ])?;
    Ok(())
}

/// The outbox as the ledger writer sees it. Blocking calls: for the writer's own thread.
pub struct Outbox {
    direct: Arc<Direct>,
}

impl Outbox {
    /// The catalog's connections (the writer's records of the ledger, `ledger_identity`).
    pub(crate) fn direct(&self) -> &Direct {
        &self.direct
    }
}

impl Outbox {
    pub(crate) fn new(direct: Arc<Direct>) -> Self {
        Self { direct }
    }

    /// Everything waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<OutboxRecord>> {
        self.direct.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, queued_ns, time, kind, account, tenant, source, session, file_id,
                        path_tag, to_tag, body
                   FROM ledger_outbox ORDER BY queued_ns, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(OutboxRecord {
                    id: r.get(0)?,
                    queued_ns: r.get(1)?,
                    time: r.get(2)?,
                    meta: LedgerMeta {
                        kind: r.get(3)?,
                        account: r.get(4)?,
                        tenant: r.get(5)?,
                        source: r.get(6)?,
                        session: r.get(7)?,
                        // Only file operations ride catalog changes: they name no credential.
                        credential: None,
                        file_id: r.get(8)?,
                        path_tag: r.get(9)?,
                        to_tag: r.get(10)?,
                    },
                    sealed_event: r.get(11)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
