//! What carrying the context onto other threads costs, next to the plain call it replaces.
//!
//! Each group holds the plain operation (the floor, which loses the context) and its
//! context-carrying twin, run with a real SDK span and one baggage entry attached, as in
//! an instrumented application. The difference is the added cost per hop; the results
//! and the machine are in `docs/benchmarks/follow.md`.
//!
//! Run with:
//! `cargo bench -p weft-context --all-features --bench follow -- --warm-up-time 1 --measurement-time 3`
//!
//! On a busy machine criterion's groups, measured one benchmark after the other, can
//! differ by more than the cost measured. `FOLLOW_AB=1` then adds an interleaved check:
//! each iteration runs the plain call and its twin back to back, so load changes hit both
//! alike, and prints the medians.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented `pub fn`"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
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
    group.bench_function("follow::wrap call", |b| {
        b.iter(|| follow::wrap(|| black_box(1))())
    });
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
        b.iter(|| {
            (0..n)
                .into_par_iter()
                .map(|x| black_box(x * 2))
                .collect::<Vec<_>>()
        })
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
    // The naive alternative the adapter avoids: attach around every item.
    group.bench_function(BenchmarkId::new("par_iter", "map(wrap_fn) per item"), |b| {
        b.iter(|| {
            (0..n)
                .into_par_iter()
                .map(follow::wrap_fn(|x: u32| black_box(x * 2)))
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

/// Runs `plain` and `follow` alternately `n` times; prints both medians and their ratio.
fn interleaved(name: &str, n: usize, mut plain: impl FnMut(), mut follow: impl FnMut()) {
    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort_unstable();
        v[v.len() / 2]
    }
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        plain();
        a.push(t.elapsed());
        let t = Instant::now();
        follow();
        b.push(t.elapsed());
    }
    let (a, b) = (median(a), median(b));
    let ratio = b.as_secs_f64() / a.as_secs_f64();
    eprintln!(
        "A/B {name}: plain {a:?}, follow {b:?}, ratio {ratio:.2}, added {:?}",
        b.saturating_sub(a)
    );
}

fn interleaved_checks() {
    let provider = SdkTracerProvider::builder().build();
    let _guard = caller_context(&provider).attach();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let items = || (0..1_000u32).into_par_iter();
    interleaved(
        "thread spawn+join",
        3_000,
        || drop(std::thread::spawn(|| black_box(1)).join()),
        || drop(follow::thread::spawn(|| black_box(1)).join()),
    );
    interleaved(
        "rayon map 1000, in_current_context",
        20_000,
        || {
            drop(black_box(
                items().map(|x| black_box(x * 2)).collect::<Vec<_>>(),
            ))
        },
        || {
            drop(black_box(
                items()
                    .in_current_context()
                    .map(|x| black_box(x * 2))
                    .collect::<Vec<_>>(),
            ))
        },
    );
    interleaved(
        "rayon map 1000, map(wrap_fn) per item",
        20_000,
        || {
            drop(black_box(
                items().map(|x| black_box(x * 2)).collect::<Vec<_>>(),
            ))
        },
        || {
            drop(black_box(
                items()
                    .map(follow::wrap_fn(|x: u32| black_box(x * 2)))
                    .collect::<Vec<_>>(),
            ))
        },
    );
    let _rt = rt.enter();
    interleaved(
        "tokio spawn+await",
        20_000,
        || drop(rt.block_on(tokio::spawn(async { black_box(1) }))),
        || drop(rt.block_on(follow::tokio::spawn(async { black_box(1) }))),
    );
}

criterion_group!(benches, hop, thread, rayon_map, tokio_spawn);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::var_os("FOLLOW_AB").is_some() {
        interleaved_checks();
    }
}
