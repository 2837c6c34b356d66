//! Turning an OTLP/HTTP body into a request message, and a response back into bytes, per
//! <https://opentelemetry.io/docs/specs/otlp/#otlphttp>: protobuf or JSON by `Content-Type`,
//! optionally gzip by `Content-Encoding`.

use std::io::Read;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};

use super::rejection::{
    BadGzip, BadJson, BadProtobuf, OtlpRejection, TooLarge, UnsupportedEncoding,
    UnsupportedMediaType,
};

/// The two OTLP/HTTP payload encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, lowerCamelCase keys, integer enums).
    Json,
}

impl Encoding {
    /// Reads the `Content-Type` header; parameters such as `charset` are ignored.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, OtlpRejection> {
        let raw = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = raw
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Self::Protobuf),
            "application/json" => Ok(Self::Json),
            _ => Err(UnsupportedMediaType(format!("got {raw:?}")).into()),
        }
    }

    /// The `Content-Type` a response in this encoding carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Inflates a gzip body (bounded by `limit` bytes, so a small bomb cannot fill memory).
pub fn inflate(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, OtlpRejection> {
    let encoding = headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(body),
        "gzip" => {
            let mut out = Vec::with_capacity(body.len() * 4);
            let mut reader = flate2::read::GzDecoder::new(&body[..]).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|e| BadGzip(e.to_string()))?;
            if out.len() > limit {
                return Err(TooLarge(format!("more than {limit} bytes once inflated")).into());
            }
            Ok(Bytes::from(out))
        }
        other => Err(UnsupportedEncoding(format!("got {other:?}")).into()),
    }
}

/// Decodes an OTLP request message in the given encoding.
pub fn decode<T>(encoding: Encoding, body: &[u8]) -> Result<T, OtlpRejection>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|e| BadProtobuf(e.to_string()).into()),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| BadJson(e.to_string()).into()),
    }
}

/// Encodes an OTLP response message in the encoding the request used.
pub fn encode<T>(encoding: Encoding, message: &T) -> Vec<u8>
where
    T: prost::Message + serde::Serialize,
{
    match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        // Serialising these generated types cannot fail: no maps with non-string keys.
        Encoding::Json => serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP asks for on a failed request.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct RpcStatus {
    /// The gRPC code number.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The reason, for people.
    #[prost(string, tag = "2")]
    pub message: String,
}
