//! The OTLP/gRPC exporter against a real tonic `TraceService` on loopback: the request
//! it decodes is compared, and the configured headers arrive as metadata.
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::{Arc, Mutex};
use weft::export::otlp::Protocol;

#[derive(Default, Clone)]
struct Receiver(Arc<Mutex<Vec<(tonic::metadata::MetadataMap, ExportTraceServiceRequest)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let metadata = request.metadata().clone();
        self.0
            .lock()
            .unwrap()
            .push((metadata, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn grpc_reaches_a_real_trace_service() {
    let receiver = Receiver::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let server_side = receiver.clone();
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
    let addr = rx.recv().unwrap();
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
    let got = receiver.0.lock().unwrap().clone();
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
