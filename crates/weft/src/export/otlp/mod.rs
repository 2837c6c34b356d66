//! OTLP: the encoding of records into OpenTelemetry's protocol, and the transports
//! that send it (HTTP with protobuf or JSON; gRPC behind the `otlp-grpc` feature).
//!
//! Spans are encoded as the Logfire SDKs write them (`logfire.msg`,
//! `logfire.json_schema`…), so they render in the Logfire UI, in `weft serve`, and as
//! plain spans in any other OpenTelemetry backend.

pub(crate) mod encode;
#[cfg(feature = "otlp-grpc")]
pub(crate) mod grpc;
#[cfg(feature = "otlp-http")]
pub(crate) mod http;
// Only the transports retry.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
pub(crate) mod retry;

pub use encode::{Resource, encode_request};

/// The wire format of OTLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `http/protobuf`: the default.
    #[default]
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
    /// `grpc` (needs the `otlp-grpc` feature).
    Grpc,
}

impl Protocol {
    /// The name used by `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }

    /// Parses an `OTEL_EXPORTER_OTLP_PROTOCOL` value.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim() {
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            "http/json" => Some(Protocol::HttpJson),
            "grpc" => Some(Protocol::Grpc),
            _ => None,
        }
    }
}
