//! Which ledger the catalog's changes are recorded in: the public half of the key that signs
//! its checkpoints, remembered so that a ledger removed or replaced by an empty one (with its
//! key) is noticed at the next start rather than silently begun afresh; and the last signed
//! checkpoint the server saw it hold, so that a ledger rolled back to an older copy of itself
//! (or rewritten) is noticed too. Stores and compares only; the server decides what a mismatch
//! means.

use ledger::{Checkpoint, Hash};

use crate::outbox::Outbox;
use crate::{Catalog, LedgerStore, Result};

/// The ledger the catalog names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLedger {
    /// The public key of the key that signs its checkpoints.
    pub public_key: Vec<u8>,
    /// The last signed checkpoint the server recorded the ledger holding (none before its
    /// first after this was recorded).
    pub checkpoint: Option<SeenCheckpoint>,
}

/// A signed checkpoint as the catalog remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenCheckpoint {
    pub seq: u64,
    pub hash: Hash,
    /// When it was signed (Unix seconds).
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
}

impl NamedLedger {
    /// Whether `store` falls short of the last checkpoint recorded for it (a ledger further
    /// on is as it should be: the record is written after the ledger's own commit).
    pub fn behind(&self, store: &LedgerStore) -> Result<Option<Behind>> {
        let Some(seen) = self.checkpoint else {
            return Ok(None);
        };
        Ok(match store.checkpoint_at(seen.seq)? {
            None => Some(Behind::Missing(seen)),
            Some(c) if c.hash != seen.hash => Some(Behind::Differs(seen)),
            Some(_) => None,
        })
    }
}

/// Raises the recorded checkpoint to `c` (never lowers it: checkpoints recorded out of order
/// keep the later).
const RECORD_SEEN: &str = "UPDATE ledger_identity
        SET checkpoint_seq = ?1, checkpoint_hash = ?2, checkpoint_time = ?3
      WHERE id = 1 AND (checkpoint_seq IS NULL OR checkpoint_seq < ?1)";

fn seq_of(c: &Checkpoint) -> i64 {
    i64::try_from(c.seq).unwrap_or(i64::MAX)
}

impl Catalog {
    /// The ledger the catalog names, once the server has recorded it.
    pub async fn ledger_identity(&self) -> Result<Option<NamedLedger>> {
        /// The public key, and the checkpoint's seq, hash and time.
        type Row = (Vec<u8>, Option<i64>, Option<Vec<u8>>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT public_key, checkpoint_seq, checkpoint_hash, checkpoint_time
               FROM ledger_identity WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(public_key, seq, hash, time)| NamedLedger {
            public_key,
            checkpoint: match (seq, hash.map(<Hash>::try_from), time) {
                (Some(seq), Some(Ok(hash)), Some(time)) => Some(SeenCheckpoint {
                    seq: seq.max(0) as u64,
                    hash,
                    time,
                }),
                _ => None,
            },
        }))
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
    /// recorded is replaced, later or not. Whether a ledger is named.
    pub async fn accept_ledger_as_it_is(&self, latest: Option<&Checkpoint>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ledger_identity
                SET checkpoint_seq = ?, checkpoint_hash = ?, checkpoint_time = ?
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
