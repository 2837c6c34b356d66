//! Shared by the `follow_*` tests: a real OpenTelemetry SDK pipeline and a span-tree view.
//!
//! Spans go through `SdkTracerProvider` + `SimpleSpanProcessor` into an
//! `InMemorySpanExporter`, exactly as an application's would. Each test builds its own
//! provider (never the global one), so tests in one binary can run in parallel.
//!
//! Assertions compare the *tree rebuilt from parent links*, never raw ids: the rendering
//! holds every span name, who its parent is, whether that parent is remote, and the
//! helper checks that every child shares its parent's trace id.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::collections::{BTreeMap, BTreeSet};

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceContextExt, Tracer, TracerProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use serde::{Deserialize, Serialize};

/// A tracer wired to an in-memory exporter through a simple (synchronous) processor.
pub(crate) struct Harness {
    exporter: InMemorySpanExporter,
    tracer: SdkTracer,
    _provider: SdkTracerProvider,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("weft-context-follow-tests");
        Self {
            exporter,
            tracer,
            _provider: provider,
        }
    }

    pub(crate) fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Runs `f` inside a new span named `name`, child of the current context.
    ///
    /// The span is ended explicitly when `f` returns. (Left to `Drop`, an SDK span ends
    /// only when the last `Context` clone holding it is gone, and a pool worker may still
    /// hold one for a moment after signalling that its job is done.)
    pub(crate) fn in_span<T>(&self, name: &'static str, f: impl FnOnce() -> T) -> T {
        self.tracer.in_span(name, |cx| {
            let out = f();
            cx.span().end();
            out
        })
    }

    /// A context holding a new, started span named `name` (child of the current context).
    /// The span ends when the last clone of the returned context is dropped.
    pub(crate) fn span_context(&self, name: &'static str) -> Context {
        Context::current_with_span(self.tracer.start(name))
    }

    /// Opens and immediately ends a span named `name` under the current context.
    pub(crate) fn leaf(&self, name: impl Into<String>) {
        self.tracer.in_span(name.into(), |_| {});
    }

    pub(crate) fn rows(&self) -> Vec<SpanRow> {
        let spans = self.exporter.get_finished_spans().unwrap_or_default();
        spans.iter().map(SpanRow::from).collect()
    }

    /// The exported spans as a tree; see [`tree`].
    pub(crate) fn tree(&self) -> String {
        tree(&self.rows())
    }

    /// How many distinct trace ids were exported.
    pub(crate) fn trace_count(&self) -> usize {
        trace_count(&self.rows())
    }
}

/// The parts of an exported span that a tree needs; also the child-process wire format.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SpanRow {
    pub(crate) name: String,
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) parent_span_id: String,
    pub(crate) parent_is_remote: bool,
}

impl From<&SpanData> for SpanRow {
    fn from(span: &SpanData) -> Self {
        Self {
            name: span.name.to_string(),
            trace_id: span.span_context.trace_id().to_string(),
            span_id: span.span_context.span_id().to_string(),
            parent_span_id: span.parent_span_id.to_string(),
            parent_is_remote: span.parent_span_is_remote,
        }
    }
}

pub(crate) fn trace_count(rows: &[SpanRow]) -> usize {
    rows.iter()
        .map(|r| r.trace_id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Renders spans as an indented tree, one span per line, children sorted by name.
///
/// A span whose parent is not among `rows` is a root; if it *has* a parent id it is shown
/// as `name <- missing parent` so a lost parent can never pass for a real root. A child
/// of a remote parent ends with ` (remote parent)`. Panics if a child's trace id differs
/// from its parent's.
pub(crate) fn tree(rows: &[SpanRow]) -> String {
    let invalid = SpanId::INVALID.to_string();
    let by_id: BTreeMap<&str, &SpanRow> = rows.iter().map(|r| (r.span_id.as_str(), r)).collect();
    let mut children: BTreeMap<&str, Vec<&SpanRow>> = BTreeMap::new();
    let mut roots = Vec::new();
    for row in rows {
        match by_id.get(row.parent_span_id.as_str()) {
            Some(parent) => {
                assert_eq!(
                    row.trace_id, parent.trace_id,
                    "span {:?} is in another trace than its parent {:?}",
                    row.name, parent.name
                );
                children
                    .entry(parent.span_id.as_str())
                    .or_default()
                    .push(row);
            }
            None => roots.push(row),
        }
    }
    let mut out = String::new();
    render(&mut out, roots, &children, 0, &invalid);
    out
}

fn render(
    out: &mut String,
    mut level: Vec<&SpanRow>,
    children: &BTreeMap<&str, Vec<&SpanRow>>,
    depth: usize,
    invalid: &str,
) {
    level.sort_by(|a, b| a.name.cmp(&b.name));
    for row in level {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&row.name);
        if depth == 0 && row.parent_span_id != invalid {
            out.push_str(" <- missing parent");
        }
        if row.parent_is_remote {
            out.push_str(" (remote parent)");
        }
        out.push('\n');
        let kids = children
            .get(row.span_id.as_str())
            .cloned()
            .unwrap_or_default();
        render(out, kids, children, depth + 1, invalid);
    }
}
