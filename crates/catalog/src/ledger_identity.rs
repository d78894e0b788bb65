//! Which ledger the catalog's changes are recorded in: the public half of the key that signs
//! its checkpoints, remembered so that a ledger removed or replaced by an empty one (with its
//! key) is noticed at the next start rather than silently begun afresh; and the last signed
//! checkpoint the server saw it hold and the last head its writer settled or an administrator's
//! command appended, so that a ledger rolled back to an older copy of itself (or rewritten) is
//! noticed too. Stores and compares
//! only; the server decides what a mismatch means.

use ledger::{Checkpoint, Hash, Head};
use rusqlite::OptionalExtension as _;

use crate::outbox::Outbox;
use crate::{Catalog, CatalogError, LedgerStore, Result};

/// The ledger the catalog names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLedger {
    /// The public key of the key that signs its checkpoints.
    pub public_key: Vec<u8>,
    /// The last signed checkpoint the server recorded the ledger holding (none before its
    /// first after this was recorded).
    pub checkpoint: Option<SeenCheckpoint>,
    /// The ledger's head as its writer last settled it or an administrator's command appended
    /// to it: its last record (none before the first after this was recorded, or after a
    /// rollback was accepted).
    pub head: Option<SeenCheckpoint>,
}

/// A place in the ledger as the catalog remembers it: a signed checkpoint, or the head its
/// writer settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenCheckpoint {
    pub seq: u64,
    pub hash: Hash,
    /// When it was signed, or settled (Unix seconds).
    pub time: i64,
}

impl From<&Checkpoint> for SeenCheckpoint {
    fn from(c: &Checkpoint) -> Self {
        Self {
            seq: c.seq,
            hash: c.hash,
            time: c.time,
        }
    }
}

/// How a ledger falls short of the catalog's record of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    /// The ledger lacks the checkpoint: rolled back to an older copy of itself (or cut short).
    Missing(SeenCheckpoint),
    /// The ledger holds another checkpoint at its place: rewritten from before it.
    Differs(SeenCheckpoint),
    /// The ledger lacks the record its writer last settled at (after its last checkpoint):
    /// rolled back or cut short.
    HeadMissing(SeenCheckpoint),
    /// The ledger holds another record at the place of the one its writer last settled at.
    HeadDiffers(SeenCheckpoint),
}

impl NamedLedger {
    /// Whether `store` falls short of the last checkpoint or head recorded for it (a ledger
    /// further on is as it should be: both are recorded after the ledger's own commit).
    pub fn behind(&self, store: &LedgerStore) -> Result<Option<Behind>> {
        if let Some(seen) = self.checkpoint {
            match store.checkpoint_at(seen.seq)? {
                None => return Ok(Some(Behind::Missing(seen))),
                Some(c) if c.hash != seen.hash => return Ok(Some(Behind::Differs(seen))),
                Some(_) => {}
            }
        }
        let Some(head) = self.head else {
            return Ok(None);
        };
        let at = store.record_hashes(head.seq.saturating_sub(1), head.seq)?;
        Ok(match at.first() {
            None => Some(Behind::HeadMissing(head)),
            Some(h) if *h != head.hash => Some(Behind::HeadDiffers(head)),
            Some(_) => None,
        })
    }
}

/// Raises the recorded checkpoint to `c` (never lowers it: checkpoints recorded out of order
/// keep the later).
const RECORD_SEEN: &str = "UPDATE ledger_identity
        SET checkpoint_seq = ?1, checkpoint_hash = ?2, checkpoint_time = ?3
      WHERE id = 1 AND (checkpoint_seq IS NULL OR checkpoint_seq < ?1)";

/// Raises the recorded head to (seq, hash, time) (never lowers it: an admin command's records
/// may have moved the ledger on meanwhile, and the writer's own head is still in it).
const RECORD_HEAD: &str = "UPDATE ledger_identity SET head_seq = ?1, head_hash = ?2, head_time = ?3
      WHERE id = 1 AND (head_seq IS NULL OR head_seq < ?1)";

fn seq_of(c: &Checkpoint) -> i64 {
    i64::try_from(c.seq).unwrap_or(i64::MAX)
}

/// The ledger named: its public key, its checkpoint's seq, hash and time, and its head's.
const SELECT_NAMED: &str = "SELECT public_key, checkpoint_seq, checkpoint_hash, checkpoint_time,
        head_seq, head_hash, head_time FROM ledger_identity WHERE id = 1";

/// A place read back from its three columns (all set, or none).
fn seen(seq: Option<i64>, hash: Option<Vec<u8>>, time: Option<i64>) -> Option<SeenCheckpoint> {
    match (seq, hash.map(<Hash>::try_from), time) {
        (Some(seq), Some(Ok(hash)), Some(time)) => Some(SeenCheckpoint {
            seq: seq.max(0) as u64,
            hash,
            time,
        }),
        _ => None,
    }
}

/// The public key, the checkpoint's seq, hash and time, and the head's ([`SELECT_NAMED`]).
type NamedRow = (
    Vec<u8>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<i64>,
);

fn named_of(row: NamedRow) -> NamedLedger {
    let (public_key, seq, hash, time, head_seq, head_hash, head_time) = row;
    NamedLedger {
        public_key,
        checkpoint: seen(seq, hash, time),
        head: seen(head_seq, head_hash, head_time),
    }
}

