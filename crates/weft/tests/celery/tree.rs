//! Span trees rebuilt from parent ids, printed without ids, so whole traces compare.
#![allow(dead_code)]

use std::collections::HashMap;
use weft::export::SpanRecord;
use weft::opentelemetry::trace::SpanKind;

/// One span from any source (weft's memory exporter, a Python process over OTLP).
#[derive(Debug, Clone)]
pub struct Node {
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub name: String,
    pub kind: String,
    pub service: String,
    /// Extra words printed after the kind (selected attributes, links).
    pub notes: Vec<String>,
    pub start: u64,
    /// Span ids this span links to.
    pub links: Vec<(String, String)>,
}

/// `producer`, `consumer`, … as OTLP and weft print them.
pub fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// Nodes of weft records; `attrs` are attribute keys printed as `key=value`.
pub fn from_weft(records: &[SpanRecord], service: &str, attrs: &[&str]) -> Vec<Node> {
    records
        .iter()
        .map(|r| {
            let kind = if r.span_type.as_str() == "log" {
                "log".to_owned()
            } else {
                kind_name(&r.kind).to_owned()
            };
            let mut notes: Vec<String> = attrs
                .iter()
                .filter_map(|k| r.attribute(k).map(|v| format!("{k}={v}")))
                .collect();
            notes.sort();
            Node {
                trace_id: r.span_context.trace_id().to_string(),
                span_id: r.span_context.span_id().to_string(),
                parent: r.parent_span_id.to_string(),
                name: r.message(),
                kind,
                service: service.to_owned(),
                notes,
                start: r.start_ns,
                links: r
                    .links
                    .iter()
                    .map(|l| {
                        let why = l
                            .attributes
                            .iter()
                            .map(|(_, v)| v.to_string())
                            .collect::<Vec<_>>()
                            .join(",");
                        (l.span_context.span_id().to_string(), why)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Every trace as an indented tree: `name [kind service notes] -> linked span names`.
/// Traces are printed in order of their first span's name; siblings by name.
pub fn render(nodes: &[Node]) -> String {
    let by_id: HashMap<&str, &Node> = nodes.iter().map(|n| (n.span_id.as_str(), n)).collect();
    let mut children: HashMap<&str, Vec<&Node>> = HashMap::new();
    let mut roots = Vec::new();
    for n in nodes {
        if by_id.contains_key(n.parent.as_str()) {
            children.entry(n.parent.as_str()).or_default().push(n);
        } else {
            roots.push(n);
        }
    }
    let mut out = Vec::new();
    roots.sort_by(|a, b| (&a.name, a.start).cmp(&(&b.name, b.start)));
    for root in roots {
        let remote = if root.parent.chars().all(|c| c == '0') {
            ""
        } else {
            " (parent not exported)"
        };
        out.push(format!("trace{remote}"));
        walk(root, &children, &by_id, 1, &mut out);
    }
    out.join("\n")
}

fn walk<'a>(
    node: &'a Node,
    children: &HashMap<&str, Vec<&'a Node>>,
    by_id: &HashMap<&str, &Node>,
    depth: usize,
    out: &mut Vec<String>,
) {
    let mut line = format!(
        "{}{} [{} {}",
        "  ".repeat(depth),
        node.name,
        node.kind,
        node.service
    );
    for note in &node.notes {
        line.push(' ');
        line.push_str(note);
    }
    line.push(']');
    for (id, why) in &node.links {
        let target = by_id
            .get(id.as_str())
            .map_or("<not exported>", |n| n.name.as_str());
        line.push_str(&format!(" -> {target} ({why})"));
    }
    out.push(line);
    let mut kids = children
        .get(node.span_id.as_str())
        .cloned()
        .unwrap_or_default();
    kids.sort_by(|a, b| (&a.name, a.start).cmp(&(&b.name, b.start)));
    for kid in kids {
        walk(kid, children, by_id, depth + 1, out);
    }
}

/// How many distinct traces the nodes belong to.
pub fn trace_count(nodes: &[Node]) -> usize {
    let mut ids: Vec<&str> = nodes.iter().map(|n| n.trace_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}
