//! What tracing adds to an HTTP round trip, weft beside the stack a Rust user builds from
//! the OpenTelemetry SDK today, in one process and one run: an axum hello-world over
//! loopback called by reqwest, in three cases taken in turn (one request of each per
//! round), so a change of machine load hits all alike:
//!
//! - `plain`: no instrumentation on either side;
//! - `weft`: `weft::integrations::tower::ServerLayer` on the router, a `reqwest-middleware`
//!   client with `weft::integrations::reqwest::ClientMiddleware`, spans exported by the
//!   global instance to an exporter that counts and drops them;
//! - `otel stack`: `axum-tracing-opentelemetry`'s `OtelAxumLayer` on the router (a SERVER
//!   span with the HTTP semantic-convention fields, the parent extracted from
//!   `traceparent` by the global propagator), a `reqwest-middleware` client with
//!   `reqwest-tracing`'s `TracingMiddleware` (a CLIENT span, `traceparent` injected), both
//!   `tracing` spans turned into OpenTelemetry spans by `tracing-opentelemetry`, through
//!   the SDK's `BatchSpanProcessor` to an exporter that counts and drops them; global
//!   propagator `TraceContextPropagator`.
//!
//! Why both can share the process without seeing each other's spans:
//!
//! - OpenTelemetry globals: weft sets the global propagator and tracer provider of *its*
//!   OpenTelemetry (0.33, the workspace's); the peer stack is on 0.32 (as logfire in this
//!   crate), a different crate with its own globals, which this bench sets to
//!   `TraceContextPropagator` and the SDK provider. Neither reads the other's.
//! - `tracing`: weft's global `configure()` would install weft's layer as the global
//!   `tracing` subscriber and so record the peer's `tracing` spans too. It is configured
//!   with `install_tracing_subscriber(false)` instead, and the global subscriber is the
//!   peer's: a `tracing_subscriber` registry with the `tracing-opentelemetry` layer, at
//!   INFO. weft's own integrations do not go through `tracing`, so weft's case records
//!   only weft spans, and the peer's spans reach only the SDK. Library `tracing` events
//!   below INFO (hyper, reqwest) are disabled by the same filter in all three cases.
//! - `axum-tracing-opentelemetry` makes its spans at TRACE unless built with its
//!   `tracing_level_info` feature (on here), so an INFO filter keeps them: the cheapest
//!   filter that records them, rather than an `EnvFilter` with a target directive.
//!
//! Before measuring, one request per instrumented case checks in the exported spans that
//! the SERVER span continues the CLIENT span (same trace, parent = the client span) and
//! that the server saw that client span in `traceparent`.
//!
//! `cd benches/peers && cargo bench --bench http_peers`
#![allow(missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;
use weft::export::{ExportError, SpanRecord, SpanType};
use weft::integrations::{reqwest::ClientMiddleware, tower::ServerLayer};

/// Measured rounds, one request of each case per round.
const ROUNDS: usize = 5_000;
/// Rounds run first and not recorded: connections open, caches and allocators warm.
const WARM_UP_ROUNDS: usize = 500;

/// One exported span, as the startup check needs it (ids as lowercase hex).
#[derive(Debug, Clone)]
struct Seen {
    server: bool,
    trace_id: String,
    span_id: String,
    parent_id: String,
}

/// What reached one counting exporter. `keep` is on only during the startup check, so the
/// measured export path is a counter add per span and a flag load per batch.
#[derive(Default)]
struct Received {
    spans: AtomicU64,
    /// weft's records of spans still open (none expected: the spans here are short).
    pending: AtomicU64,
    keep: AtomicBool,
    kept: Mutex<Vec<Seen>>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Received")
    }
}

impl Received {
    fn keep_if_checking(&self, seen: impl Iterator<Item = Seen>) {
        if self.keep.load(Ordering::Relaxed) {
            self.kept.lock().unwrap().extend(seen);
        }
    }
}

/// weft's exporter: counts ended spans (and pending-span records apart), keeps nothing.
struct WeftCounting(Arc<Received>);

