//! Point reads of the catalog on the caller's thread: a small pool of rusqlite connections to
//! the catalog file, used only for the namespace's lookups and listings (`namespace.rs`).
//!
//! Such a read is a few microseconds from SQLite's page cache; through sqlx it is a round trip
//! to a worker thread (two thread wake-ups), which cost more than the read itself on every
//! path component of every request. Writes stay on sqlx. WAL mode lets these readers run while
//! a writer commits; each statement sees the last committed state. The connections are
//! `query_only`: nothing here can change the catalog.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{CatalogError, Result};

/// Idle connections kept for reuse (more are opened under load and closed after use).
const IDLE: usize = 8;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn connect(&self) -> Result<Connection> {
        let open_err = |source| CatalogError::OpenDirect {
            path: self.path.display().to_string(),
            source,
        };
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(open_err)?;
        Ok(conn)
    }

    /// Runs `f` on an idle connection (or a new one).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE {
            idle.push(conn);
        }
        out
    }
}
