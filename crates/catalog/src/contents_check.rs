//! Where the server's pass over every stored file's contents has reached, and when the last
//! one began and ended: kept here so that a pass paced over days goes on across restarts. Stores
//! only; what is read, how fast and what is raised are the service's and the server's.

use crate::{Catalog, Result};

/// The pass's state: one row, once a pass has begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentsCheck {
    /// When the pass began, and when it ended (`None` while it goes on); Unix milliseconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The last node made when it began: the pass reads no file made since.
    pub until_node: i64,
    /// The tenant being read, and the last of its files read (`None`: none yet).
    pub tenant_id: i64,
    pub after_node: Option<i64>,
    /// Files and bytes read so far in the pass, and files whose contents do not open.
    pub files_read: u64,
    pub bytes_read: u64,
    pub damaged: u64,
}

/// The row as stored: started, finished, until, tenant, after, files, bytes, damaged.
type Row = (i64, Option<i64>, i64, i64, Option<i64>, i64, i64, i64);

impl Catalog {
    /// The last node made (its id; 0 in a catalog that never had one): ids only grow, so the
    /// nodes made after now have greater ones.
    pub async fn last_node_id(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT id FROM node_id_high_water")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The pass's state, once one has begun.
    pub async fn contents_check(&self) -> Result<Option<ContentsCheck>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT started_at, finished_at, until_node, tenant_id, after_node, files_read,
                    bytes_read, damaged
               FROM contents_check WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ContentsCheck {
            started_at: r.0,
            finished_at: r.1,
            until_node: r.2,
            tenant_id: r.3,
            after_node: r.4,
            files_read: r.5.max(0) as u64,
            bytes_read: r.6.max(0) as u64,
            damaged: r.7.max(0) as u64,
        }))
    }

    /// Records the pass's state (the row made, or replaced).
    pub async fn save_contents_check(&self, c: &ContentsCheck) -> Result<()> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO contents_check (id, started_at, finished_at, until_node, tenant_id,
                                         after_node, files_read, bytes_read, damaged)
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET
                 started_at = excluded.started_at, finished_at = excluded.finished_at,
                 until_node = excluded.until_node,
                 tenant_id = excluded.tenant_id, after_node = excluded.after_node,
                 files_read = excluded.files_read, bytes_read = excluded.bytes_read,
                 damaged = excluded.damaged",
        )
        .bind(c.started_at)
        .bind(c.finished_at)
        .bind(c.until_node)
        .bind(c.tenant_id)
        .bind(c.after_node)
        .bind(count(c.files_read))
        .bind(count(c.bytes_read))
        .bind(count(c.damaged))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
