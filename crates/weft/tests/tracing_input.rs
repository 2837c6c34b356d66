//! The `tracing` crate as an input beside other layers: weft's layer records what it
//! should and never hides events from the subscriber's other layers.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A layer that notes every event it is given (what a user's `fmt` layer would print).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> Layer<S> for Seen {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            meta.level(),
            meta.target(),
            meta.name()
        ));
    }
}

#[tracing::instrument(fields(answer = 42))]
fn lookup(user: &str) -> usize {
    tracing::info!(len = user.len(), "looked up");
    user.len()
}

/// The `tracing` floor is process-wide and every `finish()` sets it: tests that depend
/// on it run one at a time.
static FLOOR: Mutex<()> = Mutex::new(());

#[test]
fn other_layers_keep_events_below_weft_floor_and_weft_records_above_it() {
    let _serial = FLOOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (weft, memory) = weft::testing::deterministic().unwrap();
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry()
        .with(weft::tracing_layer())
        .with(seen.clone());
    weft.in_scope(|| {
        tracing::subscriber::with_default(subscriber, || {
            // Several rounds: a callsite's interest is cached after its first use.
            for _ in 0..2 {
                tracing::debug!("debug event");
                tracing::info!("info event");
            }
        });
    });
    assert!(weft.force_flush());
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|s| s.starts_with("DEBUG")).count(),
        2,
        "the other layer still gets debug events: {seen:?}"
    );
    assert_eq!(seen.iter().filter(|s| s.starts_with("INFO")).count(), 2);
    let names: Vec<String> = memory.spans().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(
        names,
        ["info event", "info event"],
        "weft records info, not debug"
    );
}

#[test]
fn a_callsite_first_reached_below_the_floor_is_recorded_once_the_floor_is_lowered() {
    let _serial = FLOOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let subscriber = Arc::new(tracing_subscriber::registry().with(weft::tracing_layer()));
    let emit = || tracing::debug!("shared callsite");
    let (first, first_memory) = weft::testing::deterministic().unwrap();
    first.in_scope(|| {
        let _default = tracing::subscriber::set_default(subscriber.clone());
        emit(); // below the default `info` floor: not recorded, but the callsite stays live
    });
    assert!(first.force_flush());
    assert!(first_memory.spans().is_empty());

    let (builder, memory) = weft::testing::builder();
    let second = builder
        .tracing_min_level(weft::Level::Debug)
        .finish()
        .unwrap();
    second.in_scope(|| {
        let _default = tracing::subscriber::set_default(subscriber.clone());
        emit();
    });
    assert!(second.force_flush());
    let names: Vec<String> = memory.spans().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(names, ["shared callsite"]);
    // Put the process-wide floor back for the other tests.
    drop(weft::testing::deterministic().unwrap());
}

#[test]
fn tracing_instrument_spans_nest_under_weft_spans_and_hold_their_fields() {
    let (weft, memory) = weft::testing::deterministic().unwrap();
    let subscriber = tracing_subscriber::registry().with(weft::tracing_layer());
    weft.in_scope(|| {
        tracing::subscriber::with_default(subscriber, || {
            let _outer = weft::span!("request").entered();
            assert_eq!(lookup("ada"), 3);
        });
    });
    assert!(weft.force_flush());
    let spans = memory.spans();
    let by_name = |name: &str| spans.iter().find(|r| r.name == name).unwrap();
    let request = by_name("request");
    let lookup = by_name("lookup");
    let log = by_name("looked up");
    assert_eq!(lookup.parent_span_id, request.span_context.span_id());
    assert_eq!(log.parent_span_id, lookup.span_context.span_id());
    assert_eq!(
        lookup.attribute("user").map(ToString::to_string).as_deref(),
        Some("ada")
    );
    assert_eq!(
        lookup
            .attribute("answer")
            .map(ToString::to_string)
            .as_deref(),
        Some("42")
    );
    assert_eq!(
        log.attribute("len").map(ToString::to_string).as_deref(),
        Some("3")
    );
    assert_eq!(
        lookup.span_context.trace_id(),
        request.span_context.trace_id()
    );
}

/// Invalid propagated context is ignored, never an error, and reported at debug level
/// under `weft::propagation`, which a user's own layer receives.
#[test]
fn ignored_propagated_context_is_reported_at_debug() {
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry()
        .with(weft::tracing_layer())
        .with(seen.clone());
    tracing::subscriber::with_default(subscriber, || {
        let carrier = weft::Carrier::from_iter([("traceparent", "00-garbage-01")]);
        let _attached = weft::attach_context(&carrier);
        assert!(weft::get_context().is_empty(), "ignored: a new root");
    });
    let seen = seen.0.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("DEBUG weft::propagation ")),
        "{seen:?}"
    );
}
