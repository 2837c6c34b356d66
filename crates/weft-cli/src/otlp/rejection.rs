//! Why an OTLP request was refused: one type per failure, each carrying its HTTP status,
//! its gRPC code and a sentence for the client (the pattern of axum's `extract::rejection`).
//!
//! Exporters log what the server answers, so the sentence names the fix where there is one.

use http::StatusCode;

macro_rules! rejection {
    ($(#[$doc:meta])* $name:ident, $status:expr, $code:expr, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl $name {
            /// The HTTP status this failure answers with.
            pub const STATUS: StatusCode = $status;
            /// The gRPC code this failure answers with.
            pub const GRPC: tonic::Code = $code;
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!($prefix, ": {}"), self.0)
            }
        }

        impl From<$name> for OtlpRejection {
            fn from(r: $name) -> Self {
                OtlpRejection::$name(r)
            }
        }
    };
}

rejection!(
    /// The `Content-Type` is neither `application/x-protobuf` nor `application/json`.
    UnsupportedMediaType, StatusCode::UNSUPPORTED_MEDIA_TYPE, tonic::Code::InvalidArgument,
    "unsupported Content-Type (send application/x-protobuf or application/json)"
);
rejection!(
    /// The `Content-Encoding` is something other than `gzip` or `identity`.
    UnsupportedEncoding, StatusCode::UNSUPPORTED_MEDIA_TYPE, tonic::Code::InvalidArgument,
    "unsupported Content-Encoding (send gzip or none)"
);
rejection!(
    /// The body said it was gzip but did not inflate.
    BadGzip, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument,
    "request body is not valid gzip"
);
rejection!(
    /// The body is not a protobuf `Export*ServiceRequest`.
    BadProtobuf, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument,
    "request body is not a valid OTLP protobuf message"
);
rejection!(
    /// The body is not OTLP/JSON (ids must be hex, enums integers).
    BadJson, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument,
    "request body is not valid OTLP/JSON"
);
rejection!(
    /// The (inflated) body is larger than the server accepts.
    TooLarge, StatusCode::PAYLOAD_TOO_LARGE, tonic::Code::ResourceExhausted,
    "request body too large (raise weft serve --max-body-mb or send smaller batches)"
);
rejection!(
    /// The store could not commit the batch; nothing of it was kept, so the client may retry.
    StoreFailed, StatusCode::SERVICE_UNAVAILABLE, tonic::Code::Unavailable,
    "the batch was not stored, retry later"
);

/// Every way an OTLP export can be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpRejection {
    /// See [`UnsupportedMediaType`].
    UnsupportedMediaType(UnsupportedMediaType),
    /// See [`UnsupportedEncoding`].
    UnsupportedEncoding(UnsupportedEncoding),
    /// See [`BadGzip`].
    BadGzip(BadGzip),
    /// See [`BadProtobuf`].
    BadProtobuf(BadProtobuf),
    /// See [`BadJson`].
    BadJson(BadJson),
    /// See [`TooLarge`].
    TooLarge(TooLarge),
    /// See [`StoreFailed`].
    StoreFailed(StoreFailed),
}

impl OtlpRejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnsupportedMediaType(_) => UnsupportedMediaType::STATUS,
            Self::UnsupportedEncoding(_) => UnsupportedEncoding::STATUS,
            Self::BadGzip(_) => BadGzip::STATUS,
            Self::BadProtobuf(_) => BadProtobuf::STATUS,
            Self::BadJson(_) => BadJson::STATUS,
            Self::TooLarge(_) => TooLarge::STATUS,
            Self::StoreFailed(_) => StoreFailed::STATUS,
        }
    }

    /// The gRPC status code to answer with.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            Self::UnsupportedMediaType(_) => UnsupportedMediaType::GRPC,
            Self::UnsupportedEncoding(_) => UnsupportedEncoding::GRPC,
            Self::BadGzip(_) => BadGzip::GRPC,
            Self::BadProtobuf(_) => BadProtobuf::GRPC,
            Self::BadJson(_) => BadJson::GRPC,
            Self::TooLarge(_) => TooLarge::GRPC,
            Self::StoreFailed(_) => StoreFailed::GRPC,
        }
    }
}

impl std::fmt::Display for OtlpRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedMediaType(r) => r.fmt(f),
            Self::UnsupportedEncoding(r) => r.fmt(f),
            Self::BadGzip(r) => r.fmt(f),
            Self::BadProtobuf(r) => r.fmt(f),
            Self::BadJson(r) => r.fmt(f),
            Self::TooLarge(r) => r.fmt(f),
            Self::StoreFailed(r) => r.fmt(f),
        }
    }
}

impl std::error::Error for OtlpRejection {}

impl From<OtlpRejection> for tonic::Status {
    fn from(r: OtlpRejection) -> Self {
        tonic::Status::new(r.grpc_code(), r.to_string())
    }
}
