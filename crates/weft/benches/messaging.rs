//! What weft adds per message, without a broker: the producer's header table with and
//! without a PRODUCER span and context injection, and the consumer's read of the
//! headers with and without extraction and a CONSUMER span. Results:
//! `docs/benchmarks/messaging.md`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use lapin::types::{AMQPValue, FieldTable, LongString};
use std::hint::black_box;
use weft::messaging::amqp::{AmqpHeaders, SYSTEM, carrier_from_headers};
use weft::messaging::{self, Operation};

fn plain_table() -> FieldTable {
    let mut table = FieldTable::default();
    table.insert(
        "app-id".into(),
        AMQPValue::LongString(LongString::from("checkout")),
    );
    table
}

fn bench(c: &mut Criterion) {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    // A real pipeline that exports nowhere: spans are built, sampled, and processed.
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .finish()
        .unwrap();
    let _guard = weft.set_default();
    let _root = weft::span!("benchmark root").entered();

    let mut group = c.benchmark_group("publish");
    group.bench_function("plain headers", |b| b.iter(|| black_box(plain_table())));
    group.bench_function("headers + producer span + inject", |b| {
        b.iter(|| {
            let mut table = plain_table();
            let _span =
                messaging::producer_span(SYSTEM, "orders", Operation::send("publish")).entered();
            messaging::inject_into(&mut AmqpHeaders(&mut table));
            black_box(table)
        })
    });
    group.finish();

    let mut sent = plain_table();
    {
        let _span =
            messaging::producer_span(SYSTEM, "orders", Operation::send("publish")).entered();
        messaging::inject_into(&mut AmqpHeaders(&mut sent));
    }
    let mut group = c.benchmark_group("consume");
    group.bench_function("plain header read", |b| {
        b.iter(|| black_box(black_box(&sent).inner().get("app-id").is_some()))
    });
    group.bench_function("extract + consumer span", |b| {
        b.iter(|| {
            let carrier = carrier_from_headers(black_box(&sent));
            let received =
                messaging::consumer_span(SYSTEM, "orders", Operation::process(), &carrier);
            black_box(received.state().clone())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
