//! The process's base context: the context a parent process passed in
//! `TRACEPARENT`/`TRACESTATE`/`BAGGAGE`, kept for the whole life of the child.
//!
//! The current context is per thread, so attaching the parent's context at start-up
//! reaches only the thread that did it. The base is the process-wide part: it is what a
//! grandchild receives from [`CommandExt::with_current_context`](super::CommandExt)
//! when the code that starts it has no trace context of its own (a thread started with
//! plain `std::thread::spawn`, say). weft's spans on such threads already take the
//! base's span as their parent, so the grandchild joins the same trace as they do.

use std::sync::{PoisonError, RwLock};

use crate::propagation::{BAGGAGE, Carrier, TRACEPARENT, TRACESTATE, attach_context, get_context};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

static BASE: RwLock<Option<Carrier>> = RwLock::new(None);

/// Makes `carrier` this process's base context, and attaches it on the calling thread
/// for the rest of that thread's life (unless a span is already current there, which
/// then wins). weft's `configure()` calls this with the parent's carrier, so at
/// start-up [`get_context`] returns the parent's context, baggage included, and every
/// span opened on the main thread is under the parent's span.
///
/// An empty carrier clears the base and attaches nothing. Call it once, at start-up,
/// on the main thread: the attach is never undone on that thread, by design.
pub fn install_base_context(carrier: Carrier) {
    if carrier.is_empty() {
        set_base_context(None);
        return;
    }
    let in_span = Context::map_current(|cx| cx.span().span_context().is_valid());
    if !in_span {
        // Never detached: for this thread the parent's context *is* the root of everything.
        std::mem::forget(attach_context(&carrier));
    }
    set_base_context(Some(carrier));
}

/// Sets (or, with `None`, clears) the base context without attaching it anywhere.
pub fn set_base_context(carrier: Option<Carrier>) {
    *BASE.write().unwrap_or_else(PoisonError::into_inner) = carrier.filter(|c| !c.is_empty());
}

/// The process's base context, if one was installed.
pub fn base_context() -> Option<Carrier> {
    BASE.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// What a child process started now should receive: [`get_context`], with what it
/// lacks filled in from the base: the trace part (`traceparent`, `tracestate`) when no
/// span is current, and `baggage` when the current context has none.
pub fn current_or_base_context() -> Carrier {
    let mut carrier = get_context();
    let base = BASE.read().unwrap_or_else(PoisonError::into_inner);
    let Some(base) = base.as_ref() else {
        return carrier;
    };
    let missing_trace = carrier.get(TRACEPARENT).is_none();
    let missing_baggage = carrier.get(BAGGAGE).is_none();
    let wanted = [
        (TRACEPARENT, missing_trace),
        (TRACESTATE, missing_trace),
        (BAGGAGE, missing_baggage),
    ];
    for (field, _) in wanted.into_iter().filter(|(_, missing)| *missing) {
        if let Some(value) = base.get(field) {
            carrier.insert(field, value);
        }
    }
    carrier
}
