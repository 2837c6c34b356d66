//! OTLP over HTTP (`/v1/traces`), protobuf or JSON, from the export thread.
//!
//! The client runs on a single-threaded tokio runtime owned by this exporter, so it
//! neither needs nor disturbs the application's runtime.

use super::Protocol;
use super::encode::{Resource, encode_request};
use super::retry::{Backoff, retryable_status};
use crate::export::{ExportError, SpanExporter};
use crate::record::SpanRecord;
use prost::Message;
use std::time::Duration;

/// Sends batches to an OTLP/HTTP endpoint.
pub(crate) struct HttpExporter {
    url: String,
    headers: Vec<(String, String)>,
    json: bool,
    timeout: Duration,
    resource: Resource,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl HttpExporter {
    pub(crate) fn new(
        url: String,
        headers: Vec<(String, String)>,
        protocol: Protocol,
        timeout: Duration,
        resource: Resource,
    ) -> Result<Self, ExportError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                ExportError::Transport(format!("cannot start the exporter's runtime: {e}"))
            })?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ExportError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpExporter {
            url,
            headers,
            json: protocol == Protocol::HttpJson,
            timeout,
            resource,
            client,
            runtime,
        })
    }

    async fn send(&self, body: Vec<u8>) -> Result<(), ExportError> {
        let mut backoff = Backoff::new(self.timeout);
        loop {
            let mut req = self
                .client
                .post(&self.url)
                .header(
                    "content-type",
                    if self.json {
                        "application/json"
                    } else {
                        "application/x-protobuf"
                    },
                )
                .body(body.clone());
            for (k, v) in &self.headers {
                req = req.header(k, v);
            }
            let (error, hint) = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let hint = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = resp.text().await.unwrap_or_default();
                    let error = ExportError::Http {
                        status,
                        body: text.chars().take(200).collect(),
                    };
                    if !retryable_status(status) {
                        return Err(error);
                    }
                    (error, hint)
                }
                Err(e) => (ExportError::Transport(e.to_string()), None),
            };
            match backoff.next_delay(hint) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
        }
    }
}

impl SpanExporter for HttpExporter {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        let request = encode_request(&self.resource, batch);
        let body = if self.json {
            serde_json::to_vec(&request)
                .map_err(|e| ExportError::Transport(format!("cannot encode JSON: {e}")))?
        } else {
            request.encode_to_vec()
        };
        self.runtime.block_on(self.send(body))
    }
}
