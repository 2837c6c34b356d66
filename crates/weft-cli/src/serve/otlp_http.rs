//! OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/logs`, protobuf or JSON, optionally
//! gzip, with CORS so browser SDKs can export straight to it.
//! Spec: <https://opentelemetry.io/docs/specs/otlp/#otlphttp>.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use super::{AppState, auth, ingest};
use crate::otlp::convert;
use crate::otlp::decode::{self, Encoding, RpcStatus};
use crate::otlp::rejection::OtlpRejection;

/// The OTLP/HTTP router (tests drive it with `oneshot`; `weft serve` binds it to 4318).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/traces", post(traces).options(preflight))
        .route("/v1/logs", post(logs).options(preflight))
        // Bodies are capped after inflation in `decode::inflate`; this caps the raw body.
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

/// Answers CORS preflights before auth (browsers send no credentials on them) and adds
/// `Access-Control-Allow-Origin` to every answer. A preflight's requested headers are
/// allowed as asked: browser SDKs add their own (`x-honeycomb-team`, `traceparent`, ...),
/// and a fixed list would make the browser refuse the export without a word to the server.
async fn cors(request: Request, next: Next) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let asked = request
        .headers()
        .get(ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| !v.is_empty())
        .cloned();
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let echoed = asked.is_some();
    let h = response.headers_mut();
    h.insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or_else(|| HeaderValue::from_static("*")),
    );
    h.insert(VARY, HeaderValue::from_static("Origin"));
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        asked.unwrap_or_else(|| {
            HeaderValue::from_static(
                "content-type, content-encoding, authorization, x-requested-with",
            )
        }),
    );
    if echoed {
        h.append(
            VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
    }
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn reply(encoding: Encoding, status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    r
}

fn refuse(encoding: Encoding, rejection: &OtlpRejection) -> Response {
    let status = RpcStatus {
        code: rejection.grpc_code() as i32,
        message: rejection.to_string(),
    };
    reply(
        encoding,
        rejection.status(),
        decode::encode(encoding, &status),
    )
}

fn body_of<T>(
    state: &AppState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(Encoding, T), (Encoding, OtlpRejection)>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    let encoding = Encoding::from_headers(headers).map_err(|r| (Encoding::Json, r))?;
    let body = decode::inflate(headers, body, state.max_body_bytes).map_err(|r| (encoding, r))?;
    let message = decode::decode::<T>(encoding, &body).map_err(|r| (encoding, r))?;
    Ok((encoding, message))
}

async fn traces(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (encoding, request) = match body_of::<ExportTraceServiceRequest>(&state, &headers, body) {
        Ok(ok) => ok,
        Err((enc, r)) => return refuse(enc, &r),
    };
    match ingest::store(&state, convert::traces(&request)).await {
        Ok(a) => {
            let partial_success = (a.rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: a.rejected,
                error_message: a.message,
            });
            reply(
                encoding,
                StatusCode::OK,
                decode::encode(encoding, &ExportTraceServiceResponse { partial_success }),
            )
        }
        Err(r) => refuse(encoding, &r),
    }
}

async fn logs(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (encoding, request) = match body_of::<ExportLogsServiceRequest>(&state, &headers, body) {
        Ok(ok) => ok,
        Err((enc, r)) => return refuse(enc, &r),
    };
    match ingest::store(&state, convert::logs(&request)).await {
        Ok(a) => {
            let partial_success = (a.rejected > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records: a.rejected,
                error_message: a.message,
            });
            reply(
                encoding,
                StatusCode::OK,
                decode::encode(encoding, &ExportLogsServiceResponse { partial_success }),
            )
        }
        Err(r) => refuse(encoding, &r),
    }
}
