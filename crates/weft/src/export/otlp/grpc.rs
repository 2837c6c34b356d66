//! OTLP over gRPC (`TraceService/Export`), from the export thread.

use super::encode::{Resource, encode_request};
use super::retry::Backoff;
use crate::export::{ExportError, SpanExporter};
use crate::record::SpanRecord;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// Sends batches to an OTLP/gRPC endpoint.
pub(crate) struct GrpcExporter {
    client: TraceServiceClient<Channel>,
    headers: Vec<(
        tonic::metadata::AsciiMetadataKey,
        tonic::metadata::AsciiMetadataValue,
    )>,
    timeout: Duration,
    resource: Resource,
    runtime: tokio::runtime::Runtime,
}

impl GrpcExporter {
    pub(crate) fn new(
        url: String,
        headers: Vec<(String, String)>,
        timeout: Duration,
        resource: Resource,
    ) -> Result<Self, ExportError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                ExportError::Transport(format!("cannot start the exporter's runtime: {e}"))
            })?;
        let shown = url.clone();
        let endpoint = Endpoint::from_shared(url)
            .map_err(|e| ExportError::Transport(format!("invalid gRPC endpoint {shown:?}: {e}")))?
            .timeout(timeout);
        // Connect lazily: the backend may come up after the application.
        let channel = {
            let _rt = runtime.enter();
            endpoint.connect_lazy()
        };
        // `Settings` already refuses such headers; a header is never silently left out.
        let headers = headers
            .into_iter()
            .map(|(k, v)| match (k.parse(), v.parse()) {
                (Ok(key), Ok(value)) => Ok((key, value)),
                _ => Err(ExportError::Transport(format!(
                    "the header {k:?} cannot be sent as gRPC metadata: use a lowercase ASCII name not ending in -bin and a printable ASCII value"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(GrpcExporter {
            client: TraceServiceClient::new(channel),
            headers,
            timeout,
            resource,
            runtime,
        })
    }
}

impl SpanExporter for GrpcExporter {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        let request = encode_request(&self.resource, batch);
        let mut backoff = Backoff::new(self.timeout);
        let client = &mut self.client;
        let headers = &self.headers;
        self.runtime.block_on(async {
            loop {
                let mut req = tonic::Request::new(request.clone());
                for (k, v) in headers {
                    req.metadata_mut().insert(k.clone(), v.clone());
                }
                let error = match client.export(req).await {
                    Ok(_) => return Ok(()),
                    Err(status) => {
                        let retry = retryable_code(status.code());
                        let error =
                            ExportError::Grpc(format!("{}: {}", status.code(), status.message()));
                        if !retry {
                            return Err(error);
                        }
                        error
                    }
                };
                match backoff.next_delay(None) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(error),
                }
            }
        })
    }
}

/// The gRPC codes the OTLP specification calls retryable
/// (<https://opentelemetry.io/docs/specs/otlp/#failures>). `RESOURCE_EXHAUSTED` is
/// retryable only when the server sends `RetryInfo`, which tonic does not decode
/// here; it is retried anyway, within the export timeout, as the OpenTelemetry SDKs do.
pub(crate) fn retryable_code(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Aborted
            | tonic::Code::OutOfRange
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
            | tonic::Code::ResourceExhausted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_are_the_otlp_specs() {
        use tonic::Code::*;
        let retried = [
            Cancelled,
            DeadlineExceeded,
            Aborted,
            OutOfRange,
            Unavailable,
            DataLoss,
            ResourceExhausted,
        ];
        let not = [
            Ok,
            Unknown,
            InvalidArgument,
            NotFound,
            AlreadyExists,
            PermissionDenied,
            FailedPrecondition,
            Unimplemented,
            Internal,
            Unauthenticated,
        ];
        for c in retried {
            assert!(retryable_code(c), "{c:?} is retried");
        }
        for c in not {
            assert!(!retryable_code(c), "{c:?} is not retried");
        }
    }
}
