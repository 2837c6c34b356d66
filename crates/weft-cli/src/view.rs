//! The JSON the API serves and the terminal reads back: a trace summary for the list, and
//! a whole trace as a depth-first list of nodes with its diagnoses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::diagnose::{self, Badge, Context, Finding};
use crate::ids::{SpanId, TraceId};
use crate::store::TraceSummaryRow;
use crate::store::record::{ResourceRow, Signal};
use crate::tree::Tree;

/// One row of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The trace.
    pub trace_id: TraceId,
    /// The root's message or name.
    pub root: String,
    /// The root's service.
    pub root_service: String,
    /// Services touched.
    pub services: Vec<String>,
    /// Spans and logs.
    pub span_count: i64,
    /// Records with error status or level.
    pub error_count: i64,
    /// Earliest start, ns since the epoch.
    pub start_ns: i64,
    /// Latest end minus earliest start.
    pub duration_ns: i64,
    /// Health badges (empty when healthy).
    pub health: Vec<Badge>,
}

impl TraceSummary {
    /// A summary with its badges.
    pub fn new(row: TraceSummaryRow, health: Vec<Badge>) -> Self {
        TraceSummary {
            trace_id: row.trace_id,
            root: row.root_name,
            root_service: row.root_service,
            services: row.services,
            span_count: row.span_count,
            error_count: row.error_count,
            start_ns: row.start_ns,
            duration_ns: row.end_ns - row.start_ns,
            health,
        }
    }
}

/// One span or log of a trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeView {
    /// Unique key in the trace (span id, `log-<n>`, or `<id>~<n>` for a duplicate id).
    pub key: String,
    /// Span id (for a log: the span it belongs to).
    pub span_id: SpanId,
    /// Parent span id as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    /// Key of the parent node in this tree, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_key: Option<String>,
    /// Depth in the tree.
    pub depth: usize,
    /// Span name.
    pub name: String,
    /// What to display (`logfire.msg` or the name).
    pub label: String,
    /// Service.
    pub service: String,
    /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
    pub kind: String,
    /// `span`, `log` or `pending_span`, if Logfire set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_type: Option<String>,
    /// Level number (Logfire/OTLP severity scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_num: Option<i64>,
    /// A log (OTLP log record or Logfire log span): zero duration.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_log: bool,
    /// Started but its end has not arrived: draw as an open bar.
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
    /// Start, ns since the epoch (skew-corrected if requested).
    pub start_ns: i64,
    /// End (for an open span: the latest end below it so far).
    pub end_ns: i64,
    /// OTLP status code.
    pub status_code: i32,
    /// Status message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// OTLP span flags.
    pub flags: u32,
    /// Tracestate.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    /// Instrumentation scope name.
    pub scope: String,
    /// Resource id (key of [`TraceView::resources`]).
    pub resource_id: i64,
    /// Attributes (JSON object).
    pub attributes: Box<RawValue>,
    /// Events (JSON array).
    pub events: Box<RawValue>,
    /// Links (JSON array).
    pub links: Box<RawValue>,
    /// On the critical path.
    #[serde(default, skip_serializing_if = "is_false")]
    pub critical: bool,
    /// Its parent never arrived.
    #[serde(default, skip_serializing_if = "is_false")]
    pub missing_parent: bool,
    /// Codes of the findings that name it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// Nanoseconds added by skew correction (0 if none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skew_ns: i64,
}

/// A whole trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceView {
    /// The trace.
    pub trace_id: TraceId,
    /// Earliest start.
    pub start_ns: i64,
    /// Latest end.
    pub end_ns: i64,
    /// Services, in order of first appearance.
    pub services: Vec<String>,
    /// Number of nodes.
    pub span_count: usize,
    /// Depth-first nodes.
    pub nodes: Vec<NodeView>,
    /// Resource attributes by id.
    pub resources: BTreeMap<i64, Box<RawValue>>,
    /// Diagnoses.
    pub findings: Vec<Finding>,
    /// Diagnoses counted by kind.
    pub health: Vec<Badge>,
    /// Per-service clock offsets found (ns to add), whether applied or not.
    pub skew_offsets: BTreeMap<String, i64>,
    /// Whether `skew_offsets` were applied to the times above.
    pub skew_corrected: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

