//! The catalog file through rusqlite, for what every request does: point reads on the
//! caller's thread (a small pool of `query_only` connections: the namespace's lookups and
//! listings, the tenant's key state, usage), and each change a request makes (an upload's
//! commit, remove, mkdir, rmdir, rename, setstat, a first complete download) as one
//! transaction on one blocking thread, with its audit record (see `outbox`).
//!
//! A point read is a few microseconds from SQLite's page cache; through sqlx it is a round trip
//! to a worker thread (two thread wake-ups), which cost more than the read itself on every
//! path component of every request; an upload's commit was five such round trips. Admin
//! commands, gate state and the retention sweep stay on sqlx (a download's question
//! whether its one file has expired is asked here). WAL mode lets readers run while a writer commits; each statement sees
//! the last committed state. Writers (sqlx's and this one) take the write lock at BEGIN
//! IMMEDIATE or wait for it (busy timeout).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{CatalogError, Result};

/// Idle connections kept for reuse (more are opened under load and closed after use).
const IDLE: usize = 8;

pub(crate) struct Direct {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Opened at the first write.
    writer: Mutex<Option<Connection>>,
    /// Every connection opened read-only, and no writer ([`crate::Catalog::open_read_only`]).
    read_only: bool,
}

impl Direct {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
            read_only: false,
        }
    }

    /// Reads only: no connection may write, none is opened read-write.
    pub(crate) fn read_only(path: &Path) -> Self {
        Self {
            read_only: true,
            ..Self::new(path)
        }
    }

    fn connect(&self, query_only: bool) -> Result<Connection> {
        let open_err = |source: rusqlite::Error| CatalogError::Open {
            path: self.path.display().to_string(),
            source: source.into(),
        };
        let mode = match self.read_only {
            true => OpenFlags::SQLITE_OPEN_READ_ONLY,
            false => OpenFlags::SQLITE_OPEN_READ_WRITE,
        };
        let conn = Connection::open_with_flags(&self.path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        if query_only {
            conn.pragma_update(None, "query_only", "ON")
                .map_err(open_err)?;
        } else {
            // As the sqlx pool's connections (lib.rs, `open_pool`).
            for (pragma, value) in [
                ("synchronous", "FULL"),
                ("foreign_keys", "ON"),
                ("secure_delete", "ON"),
            ] {
                conn.pragma_update(None, pragma, value).map_err(open_err)?;
            }
        }
        Ok(conn)
    }

    /// Runs `f` on an idle connection (or a new one).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.connect(true)?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE {
            idle.push(conn);
        }
        out
    }

    /// Runs `f` in one immediate transaction on the writer connection, committing if it
    /// succeeds. Blocks (waits for the write lock and the commit's flush): call it from a
    /// blocking thread.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.read_only {
            return Err(CatalogError::ReadOnly);
        }
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match slot.take() {
            Some(conn) => slot.insert(conn),
            None => slot.insert(self.connect(false)?),
        };
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}
