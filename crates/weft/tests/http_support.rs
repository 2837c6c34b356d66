//! Shared by the HTTP, gRPC and Python tests (included with `#[path]`): a local weft
//! instance, a layer that carries it into servers, loopback servers, the span tree
//! rebuilt from parent ids, and the `distributed_tracing` policy checks every server
//! integration must pass.
#![allow(clippy::unwrap_used, missing_docs, dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanId, SpanKind};
use weft::DistributedTracing;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;
use weft::propagation::{LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, set_policy, set_warning_sink};

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

/// The context a long-lived server runs its requests in, swapped by the test between
/// requests (each check uses a fresh weft instance against the same server).
pub type CxSlot = Arc<Mutex<Context>>;

pub fn cx_slot() -> CxSlot {
    Arc::new(Mutex::new(Context::new()))
}

/// Like [`InCxLayer`], with the context read from a [`CxSlot`] at each request.
#[derive(Clone)]
pub struct SlotLayer(pub CxSlot);

impl<S> tower::Layer<S> for SlotLayer {
    type Service = InSlot<S>;
    fn layer(&self, inner: S) -> InSlot<S> {
        InSlot {
            inner,
            slot: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct InSlot<S> {
    inner: S,
    slot: CxSlot,
}

impl<S: tower::Service<R>, R> tower::Service<R> for InSlot<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = opentelemetry::context::WithContext<S::Future>;
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> Self::Future {
        let cx = self.slot.lock().unwrap().clone();
        let _attached = cx.clone().attach();
        self.inner.call(req).with_context(cx)
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

// --- The `distributed_tracing` policy, checked the same way at every server. ---
//
// The policy is process-wide: every test of a binary that includes these checks must
// hold `POLICY_LOCK` (through `with_policy`), the checks and the others alike.

pub static POLICY_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const CALLER_SPAN: &str = "00f067aa0ba902b7";
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Sets the policy (re-arming its once-only warning) and collects warnings, for as
/// long as the guard lives.
pub async fn with_policy(policy: DistributedTracing) -> tokio::sync::MutexGuard<'static, ()> {
    let guard = POLICY_LOCK.lock().await;
    set_warning_sink(|message| WARNINGS.lock().unwrap().push(message.to_owned()));
    set_policy(policy);
    WARNINGS.lock().unwrap().clear();
    guard
}

pub fn warnings() -> usize {
    WARNINGS.lock().unwrap().len()
}

#[rustfmt::skip]
pub const MALFORMED: &[(&str, &str)] = &[
    ("garbage", "not a traceparent at all"),
    ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "upper-case hex"),
    ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "trace id one digit short"),
    ("00-4bf92f3577b34da6a3ce929d0e0e47361-00f067aa0ba902b7-01", "trace id one digit long"),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", "span id short"),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", "flags short"),
    ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "zero trace id"),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "zero span id"),
    ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "version 00 with extra fields"),
    ("", "empty"),
];

/// What the policy checks' handler does, whatever the framework: one log, and the
/// caller's `user` baggage (or `nobody`) as the answer.
pub fn policy_handler() -> String {
    weft::info!("handled");
    Context::current()
        .baggage()
        .get("user")
        .map(|v| v.to_string())
        .unwrap_or_else(|| "nobody".into())
}

pub type Headers = Vec<(&'static str, &'static str)>;

/// How a [`PolicyTarget`] is called.
pub type SendFn = Box<dyn Fn(Headers) -> std::pin::Pin<Box<dyn Future<Output = String>>>>;

/// A running server whose requests run in `slot`'s context and are handled by
/// [`policy_handler`]; `send` calls it with the given headers, as a third party would
/// (no client middleware), and returns what the handler answered.
pub struct PolicyTarget {
    pub slot: CxSlot,
    /// The name of its SERVER span.
    pub server_span: &'static str,
    pub send: SendFn,
}

impl PolicyTarget {
    /// One request under a fresh weft instance: its records (the SERVER span and the
    /// handler's log) and the handler's answer.
    pub async fn call(&self, headers: Headers) -> (Vec<SpanRecord>, String) {
        let (weft, memory) = local();
        *self.slot.lock().unwrap() = weft.context();
        let body = (self.send)(headers).await;
        (wait_for(&weft, &memory, 2).await, body)
    }

