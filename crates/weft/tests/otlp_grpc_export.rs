//! The OTLP/gRPC exporter against a real tonic `TraceService` on loopback: the request
//! it decodes is compared, and the configured headers arrive as metadata.
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use weft::export::otlp::Protocol;

type Accepted = Vec<(tonic::metadata::MetadataMap, ExportTraceServiceRequest)>;

#[derive(Default, Clone)]
struct Receiver {
    accepted: Arc<Mutex<Accepted>>,
    /// Codes to answer with, in order, before accepting.
    fail_with: Arc<Mutex<VecDeque<tonic::Code>>>,
    /// Every call, failed or not.
    calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(code) = self.fail_with.lock().unwrap().pop_front() {
            return Err(tonic::Status::new(code, "scripted failure"));
        }
        let metadata = request.metadata().clone();
        self.accepted
            .lock()
            .unwrap()
            .push((metadata, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Serves `receiver` on loopback from its own runtime thread; returns the address.
fn serve(receiver: Receiver) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let server_side = receiver;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(server_side))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn grpc_reaches_a_real_trace_service() {
    let receiver = Receiver::default();
    let addr = serve(receiver.clone());
    let weft = weft::configure()
        .local()
        .deterministic()
        .console(false)
        .pending_spans(false)
        .service_name("grpc-sender")
        .otlp_endpoint(format!("http://{addr}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_headers([("x-team", "payments")])
        .finish()
        .unwrap();
    weft.in_scope(|| {
        let _outer = weft::span!("outer").entered();
        weft::info!("inner {n}", n = 1);
    });
    assert!(weft.force_flush());
    let got = receiver.accepted.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one export request");
    let (metadata, request) = &got[0];
    assert_eq!(metadata.get("x-team").unwrap(), "payments");
    let spans: Vec<_> = request.resource_spans[0]
        .scope_spans
        .iter()
        .flat_map(|s| &s.spans)
        .collect();
    let names: Vec<(&str, usize)> = spans
        .iter()
        .map(|s| (s.name.as_str(), s.parent_span_id.len()))
        .collect();
    assert_eq!(
        names,
        [("inner {n}", 8), ("outer", 0)],
        "the log under the span, the span a root"
    );
    assert_eq!(spans[0].parent_span_id, spans[1].span_id);
}

fn grpc_instance(addr: std::net::SocketAddr) -> weft::Weft {
    weft::configure()
        .local()
        .console(false)
        .pending_spans(false)
        .otlp_endpoint(format!("http://{addr}"))
        .otlp_protocol(Protocol::Grpc)
        .env([("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")])
        .finish()
        .unwrap()
}

#[test]
fn the_otlp_specs_retryable_codes_are_retried_until_accepted() {
    use tonic::Code::*;
    let codes = [
        Cancelled,
        DeadlineExceeded,
        Aborted,
        OutOfRange,
        Unavailable,
        DataLoss,
        ResourceExhausted,
    ];
    for code in codes {
        let receiver = Receiver::default();
        receiver.fail_with.lock().unwrap().push_back(code);
        let weft = grpc_instance(serve(receiver.clone()));
        weft.in_scope(|| weft::info!("after one refusal"));
        assert!(weft.force_flush());
        assert_eq!(
            receiver.calls.load(Ordering::SeqCst),
            2,
            "{code:?}: refused, retried, accepted"
        );
        assert_eq!(receiver.accepted.lock().unwrap().len(), 1, "{code:?}");
        assert_eq!(weft.dropped_spans(), 0, "{code:?}");
    }
}

#[test]
fn other_codes_are_not_retried() {
    use tonic::Code::*;
    for code in [InvalidArgument, Unauthenticated, PermissionDenied, Internal] {
        let receiver = Receiver::default();
        receiver.fail_with.lock().unwrap().push_back(code);
        let weft = grpc_instance(serve(receiver.clone()));
        weft.in_scope(|| weft::info!("refused once"));
        assert!(weft.force_flush());
        assert_eq!(
            receiver.calls.load(Ordering::SeqCst),
            1,
            "{code:?}: one try"
        );
        assert!(receiver.accepted.lock().unwrap().is_empty());
        assert_eq!(
            weft.dropped_spans(),
            1,
            "{code:?}: the record is counted as dropped"
        );
    }
}

#[test]
fn headers_that_cannot_be_grpc_metadata_are_a_configure_error() {
    let rows: [(&str, &str, &str); 3] = [
        ("x-trace-bin", "v", "-bin"),
        ("bad header", "v", "header names"),
        ("x-team", "caf\u{e9}", "printable ASCII"),
    ];
    for (k, v, says) in rows {
        let err = weft::configure()
            .local()
            .console(false)
            .otlp_endpoint("http://127.0.0.1:1")
            .otlp_protocol(Protocol::Grpc)
            .otlp_headers([(k, v)])
            .finish()
            .err()
            .unwrap_or_else(|| panic!("{k}={v} was accepted"))
            .to_string();
        assert!(
            err.contains("otlp_headers") && err.contains(says),
            "{k}={v}: {err}"
        );
    }
    let err = weft::configure()
        .local()
        .console(false)
        .env([
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-trace-bin=abc"),
        ])
        .finish()
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("OTEL_EXPORTER_OTLP_HEADERS") && err.contains("x-trace-bin"),
        "{err}"
    );
}
