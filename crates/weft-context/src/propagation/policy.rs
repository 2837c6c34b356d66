//! The `distributed_tracing` policy: whether a context that arrived from outside is
//! trusted as the parent of what happens next.
//!
//! Logfire's setting (`distributed_tracing` / `LOGFIRE_DISTRIBUTED_TRACING`), with the
//! same three answers: [`DistributedTracing::Warn`] (unset: continue the remote trace
//! and warn once), [`Allow`](DistributedTracing::Allow) (`true`: continue silently) and
//! [`Deny`](DistributedTracing::Deny) (`false`: keep the local parent). It governs
//! third-party extractions only: [`extract_third_party`], `attach_context_with(..,
//! AttachOptions::third_party())`, and [`WeftPropagator`](super::WeftPropagator),
//! which other crates reach through OpenTelemetry's global propagator. A plain
//! `attach_context` is the application saying it means it, so it always extracts.
//!
//! This module is the only place that decides between a remote parent, the local one
//! and a new root, and the only one that warns.
//!
//! Deliberate differences from Logfire:
//! - **Warn only on a real extraction.** Logfire also warns when an empty or invalid
//!   carrier is extracted inside a span, because the resulting (empty) span differs
//!   from the current one. That warning names no trace worth worrying about, so weft
//!   warns only when a valid `traceparent` was extracted.
//! - **Deny keeps the evidence.** Logfire's `False` drops the extracted span context.
//!   weft keeps the local parent too, but returns the remote one as a span link
//!   ([`Extraction::link`], or [`extracted_link`] after the propagator), which the
//!   next span records with [`LINK_REASON_ATTRIBUTE`] = [`LINK_REASON_DENIED`]
//!   (weft's spans find it with [`denied_parent_for`]).
//! - **Deny extracts no baggage.** Logfire's `False` still applies the caller's
//!   baggage. A public service's caller is a stranger: its baggage would reach the
//!   handler and be injected into every downstream request, so weft keeps the local
//!   baggage instead.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt};

use super::attach::AttachGuard;
use super::new_root;
use super::wire::{self, Carried};

/// Whether third-party trace context is trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DistributedTracing {
    /// Continue the remote trace and warn once (Logfire's default, `None`).
    #[default]
    Warn,
    /// Continue the remote trace silently (Logfire's `True`): the propagation is intended.
    Allow,
    /// Keep the local parent and record the remote one as a link (Logfire's `False`).
    /// Recommended for services exposed to the public internet.
    Deny,
}

impl DistributedTracing {
    /// The environment variable that sets the policy when the builder does not.
    pub const ENV_VAR: &'static str = "LOGFIRE_DISTRIBUTED_TRACING";
}

/// `LOGFIRE_DISTRIBUTED_TRACING` held something other than a boolean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The value is not one Logfire accepts.
    #[error(
        "LOGFIRE_DISTRIBUTED_TRACING must be a boolean, got {value:?}: use `true`, `t` or `1` to continue \
         propagated traces silently, `false`, `f` or `0` to keep them out (recommended for public services), \
         or leave it empty to warn; the builder option `.distributed_tracing(DistributedTracing::Allow | Deny | Warn)` \
         overrides it"
    )]
    InvalidValue {
        /// The rejected value, as given.
        value: String,
    },
}

/// Parses `LOGFIRE_DISTRIBUTED_TRACING` as Logfire does: case-insensitive `1`/`true`/`t`
/// is [`Allow`](DistributedTracing::Allow), `0`/`false`/`f` is
/// [`Deny`](DistributedTracing::Deny), empty is `None` (unset, so the default
/// [`Warn`](DistributedTracing::Warn)). Surrounding spaces are not trimmed (Logfire
/// doesn't either), so `" true"` is an error.
pub fn parse_env_value(value: &str) -> Result<Option<DistributedTracing>, PolicyError> {
    match value.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "true" | "t" => Ok(Some(DistributedTracing::Allow)),
        "0" | "false" | "f" => Ok(Some(DistributedTracing::Deny)),
        _ => Err(PolicyError::InvalidValue {
            value: value.to_owned(),
        }),
    }
}

