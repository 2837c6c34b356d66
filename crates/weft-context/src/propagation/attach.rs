//! `get_context` and `attach_context`: Logfire's manual propagation, in Rust.
//!
//! `get_context()` snapshots the current trace context as a [`Carrier`];
//! `attach_context(&carrier)` makes it current elsewhere (another thread, process or
//! service) until the returned guard drops. As in Logfire, the carrier *replaces* the
//! trace context, so an empty or invalid one makes what follows a new root. Unlike
//! Logfire, which starts from an empty context, weft keeps the other values of the
//! current [`opentelemetry::Context`]: only its span and baggage are replaced.

use opentelemetry::Context;
use opentelemetry::trace::SpanContext;

use super::carrier::Carrier;
use super::policy::{self, Absent, DistributedTracing};
use super::wire::{self, BAGGAGE, Carried, TRACEPARENT, TRACESTATE};

/// The current trace context as a carrier: `traceparent` when a valid span context is
/// current, `tracestate` when it has entries, `baggage` when there is any; `{}`
/// outside any span.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use weft_context::propagation::get_context;
///
/// assert!(get_context().is_empty());
///
/// let parent = SpanContext::new(
///     TraceId::from(0xd1b9e555b056907ee20b0daebf62282c),
///     SpanId::from(0x7dcd821387246e1c),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::NONE,
/// );
/// let _in_span = Context::current().with_remote_span_context(parent).attach();
/// assert_eq!(
///     get_context().to_string(),
///     "{'traceparent': '00-d1b9e555b056907ee20b0daebf62282c-7dcd821387246e1c-01'}"
/// );
/// ```
pub fn get_context() -> Carrier {
    let mut dropped = Vec::new();
    // Logged after the borrow of the current context ends, in case a subscriber attaches.
    let carrier = Context::map_current(|cx| inject(cx, |err| dropped.push(err)));
    for err in &dropped {
        wire::log_ignored(BAGGAGE, err);
    }
    carrier
}

/// Like [`get_context`], for a given context rather than the current one.
pub fn carrier_from_context(cx: &Context) -> Carrier {
    inject(cx, |err| wire::log_ignored(BAGGAGE, &err))
}

fn inject(cx: &Context, on_drop: impl FnMut(super::BaggageError)) -> Carrier {
    let mut carrier = Carrier::new();
    wire::inject(cx, &mut carrier, on_drop);
    carrier
}

/// How [`attach_context_with`] treats a carrier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachOptions {
    /// The carrier came from outside the application (a library extracting request
    /// headers, say), so the [`distributed_tracing` policy](super::DistributedTracing)
    /// decides whether it is trusted. `false` (the default): the application attaches
    /// a context it propagated on purpose, which always applies and never warns.
    pub third_party: bool,
}

impl AttachOptions {
    /// First-party: always attach, never warn (the default).
    pub const fn new() -> Self {
        AttachOptions { third_party: false }
    }

    /// Third-party: obey the `distributed_tracing` policy. For libraries.
    pub const fn third_party() -> Self {
        AttachOptions { third_party: true }
    }
}

/// Keeps an attached context current until dropped, then restores the previous one.
///
/// It is not `Send`: the current context is per thread, so the guard must drop on the
/// thread that attached. Guards nest; drop them in reverse order.
///
/// ```compile_fail
/// fn needs_send<T: Send>() {}
/// needs_send::<weft_context::propagation::AttachGuard>();
/// ```
#[derive(Debug)]
#[must_use = "the context is detached as soon as the guard drops"]
pub struct AttachGuard {
    _guard: opentelemetry::ContextGuard,
    link: Option<SpanContext>,
}

impl AttachGuard {
    pub(crate) fn new(guard: opentelemetry::ContextGuard, link: Option<SpanContext>) -> Self {
        AttachGuard {
            _guard: guard,
            link,
        }
    }

    /// The remote parent a third-party attach kept out under
    /// [`DistributedTracing::Deny`], to record as a span link.
    pub fn link(&self) -> Option<&SpanContext> {
        self.link.as_ref()
    }
}

/// Makes the carrier's trace context current until the guard drops: what runs next is
/// a child of the span that called [`get_context`], with its baggage.
///
/// The carrier replaces the trace context, as in Logfire: an empty or invalid carrier
/// makes what follows a new root, and a baggage-only one a new root with that baggage.
/// Other values of the current [`Context`] stay. This is a first-party attach: it
/// ignores the `distributed_tracing` policy and never warns.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// use weft_context::propagation::{Carrier, attach_context, get_context};
///
/// let carrier = Carrier::from_iter([("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]);
/// {
///     let _guard = attach_context(&carrier);
///     assert_eq!(get_context(), carrier);
///     assert!(opentelemetry::Context::current().span().span_context().is_remote());
/// }
/// assert!(get_context().is_empty());
/// ```
pub fn attach_context(carrier: &Carrier) -> AttachGuard {
    attach_context_with(carrier, AttachOptions::new())
}

/// [`attach_context`] with options: `AttachOptions::third_party()` makes the
/// `distributed_tracing` policy decide (see [`DistributedTracing`]); under `Deny` the
/// remote parent is available from [`AttachGuard::link`].
pub fn attach_context_with(carrier: &Carrier, options: AttachOptions) -> AttachGuard {
    let carried = decode(carrier);
    let mode = if options.third_party {
        policy::policy()
    } else {
        DistributedTracing::Allow
    };
    policy::decide(&Context::current(), carried, mode, Absent::NewRoot).attach()
}

/// Reads the three fields straight from the carrier, with no intermediate allocation.
fn decode(carrier: &Carrier) -> Carried {
    wire::decode(
        carrier.get(TRACEPARENT),
        carrier.get(TRACESTATE).as_slice(),
        carrier.get(BAGGAGE).as_slice(),
    )
}
