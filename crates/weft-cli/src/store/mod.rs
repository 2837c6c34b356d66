//! The embedded SQLite store: one writer connection (batches go in one transaction each,
//! so a request is stored whole or not at all) and a small pool of readers (WAL lets them
//! read while the writer writes).

pub mod read;
pub mod record;
pub mod retention;
pub mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

pub use read::{ListQuery, TraceSummaryRow};
pub use retention::{Deleted, Retention};
pub use write::WriteOutcome;

use record::Batch;
use write::Writer;

/// The database file name inside `--data-dir`.
pub const DB_FILE: &str = "weft.db";

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Nothing on disk; gone when the process exits (`--memory`).
    Memory,
    /// `DB_FILE` inside this directory (`--data-dir`).
    Dir(PathBuf),
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory could not be created or the database not opened.
    #[error(
        "cannot open the database at {path}: {source} (choose another place with --data-dir, or use --memory)"
    )]
    Open {
        /// The database path.
        path: PathBuf,
        /// What SQLite or the file system said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by another weft version.
    #[error(
        "the database at {place} has schema version {found}, this weft uses {expected}: move it away or pass another --data-dir (weft does not migrate databases yet)"
    )]
    SchemaMismatch {
        /// The database path.
        place: String,
        /// `PRAGMA user_version` found.
        found: i32,
        /// `SCHEMA_VERSION`.
        expected: i32,
    },
    /// No database where a read-only command looked.
    #[error(
        "no weft database at {0}: start `weft serve --data-dir <dir>` first, or read from a running server with --url"
    )]
    Missing(PathBuf),
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A thread panicked while holding a connection.
    #[error("a database connection was poisoned by a panic; restart weft serve")]
    Poisoned,
}

struct Inner {
    writer: Mutex<Writer>,
    /// `None` in memory mode: readers then share the writer's connection.
    readers: Option<Mutex<Vec<Connection>>>,
    path: Option<PathBuf>,
}

/// A handle on the store; clones share the connections.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn open_err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Open {
        path: path.to_owned(),
        source: Box::new(e),
    }
}

fn tune(conn: &Connection, wal: bool) -> Result<(), rusqlite::Error> {
    if wal {
        // WAL: readers never block the writer, and a kill -9 leaves the last committed
        // transaction readable. NORMAL skips the fsync per commit; a process crash still
        // loses nothing committed (only an OS crash could).
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoint (copy the WAL back, with its fsyncs) every 64 MiB instead of 4 MiB:
        // at 100 000 spans/s the default would checkpoint several times a second.
        conn.pragma_update(None, "wal_autocheckpoint", 16384)?;
    }
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store.
    pub fn open(location: &Location) -> Result<Self, StoreError> {
        match location {
            Location::Memory => {
                let mut conn = Connection::open_in_memory()?;
                tune(&conn, false)?;
                schema::ensure(&mut conn, ":memory:")?;
                Ok(Self::from_parts(conn, None, None))
            }
            Location::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| open_err(dir, e))?;
                let path = dir.join(DB_FILE);
                let mut conn = Connection::open(&path).map_err(|e| open_err(&path, e))?;
                // Must precede the first table so the file can later shrink after retention.
                conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
                tune(&conn, true)?;
                schema::ensure(&mut conn, &path.display().to_string())?;
                Ok(Self::from_parts(
                    conn,
                    Some(Mutex::new(Vec::new())),
                    Some(path),
                ))
            }
        }
    }

    /// Opens an existing store for reading only (the terminal commands).
    pub fn open_read_only(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::Missing(path));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| open_err(&path, e))?;
        tune(&conn, false)?;
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != schema::SCHEMA_VERSION {
            return Err(StoreError::SchemaMismatch {
                place: path.display().to_string(),
                found: version,
                expected: schema::SCHEMA_VERSION,
            });
        }
        Ok(Self::from_parts(conn, None, Some(path)))
    }

    fn from_parts(
        conn: Connection,
        readers: Option<Mutex<Vec<Connection>>>,
        path: Option<PathBuf>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(Writer::new(conn)),
                readers,
                path,
            }),
        }
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>, StoreError> {
        self.inner.writer.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Stores a batch in one transaction; returns only after the commit.
    pub fn write(&self, batch: &Batch) -> Result<WriteOutcome, StoreError> {
        self.writer()?.write(batch, now_ns())
    }

    /// Runs `f` on a reader connection (a pooled one, or the writer's in memory mode).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (Some(pool), Some(path)) = (&self.inner.readers, &self.inner.path) else {
            return f(self.writer()?.conn());
        };
        let pooled = pool.lock().map_err(|_| StoreError::Poisoned)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
                tune(&c, false)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut p) = pool.lock() {
            // A handful of idle readers is plenty on a 2-core machine.
            if p.len() < 8 {
                p.push(conn);
            }
        }
        result
    }

    /// Deletes the oldest traces (and untraced logs) beyond the retention limits.
    pub fn enforce_retention(&self, retention: &Retention) -> Result<Deleted, StoreError> {
        retention::enforce(
            self.writer()?.conn_mut(),
            retention,
            now_ns(),
            self.inner.path.is_some(),
        )
    }
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
