//! What tracing costs an HTTP round trip: an axum hello-world over loopback called by
//! reqwest, plain vs instrumented on both sides (tower `ServerLayer` + reqwest
//! `ClientMiddleware`, spans exported to an exporter that counts and drops them), in
//! one run so both see the same machine. Results: `docs/benchmarks/http.md`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::context::FutureExt as _;
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

/// Carries the bench's weft instance into the server (as a global instance would be).
#[derive(Clone)]
struct InCx<S>(S, opentelemetry::Context);

impl<S: tower::Service<R>, R> tower::Service<R> for InCx<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = opentelemetry::context::WithContext<S::Future>;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> Self::Future {
        let _attached = self.1.clone().attach();
        self.0.call(req).with_context(self.1.clone())
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

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let counted = Counting::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .exporter(counted.clone())
        .finish()
        .unwrap();
    let cx = weft.context();

    let (plain_addr, traced_addr) = rt.block_on(async {
        let plain = serve(hello()).await;
        let cx2 = cx.clone();
        let traced = serve(
            hello()
                .layer(ServerLayer::new())
                .layer(tower::layer::layer_fn(move |s| InCx(s, cx2.clone()))),
        )
        .await;
        (plain, traced)
    });
    let plain_client = reqwest::Client::new();
    let traced_client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    let plain_url = format!("http://{plain_addr}/hello");
    let traced_url = format!("http://{traced_addr}/hello");

    let mut group = c.benchmark_group("http_round_trip");
    group.bench_function("plain", |b| {
        b.to_async(&rt).iter(|| async {
            plain_client
                .get(&plain_url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        });
    });
    group.bench_function("instrumented", |b| {
        b.to_async(&rt).iter(|| {
            async {
                traced_client
                    .get(&traced_url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }
            .with_context(cx.clone())
        });
    });
    group.finish();
    weft.force_flush();
    eprintln!(
        "spans exported by the instrumented runs: {}",
        counted.0.load(Ordering::Relaxed)
    );
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
