//! Which blob store holds this catalog's files: a random mark kept here and in the store
//! itself, so that a store that is another data directory's is told from this one's before
//! anything in it is removed. Stores only; the server compares the marks and decides.

use crate::{Catalog, Result};

impl Catalog {
    /// The mark of this data directory's blob store, once the server has recorded one.
    pub async fn blob_store_owner(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT mark FROM blob_store_owner WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records `mark` (at `now`) unless one is recorded already; returns the one recorded.
    pub async fn set_blob_store_owner(&self, mark: &str, now: i64) -> Result<String> {
        sqlx::query(
            "INSERT INTO blob_store_owner (id, mark, recorded_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(mark)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT mark FROM blob_store_owner WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
