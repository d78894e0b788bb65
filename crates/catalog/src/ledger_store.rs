//! The audit ledger's storage: its own SQLite file (`<data-dir>/ledger.db`), apart from the
//! catalog. Appends are batched in one transaction that reads the head and chains every record
//! (crates/ledger), so several writers (the server, admin commands) keep one chain. Export
//! filters use indexed copies of the events' fields.

use std::path::Path;

use ledger::{Checkpoint, Head, Record};
use sqlx::{Row, SqlitePool};

use crate::{CatalogError, Result, migrate, open_pool};

/// The indexed fields of an event (copied from its body).
#[derive(Debug, Clone, Default)]
pub struct LedgerMeta {
    pub kind: String,
    pub account: Option<String>,
    pub tenant: Option<String>,
    /// The source IP address (without port).
    pub source: Option<String>,
    pub session: Option<String>,
}

/// A stored record with its indexed fields.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub record: Record,
    pub meta: LedgerMeta,
}

/// Export filters; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<String>,
    pub session: Option<String>,
}

#[derive(Clone)]
pub struct LedgerStore {
    pool: SqlitePool,
}

fn hash_from(v: Vec<u8>) -> Result<ledger::Hash> {
    v.try_into().map_err(|_| CatalogError::Invalid {
        what: "ledger hash",
        why: "not 32 bytes".into(),
    })
}

fn entry_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<LedgerEntry> {
    Ok(LedgerEntry {
        record: Record {
            seq: r.try_get::<i64, _>("seq")? as u64,
            time: r.try_get("time")?,
            prev_hash: hash_from(r.try_get("prev_hash")?)?,
            body: r.try_get("body")?,
            hash: hash_from(r.try_get("hash")?)?,
        },
        meta: LedgerMeta {
            kind: r.try_get("kind")?,
            account: r.try_get("account")?,
            tenant: r.try_get("tenant")?,
            source: r.try_get("source")?,
            session: r.try_get("session")?,
        },
    })
}

impl LedgerStore {
    pub async fn open(path: &Path) -> Result<Self> {
        let pool = open_pool(path, 2).await?;
        migrate::run(&pool, migrate::LEDGER).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Chains and stores a batch of (time, indexed fields, body) in one durable transaction.
    /// Returns the new head.
    pub async fn append(&self, batch: &[(i64, LedgerMeta, Vec<u8>)]) -> Result<Head> {
        let mut conn = self.pool.acquire().await?;
        // IMMEDIATE: take the write lock before reading the head, so that two writers (the
        // server and an admin command) never chain onto the same record.
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = async {
            let head: Option<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *conn)
                    .await?;
            let mut head = match head {
                Some((seq, hash)) => Head {
                    seq: seq as u64,
                    hash: hash_from(hash)?,
                },
                None => Head::EMPTY,
            };
            for (time, meta, body) in batch {
                let r = ledger::append(&head, *time, body.clone()).map_err(|e| CatalogError::Invalid {
                    what: "ledger record",
                    why: e.to_string(),
                })?;
                sqlx::query(
                    "INSERT INTO records (seq, time, prev_hash, hash, kind, account, tenant, source, session, body)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(r.seq as i64)
                .bind(r.time)
                .bind(&r.prev_hash[..])
                .bind(&r.hash[..])
                .bind(&meta.kind)
                .bind(&meta.account)
                .bind(&meta.tenant)
                .bind(&meta.source)
                .bind(&meta.session)
                .bind(&r.body)
                .execute(&mut *conn)
                .await?;
                head = r.head();
            }
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            Ok::<_, CatalogError>(head)
        }
        .await;
        if result.is_err() {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        }
        result
    }

    /// The wrapped body key: (master key id, wrapped), if one was made.
    pub async fn body_key(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT master_key_id, wrapped FROM body_key WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores the wrapped body key (replacing it: master rotation).
    pub async fn set_body_key(&self, master_key_id: &[u8], wrapped: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO body_key (id, master_key_id, wrapped) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET master_key_id = excluded.master_key_id, wrapped = excluded.wrapped",
        )
        .bind(master_key_id)
        .bind(wrapped)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn head(&self) -> Result<Head> {
        let head: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(match head {
            Some((seq, hash)) => Head {
                seq: seq as u64,
                hash: hash_from(hash)?,
            },
            None => Head::EMPTY,
        })
    }

    pub async fn add_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO checkpoints (seq, hash, time, signature) VALUES (?, ?, ?, ?)",
        )
        .bind(c.seq as i64)
        .bind(&c.hash[..])
        .bind(c.time)
        .bind(&c.signature)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows: Vec<(i64, Vec<u8>, i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash, time, signature FROM checkpoints ORDER BY seq")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(seq, hash, time, signature)| {
                Ok(Checkpoint {
                    seq: seq as u64,
                    hash: hash_from(hash)?,
                    time,
                    signature,
                })
            })
            .collect()
    }

    /// Up to `limit` records in storage order (by row id, which is the sequence number as
    /// stored, so that a record renumbered or swapped shows), after the storage position `after`.
    /// Only what verification needs is read.
    pub async fn scan(&self, after: i64, limit: u32) -> Result<Vec<(i64, Record)>> {
        type Row = (i64, i64, Vec<u8>, Vec<u8>, Vec<u8>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT rowid, time, prev_hash, hash, body FROM records WHERE rowid > ? ORDER BY rowid LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(pos, time, prev_hash, hash, body)| {
                Ok((
                    pos,
                    Record {
                        seq: pos as u64,
                        time,
                        prev_hash: hash_from(prev_hash)?,
                        body,
                        hash: hash_from(hash)?,
                    },
                ))
            })
            .collect()
    }

    /// Up to `limit` records matching `f` with seq > `after`, in order.
    ///
    /// Only the filters given appear in the query (fixed SQL fragments, every value bound), so
    /// that SQLite can use the (account | tenant | source | session, time) indexes; a
    /// `(? IS NULL OR column = ?)` form would force a scan of the whole ledger.
    pub async fn export(
        &self,
        f: &LedgerFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>> {
        let mut sql = String::from(
            "SELECT seq, time, prev_hash, hash, kind, account, tenant, source, session, body FROM records
              WHERE seq > ?",
        );
        let equal = [
            (" AND account = ?", &f.account),
            (" AND tenant = ?", &f.tenant),
            (" AND source = ?", &f.source),
            (" AND session = ?", &f.session),
        ];
        for (clause, value) in &equal {
            if value.is_some() {
                sql.push_str(clause);
            }
        }
        if f.since.is_some() {
            sql.push_str(" AND time >= ?");
        }
        if f.until.is_some() {
            sql.push_str(" AND time < ?");
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after as i64);
        for (_, value) in equal {
            if let Some(v) = value {
                q = q.bind(v.clone());
            }
        }
        if let Some(t) = f.since {
            q = q.bind(t);
        }
        if let Some(t) = f.until {
            q = q.bind(t);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }
}
