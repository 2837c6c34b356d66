//! An exporter that keeps records in memory, for tests of instrumented code.
//!
//! It is a real exporter on the real export thread, not a stand-in for the pipeline:
//! what it holds is exactly what an OTLP exporter would have been handed.

use super::{ExportError, SpanExporter};
use crate::record::{SpanRecord, SpanType};
use std::sync::{Arc, Mutex, PoisonError};

/// Keeps every exported record; clone it to read them from the test.
///
/// ```
/// let memory = weft::export::memory::MemoryExporter::default();
/// let weft = weft::configure()
///     .local()
///     .console(false)
///     .no_default_exporter()
///     .exporter(memory.clone())
///     .finish()
///     .unwrap();
/// weft.in_scope(|| weft::info!("hello"));
/// weft.force_flush();
/// assert_eq!(memory.spans()[0].name, "hello");
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryExporter {
    records: Arc<Mutex<Vec<SpanRecord>>>,
}

impl MemoryExporter {
    /// Every record exported so far, pending-span records included, in export order.
    pub fn records(&self) -> Vec<SpanRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Finished spans and logs only (no pending-span records).
    pub fn spans(&self) -> Vec<SpanRecord> {
        let mut v = self.records();
        v.retain(|r| r.span_type != SpanType::PendingSpan);
        v
    }

    /// The finished spans and logs as an indented tree, one line per record:
    /// `message (service-local span id)`, children under their parent, roots first in
    /// start order. A record whose parent is not here (a remote or lost parent) is
    /// shown as a root marked `↖ parent <id> not here`.
    pub fn tree(&self) -> String {
        let spans = self.spans();
        let ids: std::collections::HashSet<_> =
            spans.iter().map(|s| s.span_context.span_id()).collect();
        let mut out = String::new();
        let mut roots: Vec<&SpanRecord> = spans
            .iter()
            .filter(|s| !ids.contains(&s.parent_span_id))
            .collect();
        roots.sort_by_key(|s| s.start_ns);
        for root in roots {
            write_tree(&spans, root, 0, &mut out);
        }
        out
    }

    /// Forgets everything exported so far.
    pub fn clear(&self) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl SpanExporter for MemoryExporter {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(batch);
        Ok(())
    }
}

fn write_tree(spans: &[SpanRecord], node: &SpanRecord, depth: usize, out: &mut String) {
    use std::fmt::Write;
    let kind = match node.span_type {
        SpanType::Log => "log ",
        _ => "",
    };
    let _ = write!(out, "{}{kind}{}", "  ".repeat(depth), node.message());
    if depth == 0 && node.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        let _ = write!(out, "  \u{2196} parent {} not here", node.parent_span_id);
    }
    out.push('\n');
    let mut children: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| {
            s.parent_span_id == node.span_context.span_id()
                && s.span_context.trace_id() == node.span_context.trace_id()
        })
        .collect();
    children.sort_by_key(|s| s.start_ns);
    for child in children {
        write_tree(spans, child, depth + 1, out);
    }
}
