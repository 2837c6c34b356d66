//! PRODUCER and CONSUMER spans with OpenTelemetry's messaging conventions, and the
//! extraction of a received message's context under the `distributed_tracing` policy.

use crate::pipeline::ScopedPipeline;
use crate::pipeline::started::Site;
use crate::record::{Attribute, SpanLink};
use crate::span::{Span, StartArgs};
use crate::value::Value;
use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt};
use std::borrow::Cow;
use weft_context::propagation::{
    LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, TRACEPARENT, extract_third_party, parse_traceparent,
};

/// Span attribute that says why a consumed message started a new trace:
/// `missing` (it carried no `traceparent`) or `invalid: <reason>`.
pub const CONTEXT_ATTRIBUTE: &str = "weft.messaging.context";
/// [`LINK_REASON_ATTRIBUTE`] value on a batch span's link to one message's producer.
pub const LINK_REASON_BATCH: &str = "messaging.batch";
/// [`LINK_REASON_ATTRIBUTE`] value on a redelivered message's link to its earlier attempt.
pub const LINK_REASON_REDELIVERY: &str = "messaging.redelivery";

const SCOPE: &str = "weft::messaging";

/// What a messaging span does: its kind and its `messaging.operation.*` attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub(crate) kind: SpanKind,
    pub(crate) op_type: &'static str,
    pub(crate) name: Cow<'static, str>,
}

impl Operation {
    /// A PRODUCER span that sends one message (`messaging.operation.type = send`);
    /// `name` is the system's own word for it (`publish`, `send`…), the span name's first word.
    pub fn send(name: impl Into<Cow<'static, str>>) -> Operation {
        Operation {
            kind: SpanKind::Producer,
            op_type: "send",
            name: name.into(),
        }
    }

    /// A CONSUMER span that processes what was received (`messaging.operation.type = process`).
    pub fn process() -> Operation {
        Operation {
            kind: SpanKind::Consumer,
            op_type: "process",
            name: Cow::Borrowed("process"),
        }
    }

    /// A CLIENT span that asks for a reply (NATS request/reply): `messaging.operation.type = send`.
    pub fn request() -> Operation {
        Operation {
            kind: SpanKind::Client,
            op_type: "send",
            name: Cow::Borrowed("request"),
        }
    }
}

/// Whether a received message carried a usable context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextState {
    /// A valid `traceparent`: the consumer span continues the producer's trace (or,
    /// under `DistributedTracing::Deny`, links to it).
    Carried,
    /// No `traceparent` header: a new root, [`CONTEXT_ATTRIBUTE`] = `missing`.
    Missing,
    /// A `traceparent` that is not W3C: a new root, [`CONTEXT_ATTRIBUTE`] = `invalid: <reason>`.
    Invalid(String),
}

impl ContextState {
    /// Reads the state of `headers`.
    pub fn of(headers: &(impl Extractor + ?Sized)) -> ContextState {
        match headers.get(TRACEPARENT) {
            None => ContextState::Missing,
            Some(value) => match parse_traceparent(value) {
                Ok(_) => ContextState::Carried,
                Err(err) => ContextState::Invalid(err.to_string()),
            },
        }
    }

    /// The [`CONTEXT_ATTRIBUTE`] value, for a message that started a new trace.
    pub fn attribute(&self) -> Option<String> {
        match self {
            ContextState::Carried => None,
            ContextState::Missing => Some("missing".to_owned()),
            ContextState::Invalid(reason) => Some(format!("invalid: {reason}")),
        }
    }
}

/// Starts a messaging span named `<operation> <destination>` under the current span,
/// with `messaging.system`, `messaging.destination.name` and `messaging.operation.*`.
/// Enter it, then [`inject_into`](super::inject_into) the message's headers.
pub fn producer_span(system: &str, destination: &str, operation: Operation) -> Span {
    let attributes = base_attributes(system, destination, &operation);
    start(
        format!("{} {destination}", operation.name).into(),
        operation.kind,
        attributes,
        Vec::new(),
        None,
    )
}

/// Starts the CONSUMER span of one received message: its parent is the context the
/// headers carry, under the [`distributed_tracing`](crate::DistributedTracing) policy
/// (under `Deny`, the current span is the parent and the sender's context a link).
/// A message without a valid context becomes a new root with [`CONTEXT_ATTRIBUTE`].
pub fn consumer_span(
    system: &str,
    destination: &str,
    operation: Operation,
    headers: &(impl Extractor + ?Sized),
) -> ConsumerSpan {
    let attributes = base_attributes(system, destination, &operation);
    let name = format!("{} {destination}", operation.name);
    receive(name.into(), operation.kind, attributes, Vec::new(), headers)
}

