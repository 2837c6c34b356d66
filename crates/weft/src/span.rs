//! The user's span handle: start, enter, attributes, exceptions, end.
//!
//! A span is current while it is entered: its id lives in the OpenTelemetry
//! [`Context`], where weft spans, `tracing` spans and spans of crates that use
//! `opentelemetry::global` all find their parent. Only sampled spans record anything;
//! an unsampled one still has ids and flags so it propagates.

use crate::level::Level;
use crate::pipeline::started::{Site, Started};
use crate::pipeline::{Pipeline, PipelineRef};
use crate::record::{Attribute, CodeLocation, LateFields, SpanEvent, SpanLink, Status, ThreadInfo};
use crate::value::{Field, Value};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry::{Context, ContextGuard};
use serde::Serialize;
use std::borrow::Cow;
use std::sync::Mutex;

/// Where a macro call site is: built once per call site as a `static`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Callsite {
    /// The message template (also the span name).
    pub template: &'static str,
    /// The level given at the call site, if any.
    pub level: Option<Level>,
    /// File, line and module of the call site.
    pub code: CodeLocation,
}

/// What a new span is made of.
pub(crate) struct StartArgs {
    /// Name, template, level, kind, code location and scope.
    pub(crate) site: Site,
    pub(crate) attributes: Vec<Field>,
    pub(crate) links: Vec<SpanLink>,
    /// `None`: the current context's span is the parent.
    pub(crate) parent: Option<Context>,
}

/// The parent span in `cx`, the instance that records there, and the caller's context
/// a `distributed_tracing = Deny` extraction kept out, if this span is the first under it.
#[inline]
fn parent_in(cx: &Context) -> (SpanContext, Option<PipelineRef>, Option<SpanContext>) {
    let parent = cx.span().span_context().clone();
    let denied = weft_context::propagation::denied_parent_for(cx, &parent).cloned();
    (parent, Pipeline::for_context(cx), denied)
}

/// The level a span is filtered at when none is given: Logfire's spans are `info`.
const DEFAULT_SPAN_LEVEL: Level = Level::Info;

/// A span. Dropping it ends it; [`Span::entered`] makes it current until the returned
/// guard drops.
///
/// ```
/// let span = weft::span!("Doubling everything").entered();
/// let results: Vec<i32> = (0..3).map(|x| x * 2).collect();
/// span.set_attribute("results", &results);
/// ```
#[derive(Debug)]
#[must_use = "a span ends when dropped: keep it (e.g. `let _span = …entered();`)"]
pub struct Span {
    cx: Option<SpanContext>,
    rec: Option<Recording>,
}

#[derive(Debug)]
struct Recording {
    pipeline: PipelineRef,
    /// What was added after the start; boxed lazily, since most spans add nothing.
    late: Mutex<Option<Box<LateFields>>>,
}

impl Span {
    /// A span that does nothing: what a filtered-out `span!` gives.
    pub fn none() -> Span {
        Span {
            cx: None,
            rec: None,
        }
    }

    #[inline]
    pub(crate) fn start(args: StartArgs) -> Span {
        Span::start_at(args, None)
    }

