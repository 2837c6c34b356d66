//! The `tracing` crate as an input: spans and events from `tracing` macros, in the
//! application or in libraries, become weft spans and logs in the same trees.
//!
//! Entering a `tracing` span makes it current in the OpenTelemetry `Context`, where
//! weft spans look for their parent; a `tracing` span made without an explicit parent
//! takes the current context's span as parent. So nesting is right both ways.

use crate::level::Level;
use crate::log::LogArgs;
use crate::pipeline::started::{OwnedSite, Site};
use crate::record::CodeLocation;
use crate::span::{Span as WeftSpan, StartArgs};
use crate::value::{FieldValue, Value};
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt};
use opentelemetry::{Context, ContextGuard};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::LevelFilter;
use tracing_core::subscriber::Interest;
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Returns the layer that feeds `tracing` spans and events into weft. `finish()`
/// installs it as the global subscriber unless told not to; add it to your own
/// subscriber otherwise.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(weft::tracing_layer());
/// # drop(subscriber);
/// ```
///
/// This layer gives the subscriber no maximum level, so it never hides events from
/// your other layers; weft drops what is below its floor itself. Add a
/// `tracing_subscriber::filter::LevelFilter` if you want `tracing`'s static check to
/// skip those events for every layer.
pub fn tracing_layer() -> WeftLayer {
    WeftLayer { level_hint: false }
}

/// See [`tracing_layer`].
#[derive(Debug)]
pub struct WeftLayer {
    /// Whether to give the subscriber weft's floor as its maximum level: only when
    /// weft's layer is the subscriber's only one (the subscriber `finish()` installs).
    level_hint: bool,
}

/// The layer of the subscriber `finish()` installs, where weft is alone, so its floor
/// can be the subscriber's maximum level and events below it cost one branch.
pub(crate) fn sole_tracing_layer() -> WeftLayer {
    WeftLayer { level_hint: true }
}

/// The lowest level of `tracing` spans and events weft records. Libraries (hyper,
/// h2, reqwest…) emit many `debug`/`trace` events per request, so the default is
/// `info`; `configure().tracing_min_level(..)` lowers it. weft's own macros are not
/// affected by it.
static TRACING_FLOOR: AtomicU8 = AtomicU8::new(Level::Info as u8);

pub(crate) fn set_tracing_floor(level: Level) {
    if TRACING_FLOOR.swap(level as u8, Ordering::Relaxed) != level as u8 {
        // The subscriber's maximum level comes from `max_level_hint`: recompute it.
        tracing_core::callsite::rebuild_interest_cache();
    }
}

fn tracing_floor() -> Level {
    let stored = TRACING_FLOOR.load(Ordering::Relaxed);
    Level::ALL
        .into_iter()
        .find(|l| *l as u8 == stored)
        .unwrap_or(Level::Info)
}

/// Whether weft records a `tracing` span or event with this metadata.
fn records(meta: &Metadata<'_>) -> bool {
    let level = Level::from_tracing(meta.level());
    // The stored floor is a level number: compare numbers, no lookup per event.
    level as u8 >= TRACING_FLOOR.load(Ordering::Relaxed)
        && crate::level::enabled(level)
        && !crate::suppress::is_suppressed()
}

/// The most verbose `tracing` level that `level` lets through (`notice` lies between
/// `tracing`'s info and warn, so it lets warn through).
fn level_filter(level: Level) -> LevelFilter {
    match level {
        Level::Trace => LevelFilter::TRACE,
        Level::Debug => LevelFilter::DEBUG,
        Level::Info => LevelFilter::INFO,
        Level::Notice | Level::Warn => LevelFilter::WARN,
        Level::Error | Level::Fatal => LevelFilter::ERROR,
    }
}

/// Stored in each `tracing` span's extensions.
struct Stored(WeftSpan);