impl weft::export::SpanExporter for WeftCounting {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        for r in batch {
            match r.span_type {
                SpanType::Span => &self.0.spans,
                _ => &self.0.pending,
            }
            .fetch_add(1, Ordering::Relaxed);
        }
        self.0.keep_if_checking(
            batch
                .iter()
                .filter(|r| r.span_type == SpanType::Span)
                .map(|r| Seen {
                    server: r.kind == weft::opentelemetry::trace::SpanKind::Server,
                    trace_id: r.span_context.trace_id().to_string(),
                    span_id: r.span_context.span_id().to_string(),
                    parent_id: r.parent_span_id.to_string(),
                }),
        );
        Ok(())
    }
}

/// The SDK's exporter: counts what the batch processor hands it, keeps nothing.
#[derive(Debug)]
struct OtelCounting(Arc<Received>);

impl opentelemetry_sdk::trace::SpanExporter for OtelCounting {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0
            .spans
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.0.keep_if_checking(batch.iter().map(|s| Seen {
            server: s.span_kind == SpanKind::Server,
            trace_id: s.span_context.trace_id().to_string(),
            span_id: s.span_context.span_id().to_string(),
            parent_id: s.parent_span_id.to_string(),
        }));
        async { Ok(()) }
    }
}

/// weft as a service configures it, globally, but leaving `tracing` to the peer stack
/// (see the top of the file).
fn configure_weft(received: &Arc<Received>) -> weft::Weft {
    weft::configure()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .distributed_tracing(weft::DistributedTracing::Allow)
        .install_tracing_subscriber(false)
        .exporter(WeftCounting(received.clone()))
        .finish()
        .unwrap()
}

/// The OpenTelemetry SDK user's setup: W3C propagator, a provider with the default batch
/// processor, and the `tracing` global subscriber feeding it through
/// `tracing-opentelemetry` (default layer settings, as a user gets them).
fn configure_otel(received: &Arc<Received>) -> SdkTracerProvider {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(OtelCounting(received.clone())).build())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("http_peers")))
        .with(tracing_subscriber::filter::LevelFilter::INFO);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    provider
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The same routes for all three servers: `/hello` is measured, `/check` answers the
/// `traceparent` it received, for the startup check.
fn hello() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/check",
            get(|headers: HeaderMap| async move {
                headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            }),
        )
}

/// One case: its client and the URL of its server.
enum Client {
    Plain(reqwest::Client),
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

struct Case {
    name: &'static str,
    client: Client,
    base: String,
}

impl Case {
    /// GETs `path` and reads the whole body, as a caller would.
    async fn get(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base);
        let response = match &self.client {
            Client::Plain(c) => c.get(url).send().await.unwrap(),
            Client::Middleware(c) => c.get(url).send().await.unwrap(),
        };
        response.text().await.unwrap()
    }
}

/// Servers and clients for the three cases, all on one runtime of two workers (the
/// machine's cores), as `crates/weft/benches/http_overhead.rs` has them.
fn setup() -> (tokio::runtime::Runtime, [Case; 3]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (plain, weft, otel) = rt.block_on(async {
        (
            serve(hello()).await,
            serve(hello().layer(ServerLayer::new())).await,
            serve(hello().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()))
                .await,
        )
    });
    let middleware = |b: reqwest_middleware::ClientBuilder| Client::Middleware(b.build());
    let new = || reqwest_middleware::ClientBuilder::new(reqwest::Client::new());
    let cases = [
        Case {
            name: "plain",
            client: Client::Plain(reqwest::Client::new()),
            base: format!("http://{plain}"),
        },
        Case {
            name: "weft",
            client: middleware(new().with(ClientMiddleware::new())),
            base: format!("http://{weft}"),
        },
        Case {
            name: "otel stack",
            client: middleware(new().with(reqwest_tracing::TracingMiddleware::default())),
            base: format!("http://{otel}"),
        },
    ];
    (rt, cases)
}

