//! The process's base context: what a child process receives from code that has no
//! trace context of its own. Its own test binary, because the base is process-wide;
//! the tests here take turns through `SERIAL`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::ffi::OsStr;
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use opentelemetry::Context;
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use weft_context::Carrier;
use weft_context::follow::process::{
    self, CommandExt, base_context, current_or_base_context, install_base_context, set_base_context,
};
use weft_context::propagation::get_context;

static SERIAL: Mutex<()> = Mutex::new(());

const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn parent_carrier() -> Carrier {
    Carrier::from_iter([
        ("traceparent", PARENT),
        ("tracestate", "vendor=x"),
        ("baggage", "tenant=acme"),
    ])
}

/// A local span of the same trace, as weft's spans under the base would be.
fn span_in_trace() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
        SpanId::from(0x1111111111111111),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    ))
}

fn env_of(cmd: &Command, name: &str) -> Option<String> {
    cmd.get_envs()
        .find(|(k, _)| *k == OsStr::new(name))
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
}

#[test]
fn without_a_base_a_child_gets_only_the_current_context() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    set_base_context(None);
    assert!(base_context().is_none());
    assert!(current_or_base_context().is_empty());
    let mut cmd = Command::new("true");
    cmd.env("TRACEPARENT", PARENT).with_current_context();
    assert_eq!(
        env_of(&cmd, "TRACEPARENT"),
        None,
        "a stale value is removed"
    );
}

#[test]
fn the_base_fills_in_what_the_current_context_lacks() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    set_base_context(Some(parent_carrier()));

    // No context at all: the whole base, as `with_current_context` passes it.
    assert_eq!(current_or_base_context(), parent_carrier());
    let mut cmd = Command::new("true");
    cmd.with_current_context();
    assert_eq!(env_of(&cmd, "TRACEPARENT").as_deref(), Some(PARENT));
    assert_eq!(env_of(&cmd, "TRACESTATE").as_deref(), Some("vendor=x"));
    assert_eq!(env_of(&cmd, "BAGGAGE").as_deref(), Some("tenant=acme"));

    // A span without baggage: its own traceparent, the base's baggage (and not the
    // base's tracestate, which belongs to the base's span).
    {
        let _in_span = span_in_trace().attach();
        let carrier = current_or_base_context();
        assert_eq!(
            carrier.get("traceparent"),
            Some("00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01")
        );
        assert_eq!(carrier.get("tracestate"), None);
        assert_eq!(carrier.get("baggage"), Some("tenant=acme"));
    }

    // Baggage of its own wins.
    {
        let _in_span = span_in_trace()
            .with_baggage([KeyValue::new("tenant", "other")])
            .attach();
        assert_eq!(
            current_or_base_context().get("baggage"),
            Some("tenant=other")
        );
    }

    // `get_context` itself reports only the current context.
    assert!(get_context().is_empty());
    set_base_context(None);
}

#[test]
fn install_attaches_on_the_calling_thread_only_and_sets_the_base() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    // On a thread of its own: the attach is never undone on the installing thread.
    std::thread::spawn(|| {
        install_base_context(parent_carrier());
        assert_eq!(
            get_context(),
            parent_carrier(),
            "attached here, baggage included"
        );
        let cx = Context::current();
        assert!(cx.span().span_context().is_remote());
        assert_eq!(
            cx.baggage().get("tenant").map(|v| v.to_string()).as_deref(),
            Some("acme")
        );
    })
    .join()
    .unwrap();
    assert_eq!(base_context(), Some(parent_carrier()));
    // Another thread has no current context, yet a child it starts joins the parent.
    std::thread::spawn(|| {
        assert!(get_context().is_empty());
        let mut cmd = Command::new("true");
        cmd.with_current_context();
        assert_eq!(env_of(&cmd, "TRACEPARENT").as_deref(), Some(PARENT));
    })
    .join()
    .unwrap();

    // Inside a span, install does not replace it (the base is still set).
    std::thread::spawn(|| {
        let _in_span = span_in_trace().attach();
        install_base_context(parent_carrier());
        assert_eq!(
            get_context().get("traceparent"),
            Some("00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01")
        );
    })
    .join()
    .unwrap();
    assert_eq!(base_context(), Some(parent_carrier()));

    // An empty carrier clears the base and attaches nothing.
    std::thread::spawn(|| {
        install_base_context(Carrier::new());
        assert!(get_context().is_empty());
    })
    .join()
    .unwrap();
    assert!(base_context().is_none());
    assert!(process::context_from_env_vars([("PATH", "/bin")]).is_none());
}
