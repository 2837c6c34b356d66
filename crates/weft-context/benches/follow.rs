//! What carrying the context onto other threads costs, next to the plain call it replaces.
//!
//! Each group holds the plain operation (the floor, which loses the context) and its
//! context-carrying twin, run with a real SDK span and one baggage entry attached, as in
//! an instrumented application. The difference is the added cost per hop; the results
//! and the machine are in `docs/benchmarks/follow.md`.
//!
//! Run with:
//! `cargo bench -p weft-context --all-features --bench follow -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
use opentelemetry_sdk::trace::SdkTracerProvider;
use rayon::prelude::*;
use weft_context::follow::{self, rayon::ParallelIteratorExt};

/// A context like an instrumented caller's: a recording span plus baggage.
fn caller_context(provider: &SdkTracerProvider) -> Context {
    let span = provider.tracer("bench").start("parent");
    Context::current_with_span(span).with_baggage([KeyValue::new("tenant", "acme")])
}

/// The bare hop: capture, attach, run, detach; no thread involved.
fn hop(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder().build();
    let _guard = caller_context(&provider).attach();
    let mut group = c.benchmark_group("follow/hop");
    group.bench_function("plain call", |b| b.iter(|| black_box(|| black_box(1))()));
    group.bench_function("follow::wrap call", |b| b.iter(|| follow::wrap(|| black_box(1))()));
    group.finish();
}

fn thread(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder().build();
    let _guard = caller_context(&provider).attach();
    let mut group = c.benchmark_group("follow/thread spawn+join");
    group.bench_function("std::thread::spawn", |b| {
        b.iter(|| std::thread::spawn(|| black_box(1)).join())
    });
    group.bench_function("follow::thread::spawn", |b| {
        b.iter(|| follow::thread::spawn(|| black_box(1)).join())
    });
    group.finish();
}

fn rayon_map(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder().build();
    let _guard = caller_context(&provider).attach();
    let mut group = c.benchmark_group("follow/rayon map 1000");
    let n = 1_000u32;
    group.bench_function(BenchmarkId::new("par_iter", "plain"), |b| {
        b.iter(|| (0..n).into_par_iter().map(|x| black_box(x * 2)).collect::<Vec<_>>())
    });
    group.bench_function(BenchmarkId::new("par_iter", "in_current_context"), |b| {
        b.iter(|| {
            (0..n)
                .into_par_iter()
                .in_current_context()
                .map(|x| black_box(x * 2))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

fn tokio_spawn(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder().build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let cx = caller_context(&provider);
    let mut group = c.benchmark_group("follow/tokio spawn+await");
    // The context is attached around the *spawn* (synchronously, never across an await),
    // as an application would; `block_on` is the same in both.
    group.bench_function("tokio::spawn", |b| {
        b.iter(|| {
            let task = {
                let _guard = cx.clone().attach();
                rt.spawn(async { black_box(1) })
            };
            rt.block_on(task)
        })
    });
    group.bench_function("follow::tokio::spawn", |b| {
        b.iter(|| {
            let task = {
                let _guard = cx.clone().attach();
                let _rt = rt.enter();
                follow::tokio::spawn(async { black_box(1) })
            };
            rt.block_on(task)
        })
    });
    group.finish();
}

criterion_group!(benches, hop, thread, rayon_map, tokio_spawn);
criterion_main!(benches);
