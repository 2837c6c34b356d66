//! OTLP/HTTP retries against a real loopback server that answers as scripted: 429 with
//! `Retry-After` (honoured), 502 and 504 (retried), a backend that is not up yet
//! (connection refused, then delivered once it starts), the export-failure warning
//! printed once however many exports fail.
#![allow(clippy::unwrap_used, missing_docs)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A refusal: the status, and the `Retry-After` header if any.
type Refusal = (StatusCode, Option<&'static str>);

/// What the server answers, in order; once the script is used up it accepts.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Refusal>>>,
    /// When each request arrived, and the span names of the accepted ones.
    calls: Arc<Mutex<Vec<Instant>>>,
    accepted: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn new(answers: &[Refusal]) -> Self {
        let s = Script::default();
        s.answers.lock().unwrap().extend(answers.iter().copied());
        s
    }
    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().clone()
    }
    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }
}

async fn answer(State(s): State<Script>, body: axum::body::Bytes) -> impl IntoResponse {
    s.calls.lock().unwrap().push(Instant::now());
    let next = s.answers.lock().unwrap().pop_front();
    let mut headers = HeaderMap::new();
    if let Some((status, retry_after)) = next {
        if let Some(v) = retry_after {
            headers.insert("retry-after", HeaderValue::from_static(v));
        }
        return (status, headers);
    }
    let req = ExportTraceServiceRequest::decode(body).unwrap();
    let names = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone());
    s.accepted.lock().unwrap().extend(names);
    (StatusCode::OK, headers)
}

/// Serves `script` on `listener`'s port from its own runtime thread.
fn serve_on(listener: std::net::TcpListener, script: Script) {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = Router::new()
                .route("/v1/traces", post(answer))
                .with_state(script);
            axum::serve(listener, app).await.unwrap();
        });
    });
}

fn serve(script: Script) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    serve_on(listener, script);
    url
}

fn exporter_to(url: &str, timeout_ms: &str) -> weft::Weft {
    weft::configure()
        .local()
        .console(false)
        .pending_spans(false)
        .otlp_endpoint(url)
        .env([("OTEL_EXPORTER_OTLP_TIMEOUT", timeout_ms)])
        .finish()
        .unwrap()
}

#[test]
fn a_429_is_retried_after_the_retry_after_the_server_asks_for() {
    let script = Script::new(&[(StatusCode::TOO_MANY_REQUESTS, Some("1"))]);
    let weft = exporter_to(&serve(script.clone()), "10000");
    weft.in_scope(|| weft::info!("throttled"));
    assert!(weft.force_flush());
    let calls = script.calls();
    assert_eq!(calls.len(), 2, "refused once, then accepted");
    let waited = calls[1] - calls[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 is honoured (the backoff alone would wait 100 ms): waited {waited:?}"
    );
    assert_eq!(script.accepted(), ["throttled"]);
    assert_eq!(weft.dropped_spans(), 0);
}

#[test]
fn bad_gateway_and_gateway_timeout_are_retried() {
    let script = Script::new(&[
        (StatusCode::BAD_GATEWAY, None),
        (StatusCode::GATEWAY_TIMEOUT, None),
        (StatusCode::BAD_GATEWAY, None),
    ]);
    let weft = exporter_to(&serve(script.clone()), "10000");
    weft.in_scope(|| weft::info!("through the gateway"));
    assert!(weft.force_flush());
    assert_eq!(script.calls().len(), 4);
    assert_eq!(script.accepted(), ["through the gateway"]);
    assert_eq!(weft.dropped_spans(), 0);
}

#[test]
fn other_errors_are_not_retried_and_the_batch_is_counted_as_dropped() {
    let script = Script::new(&[(StatusCode::BAD_REQUEST, None)]);
    let weft = exporter_to(&serve(script.clone()), "10000");
    weft.in_scope(|| weft::info!("rejected"));
    assert!(weft.force_flush());
    assert_eq!(script.calls().len(), 1, "a 400 is final");
    assert!(script.accepted().is_empty());
    assert_eq!(weft.dropped_spans(), 1);
}

#[test]
fn a_backend_that_starts_late_still_gets_the_batch() {
    // Reserve a port, and free it: connections are refused until the server binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let weft = exporter_to(&format!("http://127.0.0.1:{port}"), "10000");
    weft.in_scope(|| weft::info!("sent before the backend was up"));
    let script = Script::default();
    let starter = {
        let script = script.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            serve_on(
                std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
                script,
            );
        })
    };
    let flushed = weft.force_flush();
    starter.join().unwrap();
    assert!(flushed);
    assert_eq!(script.accepted(), ["sent before the backend was up"]);
    assert_eq!(weft.dropped_spans(), 0);
}

const CHILD_FLAG: &str = "WEFT_RETRY_CHILD";

/// Not a test of its own: the child process of the warning test below.
#[test]
#[ignore = "the child process of the warning test; it runs it"]
fn failing_exports_child() {
    assert!(
        std::env::var_os(CHILD_FLAG).is_some(),
        "run by this file's tests, which set {CHILD_FLAG}"
    );
    let port = std::env::var("WEFT_DEAD_PORT").unwrap();
    let weft = exporter_to(&format!("http://127.0.0.1:{port}"), "200");
    for i in 0..3 {
        weft.in_scope(|| weft::info!("lost {i}", i));
        assert!(weft.force_flush());
    }
    assert_eq!(weft.dropped_spans(), 3, "each failed batch is counted");
}

#[test]
fn the_export_failure_warning_is_printed_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "failing_exports_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FLAG, "1")
        .env("WEFT_DEAD_PORT", port.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stderr.matches("weft.export.failed").count(),
        1,
        "three failed exports, one warning:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("weft serve"),
        "it names the target and what to do: {stderr}"
    );
}
