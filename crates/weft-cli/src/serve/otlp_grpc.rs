//! OTLP/gRPC receiver: `TraceService/Export` and `LogsService/Export`, served by axum over
//! HTTP/2 cleartext with tonic's gRPC framing.
//!
//! The services are written out here rather than generated because the generated codec
//! (tonic-prost) answers a malformed message with INTERNAL; OTLP wants INVALID_ARGUMENT
//! with the reason, which [`OtlpCodec`] gives.

use std::marker::PhantomData;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

use super::{AppState, auth, ingest};
use crate::otlp::convert::{self, Converted};
use crate::otlp::rejection::BadProtobuf;

/// gRPC path of the trace export method.
pub const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// gRPC path of the logs export method.
pub const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// Prost codec whose decode failures are INVALID_ARGUMENT.
pub struct OtlpCodec<Req, Resp>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp> Default for OtlpCodec<Req, Resp> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

/// Encoder half of [`OtlpCodec`].
pub struct OtlpEncoder<T>(PhantomData<fn(T)>);
/// Decoder half of [`OtlpCodec`].
pub struct OtlpDecoder<T>(PhantomData<fn() -> T>);

impl<T: prost::Message> Encoder for OtlpEncoder<T> {
    type Item = T;
    type Error = Status;
    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl<T: prost::Message + Default> Decoder for OtlpDecoder<T> {
    type Item = T;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<T>, Status> {
        T::decode(src).map(Some).map_err(|e| {
            Status::new(
                Code::InvalidArgument,
                BadProtobuf(e.to_string()).to_string(),
            )
        })
    }
}

impl<Req, Resp> Codec for OtlpCodec<Req, Resp>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
{
    type Encode = Resp;
    type Decode = Req;
    type Encoder = OtlpEncoder<Resp>;
    type Decoder = OtlpDecoder<Req>;
    fn encoder(&mut self) -> Self::Encoder {
        OtlpEncoder(PhantomData)
    }
    fn decoder(&mut self) -> Self::Decoder {
        OtlpDecoder(PhantomData)
    }
}

/// The OTLP/gRPC router (`weft serve` binds it to 4317).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(TRACE_EXPORT, post(trace_export))
        .route(LOGS_EXPORT, post(logs_export))
        .fallback(unimplemented)
        .with_state(state)
}

async fn unimplemented(request: Request) -> Response {
    Status::unimplemented(format!(
        "weft serves only {TRACE_EXPORT} and {LOGS_EXPORT}, not {}",
        request.uri().path()
    ))
    .into_http::<axum::body::Body>()
    .into_response()
}

fn denied(state: &AppState, request: &Request) -> Option<Response> {
    let token = state.token.as_deref()?;
    (!auth::authorized(request.headers(), token)).then(|| {
        Status::unauthenticated(auth::UNAUTHORIZED)
            .into_http::<axum::body::Body>()
            .into_response()
    })
}

async fn unary<Req, Resp>(
    state: AppState,
    request: Request,
    convert: fn(&Req) -> Converted,
    respond: fn(ingest::Accepted) -> Resp,
) -> Response
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
{
    if let Some(refusal) = denied(&state, &request) {
        return refusal;
    }
    let max = state.max_body_bytes;
    let mut grpc = tonic::server::Grpc::new(OtlpCodec::<Req, Resp>::default())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max);
    let service = tower::service_fn(move |r: tonic::Request<Req>| {
        let state = state.clone();
        async move {
            let accepted = ingest::store(&state, convert(r.get_ref()))
                .await
                .map_err(Status::from)?;
            Ok::<_, Status>(tonic::Response::new(respond(accepted)))
        }
    });
    grpc.unary(service, request).await.into_response()
}

async fn trace_export(State(state): State<AppState>, request: Request) -> Response {
    unary(state, request, convert::traces, |a: ingest::Accepted| {
        ExportTraceServiceResponse {
            partial_success: (a.rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: a.rejected,
                error_message: a.message,
            }),
        }
    })
    .await
}

async fn logs_export(State(state): State<AppState>, request: Request) -> Response {
    unary(state, request, convert::logs, |a: ingest::Accepted| {
        ExportLogsServiceResponse {
            partial_success: (a.rejected > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records: a.rejected,
                error_message: a.message,
            }),
        }
    })
    .await
}