/// The warning, once per process (per [`set_policy`]), when the policy is
/// [`Warn`](DistributedTracing::Warn) and a third party's context was continued. It
/// starts with Logfire's exact text.
pub const WARNING_MESSAGE: &str = "Found propagated trace context. See \
https://logfire.pydantic.dev/docs/how-to-guides/distributed-tracing/#unintentional-distributed-tracing. \
To continue propagated traces silently, configure weft with `.distributed_tracing(DistributedTracing::Allow)` \
or set LOGFIRE_DISTRIBUTED_TRACING=true. For a service exposed to the public internet, use \
`DistributedTracing::Deny` or LOGFIRE_DISTRIBUTED_TRACING=false: its traces then start locally and \
record the caller's context as a span link.";

/// Span attribute key that says why a span link was recorded.
pub const LINK_REASON_ATTRIBUTE: &str = "weft.link.reason";
/// [`LINK_REASON_ATTRIBUTE`] value for a remote parent kept out by
/// [`DistributedTracing::Deny`].
pub const LINK_REASON_DENIED: &str = "distributed_tracing=deny";

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

static POLICY: AtomicU8 = AtomicU8::new(0);
static WARNED: AtomicBool = AtomicBool::new(false);
/// `None` means the default sink (stderr).
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sets the process-wide policy and re-arms the once-only warning, as Logfire's
/// `configure()` does by installing a fresh propagator wrapper.
pub fn set_policy(policy: DistributedTracing) {
    let code = match policy {
        DistributedTracing::Warn => 0,
        DistributedTracing::Allow => 1,
        DistributedTracing::Deny => 2,
    };
    POLICY.store(code, Ordering::Relaxed);
    WARNED.store(false, Ordering::Relaxed);
}

/// The process-wide policy ([`Warn`](DistributedTracing::Warn) until [`set_policy`]).
pub fn policy() -> DistributedTracing {
    match POLICY.load(Ordering::Relaxed) {
        1 => DistributedTracing::Allow,
        2 => DistributedTracing::Deny,
        _ => DistributedTracing::Warn,
    }
}

/// Replaces where the warning goes. The default writes it to stderr; weft's
/// `configure()` installs one that also emits a warn-level log, as Logfire does.
/// The sink is called on the thread that extracted, before the extracted context is
/// attached, and must not itself extract.
pub fn set_warning_sink(sink: impl Fn(&str) + Send + Sync + 'static) {
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(sink));
}

fn warn_once() {
    if WARNED.swap(true, Ordering::AcqRel) {
        return;
    }
    // Clone out of the lock so a sink that logs (and so may take other locks) runs free.
    let sink = SINK.read().unwrap_or_else(PoisonError::into_inner).clone();
    match sink {
        Some(sink) => sink(WARNING_MESSAGE),
        None => {
            use std::io::Write as _;
            // stderr may be closed; a warning is not worth a panic.
            let _ = writeln!(std::io::stderr().lock(), "weft warning: {WARNING_MESSAGE}");
        }
    }
}

/// The result of a third-party extraction.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Extraction {
    /// The context to run the request in: the current one with the trace context the
    /// policy allowed and the carried baggage.
    pub context: Context,
    /// Under [`DistributedTracing::Deny`], the remote parent that was kept out. Record
    /// it as a span link with [`LINK_REASON_ATTRIBUTE`] = [`LINK_REASON_DENIED`].
    pub link: Option<SpanContext>,
}

impl Extraction {
    /// Makes [`Extraction::context`] current until the guard drops; the guard keeps the link.
    pub fn attach(self) -> AttachGuard {
        AttachGuard::new(self.context.attach(), self.link)
    }
}

