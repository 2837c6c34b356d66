//! weft's `get_context` / `attach_context` beside opentelemetry_sdk's
//! `TraceContextPropagator`, in one group so the report reads as ratios.
//!
//! Run with `cargo bench -p weft-context --bench propagation -- --warm-up-time 1 --measurement-time 3`;
//! results and the machine are in `docs/benchmarks/propagation.md`.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use weft_context::propagation::{Carrier, attach_context, get_context};

const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn propagation(c: &mut Criterion) {
    let otel = TraceContextPropagator::new();
    let mut group = c.benchmark_group("propagation");

    // (a) Serialise the current span context. Both sides see the same current span.
    let span = SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
        SpanId::from(0xb7ad6b7169203331),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let in_span = Context::current().with_remote_span_context(span).attach();
    group.bench_function("inject/weft get_context", |b| {
        b.iter(|| black_box(get_context()))
    });
    group.bench_function("inject/otel TraceContextPropagator into HashMap", |b| {
        b.iter(|| {
            let mut map = HashMap::new();
            otel.inject(&mut map);
            black_box(map)
        })
    });
    drop(in_span);

    // (b) Make a received context current, then leave it.
    let carrier = Carrier::from_iter([("traceparent", TP)]);
    let map: HashMap<String, String> = HashMap::from([("traceparent".to_owned(), TP.to_owned())]);
    group.bench_function("extract+attach/weft attach_context", |b| {
        b.iter(|| drop(black_box(attach_context(black_box(&carrier)))))
    });
    group.bench_function(
        "extract+attach/otel TraceContextPropagator extract + attach",
        |b| b.iter(|| drop(black_box(otel.extract(black_box(&map)).attach()))),
    );
    group.finish();
}

criterion_group!(benches, propagation);
criterion_main!(benches);
