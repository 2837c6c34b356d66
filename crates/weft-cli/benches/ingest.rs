//! Ingest throughput, in spans per second: OTLP/HTTP protobuf over loopback into the real
//! server (file-backed SQLite, WAL), 4 concurrent exporters sending 1 000-span batches;
//! beside it the floor, the same batches converted and written straight to the store.
//! Resident memory is printed at the end. Results: docs/benchmarks/viewer.md.
//!
//! Run with `cargo bench -p weft-cli --bench ingest`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use weft_cli::otlp::convert;
use weft_cli::serve::{self, ServeConfig};
use weft_cli::store::{Location, Store};

const BATCH: usize = 1_000;
const SENDERS: usize = 4;

static SEED: AtomicU64 = AtomicU64::new(1);

fn fresh(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            common::batch(
                SEED.fetch_add(1, Ordering::Relaxed),
                BATCH,
                1_700_000_000_000_000_000,
            )
            .encode_to_vec()
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = rt
        .block_on(serve::start(ServeConfig {
            grpc_port: 0,
            http_port: 0,
            ui_port: 0,
            location: Location::Dir(dir.path().to_owned()),
            ..ServeConfig::default()
        }))
        .unwrap();
    let url = format!("http://{}/v1/traces", running.http);
    let client = reqwest::Client::new();

    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements((BATCH * SENDERS) as u64));
    group.bench_function("otlp_http_protobuf_4x1000", |b| {
        b.iter_custom(|iters| {
            let bodies = fresh(iters as usize * SENDERS);
            rt.block_on(async {
                let start = Instant::now();
                let mut tasks = Vec::new();
                for chunk in bodies.chunks(iters as usize).map(|c| c.to_vec()) {
                    let (client, url) = (client.clone(), url.clone());
                    tasks.push(tokio::spawn(async move {
                        for body in chunk {
                            let r = client
                                .post(&url)
                                .header("content-type", "application/x-protobuf")
                                .body(body)
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(r.status(), 200);
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            })
        })
    });

    let floor_dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::Dir(floor_dir.path().to_owned())).unwrap();
    group.bench_function("floor_convert_and_store_4x1000", |b| {
        b.iter_custom(|iters| {
            let requests: Vec<_> = (0..iters as usize * SENDERS)
                .map(|_| {
                    common::batch(
                        SEED.fetch_add(1, Ordering::Relaxed),
                        BATCH,
                        1_700_000_000_000_000_000,
                    )
                })
                .collect();
            let start = Instant::now();
            for r in &requests {
                store.write(&convert::traces(r).batch).unwrap();
            }
            start.elapsed()
        })
    });
    // The floor split in its two halves.
    group.bench_function("floor_convert_only_4x1000", |b| {
        let requests: Vec<_> = (0..SENDERS)
            .map(|i| common::batch(i as u64, BATCH, 1_700_000_000_000_000_000))
            .collect();
        b.iter(|| {
            requests
                .iter()
                .map(|r| convert::traces(r).batch.rows.len())
                .sum::<usize>()
        })
    });
    group.bench_function("floor_store_only_4x1000", |b| {
        b.iter_custom(|iters| {
            let batches: Vec<_> = (0..iters as usize * SENDERS)
                .map(|_| {
                    convert::traces(&common::batch(
                        SEED.fetch_add(1, Ordering::Relaxed),
                        BATCH,
                        1_700_000_000_000_000_000,
                    ))
                    .batch
                })
                .collect();
            let start = Instant::now();
            for b in &batches {
                store.write(b).unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
    eprintln!(
        "resident memory after ingest (server + client in one process): {} MiB",
        common::rss_kb() / 1024
    );
    rt.block_on(running.shutdown());
}

criterion_group!(benches, ingest);
criterion_main!(benches);
