//! Shared by the HTTP, gRPC and Python tests (included with `#[path]`): a local weft
//! instance, a layer that carries it into servers, loopback servers, and the span tree
//! rebuilt from parent ids.
#![allow(clippy::unwrap_used, missing_docs, dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;

pub fn local() -> (weft::Weft, MemoryExporter) {
    weft::testing::deterministic().unwrap()
}

/// Runs a service's `call` and its future with `cx` current: how a test carries its
/// local instance into a server's connection tasks.
#[derive(Clone)]
pub struct InCxLayer(pub Context);

impl<S> tower::Layer<S> for InCxLayer {
    type Service = InCx<S>;
    fn layer(&self, inner: S) -> InCx<S> {
        InCx {
            inner,
            cx: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct InCx<S> {
    inner: S,
    cx: Context,
}

impl<S: tower::Service<R>, R> tower::Service<R> for InCx<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = opentelemetry::context::WithContext<S::Future>;
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> Self::Future {
        let _attached = self.cx.clone().attach();
        self.inner.call(req).with_context(self.cx.clone())
    }
}

/// Serves `router` on 127.0.0.1:0 with `ConnectInfo`; returns its address.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A reqwest client with weft's middleware.
pub fn traced_client() -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(weft::integrations::reqwest::ClientMiddleware::new())
        .build()
}

pub fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// One node of a tree across processes: `(parent key, own key, start, label)`.
#[derive(Clone, Debug)]
pub struct Node {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: String,
    pub start: u64,
    pub label: String,
}

impl Node {
    pub fn from_record(r: &SpanRecord, service: &str) -> Node {
        Node {
            trace_id: r.span_context.trace_id().to_string(),
            span_id: r.span_context.span_id().to_string(),
            parent_id: r.parent_span_id.to_string(),
            start: r.start_ns,
            label: format!("{} ({}, {service})", r.name, kind(&r.kind)),
        }
    }
}

/// The forest rebuilt from parent ids, one indented line per span; a root whose parent
/// is not among the nodes is marked `(orphan)`. Ids never appear. Siblings are ordered
/// by label, so clocks of different processes do not matter.
pub fn render_forest(nodes: &[Node]) -> String {
    let mut children: BTreeMap<(&str, &str), Vec<&Node>> = BTreeMap::new();
    let known: std::collections::HashSet<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.trace_id.as_str(), n.span_id.as_str()))
        .collect();
    let mut roots = Vec::new();
    for n in nodes {
        if known.contains(&(n.trace_id.as_str(), n.parent_id.as_str())) {
            children
                .entry((n.trace_id.as_str(), n.parent_id.as_str()))
                .or_default()
                .push(n);
        } else {
            roots.push(n);
        }
    }
    fn walk(
        n: &Node,
        depth: usize,
        orphan: bool,
        ch: &BTreeMap<(&str, &str), Vec<&Node>>,
        out: &mut String,
    ) {
        let zero = "0".repeat(16);
        let mark = if orphan && n.parent_id != zero {
            " (orphan)"
        } else {
            ""
        };
        out.push_str(&format!("{}{}{mark}\n", "  ".repeat(depth), n.label));
        let mut kids = ch
            .get(&(n.trace_id.as_str(), n.span_id.as_str()))
            .cloned()
            .unwrap_or_default();
        kids.sort_by(|a, b| a.label.cmp(&b.label).then(a.start.cmp(&b.start)));
        for k in kids {
            walk(k, depth + 1, false, ch, out);
        }
    }
    roots.sort_by(|a, b| a.label.cmp(&b.label));
    let mut out = String::new();
    for r in roots {
        walk(r, 0, true, &children, &mut out);
    }
    out
}

/// The tree of weft's own records.
pub fn tree(records: &[SpanRecord]) -> String {
    let nodes: Vec<Node> = records
        .iter()
        .map(|r| Node::from_record(r, "weft"))
        .collect();
    render_forest(&nodes)
}

/// How many distinct traces the records are in.
pub fn trace_count(records: &[SpanRecord]) -> usize {
    records
        .iter()
        .map(|r| r.span_context.trace_id())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

pub fn attr(r: &SpanRecord, key: &str) -> String {
    r.attribute(key)
        .map(|v| v.to_string())
        .unwrap_or_else(|| "<none>".into())
}

pub fn find<'a>(records: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    records
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no span named {name:?} in {records:#?}"))
}

/// Waits until the exporter has `n` finished records (server spans end after the
/// response body, which can be a moment after the client has it).
pub async fn wait_for(weft: &weft::Weft, memory: &MemoryExporter, n: usize) -> Vec<SpanRecord> {
    for _ in 0..200 {
        weft.force_flush();
        let spans = memory.spans();
        if spans.len() >= n {
            return spans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("expected {n} records, got {:#?}", memory.spans());
}