    /// [`Span::start`], at `start_ns` (ns since the Unix epoch) instead of now when
    /// given: OpenTelemetry's `SpanBuilder::start_time`.
    pub(crate) fn start_at(args: StartArgs, start_ns: Option<u64>) -> Span {
        if crate::suppress::is_suppressed() {
            return Span::none();
        }
        let (parent, pipeline, denied) = match &args.parent {
            Some(cx) => parent_in(cx),
            None => Context::map_current(parent_in),
        };
        let Some(pipeline) = pipeline else {
            // Not configured: no recording, but a real context so propagation still works.
            return Span {
                cx: Some(unconfigured_child(&parent)),
                rec: None,
            };
        };
        let parent = match (&pipeline.0.default_parent, parent.is_valid()) {
            (Some(from_env), false) => from_env.clone(),
            _ => parent,
        };
        if args.site.level().unwrap_or(DEFAULT_SPAN_LEVEL) < pipeline.0.min_level {
            return Span::none();
        }
        let parent_valid = parent.is_valid();
        // A new trace's id embeds its start time: one clock reading serves both.
        let root_now = (!parent_valid && pipeline.0.ids.is_random())
            .then(|| start_ns.unwrap_or_else(|| pipeline.now_ns()));
        let (trace_id, span_id) =
            pipeline.new_ids(parent_valid.then(|| parent.trace_id()), root_now);
        let sampled = pipeline.0.sampler.should_sample(&parent, trace_id);
        let (flags, state) = if parent_valid {
            // Flags a future version defines are not ours to pass on (W3C: "vendors
            // MUST set those to zero"); sampled and random-trace-id are.
            let known =
                parent.trace_flags().to_u8() & (TraceFlags::SAMPLED.to_u8() | RANDOM_TRACE_ID_FLAG);
            (TraceFlags::new(known), parent.trace_state().clone())
        } else if pipeline.0.ids.is_random() {
            (TraceFlags::new(RANDOM_TRACE_ID_FLAG), TraceState::NONE)
        } else {
            (TraceFlags::default(), TraceState::NONE)
        };
        let cx = SpanContext::new(trace_id, span_id, flags.with_sampled(sampled), false, state);
        if !sampled || !pipeline.0.sampler.records {
            return Span {
                cx: Some(cx),
                rec: None,
            };
        }
        let mut links = args.links;
        if let Some(remote) = denied {
            // The caller's context that the policy kept out: a link, once (server
            // middleware may have recorded it already).
            if !links.iter().any(|l| l.span_context == remote) {
                links.push(SpanLink {
                    span_context: remote,
                    attributes: vec![(
                        Cow::Borrowed(weft_context::propagation::LINK_REASON_ATTRIBUTE),
                        Value::Str(Cow::Borrowed(weft_context::propagation::LINK_REASON_DENIED)),
                    )],
                });
            }
        }
        let start_ns = start_ns.or(root_now).unwrap_or_else(|| pipeline.now_ns());
        pipeline.send_start(Started {
            trace_id: trace_id.to_bytes(),
            span_id,
            parent_span_id: parent.span_id(),
            start_ns,
            site: args.site,
            attributes: args.attributes,
            rare: Started::rare(cx.trace_state(), links),
            thread: ThreadInfo::current().id,
            flags: cx.trace_flags(),
            parent_is_remote: parent_valid && parent.is_remote(),
            log_level: None,
        });
        Span {
            cx: Some(cx),
            rec: Some(Recording {
                pipeline,
                late: Mutex::new(None),
            }),
        }
    }

    /// The span's W3C identity, if it has one (a filtered-out span has none).
    pub fn span_context(&self) -> Option<&SpanContext> {
        self.cx.as_ref()
    }

    /// Whether the span is sampled and will be exported.
    pub fn is_recording(&self) -> bool {
        self.rec.is_some()
    }

    /// The current context with this span as the active span.
    pub fn context(&self) -> Context {
        match &self.cx {
            Some(sc) => Context::current().with_remote_span_context(sc.clone()),
            None => Context::current(),
        }
    }

    /// Makes the span current until the returned guard drops; the span ends then too.
    pub fn entered(self) -> EnteredSpan {
        let guard = self.cx.as_ref().map(enter_context);
        EnteredSpan { guard, span: self }
    }

    /// Makes the span current until the returned guard drops, without ending it.
    pub fn enter(&self) -> Entered<'_> {
        let guard = self.cx.as_ref().map(enter_context);
        Entered {
            _guard: guard,
            _span: std::marker::PhantomData,
        }
    }

    /// Runs `f` with the span current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// Sets an attribute. Scalars stay scalars; lists, maps and structs become JSON.
    pub fn set_attribute(&self, key: impl Into<Cow<'static, str>>, value: impl Serialize) {
        self.with_late(|late| {
            late.attributes
                .push((key.into(), Value::from_serialize(&value)))
        });
    }

    /// Sets the level (`logfire.level_num`), e.g. to mark a span as a warning.
    pub fn set_level(&self, level: Level) {
        self.with_late(|late| late.level = Some(level));
    }

    /// Marks the span failed, with a description.
    pub fn set_error(&self, description: impl Into<String>) {
        self.with_late(|late| late.status = Status::Error(description.into()));
    }

    /// Records an error as an `exception` event (type, message, cause chain) and marks
    /// the span failed at level `error`, as the Logfire SDKs do for exceptions.
    pub fn record_exception<E: std::error::Error + ?Sized>(&self, error: &E) {
        let Some(rec) = &self.rec else { return };
        let ty = std::any::type_name::<E>();
        let message = error.to_string();
        let mut chain = String::new();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str("caused by: ");
            chain.push_str(&cause.to_string());
            chain.push('\n');
            source = cause.source();
        }
        let event = SpanEvent {
            name: "exception".into(),
            time_ns: rec.pipeline.now_ns(),
            attributes: vec![
                ("exception.type".into(), Value::Str(ty.into())),
                (
                    "exception.message".into(),
                    Value::Str(message.clone().into()),
                ),
                ("exception.stacktrace".into(), Value::Str(chain.into())),
                ("exception.escaped".into(), Value::Str("True".into())),
            ],
        };
        self.with_late(|late| {
            late.events.push(event);
            late.status = Status::Error(format!("{ty}: {message}"));
            late.level = Some(Level::Error);
        });
    }

    /// Adds a link to another span.
    pub fn add_link(&self, span_context: SpanContext, attributes: Vec<Attribute>) {
        self.with_late(|late| {
            late.links.push(SpanLink {
                span_context,
                attributes,
            })
        });
    }

    /// Sets an already-converted attribute value.
    pub(crate) fn set_value(&self, key: Cow<'static, str>, value: Value) {
        self.with_late(|late| late.attributes.push((key, value)));
    }

    /// Marks the span as explicitly fine.
    pub(crate) fn set_ok(&self) {
        self.with_late(|late| late.status = Status::Ok);
    }

    /// Renames the span (OpenTelemetry's `update_name`).
    pub(crate) fn rename(&self, name: Cow<'static, str>) {
        self.with_late(|late| late.name = Some(name));
    }

    /// Adds an event.
    pub(crate) fn add_event(
        &self,
        name: Cow<'static, str>,
        time_ns: u64,
        attributes: Vec<Attribute>,
    ) {
        self.with_late(|late| {
            late.events.push(SpanEvent {
                name,
                time_ns,
                attributes,
            })
        });
    }

    fn with_late(&self, f: impl FnOnce(&mut LateFields)) {
        if let Some(rec) = &self.rec {
            // A poisoned lock only means another thread panicked mid-update: keep recording.
            let mut late = rec
                .late
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(late.get_or_insert_with(crate::pipeline::returned::late_box));
        }
    }
}

