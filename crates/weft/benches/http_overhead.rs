//! What tracing costs an HTTP round trip: an axum hello-world over loopback called by
//! reqwest, plain vs instrumented on both sides (tower `ServerLayer` + reqwest
//! `ClientMiddleware`, spans exported by the global instance to an exporter that counts
//! and drops them), in one run so both see the same machine: criterion groups, then
//! an interleaved run of all cases in turn, the CPU time per round trip of all threads
//! by case, and the server layer alone in process. Results: `docs/benchmarks/http.md`.
//!
//! A calibration case, a server whose only layer busy-waits [`BUSY`] (no weft), shows
//! what that much work on the critical path costs the round trip on the machine at hand.
//! `HTTP_BENCH_RUNTIMES=separate` runs the servers and the client on two current-thread
//! runtimes, each on its own thread, instead of sharing one 2-worker runtime.
#![allow(missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use criterion::Criterion;
use std::time::{Duration, Instant};
use weft::export::{ExportError, SpanExporter, SpanRecord};
use weft::integrations::{reqwest::ClientMiddleware, tower::ServerLayer};

/// Counts what it is handed, so the export thread does real work but keeps nothing.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicU64>);

impl SpanExporter for Counting {
    fn export(&mut self, batch: &[SpanRecord]) -> Result<(), ExportError> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn hello() -> Router {
    Router::new().route("/hello", get(|| async { "hello" }))
}

/// How long the calibration server's layer spins per request.
const BUSY: Duration = Duration::from_micros(1);

/// `hello` behind a layer that only spins for [`BUSY`]: a known amount of work on the
/// request's critical path, to set weft's cost against.
fn busy_hello() -> Router {
    hello().layer(tower::util::MapRequestLayer::new(
        |req: axum::http::Request<axum::body::Body>| {
            let start = Instant::now();
            while start.elapsed() < BUSY {
                std::hint::spin_loop();
            }
            req
        },
    ))
}

/// The client's runtime, and a handle to the servers': by default both are one 2-worker
/// runtime; with `HTTP_BENCH_RUNTIMES=separate` each is a current-thread runtime, the
/// servers' on a thread of its own.
fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Handle) {
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    if std::env::var("HTTP_BENCH_RUNTIMES").as_deref() == Ok("separate") {
        let server_rt = current_thread();
        let server = server_rt.handle().clone();
        std::thread::Builder::new()
            .name("server-rt".into())
            .spawn(move || server_rt.block_on(std::future::pending::<()>()))
            .unwrap();
        return (current_thread(), server);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.handle().clone();
    (rt, server)
}

/// Servers, clients and URLs for both cases.
struct Setup {
    rt: tokio::runtime::Runtime,
    plain_client: reqwest::Client,
    /// The middleware client with no middleware: what `reqwest-middleware` costs alone.
    bare_middleware_client: reqwest_middleware::ClientWithMiddleware,
    traced_client: reqwest_middleware::ClientWithMiddleware,
    plain_url: String,
    traced_url: String,
    busy_url: String,
}

fn setup() -> Setup {
    let (rt, server_rt) = runtimes();
    let [plain_addr, traced_addr, busy_addr] = server_rt.block_on(async {
        [
            serve(hello()).await,
            serve(hello().layer(ServerLayer::new())).await,
            serve(busy_hello()).await,
        ]
    });
    Setup {
        rt,
        plain_client: reqwest::Client::new(),
        bare_middleware_client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .build(),
        traced_client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::new())
            .build(),
        plain_url: format!("http://{plain_addr}/hello"),
        traced_url: format!("http://{traced_addr}/hello"),
        busy_url: format!("http://{busy_addr}/hello"),
    }
}

async fn get_plain(client: &reqwest::Client, url: &str) {
    client.get(url).send().await.unwrap().bytes().await.unwrap();
}

async fn get_middleware(client: &reqwest_middleware::ClientWithMiddleware, url: &str) {
    client.get(url).send().await.unwrap().bytes().await.unwrap();
}

fn round_trip(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group("http_round_trip");
    group.bench_function("plain", |b| {
        b.to_async(&s.rt)
            .iter(|| get_plain(&s.plain_client, &s.plain_url));
    });
    group.bench_function("middleware_client_no_weft", |b| {
        b.to_async(&s.rt)
            .iter(|| get_middleware(&s.bare_middleware_client, &s.plain_url));
    });
    group.bench_function("instrumented", |b| {
        b.to_async(&s.rt)
            .iter(|| get_middleware(&s.traced_client, &s.traced_url));
    });
    group.finish();
}

/// Every case in turn (plain, bare middleware, both sides, each side alone, the busy
/// server), `n` rounds, so a change of machine load hits all alike; prints the medians
/// and the added latency.
fn interleaved(s: &Setup, n: usize) {
    let [
        mut plain,
        mut bare,
        mut traced,
        mut client_only,
        mut server_only,
        mut busy,
    ]: [Vec<Duration>; 6] = Default::default();
    s.rt.block_on(async {
        for _ in 0..n {
            let t = Instant::now();
            get_plain(&s.plain_client, &s.plain_url).await;
            plain.push(t.elapsed());
            let t = Instant::now();
            get_middleware(&s.bare_middleware_client, &s.plain_url).await;
            bare.push(t.elapsed());
            let t = Instant::now();
            get_middleware(&s.traced_client, &s.traced_url).await;
            traced.push(t.elapsed());
            let t = Instant::now();
            get_middleware(&s.traced_client, &s.plain_url).await;
            client_only.push(t.elapsed());
            let t = Instant::now();
            get_plain(&s.plain_client, &s.traced_url).await;
            server_only.push(t.elapsed());
            let t = Instant::now();
            get_plain(&s.plain_client, &s.busy_url).await;
            busy.push(t.elapsed());
        }
    });
    let p = median(plain);
    let pct = |x: Duration| (x.as_secs_f64() / p.as_secs_f64() - 1.0) * 100.0;
    eprintln!(
        "interleaved, {n} rounds (medians, change vs plain; the busy server spins {BUSY:?}):"
    );
    for (name, v) in [
        ("plain", p),
        ("middleware client, no weft", median(bare)),
        ("instrumented (both sides)", median(traced)),
        ("weft client, plain server", median(client_only)),
        ("plain client, weft server", median(server_only)),
        ("plain client, busy server", median(busy)),
    ] {
        eprintln!("  {name:<28} {v:>10.1?} {:+6.1} %", pct(v));
    }
}

