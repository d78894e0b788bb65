//! Schema migrations, embedded in the binary and applied in order inside one transaction each;
//! `PRAGMA user_version` records how far a database has come.

use sqlx::SqlitePool;

use crate::{CatalogError, Result};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_gate.sql"),
];

pub async fn run(pool: &SqlitePool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(CatalogError::SchemaTooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
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
