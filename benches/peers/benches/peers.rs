//! logfire 0.13.1 (Pydantic's Rust SDK) beside weft, in one process: the same three
//! operations as `crates/weft/benches/core.rs`, each through a batch processor into a
//! discarding exporter. logfire pins OpenTelemetry 0.32, so this crate lives outside the
//! workspace. weft is in this run too (and `baseline/black_box`, identical code in both
//! runs), so this run and the workspace run can be related.
//!
//! `cd benches/peers && cargo bench --bench peers -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogBatch, LogExporter};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use weft::export::{ExportError, SpanRecord, SpanType};

#[path = "../../../crates/weft/benches/support/interleave.rs"]
mod interleave;

/// Logs emitted under one parent span before it is replaced (outside the timed region).
const LOGS_PER_PARENT: u64 = 1000;

/// What reached one discarding exporter.
#[derive(Default)]
struct Received {
    spans: AtomicU64,
    pending: AtomicU64,
    logs: AtomicU64,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Received")
    }
}

#[derive(Debug)]
struct OtelDiscard(Arc<Received>);

impl SpanExporter for OtelDiscard {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0
            .spans
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        async { Ok(()) }
    }
}

impl LogExporter for OtelDiscard {
    fn export(
        &self,
        batch: LogBatch<'_>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0
            .logs
            .fetch_add(batch.iter().count() as u64, Ordering::Relaxed);
        async { Ok(()) }
    }
}

struct WeftDiscard(Arc<Received>);