/// The server side alone, in process: the router called through `oneshot` with a
/// `traceparent`, with and without `ServerLayer`, in alternating rounds. No socket and no
/// other thread in the way, so this is the layer's own CPU time per request.
fn in_process(s: &Setup, rounds: usize, per_round: u32) {
    use tower::ServiceExt as _;
    let plain = hello();
    let traced = hello().layer(ServerLayer::new());
    let request = || {
        axum::http::Request::get("/hello")
            .header("host", "127.0.0.1:8080")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let run = |router: &Router| {
        let router = router.clone();
        s.rt.block_on(async move {
            let t = Instant::now();
            for _ in 0..per_round {
                let response = router.clone().oneshot(request()).await.unwrap();
                axum::body::to_bytes(response.into_body(), 64)
                    .await
                    .unwrap();
            }
            t.elapsed() / per_round
        })
    };
    let (mut p, mut t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        p.push(run(&plain));
        t.push(run(&traced));
    }
    let (p, t) = (median(p), median(t));
    eprintln!(
        "in process, {rounds} rounds of {per_round} (medians): plain {p:?}, ServerLayer {t:?}, added {:?}",
        t.saturating_sub(p)
    );
}

/// CPU time of this process's threads, in ns (`/proc/self/task/*/schedstat`): all of
/// them, and the export thread's alone; `None` where there is no such file.
fn process_cpu_ns() -> Option<ThreadTime> {
    let mut time = ThreadTime::default();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?.path();
        let stat = std::fs::read_to_string(task.join("schedstat")).ok()?;
        let ns = stat.split_whitespace().next()?.parse::<u64>().ok()?;
        time.all += ns;
        if std::fs::read_to_string(task.join("comm")).ok()?.trim() == "weft-export" {
            time.export += ns;
        }
    }
    Some(time)
}

/// See [`process_cpu_ns`].
#[derive(Debug, Default, Clone, Copy)]
struct ThreadTime {
    all: u64,
    export: u64,
}

/// The middle value: what every table here reports.
fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort_unstable();
    v[v.len() / 2]
}

/// CPU time per round trip, all threads (client, server, export thread), by case: blocks
/// of `per_block` requests of one case in turn, `rounds` times; prints the medians, and
/// the export thread's share apart. The latency above includes waiting for threads to
/// wake; this is the work alone. The export thread's work for one block may fall in the
/// next (at most a batch's worth).
fn cpu_per_request(s: &Setup, rounds: usize, per_block: u32) {
    let Some(_) = process_cpu_ns() else { return };
    let cases: [(&str, bool, &str); 3] = [
        ("plain", false, &s.plain_url),
        ("instrumented (both sides)", true, &s.traced_url),
        ("plain client, weft server", false, &s.traced_url),
    ];
    let (mut all, mut export) = (vec![Vec::new(); cases.len()], vec![Vec::new(); cases.len()]);
    for _ in 0..rounds {
        for (i, (_, traced_client, url)) in cases.iter().enumerate() {
            let before = process_cpu_ns().unwrap_or_default();
            s.rt.block_on(async {
                for _ in 0..per_block {
                    if *traced_client {
                        get_middleware(&s.traced_client, url).await;
                    } else {
                        get_plain(&s.plain_client, url).await;
                    }
                }
            });
            let after = process_cpu_ns().unwrap_or_default();
            all[i].push(after.all.saturating_sub(before.all) / u64::from(per_block));
            export[i].push(after.export.saturating_sub(before.export) / u64::from(per_block));
        }
    }
    let all: Vec<u64> = all.into_iter().map(median).collect();
    let export: Vec<u64> = export.into_iter().map(median).collect();
    eprintln!("CPU per round trip, {rounds} blocks of {per_block} (medians):");
    eprintln!(
        "  {:<28} {:>10} {:>10} {:>14}",
        "", "all", "added", "export thread"
    );
    for (((name, _, _), ns), export_ns) in cases.iter().zip(&all).zip(&export) {
        let added = *ns as f64 - all[0] as f64;
        eprintln!(
            "  {name:<28} {:>7.2} µs {:>+7.2} µs {:>11.2} µs",
            *ns as f64 / 1000.0,
            added / 1000.0,
            *export_ns as f64 / 1000.0
        );
    }
}

fn main() {
    let counted = Counting::default();
    // A global instance, as a service has: the bench is its own process.
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .distributed_tracing(weft::DistributedTracing::Allow)
        .exporter(counted.clone())
        .finish()
        .unwrap();
    let s = setup();
    let mut c = Criterion::default().configure_from_args();
    round_trip(&mut c, &s);
    c.final_summary();
    interleaved(&s, 5_000);
    cpu_per_request(&s, 30, 500);
    in_process(&s, 300, 500);
    weft.force_flush();
    eprintln!(
        "records exported: {}, dropped: {}",
        counted.0.load(Ordering::Relaxed),
        weft.dropped_spans()
    );
}
