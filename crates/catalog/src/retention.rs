//! Retention: which files have expired at a given time. A folder rule applies to everything
//! below the folder and replaces the tenant's rule there; the nearest folder rule wins.

use std::sync::Arc;

use crate::{Catalog, CatalogError, OutboxRecord, Result};

/// A file whose retention has run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub node_id: i64,
    pub tenant: String,
    pub blob_id: Option<String>,
    pub size: u64,
    pub created_at: i64,
}

/// A retention deletion's audit record, made inside the deleting transaction from the file it
/// judged expired there, and committed with the deletion (the ledger outbox).
pub type RecordOfExpired = Arc<dyn Fn(&Expired) -> OutboxRecord + Send + Sync>;

/// The shortest retention after upload, in days: nothing expires within a day of its upload
/// unless it was downloaded (so a download of a file younger than that need not ask).
pub const MIN_RETENTION_DAYS: i64 = 1;

/// Checks a retention rule's values: days after upload at least [`MIN_RETENTION_DAYS`], hours
/// after download not negative (`0`: a file goes with its first complete download).
pub(crate) fn check_rule(days: Option<i64>, hours: Option<i64>) -> Result<()> {
    let invalid = |why: &str| CatalogError::Invalid {
        what: "retention",
        why: why.to_owned(),
    };
    if days.is_some_and(|d| d < MIN_RETENTION_DAYS) {
        return Err(invalid("days after upload must be at least 1"));
    }
    if hours.is_some_and(|h| h < 0) {
        return Err(invalid("hours after download must not be negative"));
    }
    Ok(())
}

/// The query of files expired at `?1`, at most `?2`: each file's nearest folder rule above it
/// (a walk up that stops at the first), else its tenant's. The two arguments narrow the files
/// walked from and judged (`""` for all of them; `" AND id = ?3"`, `" AND f.id = ?3"` for one).
/// (`LIMIT +?2`, not `LIMIT ?2`: the crate's documentation says why.)
macro_rules! expired_sql {
    ($walked:literal, $judged:literal) => {
        concat!(
            "WITH RECURSIVE up(file_id, node_id) AS (
                 SELECT id, parent_id FROM nodes WHERE kind = 'file'",
            $walked,
            "
                 UNION ALL
                 SELECT up.file_id, n.parent_id FROM up JOIN nodes n ON n.id = up.node_id
                  WHERE n.parent_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM folder_retention r WHERE r.dir_id = up.node_id)
             ),
             folder_rule(file_id, days, hours) AS (
                 SELECT up.file_id, r.after_upload_days, r.after_download_hours
                   FROM up JOIN folder_retention r ON r.dir_id = up.node_id
             ),
             effective(file_id, days, hours) AS (
                 SELECT f.id,
                        CASE WHEN fr.file_id IS NULL THEN t.retention_days ELSE fr.days END,
                        CASE WHEN fr.file_id IS NULL THEN t.retention_after_download_hours ELSE fr.hours END
                   FROM nodes f JOIN tenants t ON t.id = f.tenant_id
                   LEFT JOIN folder_rule fr ON fr.file_id = f.id
                  WHERE f.kind = 'file' AND t.removing_since IS NULL",
            $judged,
            "
             )
             SELECT f.id, t.name, f.blob_id, f.size, f.created_at
               FROM effective e JOIN nodes f ON f.id = e.file_id JOIN tenants t ON t.id = f.tenant_id
              WHERE ((e.days IS NOT NULL AND f.created_at + 86400 * e.days <= ?1)
                 OR (e.hours IS NOT NULL AND f.first_download_at IS NOT NULL
                     AND f.first_download_at + 3600 * e.hours <= ?1))
                AND NOT EXISTS (SELECT 1 FROM canaries c WHERE c.node_id = f.id)
              ORDER BY f.id LIMIT +?2"
        )
    };
}

