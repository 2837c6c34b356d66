//! The writer: one transaction per batch, prepared statements, and the trace summary rows
//! upserted in the same transaction so the list is never out of step with the spans.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, params};

use super::StoreError;
use super::record::{Batch, SpanRow};
use crate::ids::TraceId;

/// What a committed batch changed.
#[derive(Debug, Clone, Default)]
pub struct WriteOutcome {
    /// Rows actually inserted (a retried, identical record is not stored twice).
    pub stored: usize,
    /// Traces that changed, for the live list.
    pub traces: Vec<TraceId>,
}

pub(super) struct Writer {
    conn: Connection,
    /// Resource fingerprint → `resources.id`, filled only after a commit succeeds.
    resource_ids: HashMap<String, i64>,
}

#[derive(Default)]
struct TraceAgg {
    start: i64,
    end: i64,
    count: i64,
    errors: i64,
    root: Option<(i64, i64, String, String)>, // rank, start, name, service
    services: BTreeSet<String>,
}

/// How likely a row is the trace's root (see `traces.root_rank`); `None` never names a trace.
fn root_rank(row: &SpanRow) -> Option<i64> {
    if row.is_pending() {
        return row.pending_parent_id.is_none().then_some(1);
    }
    if row.signal == super::record::Signal::Log {
        return Some(-1);
    }
    Some(if row.parent_span_id.is_none() { 2 } else { 0 })
}

const INSERT_SPAN: &str = "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, signal, name, msg, span_type, level_num, pending_parent_id, kind, start_ns, end_ns, status_code, status_message, flags, trace_state, service, resource_id, scope_name, scope_version, attributes, events, links, dropped_attributes, dropped_events, dropped_links, severity_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)";

// SQLite evaluates every SET expression against the old row, so the CASEs may all read root_rank.
const UPSERT_TRACE: &str = "INSERT INTO traces (trace_id, start_ns, end_ns, span_count, error_count, root_name, root_service, root_rank, root_start, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (trace_id) DO UPDATE SET
  start_ns = min(start_ns, excluded.start_ns),
  end_ns = max(end_ns, excluded.end_ns),
  span_count = span_count + excluded.span_count,
  error_count = error_count + excluded.error_count,
  root_name = CASE WHEN excluded.root_rank > root_rank OR (excluded.root_rank = root_rank AND excluded.root_start < root_start) THEN excluded.root_name ELSE root_name END,
  root_service = CASE WHEN excluded.root_rank > root_rank OR (excluded.root_rank = root_rank AND excluded.root_start < root_start) THEN excluded.root_service ELSE root_service END,
  root_start = CASE WHEN excluded.root_rank > root_rank OR (excluded.root_rank = root_rank AND excluded.root_start < root_start) THEN excluded.root_start ELSE root_start END,
  root_rank = max(root_rank, excluded.root_rank),
  updated_ns = excluded.updated_ns";

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn,
            resource_ids: HashMap::new(),
        }
    }

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(super) fn write(&mut self, batch: &Batch, now: i64) -> Result<WriteOutcome, StoreError> {
        let tx = self.conn.transaction()?;
        let mut new_ids = Vec::new();
        let mut resource_ids = Vec::with_capacity(batch.resources.len());
        {
            let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO resources (fingerprint, service, attributes, schema_url) VALUES (?1, ?2, ?3, ?4)")?;
            let mut select =
                tx.prepare_cached("SELECT id FROM resources WHERE fingerprint = ?1")?;
            for r in &batch.resources {
                let fingerprint = format!("{}\n{}", r.schema_url, r.attributes);
                if let Some(id) = self.resource_ids.get(&fingerprint) {
                    resource_ids.push(*id);
                    continue;
                }
                insert.execute(params![fingerprint, r.service, r.attributes, r.schema_url])?;
                let id: i64 = select.query_row(params![fingerprint], |row| row.get(0))?;
                resource_ids.push(id);
                new_ids.push((fingerprint, id));
            }
        }
        let mut traces: HashMap<TraceId, TraceAgg> = HashMap::new();
        let mut stored = 0;
        {
            let mut insert = tx.prepare_cached(INSERT_SPAN)?;
            for row in &batch.rows {
                let resource_id = usize::try_from(row.resource_id)
                    .ok()
                    .and_then(|i| resource_ids.get(i).copied())
                    .unwrap_or(0);
                let n = insert.execute(params![
                    &row.trace_id.0[..],
                    &row.span_id.0[..],
                    row.parent_span_id.as_ref().map(|p| p.0.to_vec()),
                    i64::from(row.signal == super::record::Signal::Log),
                    row.name,
                    row.msg,
                    row.span_type,
                    row.level_num,
                    row.pending_parent_id.as_ref().map(|p| p.0.to_vec()),
                    row.kind,
                    row.start_ns,
                    row.end_ns,
                    row.status_code,
                    row.status_message,
                    row.flags,
                    row.trace_state,
                    row.service,
                    resource_id,
                    row.scope_name,
                    row.scope_version,
                    row.attributes,
                    row.events,
                    row.links,
                    row.dropped[0],
                    row.dropped[1],
                    row.dropped[2],
                    row.severity_text,
                ])?;
                if n == 0 || row.trace_id.is_zero() {
                    stored += n;
                    continue;
                }
                stored += n;
                let agg = traces.entry(row.trace_id).or_insert_with(|| TraceAgg {
                    start: i64::MAX,
                    end: i64::MIN,
                    ..TraceAgg::default()
                });
                agg.start = agg.start.min(row.start_ns);
                agg.end = agg.end.max(row.end_ns);
                if !row.is_pending() {
                    agg.count += 1;
                    agg.errors += i64::from(row.is_error());
                }
                agg.services.insert(row.service.clone());
                if let Some(rank) = root_rank(row) {
                    let better = match &agg.root {
                        None => true,
                        Some((r, s, _, _)) => rank > *r || (rank == *r && row.start_ns < *s),
                    };
                    if better {
                        let name = row.msg.clone().unwrap_or_else(|| row.name.clone());
                        agg.root = Some((rank, row.start_ns, name, row.service.clone()));
                    }
                }
            }
        }
        {
            let mut upsert = tx.prepare_cached(UPSERT_TRACE)?;
            let mut service = tx.prepare_cached(
                "INSERT OR IGNORE INTO trace_services (trace_id, service) VALUES (?1, ?2)",
            )?;
            for (id, agg) in &traces {
                let (rank, root_start, name, svc) =
                    agg.root
                        .clone()
                        .unwrap_or((-9, agg.start, String::new(), String::new()));
                upsert.execute(params![
                    &id.0[..],
                    agg.start,
                    agg.end,
                    agg.count,
                    agg.errors,
                    name,
                    svc,
                    rank,
                    root_start,
                    now
                ])?;
                for s in &agg.services {
                    service.execute(params![&id.0[..], s])?;
                }
            }
        }
        tx.commit()?;
        self.resource_ids.extend(new_ids);
        Ok(WriteOutcome {
            stored,
            traces: traces.into_keys().collect(),
        })
    }
}
