//! SDK-core benchmarks: weft's span, log and filtered log beside `tracing` +
//! `tracing-opentelemetry` and raw `opentelemetry_sdk`, each with its export pipeline on
//! and a discarding exporter at the end. Every subject of one operation is in one
//! criterion group, so the numbers read as ratios. Logfire runs in `benches/peers`
//! (it pins another OpenTelemetry); `baseline/black_box` is in both runs to relate them.
//!
//! `cargo bench -p weft --bench core -- --warm-up-time 1 --measurement-time 3`
//!
//! After the groups it prints, per subject, how many spans or logs were made and how many
//! reached the exporter: a pipeline that drops under load would otherwise look fast.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanData};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use weft::export::{ExportError, SpanRecord, SpanType};
use weft::opentelemetry;

#[path = "support/interleave.rs"]
mod interleave;

/// Logs emitted under one parent span before it is replaced (outside the timed region),
/// so span events on the `tracing`/OpenTelemetry side do not pile up without bound.
const LOGS_PER_PARENT: u64 = 1000;

/// What reached one discarding exporter.
#[derive(Default)]
struct Received {
    spans: AtomicU64,
    pending: AtomicU64,
    logs: AtomicU64,
    events: AtomicU64,
}

/// weft's discarding exporter: counts and drops.
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

/// OpenTelemetry's discarding exporter: counts and drops.
#[derive(Debug)]
struct OtelDiscard(Arc<Received>);

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Received")
    }
}

impl opentelemetry_sdk::trace::SpanExporter for OtelDiscard {
    #[allow(clippy::manual_async_fn)]
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0
            .spans
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let events: usize = batch.iter().map(|s| s.events.len()).sum();
        self.0.events.fetch_add(events as u64, Ordering::Relaxed);
        async { Ok(()) }
    }
}

/// A tracer provider with the SDK's default batch processor into a discarding exporter.
fn discarding_provider(received: &Arc<Received>) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(OtelDiscard(received.clone())).build())
        .build()
}

/// One subject's bookkeeping: operations made, and what its exporter saw.
struct Tally {
    name: &'static str,
    made: u64,
    received: Arc<Received>,
}

fn weft_instance(pending: bool, local: bool, received: &Arc<Received>) -> weft::Weft {
    let mut builder = weft::configure()
        .console(false)
        .no_default_exporter()
        .install_tracing_subscriber(false)
        .env(std::iter::empty::<(String, String)>())
        .min_level(weft::Level::Info)
        .pending_spans(pending)
        .exporter(WeftDiscard(received.clone()));
    if local {
        builder = builder.local();
    }
    builder.finish().unwrap()
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
    weft: weft::Weft,
    weft_rx: Arc<Received>,
    weft_no_pending: weft::Weft,
    weft_no_pending_rx: Arc<Received>,
    tracing_rx: Arc<Received>,
    tracing_provider: SdkTracerProvider,
    otel_rx: Arc<Received>,
    otel_provider: SdkTracerProvider,
    otel_tracer: SdkTracer,
}

fn tracing_dispatch(provider: &SdkTracerProvider) -> tracing::Dispatch {
    use opentelemetry::trace::TracerProvider as _;
    let subscriber = tracing_subscriber::registry()
        .with(LevelFilter::INFO)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::Dispatch::new(subscriber)
}

fn span_two_attrs(g: &mut BenchmarkGroup<'_, WallTime>, s: &Subjects, tally: &mut Vec<Tally>) {
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
    s.weft_no_pending.in_scope(|| {
        g.bench_function("weft_no_pending", |b| {
            b.iter(|| {
                let _s = weft::span!("handle {user}", user = "ada", attempt = 3).entered();
                made += 1;
            })
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/weft_no_pending",
        made,
        received: s.weft_no_pending_rx.clone(),
    });

    let mut made = 0u64;
    let dispatch = tracing_dispatch(&s.tracing_provider);
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("tracing_otel", |b| {
            b.iter(|| {
                let _s = tracing::info_span!("handle", user = "ada", attempt = 3).entered();
                made += 1;
            })
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/tracing_otel",
        made,
        received: s.tracing_rx.clone(),
    });

    let mut made = 0u64;
    g.bench_function("otel_sdk", |b| {
        b.iter(|| {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            span.end();
            made += 1;
        })
    });
    g.bench_function("otel_sdk_attached", |b| {
        b.iter(|| {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            // Enter: the span becomes current; exit: the guard restores the previous
            // context, and the span ends when its last reference (the context) drops.
            let _guard = opentelemetry::trace::mark_span_as_active(span);
            made += 1;
        })
    });
    tally.push(Tally {
        name: "span_two_attrs/otel_sdk (+attached)",
        made,
        received: s.otel_rx.clone(),
    });
}

fn info_one_attr(g: &mut BenchmarkGroup<'_, WallTime>, s: &Subjects, tally: &mut Vec<Tally>) {
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

    let mut made = 0u64;
    let dispatch = tracing_dispatch(&s.tracing_provider);
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("tracing_otel", |b| {
            b.iter_custom(|iters| {
                under_parents(
                    iters,
                    || tracing::info_span!("parent").entered(),
                    || {
                        tracing::info!(n = 1, "hello");
                        made += 1;
                    },
                )
            })
        })
    });
    tally.push(Tally {
        name: "info_one_attr/tracing_otel (span events)",
        made,
        received: s.tracing_rx.clone(),
    });

    let mut made = 0u64;
    g.bench_function("otel_sdk_event", |b| {
        b.iter_custom(|iters| {
            under_parents(
                iters,
                || opentelemetry::trace::mark_span_as_active(s.otel_tracer.start("parent")),
                || {
                    Context::map_current(|cx| {
                        cx.span().add_event("hello", vec![KeyValue::new("n", 1)])
                    });
                    made += 1;
                },
            )
        })
    });
    tally.push(Tally {
        name: "info_one_attr/otel_sdk_event (span events)",
        made,
        received: s.otel_rx.clone(),
    });
}

