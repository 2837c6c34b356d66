//! Shared by the integration tests: start the real server on port 0, build OTLP spans
//! compactly, send them the way real exporters do, and read the API back.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;
use weft_cli::serve::{self, Running, ServeConfig};
use weft_cli::store::Location;
use weft_cli::view::TraceView;

pub const SERVER: i32 = 2;
pub const CLIENT: i32 = 3;
pub const INTERNAL: i32 = 1;
pub const CONSUMER: i32 = 5;
/// Span flags for a sampled span whose parent is local / remote (OTLP `SpanFlags`).
pub const LOCAL: u32 = 0x100 | 0x01;
pub const REMOTE: u32 = 0x100 | 0x200 | 0x01;

/// Starts `weft serve` in this process, in memory, every port 0.
pub async fn start() -> Running {
    start_with(ServeConfig {
        grpc_port: 0,
        http_port: 0,
        ui_port: 0,
        location: Location::Memory,
        ..ServeConfig::default()
    })
    .await
}

pub async fn start_with(config: ServeConfig) -> Running {
    serve::start(config).await.expect("weft serve starts")
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A compact span description.
#[derive(Clone, Debug)]
pub struct S {
    pub service: &'static str,
    pub name: &'static str,
    pub trace: u128,
    pub id: u64,
    pub parent: Option<u64>,
    pub kind: i32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub flags: u32,
    pub attrs: Vec<(&'static str, String)>,
    pub error: bool,
    /// Links to (trace, span).
    pub links: Vec<(u128, u64)>,
}

impl S {
    pub fn new(
        service: &'static str,
        name: &'static str,
        trace: u128,
        id: u64,
        parent: Option<u64>,
        start_ms: u64,
        end_ms: u64,
    ) -> Self {
        S {
            service,
            name,
            trace,
            id,
            parent,
            kind: INTERNAL,
            start_ms,
            end_ms,
            flags: LOCAL,
            attrs: Vec::new(),
            error: false,
            links: Vec::new(),
        }
    }
    pub fn kind(mut self, kind: i32) -> Self {
        self.kind = kind;
        self
    }
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    pub fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }
    pub fn link(mut self, trace: u128, span: u64) -> Self {
        self.links.push((trace, span));
        self
    }
    pub fn error(mut self) -> Self {
        self.error = true;
        self
    }
}

pub fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

pub fn span(s: &S) -> Span {
    Span {
        trace_id: s.trace.to_be_bytes().to_vec(),
        span_id: s.id.to_be_bytes().to_vec(),
        parent_span_id: s
            .parent
            .map(|p| p.to_be_bytes().to_vec())
            .unwrap_or_default(),
        flags: s.flags,
        name: s.name.into(),
        kind: s.kind,
        start_time_unix_nano: s.start_ms * 1_000_000,
        end_time_unix_nano: s.end_ms * 1_000_000,
        attributes: s.attrs.iter().map(|(k, v)| kv(k, v)).collect(),
        status: s.error.then(|| Status {
            code: 2,
            message: "boom".into(),
        }),
        links: s
            .links
            .iter()
            .map(|(t, sp)| span::Link {
                trace_id: t.to_be_bytes().to_vec(),
                span_id: sp.to_be_bytes().to_vec(),
                ..span::Link::default()
            })
            .collect(),
        ..Span::default()
    }
}

/// One request, one ResourceSpans per service (in first-seen order).
pub fn request(spans: &[S]) -> ExportTraceServiceRequest {
    let mut services: Vec<&str> = Vec::new();
    for s in spans {
        if !services.contains(&s.service) {
            services.push(s.service);
        }
    }
    ExportTraceServiceRequest {
        resource_spans: services
            .iter()
            .map(|svc| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", svc)],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "test".into(),
                        ..InstrumentationScope::default()
                    }),
                    spans: spans
                        .iter()
                        .filter(|s| s.service == *svc)
                        .map(span)
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// A compact log record: service, trace (0 = none), span (0 = none), time, severity, body.
#[derive(Clone, Debug)]
pub struct L {
    pub service: &'static str,
    pub trace: u128,
    pub span: u64,
    pub time_ms: u64,
    pub severity: i32,
    pub body: String,
}

impl L {
    pub fn new(service: &'static str, trace: u128, span: u64, time_ms: u64, body: &str) -> Self {
        L {
            service,
            trace,
            span,
            time_ms,
            severity: 9,
            body: body.into(),
        }
    }
}

/// One logs request, one ResourceLogs per service.
pub fn log_request(logs: &[L]) -> ExportLogsServiceRequest {
    let mut services: Vec<&str> = Vec::new();
    for l in logs {
        if !services.contains(&l.service) {
            services.push(l.service);
        }
    }
    let id = |trace: u128, span: u64| {
        if trace == 0 {
            (Vec::new(), Vec::new())
        } else {
            (trace.to_be_bytes().to_vec(), span.to_be_bytes().to_vec())
        }
    };
    ExportLogsServiceRequest {
        resource_logs: services
            .iter()
            .map(|svc| ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", svc)],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: logs
                        .iter()
                        .filter(|l| l.service == *svc)
                        .map(|l| {
                            let (trace_id, span_id) = id(l.trace, l.span);
                            LogRecord {
                                time_unix_nano: l.time_ms * 1_000_000,
                                severity_number: l.severity,
                                body: Some(AnyValue {
                                    value: Some(any_value::Value::StringValue(l.body.clone())),
                                }),
                                trace_id,
                                span_id,
                                ..LogRecord::default()
                            }
                        })
                        .collect(),
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            })
            .collect(),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// POSTs protobuf to `/v1/traces`; returns status and body.
pub async fn post_proto(run: &Running, req: &ExportTraceServiceRequest) -> (u16, Vec<u8>) {
    let r = client()
        .post(format!("http://{}/v1/traces", run.http))
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

pub async fn send(run: &Running, spans: &[S]) {
    let (status, body) = post_proto(run, &request(spans)).await;
    assert_eq!(
        status,
        200,
        "export refused: {}",
        String::from_utf8_lossy(&body)
    );
}

pub async fn get_json(run: &Running, path: &str) -> serde_json::Value {
    let r = client()
        .get(format!("http://{}{path}", run.ui))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

pub async fn view(run: &Running, trace: u128) -> TraceView {
    view_path(run, &format!("/api/traces/{trace:032x}")).await
}

pub async fn view_path(run: &Running, path: &str) -> TraceView {
    let r = client()
        .get(format!("http://{}{path}", run.ui))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// The finding codes of a trace, sorted.
pub fn codes(v: &TraceView) -> Vec<String> {
    let mut c: Vec<String> = v.findings.iter().map(|f| f.code.clone()).collect();
    c.sort();
    c
}

/// The explanation of the finding with this code.
pub fn explain(v: &TraceView, code: &str) -> String {
    v.findings
        .iter()
        .find(|f| f.code == code)
        .map(|f| f.explain.clone())
        .unwrap_or_else(|| panic!("no {code} finding in {:#?}", v.findings))
}
