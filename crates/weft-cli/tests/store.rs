//! The store on its own: schema version refusal, retention by age and by size, read-only
//! opening for the terminal commands.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::*;
use weft_cli::otlp::convert;
use weft_cli::store::{Location, Retention, Store, StoreError, read};

fn fill(store: &Store, traces: u128, spans_each: u64) {
    for t in 1..=traces {
        let spans: Vec<S> = (1..=spans_each)
            .map(|i| {
                S::new("svc", "work", t, i, (i > 1).then_some(1), 1_000, 2_000)
                    .attr("payload", "x".repeat(200))
            })
            .collect();
        store
            .write(&convert::traces(&request(&spans)).batch)
            .unwrap();
    }
}

fn trace_count(store: &Store) -> usize {
    store
        .read(|c| {
            read::list_traces(
                c,
                &weft_cli::store::ListQuery {
                    limit: Some(1000),
                    ..Default::default()
                },
            )
        })
        .unwrap()
        .len()
}

#[test]
fn another_schema_version_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(&Location::Dir(dir.path().to_owned())).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("weft.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&Location::Dir(dir.path().to_owned())).unwrap_err();
    assert!(matches!(err, StoreError::SchemaMismatch { found: 99, .. }));
    assert!(err.to_string().contains("pass another --data-dir"), "{err}");
}

#[test]
fn retention_by_age_deletes_old_traces() {
    let store = Store::open(&Location::Memory).unwrap();
    fill(&store, 3, 5);
    let keep = Retention {
        max_age: Some(Duration::from_secs(3600)),
        max_bytes: None,
    };
    assert!(store.enforce_retention(&keep).unwrap().is_empty());
    std::thread::sleep(Duration::from_millis(20));
    let drop_all = Retention {
        max_age: Some(Duration::from_millis(10)),
        max_bytes: None,
    };
    assert_eq!(store.enforce_retention(&drop_all).unwrap().traces, 3);
    assert_eq!(trace_count(&store), 0);
    let left: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(left, 0, "their spans went too");
}

#[test]
fn retention_by_size_keeps_the_newest_traces_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::Dir(dir.path().to_owned())).unwrap();
    fill(&store, 200, 20);
    let limit = 400 * 1024;
    let deleted = store
        .enforce_retention(&Retention {
            max_age: None,
            max_bytes: Some(limit),
        })
        .unwrap();
    let deleted = deleted.traces;
    assert!(deleted > 0 && deleted < 200, "deleted {deleted}");
    let used: i64 = store.read(|c| Ok(c.query_row("SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size", [], |r| r.get(0))?)).unwrap();
    assert!(used as u64 <= limit, "{used} bytes used");
    let newest = store
        .read(|c| read::list_traces(c, &Default::default()))
        .unwrap();
    assert!(
        newest
            .iter()
            .any(|t| t.trace_id.to_string() == format!("{:032x}", 200)),
        "the newest trace stays"
    );
}

#[test]
fn read_only_open_needs_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_read_only(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains(
            "start `weft serve --data-dir <dir>` first, or read from a running server with --url"
        ),
        "{err}"
    );
}

fn untraced_logs(store: &Store) -> i64 {
    store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM spans WHERE trace_id = zeroblob(16)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

fn write_logs(store: &Store, logs: &[L]) {
    store
        .write(&convert::logs(&log_request(logs)).batch)
        .unwrap();
}

#[test]
fn retention_by_age_deletes_old_logs_that_have_no_trace() {
    let store = Store::open(&Location::Memory).unwrap();
    let now = now_ms();
    // Two hours old, and one just now; neither has trace context.
    write_logs(
        &store,
        &[
            L::new("svc", 0, 0, now - 2 * 3600 * 1000, "old"),
            L::new("svc", 0, 0, now, "new"),
        ],
    );
    fill(&store, 1, 2);
    assert_eq!(untraced_logs(&store), 2);
    let deleted = store
        .enforce_retention(&Retention {
            max_age: Some(Duration::from_secs(3600)),
            max_bytes: None,
        })
        .unwrap();
    assert_eq!(deleted.untraced_logs, 1, "{deleted:?}");
    assert_eq!(deleted.traces, 0, "the fresh trace stays");
    let left: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT msg FROM spans WHERE trace_id = zeroblob(16)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(left, "new");
}

#[test]
fn retention_by_size_deletes_old_untraced_logs_before_newer_traces() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::Dir(dir.path().to_owned())).unwrap();
    // A mass of context-less logs, all older than the traces that follow them.
    let old = now_ms() - 3600 * 1000;
    for batch in 0..40u64 {
        let logs: Vec<L> = (0..100u64)
            .map(|i| L::new("svc", 0, 0, old + batch * 100 + i, &"x".repeat(200)))
            .collect();
        write_logs(&store, &logs);
    }
    fill(&store, 20, 5);
    let logs_before = untraced_logs(&store);
    assert_eq!(logs_before, 4000);
    let limit = 600 * 1024;
    let deleted = store
        .enforce_retention(&Retention {
            max_age: None,
            max_bytes: Some(limit),
        })
        .unwrap();
    assert!(deleted.untraced_logs > 0, "{deleted:?}");
    assert_eq!(deleted.traces, 0, "the newer traces stay: {deleted:?}");
    assert_eq!(trace_count(&store), 20);
    assert_eq!(
        untraced_logs(&store),
        logs_before - deleted.untraced_logs as i64
    );
    let used: i64 = store.read(|c| Ok(c.query_row("SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size", [], |r| r.get(0))?)).unwrap();
    assert!(used as u64 <= limit, "{used} bytes used");
    // The oldest went: what is left is the newest logs.
    let oldest_left: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT min(start_ns) FROM spans WHERE trace_id = zeroblob(16)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(oldest_left > (old as i64) * 1_000_000);
}