fn filtered_debug(g: &mut BenchmarkGroup<'_, WallTime>, s: &Subjects) {
    g.bench_function("weft", |b| {
        b.iter(|| weft::debug!("x {n}", n = black_box(1)))
    });
    let dispatch = tracing_dispatch(&s.tracing_provider);
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("tracing_otel", |b| {
            b.iter(|| tracing::debug!(n = black_box(1), "x"))
        })
    });
}

/// Identical code in this run and the peers run: relates the two runs' machine speed.
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

fn flush(s: &Subjects) {
    assert!(s.weft.force_flush());
    assert!(s.weft_no_pending.force_flush());
    s.tracing_provider.force_flush().unwrap();
    s.otel_provider.force_flush().unwrap();
}

fn main() {
    let weft_rx = Arc::new(Received::default());
    let weft_no_pending_rx = Arc::new(Received::default());
    let tracing_rx = Arc::new(Received::default());
    let otel_rx = Arc::new(Received::default());
    let otel_provider = discarding_provider(&otel_rx);
    let subjects = Subjects {
        weft: weft_instance(true, false, &weft_rx),
        weft_no_pending: weft_instance(false, true, &weft_no_pending_rx),
        weft_rx,
        weft_no_pending_rx,
        tracing_provider: discarding_provider(&tracing_rx),
        tracing_rx,
        otel_tracer: {
            use opentelemetry::trace::TracerProvider as _;
            otel_provider.tracer("bench")
        },
        otel_provider,
        otel_rx,
    };

    let mut c = Criterion::default().configure_from_args();
    let mut tally = Vec::new();
    span_two_attrs(
        &mut c.benchmark_group("span_two_attrs"),
        &subjects,
        &mut tally,
    );
    info_one_attr(
        &mut c.benchmark_group("info_one_attr"),
        &subjects,
        &mut tally,
    );
    filtered_debug(&mut c.benchmark_group("filtered_debug"), &subjects);
    baseline(&mut c);
    c.final_summary();

    flush(&subjects);
    println!(
        "\nexport check (made → received by the discarding exporter, cumulative per exporter):"
    );
    for t in &tally {
        let r = &t.received;
        println!(
            "  {:<45} made {:>10}  spans {:>10}  pending {:>10}  logs {:>10}  span events {:>10}",
            t.name,
            t.made,
            r.spans.load(Ordering::Relaxed),
            r.pending.load(Ordering::Relaxed),
            r.logs.load(Ordering::Relaxed),
            r.events.load(Ordering::Relaxed),
        );
    }
    println!(
        "  weft dropped: global {}, no_pending {}",
        subjects.weft.dropped_spans(),
        subjects.weft_no_pending.dropped_spans()
    );
    // A profile (`--profile-time`) is of the criterion subject alone.
    if !std::env::args().any(|a| a == "--profile-time") {
        interleaved_spans(&subjects, 300, 2000);
    }
}

/// `span_two_attrs` for weft and raw OpenTelemetry in alternation: `rounds` rounds of
/// `per_round` spans each, so a change of machine load (the criterion groups above run
/// one after another, seconds apart) hits both alike. Prints the median time per span
/// of each and the median of the per-round ratios.
fn interleaved_spans(s: &Subjects, rounds: usize, per_round: u32) {
    use interleave::{median, per_op as per_span, print_against};
    let weft_before = s.weft_rx.spans.load(Ordering::Relaxed);
    let otel_before = s.otel_rx.spans.load(Ordering::Relaxed);
    let (mut weft, mut otel, mut attached) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        weft.push(per_span(per_round, || {
            let _s = weft::span!("handle {user}", user = "ada", attempt = 3).entered();
        }));
        otel.push(per_span(per_round, || {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            span.end();
        }));
        attached.push(per_span(per_round, || {
            let mut span = s.otel_tracer.start("handle");
            span.set_attribute(KeyValue::new("user", "ada"));
            span.set_attribute(KeyValue::new("attempt", 3));
            let _guard = opentelemetry::trace::mark_span_as_active(span);
        }));
    }
    flush(s);
    let made = (rounds as u64) * u64::from(per_round);
    println!("\ninterleaved span_two_attrs, {rounds} rounds of {per_round} (medians):");
    println!("  {:<18} {:>8.1} ns", "weft", median(weft.clone()));
    print_against("otel_sdk", &weft, &otel);
    print_against("otel_sdk_attached", &weft, &attached);
    println!(
        "  delivered: weft {} of {made}, otel_sdk {} of {}",
        s.weft_rx.spans.load(Ordering::Relaxed) - weft_before,
        s.otel_rx.spans.load(Ordering::Relaxed) - otel_before,
        2 * made,
    );
}