    fn server<'a>(&self, spans: &'a [SpanRecord]) -> &'a SpanRecord {
        find(spans, self.server_span)
    }

    /// Every check below, in turn.
    pub async fn check_every_policy(&self) {
        self.warn_continues_and_warns_once().await;
        self.allow_continues_silently_with_baggage().await;
        self.deny_starts_a_root_and_links_the_caller().await;
        self.no_headers_is_a_root_under_every_policy().await;
        self.malformed_traceparent_is_a_new_root_and_served().await;
        self.two_traceparent_fields_are_ambiguous_and_ignored()
            .await;
    }

    pub async fn warn_continues_and_warns_once(&self) {
        let _policy = with_policy(DistributedTracing::Warn).await;
        for _ in 0..2 {
            let (spans, _) = self.call(vec![("traceparent", TRACEPARENT)]).await;
            let s = self.server(&spans);
            assert_eq!(s.span_context.trace_id().to_string(), CALLER_TRACE);
            assert_eq!(s.parent_span_id.to_string(), CALLER_SPAN);
            assert!(s.parent_is_remote);
            assert!(s.links.is_empty());
            assert_eq!(
                tree(&spans),
                format!(
                    "{} (server, weft) (orphan)\n  handled (internal, weft)\n",
                    self.server_span
                )
            );
        }
        assert_eq!(warnings(), 1, "warned once, not per request");
        assert!(WARNINGS.lock().unwrap()[0].starts_with("Found propagated trace context."));
    }

    pub async fn allow_continues_silently_with_baggage(&self) {
        let _policy = with_policy(DistributedTracing::Allow).await;
        let (spans, body) = self
            .call(vec![
                ("traceparent", TRACEPARENT),
                ("tracestate", "vendor=opaque"),
                ("baggage", "user=ada"),
            ])
            .await;
        let s = self.server(&spans);
        assert_eq!(s.span_context.trace_id().to_string(), CALLER_TRACE);
        assert_eq!(s.parent_span_id.to_string(), CALLER_SPAN);
        assert_eq!(s.span_context.trace_state().header(), "vendor=opaque");
        assert_eq!(body, "ada", "the handler sees the caller's baggage");
        assert_eq!(warnings(), 0);
    }

    pub async fn deny_starts_a_root_and_links_the_caller(&self) {
        let _policy = with_policy(DistributedTracing::Deny).await;
        let (spans, _) = self.call(vec![("traceparent", TRACEPARENT)]).await;
        let s = self.server(&spans);
        assert_eq!(s.parent_span_id, SpanId::INVALID, "a new root");
        assert_ne!(s.span_context.trace_id().to_string(), CALLER_TRACE);
        assert_eq!(s.links.len(), 1);
        let link = &s.links[0];
        assert_eq!(link.span_context.trace_id().to_string(), CALLER_TRACE);
        assert_eq!(link.span_context.span_id().to_string(), CALLER_SPAN);
        assert_eq!(
            link.attributes,
            vec![(LINK_REASON_ATTRIBUTE.into(), LINK_REASON_DENIED.into())]
        );
        assert_eq!(
            tree(&spans),
            format!(
                "{} (server, weft)\n  handled (internal, weft)\n",
                self.server_span
            )
        );
        assert_eq!(warnings(), 0);
    }

    pub async fn no_headers_is_a_root_under_every_policy(&self) {
        for policy in [
            DistributedTracing::Warn,
            DistributedTracing::Allow,
            DistributedTracing::Deny,
        ] {
            let _policy = with_policy(policy).await;
            let (spans, body) = self.call(vec![]).await;
            let s = self.server(&spans);
            assert_eq!(s.parent_span_id, SpanId::INVALID, "{policy:?}");
            assert!(s.links.is_empty(), "{policy:?}");
            assert_eq!(body, "nobody");
            assert_eq!(warnings(), 0, "{policy:?}");
        }
    }

    pub async fn malformed_traceparent_is_a_new_root_and_served(&self) {
        for policy in [
            DistributedTracing::Warn,
            DistributedTracing::Allow,
            DistributedTracing::Deny,
        ] {
            let _policy = with_policy(policy).await;
            for (header, why) in MALFORMED {
                // `call` only returns once the handler answered: served normally.
                let (spans, body) = self
                    .call(vec![
                        ("traceparent", header),
                        ("tracestate", "=bad"),
                        ("baggage", "%%%"),
                    ])
                    .await;
                let s = self.server(&spans);
                assert_eq!(s.parent_span_id, SpanId::INVALID, "{policy:?}: {why}");
                assert_ne!(
                    s.span_context.trace_id().to_string(),
                    CALLER_TRACE,
                    "{policy:?}: {why}"
                );
                assert!(s.links.is_empty(), "{policy:?}: {why}");
                assert_eq!(body, "nobody", "{policy:?}: {why}");
                assert_eq!(warnings(), 0, "{policy:?}: {why}");
            }
        }
    }

    pub async fn two_traceparent_fields_are_ambiguous_and_ignored(&self) {
        let _policy = with_policy(DistributedTracing::Allow).await;
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (spans, _) = self
            .call(vec![("traceparent", TRACEPARENT), ("traceparent", other)])
            .await;
        assert_eq!(self.server(&spans).parent_span_id, SpanId::INVALID);
    }
}

/// Sends `headers` to `url` with a plain reqwest client; the answer must be a 200.
pub async fn plain_get(url: String, headers: Headers) -> String {
    let mut req = reqwest::Client::new().get(url);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "served normally whatever the headers");
    resp.text().await.unwrap()
}