/// The stored JSON as a raw value, moved rather than copied; checked once (a database edited
/// by hand must not break the whole answer), falling back to an empty value.
fn raw(json: String, fallback: &'static str) -> Box<RawValue> {
    RawValue::from_string(json)
        .or_else(|_| RawValue::from_string(fallback.to_owned()))
        .unwrap_or_else(|_| Box::<RawValue>::default())
}

impl TraceView {
    /// Builds the view of a tree; `correct_skew` applies the estimated clock offsets.
    ///
    /// Consumes the tree: a 10 000-span trace's names, attributes and events move into the
    /// view instead of being copied.
    pub fn build(
        tree: Tree,
        resources: &BTreeMap<i64, ResourceRow>,
        cx: &Context,
        correct_skew: bool,
    ) -> Self {
        let findings = diagnose::diagnose(&tree, cx);
        let offsets = diagnose::skew_offsets(&tree);
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in &findings {
            for k in &f.spans {
                by_key.entry(k.clone()).or_default().push(f.code.clone());
            }
        }
        // Everything that needs the whole tree, before its nodes are taken apart.
        let ends: Vec<i64> = tree.order.iter().map(|&i| tree.effective_end(i)).collect();
        let parent_keys: Vec<Option<String>> = tree
            .order
            .iter()
            .map(|&i| tree.nodes[i].parent.map(|p| tree.nodes[p].key.clone()))
            .collect();
        let Tree {
            trace_id,
            nodes: mut tree_nodes,
            order,
            ..
        } = tree;
        let mut services: Vec<String> = Vec::new();
        let mut nodes = Vec::with_capacity(order.len());
        for ((i, end), parent_key) in order.into_iter().zip(ends).zip(parent_keys) {
            let Some(n) = tree_nodes.get_mut(i) else {
                continue;
            };
            let key = std::mem::take(&mut n.key);
            let row = &mut n.row;
            if !services.contains(&row.service) {
                services.push(row.service.clone());
            }
            let skew = if correct_skew {
                offsets.get(&row.service).copied().unwrap_or(0)
            } else {
                0
            };
            let name = std::mem::take(&mut row.name);
            let label = match row.msg.take() {
                Some(msg) => msg,
                None => name.clone(),
            };
            let is_log = row.is_log();
            nodes.push(NodeView {
                findings: by_key.remove(&key).unwrap_or_default(),
                key,
                span_id: row.span_id,
                parent_span_id: row.parent_span_id,
                parent_key,
                depth: n.depth,
                name,
                label,
                service: std::mem::take(&mut row.service),
                kind: kind_name(row.kind).to_owned(),
                span_type: row.span_type.take(),
                level_num: row.level_num,
                is_log,
                open: n.open,
                start_ns: row.start_ns + skew,
                end_ns: end + skew,
                status_code: row.status_code,
                status_message: std::mem::take(&mut row.status_message),
                flags: row.flags,
                trace_state: std::mem::take(&mut row.trace_state),
                scope: std::mem::take(&mut row.scope_name),
                resource_id: row.resource_id,
                attributes: raw(std::mem::take(&mut row.attributes), "{}"),
                events: raw(std::mem::take(&mut row.events), "[]"),
                links: raw(std::mem::take(&mut row.links), "[]"),
                critical: n.critical,
                missing_parent: n.missing_parent,
                skew_ns: skew,
            });
        }
        let start_ns = nodes.iter().map(|n| n.start_ns).min().unwrap_or(0);
        let end_ns = nodes.iter().map(|n| n.end_ns).max().unwrap_or(0);
        TraceView {
            trace_id,
            start_ns,
            end_ns,
            services,
            span_count: nodes.len(),
            resources: resources
                .iter()
                .map(|(id, r)| (*id, raw(r.attributes.clone(), "{}")))
                .collect(),
            health: diagnose::badges(&findings),
            findings,
            nodes,
            skew_offsets: offsets,
            skew_corrected: correct_skew,
        }
    }

    /// The indented outline (`service label` per line), as `Tree::outline` gives it.
    pub fn outline(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}{} {}\n", "  ".repeat(n.depth), n.service, n.label))
            .collect()
    }
}

/// True if any record in the tree is a span (not only logs).
pub fn has_spans(tree: &Tree) -> bool {
    tree.nodes.iter().any(|n| n.row.signal == Signal::Span)
}
