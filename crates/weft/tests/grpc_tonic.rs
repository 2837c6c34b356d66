//! gRPC over real loopback: a tonic server behind the tower layer, a tonic client
//! behind `ClientLayer` (opentelemetry-proto's generated `TraceService`, no codegen);
//! the policy checks of `http_support.rs` with the context in the call's metadata.
//! The policy is process-wide: every test here holds `POLICY_LOCK`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::sync::{Arc, Mutex};

use opentelemetry::context::FutureExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use support::*;
use tower::Layer as _;
use weft::FutureExt as _;
use weft::integrations::{tonic::ClientLayer, tower::ServerLayer};

/// Answers UNAVAILABLE to an empty export; records the metadata it got.
#[derive(Default, Clone)]
struct Collector(Arc<Mutex<Vec<tonic::metadata::MetadataMap>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.metadata().clone());
        weft::info!("exporting");
        if request.get_ref().resource_spans.is_empty() {
            return Err(tonic::Status::unavailable("nothing to export"));
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Answers every export; keeps what [`policy_handler`] answered.
#[derive(Default, Clone)]
struct PolicyCollector(Arc<Mutex<String>>);

#[tonic::async_trait]
impl TraceService for PolicyCollector {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        *self.0.lock().unwrap() = policy_handler();
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_and_malformed_metadata() {
    let slot = cx_slot();
    let collector = PolicyCollector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .layer(SlotLayer(slot.clone()))
        .layer(ServerLayer::new())
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    PolicyTarget {
        slot,
        server_span: "opentelemetry.proto.collector.trace.v1.TraceService/Export",
        send: Box::new(move |headers| {
            // A plain client (no `ClientLayer`): the test is the third party.
            let mut client = TraceServiceClient::new(channel.clone());
            let answer = collector.0.clone();
            Box::pin(async move {
                let mut request = tonic::Request::new(ExportTraceServiceRequest {
                    resource_spans: vec![ResourceSpans::default()],
                });
                for (name, value) in headers {
                    request.metadata_mut().append(
                        name,
                        tonic::metadata::MetadataValue::try_from(value).unwrap(),
                    );
                }
                client.export(request).await.unwrap();
                answer.lock().unwrap().clone()
            })
        }),
    }
    .check_every_policy()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_client_and_server_form_one_tree() {
    let _policy = with_policy(weft::DistributedTracing::Allow).await;
    let (weft, memory) = local();
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .layer(InCxLayer(weft.context()))
        .layer(ServerLayer::new())
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = TraceServiceClient::new(ClientLayer::new().layer(channel));
    let ok = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans::default()],
    };
    let root = weft.in_scope(|| weft::span!("grpc caller"));
    async {
        client.export(ok).await.unwrap();
        let err = client
            .export(ExportTraceServiceRequest::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable);
    }
    .in_span(root)
    .with_context(weft.context())
    .await;

    let spans = wait_for(&weft, &memory, 7).await;
    insta::assert_snapshot!(tree(&spans), @r"
    grpc caller (internal, weft)
      opentelemetry.proto.collector.trace.v1.TraceService/Export (client, weft)
        opentelemetry.proto.collector.trace.v1.TraceService/Export (server, weft)
          exporting (internal, weft)
      opentelemetry.proto.collector.trace.v1.TraceService/Export (client, weft)
        opentelemetry.proto.collector.trace.v1.TraceService/Export (server, weft)
          exporting (internal, weft)
    ");
    let mut rpc: Vec<String> = spans
        .iter()
        .filter(|r| r.name.ends_with("/Export"))
        .map(|r| {
            format!(
                "{:?} system={} service={} method={} grpc_status={} http_status={} status={:?}",
                r.kind,
                attr(r, "rpc.system"),
                attr(r, "rpc.service"),
                attr(r, "rpc.method"),
                attr(r, "rpc.grpc.status_code"),
                attr(r, "http.response.status_code"),
                r.status,
            )
        })
        .collect();
    rpc.sort();
    insta::assert_snapshot!(rpc.join("\n"), @r#"
    Client system=grpc service=opentelemetry.proto.collector.trace.v1.TraceService method=Export grpc_status=0 http_status=200 status=Unset
    Client system=grpc service=opentelemetry.proto.collector.trace.v1.TraceService method=Export grpc_status=14 http_status=200 status=Error("gRPC status 14: nothing to export")
    Server system=grpc service=opentelemetry.proto.collector.trace.v1.TraceService method=Export grpc_status=0 http_status=200 status=Unset
    Server system=grpc service=opentelemetry.proto.collector.trace.v1.TraceService method=Export grpc_status=14 http_status=200 status=Error("gRPC status 14: nothing to export")
    "#);

    // The metadata on the wire carried the client span's traceparent.
    let metadata = collector.0.lock().unwrap()[0].clone();
    let traceparent = metadata
        .get("traceparent")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let client_ids: Vec<String> = spans
        .iter()
        .filter(|r| r.kind == opentelemetry::trace::SpanKind::Client)
        .map(|r| {
            format!(
                "00-{}-{}-",
                r.span_context.trace_id(),
                r.span_context.span_id()
            )
        })
        .collect();
    assert!(
        client_ids
            .iter()
            .any(|prefix| traceparent.starts_with(prefix)),
        "{traceparent} vs {client_ids:?}"
    );
}