impl Span {
    /// Ends the span at `end_ns` (ns since the Unix epoch) instead of now:
    /// OpenTelemetry's `end_with_timestamp`.
    pub(crate) fn end_at(mut self, end_ns: u64) {
        if let (Some(rec), Some(cx)) = (self.rec.take(), &self.cx) {
            let late = rec
                .late
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            rec.pipeline
                .send_end(cx.trace_id(), cx.span_id(), end_ns, late);
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if let (Some(rec), Some(cx)) = (self.rec.take(), &self.cx) {
            let late = rec
                .late
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let end = rec.pipeline.now_ns();
            rec.pipeline
                .send_end(cx.trace_id(), cx.span_id(), end, late);
        }
    }
}

/// Makes `sc` the current span, borrowing the current context rather than cloning it
/// first (a clone and a drop fewer per entered span).
fn enter_context(sc: &SpanContext) -> ContextGuard {
    Context::map_current(|cx| cx.with_remote_span_context(sc.clone())).attach()
}

/// W3C Trace Context Level 2 `random-trace-id` flag
/// (<https://www.w3.org/TR/trace-context-2/#random-trace-id-flag>).
pub(crate) const RANDOM_TRACE_ID_FLAG: u8 = 0x02;

fn unconfigured_child(parent: &SpanContext) -> SpanContext {
    static IDS: crate::ids::IdSource = crate::ids::IdSource::Random;
    let span_id = IDS.new_span_id();
    if parent.is_valid() {
        SpanContext::new(
            parent.trace_id(),
            span_id,
            parent.trace_flags(),
            false,
            parent.trace_state().clone(),
        )
    } else {
        let flags = TraceFlags::new(RANDOM_TRACE_ID_FLAG).with_sampled(true);
        SpanContext::new(IDS.new_trace_id(), span_id, flags, false, TraceState::NONE)
    }
}

/// A span made current by [`Span::entered`]: dropping it restores the previous context
/// and ends the span. Not `Send`: a context is entered and left on one thread.
#[derive(Debug)]
#[must_use = "the span is current only while this guard lives"]
pub struct EnteredSpan {
    // Declared first so it drops first: the context is restored before the span ends.
    guard: Option<ContextGuard>,
    span: Span,
}

impl EnteredSpan {
    /// Leaves the span without ending it, giving it back.
    pub fn exit(mut self) -> Span {
        self.guard.take();
        std::mem::replace(&mut self.span, Span::none())
    }
}

impl std::ops::Deref for EnteredSpan {
    type Target = Span;
    fn deref(&self) -> &Span {
        &self.span
    }
}

/// A span made current by [`Span::enter`], borrowed.
#[derive(Debug)]
#[must_use = "the span is current only while this guard lives"]
pub struct Entered<'a> {
    _guard: Option<ContextGuard>,
    _span: std::marker::PhantomData<&'a Span>,
}
