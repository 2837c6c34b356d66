//! The database layout and its version.
//!
//! The SQL lives in `schema/*.sql`, one object family per file, applied in file-name order.

use rusqlite::Connection;

use super::StoreError;

/// The layout version, kept in `PRAGMA user_version`.
///
/// Bump rule: any change to a `schema/*.sql` file, or to what a column means, bumps this
/// by one and adds a line below. weft refuses to open a database with another version and
/// says so (it does not migrate yet), instead of failing mid-ingest with "no such column".
///
/// History:
/// - 1: resources, spans (with Logfire columns and the identity index), traces, trace_services.
/// - 2: `spans.severity_text`, so a log's severity text survives beside its event name.
pub const SCHEMA_VERSION: i32 = 2;

/// The schema files in the order they apply.
pub const SCHEMA_SQL: &[(&str, &str)] = &[
    (
        "001_resources.sql",
        include_str!("schema/001_resources.sql"),
    ),
    ("002_spans.sql", include_str!("schema/002_spans.sql")),
    ("003_traces.sql", include_str!("schema/003_traces.sql")),
];

/// Creates the tables in a new database, or checks the version of an existing one.
pub fn ensure(conn: &mut Connection, place: &str) -> Result<(), StoreError> {
    let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if version != 0 || tables != 0 {
        return Err(StoreError::SchemaMismatch {
            place: place.to_owned(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let tx = conn.transaction()?;
    for (_, sql) in SCHEMA_SQL {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
