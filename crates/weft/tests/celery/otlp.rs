//! A minimal OTLP/HTTP (protobuf) trace receiver on 127.0.0.1:0, collecting spans as tree nodes.
#![allow(dead_code)]

use super::tree::Node;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use std::sync::{Arc, Mutex};

/// The receiver's spans so far and its base URL.
#[derive(Clone, Debug)]
pub struct Receiver {
    pub url: String,
    pub nodes: Arc<Mutex<Vec<Node>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kind(kind: i32) -> &'static str {
    match kind {
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "internal",
    }
}

fn decode(body: &[u8]) -> Vec<Node> {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                AnyValue::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            nodes.push(Node {
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent: if span.parent_span_id.is_empty() {
                    "0".repeat(16)
                } else {
                    hex(&span.parent_span_id)
                },
                name: span.name.clone(),
                kind: kind(span.kind).to_owned(),
                service: service.clone(),
                notes: Vec::new(),
                start: span.start_time_unix_nano,
                links: span
                    .links
                    .iter()
                    .map(|l| (hex(&l.span_id), String::new()))
                    .collect(),
            });
        }
    }
    nodes
}

/// Starts the receiver on the current tokio runtime.
pub async fn start() -> Receiver {
    let nodes: Arc<Mutex<Vec<Node>>> = Arc::default();
    let sink = nodes.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().extend(decode(&body));
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, nodes }
}

impl Receiver {
    /// Waits until a span named `name` arrived.
    pub async fn wait_for(&self, name: &str, within: std::time::Duration) -> Vec<Node> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let nodes = self.nodes.lock().unwrap().clone();
            if nodes.iter().any(|n| n.name == name) {
                return nodes;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no span {name:?} within {within:?}; got {nodes:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
