//! What a finished span or log looks like on its way to exporters.
//!
//! Records are flat and owned so the caller's thread hands them to the export thread
//! in one move. The Logfire attributes (`logfire.msg`, `logfire.json_schema`…) are not
//! stored here: the OTLP encoder derives them on the export thread.

use crate::level::Level;
use crate::value::Value;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// An attribute: a key and a [`Value`].
pub type Attribute = (Cow<'static, str>, Value);

/// What a record is, in Logfire's terms (`logfire.span_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanType {
    /// A span with a duration.
    Span,
    /// A log: a zero-duration span.
    Log,
    /// The record exported when a span starts, so viewers can draw it while it is open.
    PendingSpan,
}

impl SpanType {
    /// The value of `logfire.span_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanType::Span => "span",
            SpanType::Log => "log",
            SpanType::PendingSpan => "pending_span",
        }
    }
}

/// Where in the source a span or log was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeLocation {
    /// `code.filepath`: the file, as `file!()` gives it.
    pub filepath: &'static str,
    /// `code.lineno`.
    pub lineno: u32,
    /// `code.function`, when known (`#[weft::instrument]` knows it).
    pub function: Option<&'static str>,
    /// `code.namespace`: the module path.
    pub namespace: &'static str,
}

/// The thread a span started on (`thread.id`, `thread.name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// A small number unique to the thread within this process.
    pub id: u64,
    /// The thread's name, if it has one.
    pub name: Option<Arc<str>>,
}

thread_local! {
    /// This thread's number; its name is registered once, here, so records carry only
    /// the number and the export thread adds the name (no reference count shared
    /// between the application's threads and the export thread).
    static THREAD_ID: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Some(name) = std::thread::current().name() {
            THREAD_NAMES.lock().unwrap_or_else(PoisonError::into_inner).insert(id, Arc::from(name));
        }
        id
    };
}

/// Names of the threads that made records, by thread number.
static THREAD_NAMES: Mutex<BTreeMap<u64, Arc<str>>> = Mutex::new(BTreeMap::new());

impl ThreadInfo {
    /// The calling thread's number; the name is filled in on the export thread.
    pub fn current() -> ThreadInfo {
        ThreadInfo {
            id: THREAD_ID.with(|id| *id),
            name: None,
        }
    }

    /// Fills in thread names for a batch (one lock per batch).
    pub(crate) fn name_all(records: &mut [SpanRecord]) {
        let names = THREAD_NAMES.lock().unwrap_or_else(PoisonError::into_inner);
        for r in records.iter_mut().filter(|r| r.thread.name.is_none()) {
            r.thread.name = names.get(&r.thread.id).cloned();
        }
    }
}

/// A span status.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Nothing was said.
    #[default]
    Unset,
    /// Explicitly fine.
    Ok,
    /// Failed, with a description.
    Error(String),
}

/// An event inside a span (an exception, for instance).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// The event's name (`exception` for exceptions).
    pub name: Cow<'static, str>,
    /// When it happened, in ns since the Unix epoch.
    pub time_ns: u64,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// A link to another span (e.g. the caller's context kept under `distributed_tracing = Deny`).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanLink {
    /// The linked span.
    pub span_context: SpanContext,
    /// Why it is linked.
    pub attributes: Vec<Attribute>,
}

/// A finished span, a log, or a pending-span record, as exporters receive it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpanRecord {
    /// Trace id, span id, flags and tracestate.
    pub span_context: SpanContext,
    /// The parent's span id, or `SpanId::INVALID` for a root.
    pub parent_span_id: SpanId,
    /// Whether the parent came from another process (a W3C carrier).
    pub parent_is_remote: bool,
    /// The span name: for weft spans the message template.
    pub name: Cow<'static, str>,
    /// The message template that `logfire.msg` is rendered from, if the span has one.
    pub template: Option<Cow<'static, str>>,
    /// Server, client, producer, consumer or internal.
    pub kind: SpanKind,
    /// Span, log or pending span.
    pub span_type: SpanType,
    /// The level, for logs and for spans given one.
    pub level: Option<Level>,
    /// Start, ns since the Unix epoch.
    pub start_ns: u64,
    /// End, ns since the Unix epoch (equal to the start for logs).
    pub end_ns: u64,
    /// The user's attributes, in the order they were set.
    pub attributes: Vec<Attribute>,
    /// Events (exceptions).
    pub events: Vec<SpanEvent>,
    /// Links.
    pub links: Vec<SpanLink>,
    /// The status.
    pub status: Status,
    /// Where it was made, when known.
    pub code: Option<CodeLocation>,
    /// The thread it started on.
    pub thread: ThreadInfo,
    /// The instrumentation scope (`weft`, a `tracing` target, or an OpenTelemetry tracer's name).
    pub scope: Cow<'static, str>,
}

impl SpanRecord {
    /// The attribute named `key`, if set (the last value wins).
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The rendered message (`logfire.msg`): the template filled with the attributes,
    /// or the name when there is no template.
    pub fn message(&self) -> String {
        match &self.template {
            Some(t) => crate::template::render(t, &self.attributes),
            None => self.name.to_string(),
        }
    }
}

/// What a span gathered after it started: applied to the started record at the end.
#[derive(Debug, Default)]
pub(crate) struct LateFields {
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) events: Vec<SpanEvent>,
    pub(crate) links: Vec<SpanLink>,
    pub(crate) status: Status,
    pub(crate) level: Option<Level>,
    pub(crate) name: Option<Cow<'static, str>>,
}

impl LateFields {
    pub(crate) fn apply_to(self, record: &mut SpanRecord) {
        record.attributes.extend(self.attributes);
        record.events.extend(self.events);
        record.links.extend(self.links);
        if self.status != Status::Unset {
            record.status = self.status;
        }
        if self.level.is_some() {
            record.level = self.level;
        }
        if let Some(name) = self.name {
            record.name = name;
            record.template = None;
        }
    }
}