impl Catalog {
    /// Sets (or with both `None`, removes) the retention rule of directory `dir_id`.
    pub async fn set_folder_retention(
        &self,
        dir_id: i64,
        after_upload_days: Option<i64>,
        after_download_hours: Option<i64>,
    ) -> Result<()> {
        check_rule(after_upload_days, after_download_hours)?;
        if after_upload_days.is_none() && after_download_hours.is_none() {
            sqlx::query("DELETE FROM folder_retention WHERE dir_id = ?")
                .bind(dir_id)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO folder_retention (dir_id, after_upload_days, after_download_hours)
                 VALUES (?, ?, ?)
                 ON CONFLICT (dir_id) DO UPDATE SET after_upload_days = excluded.after_upload_days,
                        after_download_hours = excluded.after_download_hours",
            )
            .bind(dir_id)
            .bind(after_upload_days)
            .bind(after_download_hours)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Up to `limit` files expired at `now` (Unix seconds).
    pub async fn expired_files(&self, now: i64, limit: u32) -> Result<Vec<Expired>> {
        let rows = sqlx::query_as(expired_sql!("", ""))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(expired).collect())
    }

    /// File `id`, if it has expired at `now` (judged by the rule the sweeper applies, only for
    /// this file: a walk up from it, not over the tenant). Asked by downloads, so read on the
    /// caller's thread (`direct`: some 10 µs where a round trip through sqlx's worker was 40
    /// more).
    pub async fn expired_file(&self, id: i64, now: i64) -> Result<Option<Expired>> {
        self.direct.with(|c| one_expired(c, id, now))
    }

    /// Of files `ids`, those expired at `now` (the sweeper's rule, walked up from them alone:
    /// a listing's page asks once for the files on it). Read on the caller's thread.
    pub async fn expired_among(&self, ids: &[i64], now: i64) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = crate::json_ids(ids);
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(expired_sql!(
                " AND id IN (SELECT value FROM json_each(?3))",
                " AND f.id IN (SELECT value FROM json_each(?3))"
            ))?;
            let rows = stmt.query_map((now, ids.len() as i64, &list), |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
        })
    }

    /// Up to `limit` files at any depth under directory `dir` that have expired at `now` (a
    /// directory moved under a longer rule would carry them out of their retention). Files
    /// never downloaded and younger than [`MIN_RETENTION_DAYS`] (86,400 seconds a day) are not
    /// judged: they cannot have expired.
    pub async fn expired_under(&self, dir: i64, now: i64, limit: u32) -> Result<Vec<i64>> {
        const _: () = assert!(MIN_RETENTION_DAYS == 1, "the query's 86400 is a day");
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(expired_sql!(
                " AND (first_download_at IS NOT NULL OR created_at + 86400 <= ?1)
                  AND id IN (WITH RECURSIVE below(id) AS (
                     SELECT ?3 UNION ALL SELECT n.id FROM nodes n JOIN below b ON n.parent_id = b.id
                   ) SELECT id FROM below)",
                " AND f.id IN (SELECT file_id FROM up)"
            ))?;
            let rows = stmt.query_map((now, limit, dir), |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
        })
    }

    /// Deletes file `id` if it has expired at `now`, judged again in the deleting transaction,
    /// and returns it (its blob is the caller's to remove), committing `record`'s record of it
    /// with the deletion. Judged and deleted at once, since what a sweep found expired may since
    /// have been replaced by an upload that keeps its id (a new blob, a new upload time) or had
    /// its rule lengthened: deleting by id alone would lose that upload, acknowledged as durable.
    pub async fn remove_expired_file(
        &self,
        id: i64,
        now: i64,
        record: Option<RecordOfExpired>,
    ) -> Result<Option<Expired>> {
        self.write(move |tx| {
            let Some(found) = one_expired(tx, id, now)? else {
                return Ok(None);
            };
            tx.prepare_cached("DELETE FROM nodes WHERE id = ?")?
                .execute([id])?;
            if let Some(record) = record {
                crate::outbox::insert(tx, &record(&found))?;
            }
            Ok(Some(found))
        })
        .await
    }
}

/// File `id`, if it has expired at `now` (the sweep's query narrowed to it).
fn one_expired(c: &rusqlite::Connection, id: i64, now: i64) -> Result<Option<Expired>> {
    use rusqlite::OptionalExtension as _;
    let row = c
        .prepare_cached(expired_sql!(" AND id = ?3", " AND f.id = ?3"))?
        .query_row((now, 1, id), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    Ok(row.map(expired))
}

type ExpiredRow = (i64, String, Option<String>, i64, i64);

fn expired((node_id, tenant, blob_id, size, created_at): ExpiredRow) -> Expired {
    Expired {
        node_id,
        tenant,
        blob_id,
        size: size as u64,
        created_at,
    }
}