thread_local! {
    /// Contexts attached by `on_enter`, popped by `on_exit` (guards are per-thread).
    static ENTERED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

impl<S> Layer<S> for WeftLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // weft filters inside `on_new_span` and `on_event`, never in `enabled` or
    // `register_callsite`: a layer's `enabled` answer disables the callsite for every
    // layer of the subscriber (a user's `fmt` layer would lose its debug output), and a
    // `never` interest is cached for good, so a callsite first reached on the export
    // thread (where weft records nothing) would stay off everywhere.
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _metadata: &Metadata<'_>, _ctx: LayerContext<'_, S>) -> bool {
        true
    }

    /// In the subscriber weft installs alone, the floor, so `tracing`'s own static
    /// check skips below it at no cost. Beside other layers, no opinion: a hint here
    /// would cap what layers that give none (a plain `fmt` layer) receive.
    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.level_hint.then(|| level_filter(tracing_floor()))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        if !records(meta) {
            return;
        }
        let mut fields = FieldVisitor::for_record(meta);
        attrs.record(&mut fields);
        let parent = if let Some(pid) = attrs.parent() {
            ctx.span(pid)
                .and_then(|p| {
                    p.extensions()
                        .get::<Stored>()
                        .and_then(|s| s.0.span_context().cloned())
                })
                .map(|sc| Context::current().with_remote_span_context(sc))
        } else if attrs.is_root() {
            Some(Context::current().with_remote_span_context(SpanContext::empty_context()))
        } else {
            None
        };
        let name = fields
            .otel_name
            .take()
            .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
        let span = WeftSpan::start(StartArgs {
            site: Site::owned(OwnedSite {
                template: Some(name.clone()),
                name,
                level: Some(Level::from_tracing(meta.level())),
                kind: fields.kind.unwrap_or(SpanKind::Internal),
                code: code(meta),
                scope: Cow::Borrowed(meta.target()),
            }),
            attributes: fields.attributes,
            links: Vec::new(),
            parent,
        });
        if let Some(s) = ctx.span(id) {
            s.extensions_mut().insert(Stored(span));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(s) = ctx.span(id) else { return };
        let mut fields = FieldVisitor::default();
        values.record(&mut fields);
        if let Some(stored) = s.extensions().get::<Stored>() {
            for (k, v) in fields.attributes {
                stored.0.set_value(k, v.into_value());
            }
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let (Some(s), Some(f)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let target = f
            .extensions()
            .get::<Stored>()
            .and_then(|st| st.0.span_context().cloned());
        if let (Some(stored), Some(sc)) = (s.extensions().get::<Stored>(), target) {
            stored.0.add_link(sc, Vec::new());
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(s) = ctx.span(id) else { return };
        let sc = s
            .extensions()
            .get::<Stored>()
            .and_then(|st| st.0.span_context().cloned());
        if let Some(sc) = sc {
            let guard = Context::current().with_remote_span_context(sc).attach();
            ENTERED.with(|e| e.borrow_mut().push((id.clone(), guard)));
        }
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let guard = ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            e.iter()
                .rposition(|(i, _)| i == id)
                .map(|pos| e.remove(pos))
        });
        drop(guard);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        if let Some(s) = ctx.span(&id) {
            // Dropping the weft span ends it.
            drop(s.extensions_mut().remove::<Stored>());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        if !records(meta) {
            return;
        }
        let mut fields = FieldVisitor::for_record(meta);
        event.record(&mut fields);
        let parent = if let Some(pid) = event.parent() {
            ctx.span(pid).and_then(|p| {
                p.extensions()
                    .get::<Stored>()
                    .and_then(|s| s.0.span_context().cloned())
            })
        } else if event.is_root() {
            Some(SpanContext::empty_context())
        } else {
            None
        };
        let name = fields
            .message
            .take()
            .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
        crate::log::emit(LogArgs {
            site: Site::owned(OwnedSite {
                name,
                template: None,
                level: None,
                kind: SpanKind::Internal,
                code: code(meta),
                scope: Cow::Borrowed(meta.target()),
            }),
            level: Level::from_tracing(meta.level()),
            attributes: fields.attributes,
            parent,
        });
    }
}

fn code(meta: &'static Metadata<'static>) -> Option<CodeLocation> {
    Some(CodeLocation {
        filepath: meta.file()?,
        lineno: meta.line().unwrap_or(0),
        function: None,
        namespace: meta.module_path().unwrap_or(""),
    })
}

/// Collects `tracing` fields as weft attributes, honouring `message` and the
/// `otel.name` / `otel.kind` conventions of tracing-opentelemetry.
#[derive(Default)]
struct FieldVisitor {
    attributes: Vec<crate::value::Field>,
    message: Option<String>,
    otel_name: Option<String>,
    kind: Option<SpanKind>,
}

impl FieldVisitor {
    /// A visitor for a new span's or an event's fields, filling a handed-back list.
    fn for_record(meta: &Metadata<'_>) -> FieldVisitor {
        FieldVisitor {
            attributes: crate::pipeline::returned::field_list(meta.fields().len()),
            ..FieldVisitor::default()
        }
    }

    fn push(&mut self, field: &Field, value: impl Into<FieldValue>) {
        self.attributes
            .push((Cow::Borrowed(field.name()), value.into()));
    }
}

impl Visit for FieldVisitor {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = Some(value.to_owned()),
            "otel.name" => self.otel_name = Some(value.to_owned()),
            "otel.kind" => self.kind = parse_kind(value),
            // Short strings are kept inline: nothing allocated for them here.
            _ => self.push(field, FieldValue::from_str(value)),
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = Some(text),
            "otel.name" => self.otel_name = Some(text),
            "otel.kind" => self.kind = parse_kind(&text),
            _ => self.push(field, FieldValue::from_string(text)),
        }
    }
}

fn parse_kind(text: &str) -> Option<SpanKind> {
    match text.to_ascii_lowercase().as_str() {
        "server" => Some(SpanKind::Server),
        "client" => Some(SpanKind::Client),
        "producer" => Some(SpanKind::Producer),
        "consumer" => Some(SpanKind::Consumer),
        "internal" => Some(SpanKind::Internal),
        _ => None,
    }
}
