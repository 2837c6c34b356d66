//! The step between headers and an [`opentelemetry::Context`], shared by
//! `get_context`/`attach_context` and [`WeftPropagator`](super::WeftPropagator).
//!
//! Writing takes the three headers from a context; reading checks them with the
//! codecs and reports, at debug level under target `weft::propagation`, everything it
//! ignores. Whether what was read is then trusted is decided in `policy.rs`.

use std::fmt::Display;

use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};

use super::baggage::{decode_baggage, format_baggage};
use super::traceparent::{format_traceparent, parse_traceparent};
use super::tracestate::{RawTracestate, format_tracestate, parse_tracestate_keeping_raw};

/// The `traceparent` header name (lowercase, as the spec asks senders to write it).
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";
/// The `baggage` header name.
pub const BAGGAGE: &str = "baggage";
/// The fields weft reads and writes, in the order it writes them.
pub const FIELDS: [&str; 3] = [TRACEPARENT, TRACESTATE, BAGGAGE];

/// What a carrier held, each header checked on its own.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    /// The remote parent, if `traceparent` was valid (with `tracestate` if that was too).
    pub(crate) span_context: Option<SpanContext>,
    /// The whole `tracestate`, when the span context could hold only part of it.
    pub(crate) raw_tracestate: Option<RawTracestate>,
    /// The entries, if a `baggage` header was present at all (even an empty one).
    pub(crate) baggage: Option<Baggage>,
}

/// Writes `traceparent` (valid span context), `tracestate` (non-empty) and `baggage`
/// (non-empty) for `cx`. Baggage entries left out for a limit go to `on_drop`, so the
/// caller can log them outside any borrow of the current context.
pub(crate) fn inject<I: Injector + ?Sized>(
    cx: &Context,
    injector: &mut I,
    on_drop: impl FnMut(super::BaggageError),
) {
    let span = cx.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        injector.set(TRACEPARENT, format_traceparent(span_context));
        let raw = cx
            .get::<RawTracestate>()
            .filter(|raw| &raw.held == span_context.trace_state());
        if let Some(raw) = raw {
            injector.set(TRACESTATE, raw.header.clone());
        } else if span_context.trace_state() != &TraceState::NONE {
            let state = format_tracestate(span_context.trace_state());
            if !state.is_empty() {
                injector.set(TRACESTATE, state);
            }
        }
    }
    let baggage = cx.baggage();
    if !baggage.is_empty() {
        let header = format_baggage(baggage, on_drop);
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }
}

/// Reads the three headers from any extractor, combining repeated `tracestate` and
/// `baggage` fields in order.
pub(crate) fn extract<E: Extractor + ?Sized>(extractor: &E) -> Carried {
    let tracestate = extractor.get_all(TRACESTATE).unwrap_or_default();
    let baggage = extractor.get_all(BAGGAGE).unwrap_or_default();
    decode(extractor.get(TRACEPARENT), &tracestate, &baggage)
}

/// Checks raw header values. Nothing here fails: what is invalid is logged and left out.
pub(crate) fn decode(traceparent: Option<&str>, tracestate: &[&str], baggage: &[&str]) -> Carried {
    let (span_context, raw_tracestate) = match traceparent.map(parse_traceparent) {
        Some(Ok(parsed)) => {
            let (span_context, raw) = with_tracestate(parsed, tracestate);
            (Some(span_context), raw)
        }
        Some(Err(err)) => {
            log_ignored(TRACEPARENT, &err);
            (None, None)
        }
        None => (None, None),
    };
    let baggage = (!baggage.is_empty())
        .then(|| decode_baggage(baggage.iter().copied(), |err| log_ignored(BAGGAGE, &err)));
    Carried {
        span_context,
        raw_tracestate,
        baggage,
    }
}

/// Adds `tracestate` to a parsed `traceparent`. An invalid `tracestate` is dropped
/// without affecting the `traceparent` (<https://www.w3.org/TR/trace-context-2/#tracestate-header>).
fn with_tracestate(
    parsed: SpanContext,
    tracestate: &[&str],
) -> (SpanContext, Option<RawTracestate>) {
    if tracestate.is_empty() {
        return (parsed, None);
    }
    match parse_tracestate_keeping_raw(tracestate.iter().copied()) {
        Ok((state, raw)) => (
            SpanContext::new(
                parsed.trace_id(),
                parsed.span_id(),
                parsed.trace_flags(),
                true,
                state,
            ),
            raw,
        ),
        Err(err) => {
            log_ignored(TRACESTATE, &err);
            (parsed, None)
        }
    }
}

/// The one place that reports what propagation ignored.
pub(crate) fn log_ignored(header: &'static str, reason: &dyn Display) {
    tracing::debug!(target: "weft::propagation", reason = %reason, header, "ignored propagated context");
}
