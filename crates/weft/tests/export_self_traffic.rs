//! The exporter's own traffic is never traced into itself: with weft as the global
//! `tracing` subscriber at `trace` level, the `tracing` events of the HTTP/2 stack that
//! the gRPC exporter drives on the export thread (`weft-export`) produce no records,
//! although the same stack on an application thread does (the control below). The
//! OTLP/HTTP exporter runs beside it on the same thread and is covered by the same check.
//!
//! One global instance per process: this file holds one test.
#![cfg(feature = "otlp-grpc")]
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use weft::export::memory::MemoryExporter;
use weft::export::otlp::Protocol;

#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for Count {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A gRPC and an HTTP receiver on a thread of their own.
fn start_receivers(count: Count) -> (std::net::SocketAddr, std::net::SocketAddr) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || {
            // The receivers' own h2 events are not what is under test, and tracing them
            // would make every export produce more records: this thread traces nothing.
            let _quiet =
                tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send((grpc.local_addr().unwrap(), http.local_addr().unwrap()))
                    .unwrap();
                let app = axum::Router::new().route(
                    "/v1/traces",
                    axum::routing::post(|| async { axum::http::StatusCode::OK }),
                );
                tokio::spawn(async move { axum::serve(http, app).await.unwrap() });
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(count))
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

fn on_thread(records: &[weft::export::SpanRecord], name: &str) -> usize {
    records
        .iter()
        .filter(|r| r.thread.name.as_deref() == Some(name))
        .count()
}

#[test]
fn the_export_threads_http_traffic_records_nothing() {
    let count = Count::default();
    let (grpc_addr, http_addr) = start_receivers(count.clone());
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .console(false)
        .otlp_endpoint(format!("http://{grpc_addr}"))
        .otlp_protocol(Protocol::Grpc)
        .exporter(memory.clone())
        .tracing_min_level(weft::Level::Trace)
        // A token adds an OTLP/HTTP exporter (to the base URL) beside the gRPC one.
        .env([
            ("LOGFIRE_TOKEN", "pylf_v1_us_test".to_owned()),
            ("LOGFIRE_BASE_URL", format!("http://{http_addr}")),
        ])
        .finish()
        .unwrap();
    assert_eq!(weft.settings().targets.len(), 2, "HTTP and gRPC exporters");

    for i in 0..5 {
        weft::info!("application log {i}", i);
        assert!(weft.force_flush());
    }
    assert!(
        count.0.load(Ordering::SeqCst) >= 5,
        "the gRPC exporter really sent"
    );

    // Control: the same client stack on an application thread is traced.
    std::thread::Builder::new()
        .name("client".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut client = TraceServiceClient::connect(format!("http://{grpc_addr}"))
                    .await
                    .unwrap();
                client
                    .export(ExportTraceServiceRequest::default())
                    .await
                    .unwrap();
            });
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(weft.force_flush());

    let records = memory.records();
    assert!(
        on_thread(&records, "client") > 0,
        "control: h2/tonic emit tracing events that weft records on an application thread"
    );
    assert_eq!(
        on_thread(&records, "weft-export"),
        0,
        "nothing is recorded from the export thread: {:?}",
        records
            .iter()
            .filter(|r| r.thread.name.as_deref() == Some("weft-export"))
            .map(|r| (&r.scope, &r.name))
            .collect::<Vec<_>>()
    );
    let logs = records
        .iter()
        .filter(|r| r.name == "application log {i}")
        .count();
    assert_eq!(logs, 5);
}