/// Extracts a third party's context under the current [`policy`], starting from the
/// current context. Like `attach_context`, what the carrier holds replaces the current
/// trace context: an empty or invalid carrier gives a new root (except under
/// [`Deny`](DistributedTracing::Deny), which always keeps the local parent).
pub fn extract_third_party(carrier: &(impl Extractor + ?Sized)) -> Extraction {
    decide(
        &Context::current(),
        wire::extract(carrier),
        policy(),
        Absent::NewRoot,
    )
}

/// The remote parent that [`WeftPropagator`](super::WeftPropagator) kept out under
/// [`DistributedTracing::Deny`], stored in the context it returned.
pub fn extracted_link(cx: &Context) -> Option<&SpanContext> {
    cx.get::<DeniedParent>().map(|denied| &denied.remote)
}

/// The remote parent kept out under [`DistributedTracing::Deny`] that a span starting
/// in `cx` as a child of `parent` must record as a link: only a span started directly
/// under the context the extraction happened in (its children are linked through it).
/// SDKs call this when they start a span, so a denied context is kept whichever way it
/// was extracted (server middleware, `attach_context_with(.., third_party())`, or the
/// global propagator).
#[inline]
pub fn denied_parent_for<'a>(cx: &'a Context, parent: &SpanContext) -> Option<&'a SpanContext> {
    cx.get::<DeniedParent>()
        .filter(|denied| denied.over == parent.span_id())
        .map(|denied| &denied.remote)
}

/// Stored in the context a Deny extraction returns.
#[derive(Debug)]
struct DeniedParent {
    /// The caller's span context, kept out.
    remote: SpanContext,
    /// The local span that stayed the parent (`SpanId::INVALID` for a new root).
    over: SpanId,
}

/// What a header the carrier lacks means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Absent {
    /// attach semantics: the carrier is the whole trace context, so no span means a
    /// new root and no baggage means none.
    NewRoot,
    /// propagator semantics (as every OpenTelemetry propagator): keep what the base has.
    KeepBase,
}

/// Decides under `mode`, from `base`, and warns if it must. First-party callers pass
/// [`DistributedTracing::Allow`]. The base is passed (not borrowed from the current
/// context) so that the warning sink, which may log, runs with no borrow held.
pub(crate) fn decide(
    base: &Context,
    carried: Carried,
    mode: DistributedTracing,
    absent: Absent,
) -> Extraction {
    let warn = mode == DistributedTracing::Warn && carried.span_context.is_some();
    let extraction = resolve(base, carried, mode, absent);
    if warn {
        warn_once();
    }
    extraction
}

fn resolve(
    base: &Context,
    carried: Carried,
    mode: DistributedTracing,
    absent: Absent,
) -> Extraction {
    let Carried {
        span_context,
        raw_tracestate,
        baggage,
    } = carried;
    let (cx, link) = match span_context {
        Some(remote) if mode == DistributedTracing::Deny => {
            let over = base.span().span_context().span_id();
            let denied = DeniedParent {
                remote: remote.clone(),
                over,
            };
            (base.with_value(denied), Some(remote))
        }
        Some(remote) => {
            let cx = base.with_remote_span_context(remote);
            // Kept beside the span context only when it could not hold the whole list.
            let cx = match raw_tracestate {
                Some(raw) => cx.with_value(raw),
                None => cx,
            };
            (cx, None)
        }
        None if mode == DistributedTracing::Deny || absent == Absent::KeepBase => {
            (base.clone(), None)
        }
        // A new root: the span goes, the other values stay (see new_root.rs for the limits).
        None if base.has_active_span() => (new_root::without_span(base), None),
        None => (base.clone(), None),
    };
    let cx = match baggage {
        // Nothing of a stranger's is extracted under Deny, baggage included: applied,
        // it would reach the handler and be injected into every downstream call.
        _ if mode == DistributedTracing::Deny => cx,
        Some(baggage) => cx.with_baggage(baggage),
        None if absent == Absent::KeepBase || cx.baggage().is_empty() => cx,
        None => cx.with_cleared_baggage(),
    };
    Extraction { context: cx, link }
}
