//! Keeping the store bounded: the oldest traces go first, by age and then by size.

use std::time::Duration;

use rusqlite::{Connection, params};

use super::StoreError;

/// Retention limits (`--retention-age`, `--retention-size-mb`); `None` = unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Traces last updated longer ago than this are deleted.
    pub max_age: Option<Duration>,
    /// The database's used pages are kept under this many bytes.
    pub max_bytes: Option<u64>,
}

fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from((pages - free) * size).unwrap_or(0))
}

/// Deletes the given traces and everything in them; one transaction.
fn delete_where(conn: &mut Connection, select_ids: &str, arg: i64) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let ids: Vec<Vec<u8>> = {
        let mut stmt = tx.prepare(select_ids)?;
        let rows = stmt.query_map(params![arg], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in &ids {
        tx.execute("DELETE FROM spans WHERE trace_id = ?1", params![id])?;
        tx.execute(
            "DELETE FROM trace_services WHERE trace_id = ?1",
            params![id],
        )?;
        tx.execute("DELETE FROM traces WHERE trace_id = ?1", params![id])?;
    }
    tx.commit()?;
    Ok(ids.len())
}

/// Applies `retention` now; returns the number of traces deleted.
pub fn enforce(
    conn: &mut Connection,
    retention: &Retention,
    now_ns: i64,
    on_disk: bool,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    if let Some(age) = retention.max_age {
        let cutoff = now_ns.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX));
        deleted += delete_where(
            conn,
            "SELECT trace_id FROM traces WHERE updated_ns < ?1",
            cutoff,
        )?;
    }
    if let Some(max) = retention.max_bytes {
        // Each round drops the oldest 5% (at least one trace) and measures again.
        for _ in 0..100 {
            if used_bytes(conn)? <= max {
                break;
            }
            let count: i64 = conn.query_row("SELECT count(*) FROM traces", [], |r| r.get(0))?;
            if count == 0 {
                break;
            }
            let n = (count / 20).max(1);
            deleted += delete_where(
                conn,
                "SELECT trace_id FROM traces ORDER BY updated_ns LIMIT ?1",
                n,
            )?;
        }
    }
    if deleted > 0 && on_disk {
        // Give freed pages back to the file system (auto_vacuum = INCREMENTAL).
        conn.execute_batch("PRAGMA incremental_vacuum")?;
    }
    Ok(deleted)
}
