//! The OTLP exporter against a real HTTP receiver on loopback: what arrives is decoded
//! with opentelemetry-proto and compared, for protobuf and JSON, and the exporter's
//! behaviour when the backend fails or is down.
#![allow(clippy::unwrap_used, missing_docs)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use weft::export::otlp::Protocol;

#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answer 503 to this many requests first.
    fail_first: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.fail_first.load(Ordering::SeqCst) > 0 {
        r.fail_first.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.requests.lock().unwrap().push((headers, body));
    StatusCode::OK
}

/// A receiver on its own runtime thread; returns its base URL.
fn start_receiver(received: Received) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .route("/v1/traces", post(receive))
                .with_state(received);
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn decode(headers: &HeaderMap, body: &[u8]) -> ExportTraceServiceRequest {
    match headers.get("content-type").and_then(|v| v.to_str().ok()) {
        Some("application/x-protobuf") => ExportTraceServiceRequest::decode(body).unwrap(),
        Some("application/json") => serde_json::from_slice(body).unwrap(),
        other => panic!("unexpected content type {other:?}"),
    }
}

fn string_attr(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
}

fn export_one_tree(protocol: Protocol) -> (Vec<(HeaderMap, Bytes)>, weft::Weft) {
    let received = Received::default();
    let url = start_receiver(received.clone());
    let weft = weft::configure()
        .local()
        .deterministic()
        .console(false)
        .service_name("checkout")
        .otlp_endpoint(url)
        .otlp_protocol(protocol)
        .otlp_headers([("x-team", "payments")])
        .pending_spans(false)
        .finish()
        .unwrap();
    weft.in_scope(|| {
        let outer = weft::span!("Doubling everything").entered();
        for x in 0..3 {
            let _s = weft::span!("Doubling {x}", x).entered();
        }
        outer.set_attribute("results", [0, 2, 4]);
    });
    assert!(weft.force_flush());
    let requests = received.requests.lock().unwrap().clone();
    (requests, weft)
}

fn check_tree(requests: &[(HeaderMap, Bytes)]) {
    assert!(!requests.is_empty(), "the receiver got nothing");
    let (headers, body) = &requests[0];
    assert_eq!(
        headers.get("x-team").unwrap(),
        "payments",
        "configured headers are sent"
    );
    let req = decode(headers, body);
    let rs = &req.resource_spans[0];
    let service = rs
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .unwrap();
    assert_eq!(
        service.value.as_ref().unwrap().value,
        Some(AnyValue::StringValue("checkout".into()))
    );
    let spans: Vec<_> = rs.scope_spans.iter().flat_map(|s| s.spans.iter()).collect();
    let lines: Vec<String> = spans
        .iter()
        .map(|s| {
            format!(
                "{} parent={} msg={} schema={}",
                s.name,
                hex(&s.parent_span_id),
                string_attr(s, "logfire.msg").unwrap_or_default(),
                string_attr(s, "logfire.json_schema").unwrap_or_default(),
            )
        })
        .collect();
    insta::allow_duplicates! { insta::assert_snapshot!(lines.join("\n"), @r#"
    Doubling {x} parent=0000000000000001 msg=Doubling 0 schema={"type":"object","properties":{"x":{}}}
    Doubling {x} parent=0000000000000001 msg=Doubling 1 schema={"type":"object","properties":{"x":{}}}
    Doubling {x} parent=0000000000000001 msg=Doubling 2 schema={"type":"object","properties":{"x":{}}}
    Doubling everything parent= msg=Doubling everything schema={"type":"object","properties":{"results":{"type":"array"}}}
    "#); }
    assert!(
        spans.iter().all(|s| s.trace_id == spans[0].trace_id),
        "one trace"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn http_protobuf_reaches_a_real_receiver() {
    let (requests, _weft) = export_one_tree(Protocol::HttpProtobuf);
    check_tree(&requests);
}

#[test]
fn http_json_reaches_a_real_receiver() {
    let (requests, _weft) = export_one_tree(Protocol::HttpJson);
    check_tree(&requests);
}

#[test]
fn retries_after_503_and_delivers() {
    let received = Received::default();
    received.fail_first.store(2, Ordering::SeqCst);
    let url = start_receiver(received.clone());
    let weft = weft::configure()
        .local()
        .console(false)
        .otlp_endpoint(url)
        .finish()
        .unwrap();
    weft.in_scope(|| weft::info!("after retries"));
    assert!(weft.force_flush());
    assert_eq!(
        received.fail_first.load(Ordering::SeqCst),
        0,
        "the two 503s were retried"
    );
    assert_eq!(received.requests.lock().unwrap().len(), 1);
    assert_eq!(weft.dropped_spans(), 0);
}

#[test]
fn a_dead_backend_bounds_the_queue_and_never_blocks() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let weft = weft::configure()
        .local()
        .console(false)
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .max_queue_size(64)
        .env([("OTEL_EXPORTER_OTLP_TIMEOUT", "300")])
        .finish()
        .unwrap();
    weft.in_scope(|| {
        for i in 0..5_000 {
            weft::info!("log {i}", i);
        }
    });
    assert!(
        weft.dropped_spans() > 0,
        "records beyond the queue are dropped and counted"
    );
    assert!(weft.dropped_spans() <= 5_000);
}

fn span_names(requests: &[(HeaderMap, Bytes)]) -> Vec<String> {
    let mut names: Vec<String> = requests
        .iter()
        .flat_map(|(h, b)| decode(h, b).resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

fn exporter_to(url: String) -> weft::Weft {
    weft::configure()
        .local()
        .console(false)
        .pending_spans(false)
        .otlp_endpoint(url)
        .finish()
        .unwrap()
}

#[test]
fn force_flush_async_delivers_from_a_tokio_runtime() {
    let received = Received::default();
    let weft = exporter_to(start_receiver(received.clone()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        weft.in_scope(|| weft::info!("from async code"));
        // On a current-thread runtime a blocking wait would stall the other tasks;
        // the async flush awaits, so a task on the same thread finishes meanwhile.
        let other_task = tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            true
        });
        assert!(weft.force_flush_async().await);
        assert!(other_task.await.unwrap());
    });
    assert_eq!(
        span_names(&received.requests.lock().unwrap()),
        ["from async code"]
    );
}

#[test]
fn dropping_the_guard_delivers_what_is_queued() {
    let received = Received::default();
    let url = start_receiver(received.clone());
    {
        let weft = weft::configure()
            .local()
            .console(false)
            .pending_spans(false)
            .otlp_endpoint(url)
            // No scheduled batch: only the shutdown can send.
            .env([("OTEL_BSP_SCHEDULE_DELAY", "600000")])
            .finish()
            .unwrap();
        weft.in_scope(|| {
            let _s = weft::span!("queued span").entered();
            weft::info!("queued log");
        });
        assert!(
            received.requests.lock().unwrap().is_empty(),
            "nothing sent before the drop"
        );
        // No flush: dropping the guard shuts down, which must send them.
    }
    assert_eq!(
        span_names(&received.requests.lock().unwrap()),
        ["queued log", "queued span"]
    );
}
