//! Export: the background thread that batches records and hands them to exporters.
//!
//! Built in: OTLP over HTTP (protobuf or JSON) and gRPC, the Logfire-style console,
//! and an in-memory exporter for tests. Anything else implements [`SpanExporter`].

pub(crate) mod console;
pub mod memory;
pub mod otlp;
mod processor;
pub(crate) mod reuse;

pub use processor::SpanProcessor;
pub(crate) mod worker;

pub use crate::record::{
    Attribute, CodeLocation, SpanEvent, SpanLink, SpanRecord, SpanType, Status, ThreadInfo,
};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The backend answered with an HTTP status that is not retried, or retries ran out.
    #[error("the backend answered HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The backend could not be reached (after retries).
    #[error("could not reach the backend: {0}")]
    Transport(String),
    /// The gRPC backend answered with an error status.
    #[error("the gRPC backend answered {0}")]
    Grpc(String),
    /// The exporter has been shut down.
    #[error("the exporter has been shut down")]
    ShutDown,
}

/// Receives batches of finished records on weft's export thread.
///
/// Methods are called from one thread, one at a time, so implementations need no
/// locking. They may block (that is what the export thread is for), but a slow
/// exporter delays the others: the queue in front of the thread is bounded, and when
/// it is full new records are dropped and counted rather than blocking the application.
///
/// ```
/// use weft::export::{ExportError, SpanExporter, SpanRecord};
///
/// struct CountNames(usize);
///
/// impl SpanExporter for CountNames {
///     fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
///         self.0 += batch.len();
///         Ok(())
///     }
/// }
/// ```
pub trait SpanExporter: Send + 'static {
    /// Exports one batch: finished spans, logs and pending-span records.
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError>;

    /// Called as soon as a span starts or a log is made, before it is batched. The
    /// console uses it to print in real time; most exporters ignore it.
    fn on_start(&mut self, _record: &SpanRecord) {}

    /// Called on `force_flush`, after the last batch was exported.
    fn force_flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Called once at shutdown, after the last batch was exported.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}
