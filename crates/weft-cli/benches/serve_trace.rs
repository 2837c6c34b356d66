//! Time to serve one 10 000-span trace through the API (`GET /api/traces/{id}`: read,
//! rebuild the tree, run every diagnosis, serialise, send over loopback). Target < 100 ms.
//! Results: docs/benchmarks/viewer.md.
//!
//! Run with `cargo bench -p weft-cli --bench serve_trace`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use weft_cli::otlp::convert;
use weft_cli::serve::{self, ServeConfig};
use weft_cli::store::Location;

fn serve_trace(c: &mut Criterion) {
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
    let request = common::batch(42, 10_000, 1_700_000_000_000_000_000);
    running
        .state
        .store
        .write(&convert::traces(&request).batch)
        .unwrap();
    let trace_id = format!("{:016x}{:016x}", 42u64, 0x5eed_u64);
    let url = format!("http://{}/api/traces/{trace_id}", running.ui);
    let client = reqwest::Client::new();

    let mut group = c.benchmark_group("serve_trace");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("api_trace_10000_spans", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = client.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap().len()
            })
        })
    });
    // Where the time goes: load + tree + diagnoses, then serialisation alone.
    let id: weft_cli::ids::TraceId = trace_id.parse().unwrap();
    group.bench_function("floor_read_rows", |b| {
        b.iter(|| {
            running
                .state
                .store
                .read(|c| weft_cli::store::read::trace_rows(c, id))
                .unwrap()
                .len()
        })
    });
    let rows = running
        .state
        .store
        .read(|c| weft_cli::store::read::trace_rows(c, id))
        .unwrap();
    group.bench_function("floor_tree", |b| {
        b.iter(|| weft_cli::tree::Tree::build(id, rows.clone()).nodes.len())
    });
    let tree = weft_cli::tree::Tree::build(id, rows.clone());
    let cx = weft_cli::diagnose::Context { now_ns: 0 };
    group.bench_function("floor_diagnose", |b| {
        b.iter(|| weft_cli::diagnose::diagnose(&tree, &cx).len())
    });
    group.bench_function("floor_load_tree_diagnose", |b| {
        b.iter(|| {
            weft_cli::serve::ui::load_view(&running.state, id, false)
                .unwrap()
                .unwrap()
                .nodes
                .len()
        })
    });
    let view = weft_cli::serve::ui::load_view(&running.state, id, false)
        .unwrap()
        .unwrap();
    group.bench_function("floor_serialize_json", |b| {
        b.iter(|| serde_json::to_vec(&view).unwrap().len())
    });
    eprintln!(
        "response size: {} KiB",
        serde_json::to_vec(&view).unwrap().len() / 1024
    );
    group.finish();
    rt.block_on(running.shutdown());
}

criterion_group!(benches, serve_trace);
criterion_main!(benches);
