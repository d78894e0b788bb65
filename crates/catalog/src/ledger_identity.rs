//! Which ledger the catalog's changes are recorded in: the public half of the key that signs
//! its checkpoints, remembered so that a ledger removed or replaced by an empty one (with its
//! key) is noticed at the next start rather than silently begun afresh. Stores only; the
//! server decides what a mismatch means.

use crate::{Catalog, Result};

impl Catalog {
    /// The public key of the ledger's signing key, once the server has recorded it.
    pub async fn ledger_identity(&self) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT public_key FROM ledger_identity WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
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

    /// Forgets the ledger's identity: the next start begins a new ledger (an administrator's
    /// decision after the old one was lost). Whether there was one.
    pub async fn forget_ledger_identity(&self) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ledger_identity WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