impl weft::export::SpanExporter for WeftDiscard {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        for r in batch {
            let counter = match r.span_type {
                SpanType::Span => &self.0.spans,
                SpanType::PendingSpan => &self.0.pending,
                _ => &self.0.logs,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Runs `op` `iters` times, `LOGS_PER_PARENT` at a time inside a fresh entered parent made
/// by `parent` (created and ended outside the timed region).
fn under_parents<P>(iters: u64, mut parent: impl FnMut() -> P, mut op: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(LOGS_PER_PARENT);
        let guard = parent();
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        total += start.elapsed();
        drop(guard);
        left -= n;
    }
    total
}

struct Subjects {
    logfire: logfire::ShutdownGuard,
    logfire_rx: Arc<Received>,
    weft: weft::Weft,
    weft_rx: Arc<Received>,
    otel_provider: SdkTracerProvider,
    otel_tracer: SdkTracer,
    otel_rx: Arc<Received>,
}

struct Tally {
    name: &'static str,
    made: u64,
    received: Arc<Received>,
}

fn span_two_attrs(g: &mut BenchmarkGroup<'_, WallTime>, s: &Subjects, tally: &mut Vec<Tally>) {
    let mut made = 0u64;
    g.bench_function("logfire", |b| {
        b.iter(|| {
            let _s = logfire::span!("handle {user}", user = "ada", attempt = 3).entered();
            made += 1;
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/logfire",
        made,
        received: s.logfire_rx.clone(),
    });

    let mut made = 0u64;
    g.bench_function("weft", |b| {
        b.iter(|| {
            let _s = weft::span!("handle {user}", user = "ada", attempt = 3).entered();
            made += 1;
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/weft",
        made,
        received: s.weft_rx.clone(),
    });

    let mut made = 0u64;
    g.bench_function("otel_sdk_0.32", |b| {
        b.iter(|| {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            span.end();
            made += 1;
        })
    });
    g.bench_function("otel_sdk_0.32_attached", |b| {
        b.iter(|| {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            let _guard = opentelemetry::trace::mark_span_as_active(span);
            made += 1;
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/otel_sdk_0.32 (+attached)",
        made,
        received: s.otel_rx.clone(),
    });
}

fn info_one_attr(g: &mut BenchmarkGroup<'_, WallTime>, s: &Subjects, tally: &mut Vec<Tally>) {
    let mut made = 0u64;
    g.bench_function("logfire", |b| {
        b.iter_custom(|iters| {
            under_parents(
                iters,
                || logfire::span!("parent").entered(),
                || {
                    logfire::info!("hello {n}", n = 1);
                    made += 1;
                },
            )
        })
    });
    tally.push(Tally {
        name: "info_one_attr/logfire (logs)",
        made,
        received: s.logfire_rx.clone(),
    });

    let mut made = 0u64;
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            under_parents(
                iters,
                || weft::span!("parent").entered(),
                || {
                    weft::info!("hello {n}", n = 1);
                    made += 1;
                },
            )
        })
    });
    tally.push(Tally {
        name: "info_one_attr/weft (logs)",
        made,
        received: s.weft_rx.clone(),
    });
}

fn filtered_debug(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function("logfire", |b| {
        b.iter(|| logfire::debug!("x {n}", n = black_box(1)))
    });
    g.bench_function("weft", |b| {
        b.iter(|| weft::debug!("x {n}", n = black_box(1)))
    });
}

/// Identical code in this run and the workspace run: relates the two runs' machine speed.
fn baseline(c: &mut Criterion) {
    c.bench_function("baseline/black_box", |b| {
        b.iter(|| {
            let mut x = black_box(0x9e37_79b9_7f4a_7c15_u64);
            for _ in 0..64 {
                x = black_box(x.rotate_left(5) ^ x.wrapping_mul(0x2545_f491_4f6c_dd1d));
            }
            x
        })
    });
}

fn main() {
    // logfire: global (what users run), nothing sent to the platform, no console; its
    // spans and logs go through the SDK's batch processors into discarding exporters.
    let logfire_rx = Arc::new(Received::default());
    let logfire = logfire::configure()
        .send_to_logfire(false)
        .with_console(None)
        .with_install_panic_handler(false)
        .with_additional_span_processor(
            BatchSpanProcessor::builder(OtelDiscard(logfire_rx.clone())).build(),
        )
        .with_advanced_options(
            logfire::config::AdvancedOptions::default().with_log_processor(
                BatchLogProcessor::builder(OtelDiscard(logfire_rx.clone())).build(),
            ),
        )
        .finish()
        .unwrap()
        .shutdown_guard();

    let weft_rx = Arc::new(Received::default());
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .install_tracing_subscriber(false)
        .env(std::iter::empty::<(String, String)>())
        .min_level(weft::Level::Info)
        .exporter(WeftDiscard(weft_rx.clone()))
        .finish()
        .unwrap();

    let otel_rx = Arc::new(Received::default());
    let otel_provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(OtelDiscard(otel_rx.clone())).build())
        .build();
    let otel_tracer = otel_provider.tracer("bench");
    let s = Subjects {
        logfire,
        logfire_rx,
        weft,
        weft_rx,
        otel_provider,
        otel_tracer,
        otel_rx,
    };

    let mut c = Criterion::default().configure_from_args();
    let mut tally = Vec::new();
    span_two_attrs(&mut c.benchmark_group("span_two_attrs"), &s, &mut tally);
    info_one_attr(&mut c.benchmark_group("info_one_attr"), &s, &mut tally);
    filtered_debug(&mut c.benchmark_group("filtered_debug"));
    baseline(&mut c);
    c.final_summary();
    // A profile (`--profile-time`) is of the criterion subject alone.
    if !std::env::args().any(|a| a == "--profile-time") {
        interleaved_spans(&s, 300, 2000);
    }

    assert!(s.weft.force_flush());
    s.otel_provider.force_flush().unwrap();
    let weft_dropped = s.weft.dropped_spans();
    drop(s.weft);
    drop(s.logfire); // shuts logfire down: flushes its batch processors
    println!(
        "\nexport check (made → received by the discarding exporter, cumulative per exporter):"
    );
    for t in &tally {
        let r = &t.received;
        println!(
            "  {:<45} made {:>10}  spans {:>10}  pending {:>10}  logs {:>10}",
            t.name,
            t.made,
            r.spans.load(Ordering::Relaxed),
            r.pending.load(Ordering::Relaxed),
            r.logs.load(Ordering::Relaxed),
        );
    }
    println!("  weft dropped: {weft_dropped}");
}

/// `span_two_attrs` for logfire, weft and raw OpenTelemetry in alternation: `rounds`
/// rounds of `per_round` spans each, so a change of machine load (the criterion groups
/// run one after another) hits all alike. Prints the median time per span and the
/// median of the per-round ratios.
fn interleaved_spans(s: &Subjects, rounds: usize, per_round: u32) {
    use interleave::{median, per_op as per_span, print_against};
    let (mut lf, mut weft, mut otel) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        lf.push(per_span(per_round, || {
            let _s = logfire::span!("handle {user}", user = "ada", attempt = 3).entered();
        }));
        weft.push(per_span(per_round, || {
            let _s = weft::span!("handle {user}", user = "ada", attempt = 3).entered();
        }));
        otel.push(per_span(per_round, || {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            span.end();
        }));
    }
    println!("\ninterleaved span_two_attrs, {rounds} rounds of {per_round} (medians):");
    println!("  {:<18} {:>8.1} ns", "weft", median(weft.clone()));
    print_against("logfire", &weft, &lf);
    print_against("otel_sdk_0.32", &weft, &otel);
}
