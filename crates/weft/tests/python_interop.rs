//! Python peers join weft's traces over real loopback HTTP: an instrumented `requests`
//! client and an instrumented Flask server (from `.venv`, made by
//! `scripts/setup-python.sh`) export by OTLP/HTTP protobuf to a receiver in this test;
//! weft's spans come from the memory exporter. The trees are rebuilt from parent ids
//! and compared whole.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use opentelemetry::context::FutureExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use support::*;
use weft::FutureExt as _;
use weft::integrations::tower::ServerLayer;

/// Kills the child process when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-python.sh to create .venv with the pinned Python peers",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// Spans received from Python, as tree nodes.
type Received = Arc<Mutex<Vec<Node>>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/HTTP protobuf trace receiver on 127.0.0.1:0; returns its base URL.
async fn otlp_receiver(received: Received) -> String {
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| async move {
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            let mut nodes = received.lock().unwrap();
            for resource_spans in request.resource_spans {
                let service = resource_spans
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(
                        |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                            Some(AnyValue::StringValue(s)) => Some(s.clone()),
                            _ => None,
                        },
                    )
                    .unwrap_or_default();
                for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                    let kind = match span.kind {
                        2 => "server",
                        3 => "client",
                        4 => "producer",
                        5 => "consumer",
                        _ => "internal",
                    };
                    let parent = if span.parent_span_id.is_empty() {
                        "0".repeat(16)
                    } else {
                        hex(&span.parent_span_id)
                    };
                    nodes.push(Node {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_id: parent,
                        start: span.start_time_unix_nano,
                        label: format!("{} ({kind}, {service})", span.name),
                    });
                }
            }
            // The exporter only needs a 200 with an (empty) protobuf response.
            axum::http::StatusCode::OK
        }),
    );
    format!("http://{}", serve_axum(app).await)
}

/// Starts the instrumented Flask server; returns its address.
fn flask(otlp: &str) -> (KillOnDrop, SocketAddr) {
    let mut child = Command::new(python())
        .arg(script("flask_server.py"))
        .args(["0", otlp])
        .current_dir(script(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("flask said {line:?}"))
        .parse()
        .unwrap();
    (guard, SocketAddr::from(([127, 0, 0, 1], port)))
}

async fn wait_for_python(received: &Received, n: usize) -> Vec<Node> {
    for _ in 0..500 {
        if received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    received.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_weft_server_python_server() {
    let (weft, memory) = local();
    let received = Received::default();
    let otlp = otlp_receiver(received.clone()).await;
    let (_flask, flask_addr) = flask(&otlp);

    let client = traced_client();
    let relay = Router::new()
        .route(
            "/relay",
            get(move || async move {
                let text = client
                    .get(format!("http://{flask_addr}/hello"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                format!("weft relayed: {text}")
            }),
        )
        .layer(ServerLayer::new())
        .layer(InCxLayer(weft.context()));
    let relay_addr = serve_axum(relay).await;

    let output = tokio::process::Command::new(python())
        .arg(script("requests_client.py"))
        .args([format!("http://{relay_addr}/relay"), otlp.clone()])
        .current_dir(script(""))
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "200 weft relayed: hello from flask"
    );

    let mut nodes = wait_for_python(&received, 3).await;
    let weft_spans = wait_for(&weft, &memory, 2).await;
    nodes.extend(weft_spans.iter().map(|r| Node::from_record(r, "weft")));
    insta::assert_snapshot!(render_forest(&nodes), @r"
    python client work (internal, python-client)
      GET (client, python-client)
        GET /relay (server, weft)
          GET (client, weft)
            GET /hello (server, flask-backend)
    ");
    let traces: std::collections::HashSet<_> = nodes.iter().map(|n| n.trace_id.clone()).collect();
    assert_eq!(traces.len(), 1, "one trace across three processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weft_client_python_server() {
    let (weft, memory) = local();
    let received = Received::default();
    let otlp = otlp_receiver(received.clone()).await;
    let (_flask, flask_addr) = flask(&otlp);

    let root = weft.in_scope(|| weft::span!("weft caller"));
    let text = traced_client()
        .get(format!("http://{flask_addr}/hello"))
        .send()
        .in_span(root)
        .with_context(weft.context())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "hello from flask");

    let mut nodes = wait_for_python(&received, 1).await;
    let weft_spans = wait_for(&weft, &memory, 2).await;
    nodes.extend(weft_spans.iter().map(|r| Node::from_record(r, "weft")));
    insta::assert_snapshot!(render_forest(&nodes), @r"
    weft caller (internal, weft)
      GET (client, weft)
        GET /hello (server, flask-backend)
    ");
}
