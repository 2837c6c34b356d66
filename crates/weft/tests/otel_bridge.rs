//! Spans made through the OpenTelemetry `Tracer` API keep the times the caller gives:
//! `SpanBuilder::start_time`, `end_with_timestamp`, event timestamps; without them the
//! instance's own clock applies (the deterministic one here).
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use std::time::{Duration, SystemTime};
use weft::WeftTracerProvider;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn builder_start_time_and_end_timestamp_are_honoured() {
    let (weft, memory) = weft::testing::deterministic().unwrap();
    let tracer = WeftTracerProvider::new().tracer("some-crate");
    weft.in_scope(|| {
        let mut span = tracer
            .span_builder("given times")
            .with_start_time(at(1_700_000_000))
            .start(&tracer);
        span.add_event_with_timestamp("midway", at(1_700_000_003), vec![]);
        span.end_with_timestamp(at(1_700_000_005));

        // `end()` uses the instance's clock, and so does a builder without a start time.
        let mut own = tracer.start("own clock");
        own.end();
    });
    assert!(weft.force_flush());
    let spans = memory.spans();
    let find = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let given = find("given times");
    assert_eq!(given.start_ns, 1_700_000_000_000_000_000);
    assert_eq!(given.end_ns, 1_700_000_005_000_000_000);
    assert_eq!(given.events[0].time_ns, 1_700_000_003_000_000_000);
    assert_eq!(given.scope, "some-crate");
    let own = find("own clock");
    assert!(
        own.start_ns < 100_000_000_000 && own.end_ns > own.start_ns,
        "the deterministic clock (seconds from 1), not the system clock: {}..{}",
        own.start_ns,
        own.end_ns
    );
}

#[test]
fn an_end_before_the_start_is_clamped_to_zero_duration() {
    let (weft, memory) = weft::testing::deterministic().unwrap();
    let tracer = WeftTracerProvider::new().tracer("some-crate");
    weft.in_scope(|| {
        let mut span = tracer
            .span_builder("backwards")
            .with_start_time(at(2_000))
            .start(&tracer);
        span.end_with_timestamp(at(1_000));
    });
    assert!(weft.force_flush());
    let r = &memory.spans()[0];
    assert_eq!(
        (r.start_ns, r.end_ns),
        (2_000_000_000_000, 2_000_000_000_000)
    );
}
