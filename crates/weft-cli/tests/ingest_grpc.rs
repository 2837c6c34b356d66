//! OTLP/gRPC ingest with tonic's generated `TraceServiceClient`, over loopback.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::{Buf, BufMut};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use support::*;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

const T: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;

#[tokio::test]
async fn tonic_client_exports_a_trace() {
    let run = start().await;
    let t0 = now_ms();
    let mut client = TraceServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap();
    let spans = [
        S::new("worker", "run/send_email", T, 7, None, t0, t0 + 20).kind(CONSUMER),
        S::new("worker", "smtp", T, 8, Some(7), t0 + 2, t0 + 18).kind(CLIENT),
    ];
    let resp = client.export(request(&spans)).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
    assert_eq!(
        view(&run, T).await.outline(),
        "worker run/send_email\n  worker smtp\n"
    );

    // gzip-compressed requests too.
    let mut gz = TraceServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let more = [S::new("worker", "retry", T, 9, Some(7), t0 + 19, t0 + 20)];
    gz.export(request(&more)).await.unwrap();
    assert_eq!(
        view(&run, T).await.outline(),
        "worker run/send_email\n  worker smtp\n  worker retry\n"
    );
    run.shutdown().await;
}

#[tokio::test]
async fn invalid_ids_are_counted_in_partial_success() {
    let run = start().await;
    let mut client = TraceServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap();
    let mut req = request(&[S::new("svc", "ok", T, 1, None, 1, 2)]);
    let mut bad = req.resource_spans[0].scope_spans[0].spans[0].clone();
    bad.parent_span_id = vec![1, 2];
    req.resource_spans[0].scope_spans[0].spans.push(bad);
    let partial = client
        .export(req)
        .await
        .unwrap()
        .into_inner()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("parent_span_id has 2 bytes"),
        "{}",
        partial.error_message
    );
    run.shutdown().await;
}

/// Sends raw bytes as the request message, to test what a malformed message gets.
#[derive(Default)]
struct Raw;
struct RawEnc;
struct RawDec;
impl Encoder for RawEnc {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}
impl Decoder for RawDec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}
impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEnc;
    type Decoder = RawDec;
    fn encoder(&mut self) -> RawEnc {
        RawEnc
    }
    fn decoder(&mut self) -> RawDec {
        RawDec
    }
}

#[tokio::test]
async fn malformed_message_is_invalid_argument_with_reason() {
    let run = start().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", run.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let status = grpc
        .unary(tonic::Request::new(vec![0xff, 0xff, 0xff]), path, Raw)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("not a valid OTLP protobuf message"),
        "{}",
        status.message()
    );
    assert_eq!(get_json(&run, "/api/traces").await, serde_json::json!([]));
    run.shutdown().await;
}

#[tokio::test]
async fn token_is_required_in_grpc_metadata() {
    let run = start_with(weft_cli::serve::ServeConfig {
        grpc_port: 0,
        http_port: 0,
        ui_port: 0,
        token: Some("s3cret".into()),
        ..weft_cli::serve::ServeConfig::default()
    })
    .await;
    let mut client = TraceServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap();
    let spans = [S::new("svc", "x", T, 1, None, 1, 2)];
    let refused = client.export(request(&spans)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(
        refused.message().contains("WEFT_TOKEN"),
        "{}",
        refused.message()
    );
    let mut req = tonic::Request::new(request(&spans));
    req.metadata_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    client.export(req).await.unwrap();
    run.shutdown().await;
}

#[tokio::test]
async fn logs_over_grpc_hang_under_their_span() {
    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    let run = start().await;
    let t0 = now_ms();
    let mut traces = TraceServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap();
    traces
        .export(request(&[S::new(
            "worker",
            "run/send_email",
            T,
            7,
            None,
            t0,
            t0 + 20,
        )
        .kind(CONSUMER)]))
        .await
        .unwrap();
    let mut logs = LogsServiceClient::connect(format!("http://{}", run.grpc))
        .await
        .unwrap();
    let mut req = log_request(&[
        L::new("worker", T, 7, t0 + 5, "sending"),
        L::new("worker", 0, 0, t0 + 6, "no trace here"),
    ]);
    req.resource_logs[0].scope_logs[0].log_records[0].severity_text = "INFO".into();
    let resp = logs.export(req).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
    let v = view(&run, T).await;
    assert_eq!(v.outline(), "worker run/send_email\n  worker sending\n");
    assert!(v.nodes[1].is_log);
    assert_eq!(
        v.nodes[1].name, "INFO",
        "the severity text names a log without an event name"
    );
    run.shutdown().await;
}
