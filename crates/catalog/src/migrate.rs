//! Schema migrations, embedded in the binary and applied in order inside one transaction each;
//! `PRAGMA user_version` records how far a database has come.

use sqlx::SqlitePool;

use crate::{CatalogError, Result};

/// The catalog's migrations.
pub const CATALOG: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_gate.sql"),
    include_str!("../migrations/sqlite/0003_inline.sql"),
    include_str!("../migrations/sqlite/0004_ledger_outbox.sql"),
    include_str!("../migrations/sqlite/0005_throttle.sql"),
    include_str!("../migrations/sqlite/0006_detection.sql"),
    include_str!("../migrations/sqlite/0007_classes.sql"),
    include_str!("../migrations/sqlite/0008_classify_patterns.sql"),
    include_str!("../migrations/sqlite/0009_file_history.sql"),
    include_str!("../migrations/sqlite/0010_outbox_file_id.sql"),
    include_str!("../migrations/sqlite/0011_outbox_path_tags.sql"),
    include_str!("../migrations/sqlite/0012_subdirectories.sql"),
    include_str!("../migrations/sqlite/0013_master_key.sql"),
    include_str!("../migrations/sqlite/0014_orphan_overrides.sql"),
    include_str!("../migrations/sqlite/0015_ledger_identity.sql"),
    include_str!("../migrations/sqlite/0016_ledger_position.sql"),
    include_str!("../migrations/sqlite/0017_blob_store_owner.sql"),
    include_str!("../migrations/sqlite/0018_ban_indexes.sql"),
    include_str!("../migrations/sqlite/0019_tenant_sizes.sql"),
    include_str!("../migrations/sqlite/0020_tenant_usage.sql"),
    include_str!("../migrations/sqlite/0021_tenant_removal.sql"),
    include_str!("../migrations/sqlite/0022_ledger_head.sql"),
    include_str!("../migrations/sqlite/0023_alert_pages.sql"),
    include_str!("../migrations/sqlite/0024_key_rotation_steps.sql"),
    include_str!("../migrations/sqlite/0025_nodes_by_tenant.sql"),
    include_str!("../migrations/sqlite/0026_contents_check.sql"),
    include_str!("../migrations/sqlite/0027_session_kills.sql"),
    include_str!("../migrations/sqlite/0028_account_released.sql"),
    include_str!("../migrations/sqlite/0029_alert_deliveries.sql"),
    include_str!("../migrations/sqlite/0030_forward_cursors.sql"),
    include_str!("../migrations/sqlite/0031_forward_failures.sql"),
];

/// The ledger database's migrations.
pub const LEDGER: &[&str] = &[
    include_str!("../migrations/ledger/0001_ledger.sql"),
    include_str!("../migrations/ledger/0002_body_key.sql"),
    include_str!("../migrations/ledger/0003_recent.sql"),
    include_str!("../migrations/ledger/0004_credential.sql"),
    include_str!("../migrations/ledger/0005_file_id.sql"),
    include_str!("../migrations/ledger/0006_path_tags.sql"),
    include_str!("../migrations/ledger/0007_checkpoint_intervals.sql"),
    include_str!("../migrations/ledger/0008_account_index.sql"),
];

pub async fn run(pool: &SqlitePool, migrations: &[&'static str]) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    refuse_newer(version, migrations)?;
    for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let applied = async {
            sqlx::raw_sql(*sql).execute(&mut *conn).await?;
            // user_version cannot be bound as a parameter; it is our own integer.
            let set = format!("PRAGMA user_version = {}", i + 1);
            sqlx::raw_sql(sqlx::AssertSqlSafe(set))
                .execute(&mut *conn)
                .await?;
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = applied {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            return Err(e.into());
        }
    }
    Ok(())
}

/// [`run`] for a database spoken to through rusqlite (the ledger's).
pub fn run_ledger(conn: &mut rusqlite::Connection, migrations: &[&'static str]) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    refuse_newer(version, migrations)?;
    for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        // user_version cannot be bound as a parameter; it is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

/// Opens the database at `path` (`what` it is, for messages) to read it only: not created if
/// missing, never migrated, nothing of its file changed (a read-write connection's last close
/// folds the WAL into the file). One at another schema than `migrations` make is refused: a
/// newer one as everywhere, an older one with [`CatalogError::SchemaBehind`] (a command that
/// only reads does not upgrade it).
pub fn open_read_only(
    path: &std::path::Path,
    what: &'static str,
    migrations: &[&'static str],
) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    if !path.exists() {
        return Err(CatalogError::NotFound {
            what,
            name: path.display().to_string(),
        });
    }
    let open_err = |source: rusqlite::Error| CatalogError::Open {
        path: path.display().to_string(),
        source: source.into(),
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    refuse_newer(version, migrations)?;
    let known = migrations.len() as i64;
    if version < known {
        return Err(CatalogError::SchemaBehind {
            what,
            found: version,
            known,
        });
    }
    Ok(conn)
}

/// A database migrated by a newer build is left alone.
fn refuse_newer(version: i64, migrations: &[&str]) -> Result<()> {
    let known = migrations.len() as i64;
    if version > known {
        return Err(CatalogError::SchemaTooNew {
            found: version,
            known,
        });
    }
    Ok(())
}
