//! The `distributed_tracing` policy at a real axum server, and malformed incoming
//! headers. The policy is process-wide: every test here holds `POLICY_LOCK`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::sync::Mutex;

use axum::Router;
use axum::routing::get;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::SpanId;
use support::*;
use weft::DistributedTracing;
use weft::export::SpanRecord;
use weft::integrations::tower::ServerLayer;
use weft::propagation::{LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, set_policy, set_warning_sink};

static POLICY_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn with_policy(policy: DistributedTracing) -> tokio::sync::MutexGuard<'static, ()> {
    let guard = POLICY_LOCK.lock().await;
    set_warning_sink(|message| WARNINGS.lock().unwrap().push(message.to_owned()));
    set_policy(policy);
    WARNINGS.lock().unwrap().clear();
    guard
}

fn warnings() -> usize {
    WARNINGS.lock().unwrap().len()
}

fn app(cx: opentelemetry::Context) -> Router {
    Router::new()
        .route(
            "/hello",
            get(|| async {
                weft::info!("handled");
                let user = opentelemetry::Context::current()
                    .baggage()
                    .get("user")
                    .map(|v| v.to_string());
                user.unwrap_or_else(|| "nobody".into())
            }),
        )
        .layer(ServerLayer::new())
        .layer(InCxLayer(cx))
}

/// Sends `headers` with a plain client (no middleware: the test is the "third party").
async fn call(headers: &[(&str, &str)]) -> (Vec<SpanRecord>, String) {
    let (weft, memory) = local();
    let addr = serve_axum(app(weft.context())).await;
    let mut req = reqwest::Client::new().get(format!("http://{addr}/hello"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "served normally whatever the headers");
    let body = resp.text().await.unwrap();
    (wait_for(&weft, &memory, 2).await, body)
}

fn server(spans: &[SpanRecord]) -> &SpanRecord {
    find(spans, "GET /hello")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_continues_and_warns_once() {
    let _policy = with_policy(DistributedTracing::Warn).await;
    for _ in 0..2 {
        let (spans, _) = call(&[("traceparent", TRACEPARENT)]).await;
        let s = server(&spans);
        assert_eq!(s.span_context.trace_id().to_string(), CALLER_TRACE);
        assert_eq!(s.parent_span_id.to_string(), CALLER_SPAN);
        assert!(s.parent_is_remote);
        assert!(s.links.is_empty());
        assert_eq!(
            tree(&spans),
            "GET /hello (server, weft) (orphan)\n  handled (internal, weft)\n"
        );
    }
    assert_eq!(warnings(), 1, "warned once, not per request");
    assert!(WARNINGS.lock().unwrap()[0].starts_with("Found propagated trace context."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_continues_silently_with_baggage() {
    let _policy = with_policy(DistributedTracing::Allow).await;
    let (spans, body) = call(&[
        ("traceparent", TRACEPARENT),
        ("tracestate", "vendor=opaque"),
        ("baggage", "user=ada"),
    ])
    .await;
    let s = server(&spans);
    assert_eq!(s.span_context.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(s.parent_span_id.to_string(), CALLER_SPAN);
    assert_eq!(s.span_context.trace_state().header(), "vendor=opaque");
    assert_eq!(body, "ada", "the handler sees the caller's baggage");
    assert_eq!(warnings(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_starts_a_root_and_links_the_caller() {
    let _policy = with_policy(DistributedTracing::Deny).await;
    let (spans, _) = call(&[("traceparent", TRACEPARENT)]).await;
    let s = server(&spans);
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
        "GET /hello (server, weft)\n  handled (internal, weft)\n"
    );
    assert_eq!(warnings(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_headers_is_a_root_under_every_policy() {
    for policy in [
        DistributedTracing::Warn,
        DistributedTracing::Allow,
        DistributedTracing::Deny,
    ] {
        let _policy = with_policy(policy).await;
        let (spans, body) = call(&[]).await;
        let s = server(&spans);
        assert_eq!(s.parent_span_id, SpanId::INVALID, "{policy:?}");
        assert!(s.links.is_empty(), "{policy:?}");
        assert_eq!(body, "nobody");
        assert_eq!(warnings(), 0, "{policy:?}");
    }
}

#[rustfmt::skip]
const MALFORMED: &[(&str, &str)] = &[
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traceparent_is_a_new_root_and_served() {
    for policy in [
        DistributedTracing::Warn,
        DistributedTracing::Allow,
        DistributedTracing::Deny,
    ] {
        let _policy = with_policy(policy).await;
        for (header, why) in MALFORMED {
            let (spans, _) = call(&[
                ("traceparent", header),
                ("tracestate", "=bad"),
                ("baggage", "%%%"),
            ])
            .await;
            let s = server(&spans);
            assert_eq!(s.parent_span_id, SpanId::INVALID, "{policy:?}: {why}");
            assert_ne!(
                s.span_context.trace_id().to_string(),
                CALLER_TRACE,
                "{policy:?}: {why}"
            );
            assert!(s.links.is_empty(), "{policy:?}: {why}");
            assert_eq!(warnings(), 0, "{policy:?}: {why}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_traceparent_fields_are_ambiguous_and_ignored() {
    let _policy = with_policy(DistributedTracing::Allow).await;
    let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let (spans, _) = call(&[("traceparent", TRACEPARENT), ("traceparent", other)]).await;
    assert_eq!(server(&spans).parent_span_id, SpanId::INVALID);
}
