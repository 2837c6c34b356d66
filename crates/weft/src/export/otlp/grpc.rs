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
        let headers = headers
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
            .collect();
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
                        let retry = matches!(
                            status.code(),
                            tonic::Code::Unavailable
                                | tonic::Code::ResourceExhausted
                                | tonic::Code::DeadlineExceeded
                                | tonic::Code::Aborted
                        );
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