/// The ledger the catalog at `path` names, read without changing the catalog (`audit verify`:
/// see `migrate::open_read_only`).
pub fn named_ledger_read_only(path: &std::path::Path) -> Result<Option<NamedLedger>> {
    let conn = crate::migrate::open_read_only(path, "the catalog", crate::migrate::CATALOG)?;
    let row: Option<NamedRow> = conn
        .query_row(SELECT_NAMED, [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    Ok(row.map(named_of))
}

impl Catalog {
    /// The ledger the catalog names, once the server has recorded it.
    pub async fn ledger_identity(&self) -> Result<Option<NamedLedger>> {
        let row: Option<NamedRow> = sqlx::query_as(SELECT_NAMED)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(named_of))
    }

    /// Records the ledger's public key (at `now`); one already recorded is kept.
    pub async fn set_ledger_identity(&self, public_key: &[u8], now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO ledger_identity (id, public_key, recorded_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(public_key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the named ledger holds checkpoint `c` (kept only if later than the one
    /// recorded; nothing if no ledger is named yet).
    pub async fn ledger_checkpointed(&self, c: &Checkpoint) -> Result<()> {
        sqlx::query(RECORD_SEEN)
            .bind(seq_of(c))
            .bind(&c.hash[..])
            .bind(c.time)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Accepts the named ledger as it is now, its last checkpoint `latest` (an
    /// administrator's decision after it was rolled back, on the record): the checkpoint
    /// recorded is replaced, later or not, and the head forgotten (the writer's next settle
    /// records it again). Whether a ledger is named.
    pub async fn accept_ledger_as_it_is(&self, latest: Option<&Checkpoint>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ledger_identity
                SET checkpoint_seq = ?, checkpoint_hash = ?, checkpoint_time = ?,
                    head_seq = NULL, head_hash = NULL, head_time = NULL
              WHERE id = 1",
        )
        .bind(latest.map(seq_of))
        .bind(latest.map(|c| c.hash.to_vec()))
        .bind(latest.map(|c| c.time))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the ledger's identity: the next start begins a new ledger (an administrator's
    /// decision after the old one was lost). Whether there was one.
    pub async fn forget_ledger_identity(&self) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ledger_identity WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Outbox {
    /// Deletes the records with these ids from the outbox (once the ledger holds them
    /// durably) and records the ledger's head as appended (`head`, settled at `now`), in one
    /// transaction on the catalog's writer connection (queued behind the requests' commits
    /// rather than contending with them for SQLite's lock). A delete that never happens (a
    /// crash first) only means the record is offered to the ledger again at the next start,
    /// which finds it there already.
    pub fn settled(&self, ids: &[i64], head: Option<&Head>, now: i64) -> Result<()> {
        if ids.is_empty() && head.is_none() {
            return Ok(());
        }
        self.direct().write(|tx| {
            let mut delete = tx.prepare_cached("DELETE FROM ledger_outbox WHERE id = ?")?;
            for id in ids {
                delete.execute([id])?;
            }
            if let Some(h) = head {
                tx.prepare_cached(RECORD_HEAD)?.execute(rusqlite::params![
                    i64::try_from(h.seq).unwrap_or(i64::MAX),
                    &h.hash[..],
                    now
                ])?;
            }
            Ok(())
        })
    }

    /// [`Catalog::ledger_checkpointed`] for the ledger writer's thread (blocking), on the
    /// catalog's writer connection.
    pub fn ledger_checkpointed(&self, c: &Checkpoint) -> Result<()> {
        self.direct().write(|tx| {
            tx.prepare_cached(RECORD_SEEN)?.execute(rusqlite::params![
                seq_of(c),
                &c.hash[..],
                c.time
            ])?;
            Ok(())
        })
    }
}

/// Records that `store` holds `head` (appended at `now`) in the catalog at `path`, if there is
/// one and it names a ledger that `store` is not behind (raised, never lowered; a ledger behind
/// its record keeps the record that says so): what an administrator's command appends to the
/// ledger itself (its own record, retention's deletions), for a process that has no catalog
/// open. Without it, a copy of the ledger from before the command, put back, lost the
/// command's record unnoticed. Whether it was recorded.
pub fn record_ledger_head(
    path: &std::path::Path,
    store: &LedgerStore,
    head: &Head,
    now: i64,
) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let open_err = |source: rusqlite::Error| CatalogError::Open {
        path: path.display().to_string(),
        source: source.into(),
    };
    let mut conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let named = tx
        .query_row(SELECT_NAMED, [], |r| {
            Ok(NamedLedger {
                public_key: r.get(0)?,
                checkpoint: seen(r.get(1)?, r.get(2)?, r.get(3)?),
                head: seen(r.get(4)?, r.get(5)?, r.get(6)?),
            })
        })
        .optional()?;
    let Some(named) = named else {
        return Ok(false);
    };
    if named.behind(store)?.is_some() {
        return Ok(false);
    }
    tx.execute(
        RECORD_HEAD,
        rusqlite::params![
            i64::try_from(head.seq).unwrap_or(i64::MAX),
            &head.hash[..],
            now
        ],
    )?;
    tx.commit()?;
    Ok(true)
}
