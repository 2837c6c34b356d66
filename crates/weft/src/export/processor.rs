//! Span processors: code that sees every record on the export thread, and may change
//! it, before any exporter does (OpenTelemetry's `SpanProcessor`, for weft's records).

use crate::record::SpanRecord;

/// Sees every record on the export thread before the exporters, in the order the
/// processors were added, and may change it: add or redact attributes, rename,
/// count. Added with `configure().span_processor(..)`.
///
/// Like [`SpanExporter`](super::SpanExporter), its methods run one at a time on the
/// export thread, never on the application's: a slow processor delays export, not
/// the caller.
///
/// ```
/// use weft::export::{SpanProcessor, SpanRecord};
/// use weft::Value;
///
/// /// Hides the value of every attribute named `password`.
/// struct Redact;
///
/// impl SpanProcessor for Redact {
///     fn on_end(&mut self, record: &mut SpanRecord) {
///         for (key, value) in &mut record.attributes {
///             if key == "password" {
///                 *value = Value::Str("[redacted]".into());
///             }
///         }
///     }
/// }
///
/// let _weft = weft::configure().local().span_processor(Redact);
/// ```
pub trait SpanProcessor: Send + 'static {
    /// A span started (its attributes as they were at start) or a log was made.
    /// Changes made here are kept, and show in the pending-span record and at the end.
    fn on_start(&mut self, _record: &mut SpanRecord) {}

    /// A span ended, with everything it gathered, or a log was made: the record as it
    /// will be exported.
    fn on_end(&mut self, _record: &mut SpanRecord) {}
}