/// One `/check` request with the case's client, then a flush: the exported SERVER span
/// must be the CLIENT span's child, and the `traceparent` the server saw must name the
/// CLIENT span. Panics otherwise: the numbers would not measure a continued trace.
fn check_continues(
    rt: &tokio::runtime::Runtime,
    case: &Case,
    received: &Received,
    flush: impl FnOnce(),
) {
    received.keep.store(true, Ordering::Relaxed);
    let traceparent = rt.block_on(case.get("/check"));
    flush();
    received.keep.store(false, Ordering::Relaxed);
    let kept = std::mem::take(&mut *received.kept.lock().unwrap());
    let server = kept.iter().find(|s| s.server);
    let client = server.and_then(|s| kept.iter().find(|c| !c.server && c.span_id == s.parent_id));
    let (Some(server), Some(client)) = (server, client) else {
        panic!(
            "{}: no SERVER span under a CLIENT span in {kept:?}",
            case.name
        );
    };
    assert_eq!(server.trace_id, client.trace_id, "{}", case.name);
    // Flags apart: weft also sets the W3C level-2 "random trace id" bit (`03`).
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(
        parts[..3],
        ["00", &client.trace_id, &client.span_id],
        "{}: traceparent the server saw",
        case.name
    );
    let flags = u8::from_str_radix(parts[3], 16).unwrap();
    assert_eq!(flags & 1, 1, "{}: sampled flag in {traceparent}", case.name);
    eprintln!(
        "check {}: server saw traceparent {traceparent}, its SERVER span continues it ({} spans exported)",
        case.name,
        kept.len()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// `rounds` rounds of one `/hello` request per case; the case that goes first turns each
/// round, so no case always follows the same one. Returns each case's latencies.
fn interleaved(rt: &tokio::runtime::Runtime, cases: &[Case], rounds: usize) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    rt.block_on(async {
        for round in 0..rounds {
            for k in 0..cases.len() {
                let i = (round + k) % cases.len();
                let t = Instant::now();
                cases[i].get("/hello").await;
                times[i].push(t.elapsed());
            }
        }
    });
    times
}

/// Medians, change vs plain, and weft's added latency over the peer stack's.
fn report(cases: &[Case], times: Vec<Vec<Duration>>) {
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let plain = medians[0].as_secs_f64();
    eprintln!("interleaved, {ROUNDS} rounds (medians, change vs plain):");
    for (case, m) in cases.iter().zip(&medians) {
        let pct = (m.as_secs_f64() / plain - 1.0) * 100.0;
        eprintln!("  {:<12} {m:>10.1?} {pct:+6.1} %", case.name);
    }
    let added = |m: Duration| m.as_secs_f64() - plain;
    eprintln!(
        "  weft's added latency / otel stack's: {:.2} ({:+.1} µs / {:+.1} µs)",
        added(medians[1]) / added(medians[2]),
        added(medians[1]) * 1e6,
        added(medians[2]) * 1e6,
    );
}

/// Exported vs ended spans per stack. Each instrumented round trip ends two spans (CLIENT
/// and SERVER); the SDK's batch processor does not expose its drop count, so its drops
/// are what was ended and never exported.
fn report_counts(
    requests: u64,
    weft: &weft::Weft,
    weft_rx: &Received,
    provider: &SdkTracerProvider,
    otel_rx: &Received,
) {
    weft.force_flush();
    provider.force_flush().unwrap();
    let ended = 2 * requests;
    let (w, o) = (
        weft_rx.spans.load(Ordering::Relaxed),
        otel_rx.spans.load(Ordering::Relaxed),
    );
    eprintln!(
        "weft: {w} spans exported of {ended} ended (+{} pending-span records), dropped {}",
        weft_rx.pending.load(Ordering::Relaxed),
        weft.dropped_spans()
    );
    eprintln!(
        "otel stack: {o} spans exported of {ended} ended, dropped {}",
        ended.saturating_sub(o)
    );
}

fn main() {
    let weft_rx = Arc::new(Received::default());
    let otel_rx = Arc::new(Received::default());
    let weft = configure_weft(&weft_rx);
    let provider = configure_otel(&otel_rx);
    let (rt, cases) = setup();

    check_continues(&rt, &cases[1], &weft_rx, || {
        weft.force_flush();
    });
    check_continues(&rt, &cases[2], &otel_rx, || provider.force_flush().unwrap());

    interleaved(&rt, &cases, WARM_UP_ROUNDS);
    let times = interleaved(&rt, &cases, ROUNDS);
    report(&cases, times);
    // Per instrumented case: the check request, the warm-up and the measured rounds.
    report_counts(
        (1 + WARM_UP_ROUNDS + ROUNDS) as u64,
        &weft,
        &weft_rx,
        &provider,
        &otel_rx,
    );
    provider.shutdown().unwrap();
}
