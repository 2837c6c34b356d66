//! Keeping the store bounded: the oldest traces go first, by age and then by size.
//!
//! Log records without trace context are stored under the all-zero trace id, which has no
//! `traces` row (it is not a trace and must not appear in the list). They are retained on
//! their own clock: a trace ages by the wall clock of its last batch (`traces.updated_ns`),
//! a context-less log by its own timestamp (`spans.start_ns`), since nothing else about it
//! changes after it arrives.

use std::time::Duration;

use rusqlite::{Connection, Transaction, params};

use super::StoreError;

/// Retention limits (`--retention-age`, `--retention-size-mb`); `None` = unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Traces last updated longer ago than this are deleted.
    pub max_age: Option<Duration>,
    /// The database's used pages are kept under this many bytes.
    pub max_bytes: Option<u64>,
}

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Whole traces (their spans, logs and summary rows).
    pub traces: usize,
    /// Log records that had no trace id.
    pub untraced_logs: usize,
}

impl Deleted {
    /// True when the pass deleted nothing.
    pub fn is_empty(&self) -> bool {
        self.traces == 0 && self.untraced_logs == 0
    }

    fn add(&mut self, other: Deleted) {
        self.traces += other.traces;
        self.untraced_logs += other.untraced_logs;
    }
}

fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from((pages - free) * size).unwrap_or(0))
}

fn delete_traces(tx: &Transaction<'_>, ids: &[Vec<u8>]) -> Result<(), StoreError> {
    for id in ids {
        tx.execute("DELETE FROM spans WHERE trace_id = ?1", params![id])?;
        tx.execute(
            "DELETE FROM trace_services WHERE trace_id = ?1",
            params![id],
        )?;
        tx.execute("DELETE FROM traces WHERE trace_id = ?1", params![id])?;
    }
    Ok(())
}

fn by_age(conn: &mut Connection, cutoff: i64) -> Result<Deleted, StoreError> {
    let tx = conn.transaction()?;
    let ids: Vec<Vec<u8>> = {
        let mut stmt = tx.prepare("SELECT trace_id FROM traces WHERE updated_ns < ?1")?;
        let rows = stmt.query_map(params![cutoff], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    delete_traces(&tx, &ids)?;
    let untraced_logs = tx.execute(
        "DELETE FROM spans WHERE trace_id = zeroblob(16) AND start_ns < ?1",
        params![cutoff],
    )?;
    tx.commit()?;
    Ok(Deleted {
        traces: ids.len(),
        untraced_logs,
    })
}

/// Deletes the oldest `n` units, a unit being a trace (aged by its last update) or an
/// untraced log record (aged by its timestamp), merged into one oldest-first order.
fn oldest(conn: &mut Connection, n: i64) -> Result<Deleted, StoreError> {
    let tx = conn.transaction()?;
    let mut traces = Vec::new();
    let mut logs = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT 0, trace_id, updated_ns AS at FROM traces
             UNION ALL
             SELECT 1, id, start_ns AS at FROM spans WHERE trace_id = zeroblob(16)
             ORDER BY at LIMIT ?1",
        )?;
        let mut rows = stmt.query(params![n])?;
        while let Some(r) = rows.next()? {
            if r.get::<_, i64>(0)? == 0 {
                traces.push(r.get::<_, Vec<u8>>(1)?);
            } else {
                logs.push(r.get::<_, i64>(1)?);
            }
        }
    }
    delete_traces(&tx, &traces)?;
    {
        let mut del = tx.prepare("DELETE FROM spans WHERE id = ?1")?;
        for id in &logs {
            del.execute(params![id])?;
        }
    }
    tx.commit()?;
    Ok(Deleted {
        traces: traces.len(),
        untraced_logs: logs.len(),
    })
}

/// Applies `retention` now; returns what was deleted.
pub fn enforce(
    conn: &mut Connection,
    retention: &Retention,
    now_ns: i64,
    on_disk: bool,
) -> Result<Deleted, StoreError> {
    let mut deleted = Deleted::default();
    if let Some(age) = retention.max_age {
        let cutoff = now_ns.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX));
        deleted.add(by_age(conn, cutoff)?);
    }
    if let Some(max) = retention.max_bytes {
        // Each round drops the oldest 5% (at least one unit) and measures again.
        for _ in 0..100 {
            if used_bytes(conn)? <= max {
                break;
            }
            let count: i64 = conn.query_row(
                "SELECT (SELECT count(*) FROM traces) + (SELECT count(*) FROM spans WHERE trace_id = zeroblob(16))",
                [],
                |r| r.get(0),
            )?;
            if count == 0 {
                break;
            }
            deleted.add(oldest(conn, (count / 20).max(1))?);
        }
    }
    if !deleted.is_empty() && on_disk {
        // Give freed pages back to the file system (auto_vacuum = INCREMENTAL).
        conn.execute_batch("PRAGMA incremental_vacuum")?;
    }
    Ok(deleted)
}
