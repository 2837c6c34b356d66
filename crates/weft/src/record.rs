//! What a finished span or log looks like on its way to exporters.
//!
//! Records are built on the export thread, from the compact messages the application's
//! threads send (`pipeline::started`). The Logfire attributes (`logfire.msg`, `logfire.json_schema`…) are not
//! stored here: the OTLP encoder derives them on the export thread.

use crate::level::Level;
use crate::value::Value;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
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
    static THREAD_ID: ThreadNumber = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Some(name) = std::thread::current().name() {
            lock_names().names.insert(id, Arc::from(name));
        }
        ThreadNumber(id)
    };
}

/// A thread's number; dropped when the thread exits, which marks its name as evictable.
struct ThreadNumber(u64);

impl Drop for ThreadNumber {
    fn drop(&mut self) {
        let mut names = lock_names();
        if names.names.contains_key(&self.0) {
            names.exited.push_back(self.0);
            // Processes that start a named thread per task would otherwise keep every
            // name forever. Only exited threads are evicted, oldest first, and only
            // beyond this many: their last records may still be queued for export and
            // are named when their batch is, so the newest exits keep their names.
            while names.exited.len() > MAX_EXITED_THREAD_NAMES {
                if let Some(old) = names.exited.pop_front() {
                    names.names.remove(&old);
                }
            }
        }
    }
}

/// How many exited threads keep their names (see [`ThreadNumber`]'s drop).
const MAX_EXITED_THREAD_NAMES: usize = 1024;

/// Names of the threads that made records, by thread number: every live named thread,
/// and the last [`MAX_EXITED_THREAD_NAMES`] that exited.
struct ThreadNames {
    names: BTreeMap<u64, Arc<str>>,
    exited: VecDeque<u64>,
}

static THREAD_NAMES: Mutex<ThreadNames> = Mutex::new(ThreadNames {
    names: BTreeMap::new(),
    exited: VecDeque::new(),
});

fn lock_names() -> std::sync::MutexGuard<'static, ThreadNames> {
    THREAD_NAMES.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ThreadInfo {
    /// The calling thread's number; the name is filled in on the export thread.
    pub fn current() -> ThreadInfo {
        ThreadInfo {
            // During the thread's own teardown (a span dropped by another thread-local's
            // destructor) the number is gone; 0 means "unknown thread".
            id: THREAD_ID.try_with(|n| n.0).unwrap_or(0),
            name: None,
        }
    }

    /// Fills in thread names for a batch (one lock per batch).
    pub(crate) fn name_all(records: &mut [SpanRecord]) {
        let names = lock_names();
        for r in records.iter_mut().filter(|r| r.thread.name.is_none()) {
            r.thread.name = names.names.get(&r.thread.id).cloned();
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
    /// Moves everything into `record`, leaving this empty but with its lists'
    /// allocations (see `pipeline::returned`).
    pub(crate) fn move_into(&mut self, record: &mut SpanRecord) {
        record.attributes.append(&mut self.attributes);
        record.events.append(&mut self.events);
        record.links.append(&mut self.links);
        let status = std::mem::take(&mut self.status);
        if status != Status::Unset {
            record.status = status;
        }
        if let Some(level) = self.level.take() {
            record.level = Some(level);
        }
        if let Some(name) = self.name.take() {
            record.name = name;
            record.template = None;
        }
    }

    /// Whether this (emptied) box is small enough to keep for another span.
    pub(crate) fn fits_for_reuse(&self) -> bool {
        let kept = crate::pipeline::returned::MAX_KEPT_CAPACITY;
        self.attributes.capacity() <= kept
            && self.events.capacity() <= kept
            && self.links.capacity() <= kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_fields_moved_into_a_record_leave_an_empty_box_to_reuse() {
        let mut late = LateFields {
            attributes: vec![("a".into(), Value::I64(1))],
            events: vec![SpanEvent {
                name: "e".into(),
                time_ns: 5,
                attributes: Vec::new(),
            }],
            links: Vec::new(),
            status: Status::Error("bad".into()),
            level: Some(Level::Warn),
            name: Some("renamed".into()),
        };
        let mut record = SpanRecord {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            name: "n".into(),
            template: Some("n".into()),
            kind: SpanKind::Internal,
            span_type: SpanType::Span,
            level: None,
            start_ns: 1,
            end_ns: 2,
            attributes: vec![("b".into(), Value::I64(2))],
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
            code: None,
            thread: ThreadInfo { id: 1, name: None },
            scope: "weft".into(),
        };
        late.move_into(&mut record);
        assert_eq!(record.attributes.len(), 2);
        assert_eq!(record.events.len(), 1);
        assert_eq!(record.status, Status::Error("bad".into()));
        assert_eq!(
            (record.level, record.name.as_ref(), record.template.as_ref()),
            (Some(Level::Warn), "renamed", None)
        );
        assert!(
            late.attributes.is_empty() && late.attributes.capacity() >= 1,
            "emptied, allocation kept"
        );
        assert!(late.events.is_empty() && late.links.is_empty());
        assert_eq!(
            (&late.status, late.level, &late.name),
            (&Status::Unset, None, &None)
        );
        assert!(late.fits_for_reuse());
    }

    fn register_on_named_thread(name: String) -> u64 {
        std::thread::Builder::new()
            .name(name)
            .spawn(|| ThreadInfo::current().id)
            .and_then(|h| h.join().map_err(|_| std::io::Error::other("panicked")))
            .unwrap_or(0)
    }

    #[test]
    fn thread_names_of_exited_threads_are_bounded_and_live_ones_kept() {
        let (registered, registered_rx) = std::sync::mpsc::channel();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("long-lived".into())
            .spawn(move || {
                let _ = registered.send(ThreadInfo::current().id);
                let _ = wait.recv();
            })
            .ok();
        let keeper_id = registered_rx.recv().unwrap_or(0);
        let first = register_on_named_thread("short-first".into());
        let mut last = 0;
        for i in 0..MAX_EXITED_THREAD_NAMES + 50 {
            last = register_on_named_thread(format!("short-{i}"));
        }
        {
            let names = lock_names();
            assert!(names.exited.len() <= MAX_EXITED_THREAD_NAMES);
            assert_eq!(
                names.names.get(&keeper_id).map(|n| n.as_ref()),
                Some("long-lived"),
                "a live thread keeps its name however many others exit"
            );
            assert!(
                !names.names.contains_key(&first),
                "the oldest exited thread's name was evicted"
            );
            assert_eq!(
                names.names.get(&last).map(|n| n.to_string()),
                Some(format!("short-{}", MAX_EXITED_THREAD_NAMES + 49)),
                "recently exited threads keep their names for records still queued"
            );
        }
        let _ = release.send(());
        if let Some(k) = keeper {
            let _ = k.join();
        }
    }
}