/// A consumer span and the context its work runs in: the extracted one (with its
/// baggage) and this span as the active span. Dropping it ends the span.
#[derive(Debug)]
#[must_use = "the span ends when this is dropped: run the handler in it first"]
pub struct ConsumerSpan {
    span: Span,
    cx: Context,
    state: ContextState,
}

impl ConsumerSpan {
    /// A span started under the current context (a batch), with its work's context.
    #[cfg(feature = "lapin")]
    pub(crate) fn local(span: Span) -> ConsumerSpan {
        let cx = span.context();
        ConsumerSpan {
            span,
            cx,
            state: ContextState::Carried,
        }
    }

    /// The span, to add attributes or events.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The context the message's work runs in.
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// Whether the message carried a usable context.
    pub fn state(&self) -> &ContextState {
        &self.state
    }

    /// Runs `f` inside the span.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.cx.clone().attach();
        f()
    }

    /// `fut`, polled inside the span.
    pub fn instrument<F: std::future::Future>(
        &self,
        fut: F,
    ) -> opentelemetry::context::WithContext<F> {
        opentelemetry::context::FutureExt::with_context(fut, self.cx.clone())
    }

    /// The span, to end it later or keep it elsewhere.
    pub fn into_span(self) -> Span {
        self.span
    }
}

pub(crate) fn base_attributes(
    system: &str,
    destination: &str,
    operation: &Operation,
) -> Vec<Attribute> {
    vec![
        ("messaging.system".into(), system.to_owned().into()),
        (
            "messaging.destination.name".into(),
            destination.to_owned().into(),
        ),
        ("messaging.operation.type".into(), operation.op_type.into()),
        (
            "messaging.operation.name".into(),
            operation.name.to_string().into(),
        ),
    ]
}

/// Starts a span under `parent` (`None`: the current context).
pub(crate) fn start(
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<Attribute>,
    links: Vec<SpanLink>,
    parent: Option<Context>,
) -> Span {
    Span::start(StartArgs {
        site: Site::named(name, kind, Cow::Borrowed(SCOPE)),
        attributes: crate::value::fields_of(attributes),
        links,
        parent,
    })
}

/// Extracts `headers` under the policy and starts the span there.
pub(crate) fn receive(
    name: Cow<'static, str>,
    kind: SpanKind,
    mut attributes: Vec<Attribute>,
    mut links: Vec<SpanLink>,
    headers: &(impl Extractor + ?Sized),
) -> ConsumerSpan {
    let state = ContextState::of(headers);
    // A new root drops the current context's values; a test's or a non-global
    // instance's pipeline must survive it, as in the HTTP server layer.
    let scoped = Context::map_current(|cx| cx.get::<ScopedPipeline>().cloned());
    let extraction = extract_third_party(headers);
    let mut parent = extraction.context;
    if let Some(scoped) = scoped
        && parent.get::<ScopedPipeline>().is_none()
    {
        parent = parent.with_value(scoped);
    }
    if let Some(span_context) = extraction.link {
        links.push(link(span_context, LINK_REASON_DENIED));
    }
    if let Some(why) = state.attribute() {
        attributes.push((CONTEXT_ATTRIBUTE.into(), Value::from(why)));
    }
    let span = start(name, kind, attributes, links, Some(parent.clone()));
    let cx = match span.span_context() {
        Some(sc) => parent.with_remote_span_context(sc.clone()),
        None => parent,
    };
    ConsumerSpan { span, cx, state }
}

/// A span link with [`LINK_REASON_ATTRIBUTE`] = `reason`.
pub(crate) fn link(span_context: SpanContext, reason: &'static str) -> SpanLink {
    SpanLink {
        span_context,
        attributes: vec![(LINK_REASON_ATTRIBUTE.into(), reason.into())],
    }
}

/// The span context a message's headers carry, whatever the policy.
#[cfg(feature = "lapin")]
pub(crate) fn carried(headers: &(impl Extractor + ?Sized)) -> Option<SpanContext> {
    headers
        .get(TRACEPARENT)
        .and_then(|value| parse_traceparent(value).ok())
}
