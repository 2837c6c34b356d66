//! The rows the store keeps: one per span, pending span or log record, plus the resources
//! they came from. OTLP logs become zero-duration records hung on their span, so the tree
//! shows them inline.

use crate::ids::{SpanId, TraceId};

/// Whether a row came from the traces or the logs signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// An OTLP span (including Logfire's `log` and `pending_span` records).
    Span,
    /// An OTLP log record, attached to the span in its `span_id`.
    Log,
}

/// One stored span or log record.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    /// Row id in the store (0 until stored).
    pub row_id: i64,
    /// Trace the record belongs to (all zero for a log without trace context).
    pub trace_id: TraceId,
    /// The span's id; for a log record, the span it was emitted in (zero if none).
    pub span_id: SpanId,
    /// The parent span, if any (never set for a log record).
    pub parent_span_id: Option<SpanId>,
    /// Span or log.
    pub signal: Signal,
    /// Span name (Logfire: the message template); for a log, its event name or severity.
    pub name: String,
    /// `logfire.msg`, or a log's body: what to show instead of the name.
    pub msg: Option<String>,
    /// `logfire.span_type`: `span`, `log` or `pending_span`.
    pub span_type: Option<String>,
    /// `logfire.level_num`, or a log's severity number (same scale).
    pub level_num: Option<i64>,
    /// `logfire.pending_parent_id` of a pending span: the real span's parent (`None` for a root).
    pub pending_parent_id: Option<SpanId>,
    /// OTLP `SpanKind` number (0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// Start, in ns since the Unix epoch.
    pub start_ns: i64,
    /// End, in ns since the Unix epoch (equal to start for logs).
    pub end_ns: i64,
    /// OTLP status code (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// Status message.
    pub status_message: String,
    /// OTLP span flags: W3C trace flags in bits 0-7, the is-remote bits 8 and 9.
    pub flags: u32,
    /// W3C tracestate.
    pub trace_state: String,
    /// `service.name` of the resource.
    pub service: String,
    /// Resource: an index into [`Batch::resources`] before storing, the `resources.id` after.
    pub resource_id: i64,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version.
    pub scope_version: String,
    /// Attributes as a JSON object.
    pub attributes: String,
    /// Events as a JSON array of `{time_ns, name, attributes}`.
    pub events: String,
    /// Links as a JSON array of `{trace_id, span_id, trace_state, flags, attributes}`.
    pub links: String,
    /// Dropped attribute, event and link counts.
    pub dropped: [u32; 3],
    /// An OTLP log record's `severity_text` (empty for spans).
    pub severity_text: String,
}

impl SpanRow {
    /// True for Logfire's pending-span record (exported at span start, never a span itself).
    pub fn is_pending(&self) -> bool {
        self.signal == Signal::Span && self.span_type.as_deref() == Some("pending_span")
    }

    /// True for records that are logs rather than spans (OTLP logs and Logfire `log` spans).
    pub fn is_log(&self) -> bool {
        self.signal == Signal::Log || self.span_type.as_deref() == Some("log")
    }

    /// True when the status is ERROR or the level is error or worse.
    pub fn is_error(&self) -> bool {
        self.status_code == 2 || self.level_num.is_some_and(|l| l >= 17)
    }
}

/// One resource (the process that sent the records).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    /// `service.name`, or `unknown_service` as the OTel SDKs default it.
    pub service: String,
    /// Attributes as a JSON object.
    pub attributes: String,
    /// Resource schema URL.
    pub schema_url: String,
}

/// What one export request brings, ready to store in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The records.
    pub rows: Vec<SpanRow>,
    /// Their resources ([`SpanRow::resource_id`] indexes this).
    pub resources: Vec<ResourceRow>,
}
