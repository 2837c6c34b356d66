//! The OpenTelemetry global tracer provider, backed by weft.
//!
//! Crates that trace through `opentelemetry::global::tracer(..)` record into the same
//! pipeline as weft's own spans: same ids, sampler, parents and exporters. Their
//! spans read their parent from the OpenTelemetry `Context`, which is where weft keeps
//! the current span, so trees link both ways.

use crate::pipeline::started::Site;
use crate::record::Attribute;
use crate::span::{Span as WeftSpan, StartArgs};
use crate::value::Value;
use opentelemetry::trace::{SpanBuilder, SpanContext, Status};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use std::borrow::Cow;
use std::time::SystemTime;

/// The tracer provider weft installs globally at `configure().finish()`.
#[derive(Clone, Debug, Default)]
pub struct WeftTracerProvider {
    _private: (),
}

impl WeftTracerProvider {
    /// A provider that records into whichever weft instance is current.
    pub fn new() -> Self {
        WeftTracerProvider { _private: () }
    }
}

impl opentelemetry::trace::TracerProvider for WeftTracerProvider {
    type Tracer = WeftTracer;
    fn tracer_with_scope(&self, scope: InstrumentationScope) -> WeftTracer {
        WeftTracer {
            scope: Cow::Owned(scope.name().to_owned()),
        }
    }
}

/// A tracer from [`WeftTracerProvider`].
#[derive(Clone, Debug)]
pub struct WeftTracer {
    scope: Cow<'static, str>,
}

impl opentelemetry::trace::Tracer for WeftTracer {
    type Span = WeftOtelSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> WeftOtelSpan {
        let attributes = builder
            .attributes
            .unwrap_or_default()
            .iter()
            .map(|kv| {
                let (key, value) = attribute(kv);
                (key, value.into())
            })
            .collect();
        let links = builder
            .links
            .unwrap_or_default()
            .into_iter()
            .map(|l| crate::record::SpanLink {
                span_context: l.span_context,
                attributes: l.attributes.iter().map(attribute).collect(),
            })
            .collect();
        let start_ns = builder.start_time.map(unix_ns);
        let span = WeftSpan::start_at(
            StartArgs {
                site: Site::named(
                    builder.name,
                    builder
                        .span_kind
                        .unwrap_or(opentelemetry::trace::SpanKind::Internal),
                    self.scope.clone(),
                ),
                attributes,
                links,
                parent: Some(parent_cx.clone()),
            },
            start_ns,
        );
        WeftOtelSpan { span }
    }
}

/// A span made through the OpenTelemetry API; it ends when `end()` is called or dropped.
#[derive(Debug)]
pub struct WeftOtelSpan {
    span: WeftSpan,
}

impl opentelemetry::trace::Span for WeftOtelSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.span.add_event(
            name.into(),
            unix_ns(timestamp),
            attributes.iter().map(attribute).collect(),
        );
    }

    fn span_context(&self) -> &SpanContext {
        self.span.span_context().unwrap_or(&SpanContext::NONE)
    }

    fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    fn set_attribute(&mut self, attribute_kv: KeyValue) {
        let (k, v) = attribute(&attribute_kv);
        self.span.set_value(k, v);
    }

    fn set_status(&mut self, status: Status) {
        match status {
            Status::Error { description } => self.span.set_error(description.to_string()),
            Status::Ok => self.span.set_ok(),
            Status::Unset => {}
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.span.rename(new_name.into());
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.span
            .add_link(span_context, attributes.iter().map(attribute).collect());
    }

    /// Ends now by the instance's clock (the deterministic one in tests), not the
    /// system clock `end_with_timestamp(now())` would read.
    fn end(&mut self) {
        // Ending replaces the span with an inert one; its drop sends the end.
        drop(std::mem::replace(&mut self.span, WeftSpan::none()));
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        std::mem::replace(&mut self.span, WeftSpan::none()).end_at(unix_ns(timestamp));
    }
}

/// ns since the Unix epoch; 0 for a time before it.
fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn attribute(kv: &KeyValue) -> Attribute {
    use opentelemetry::{Array, Value as V};
    let value = match &kv.value {
        V::Bool(b) => Value::Bool(*b),
        V::I64(i) => Value::I64(*i),
        V::F64(f) => Value::F64(*f),
        V::String(s) => Value::Str(Cow::Owned(s.as_str().to_owned())),
        V::Array(a) => match a {
            Array::Bool(v) => Value::from_serialize(v),
            Array::I64(v) => Value::from_serialize(v),
            Array::F64(v) => Value::from_serialize(v),
            Array::String(v) => {
                Value::from_serialize(&v.iter().map(|s| s.as_str()).collect::<Vec<_>>())
            }
            _ => Value::Str(Cow::Owned(a.to_string())),
        },
        other => Value::Str(Cow::Owned(other.to_string())),
    };
    (Cow::Owned(kv.key.as_str().to_owned()), value)
}
