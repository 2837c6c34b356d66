//! What weft adds per message, without a broker: the producer's headers with and
//! without a PRODUCER span and context injection, and the consumer's read of the
//! headers with and without extraction and a CONSUMER span, for AMQP (a `lapin`
//! header table) and NATS (an `async-nats` header map and message). Results:
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

fn amqp(c: &mut Criterion) {
    let mut group = c.benchmark_group("amqp publish");
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
    let mut group = c.benchmark_group("amqp consume");
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

#[cfg(feature = "nats")]
fn nats(c: &mut Criterion) {
    use async_nats::{HeaderMap, Message, Subject};
    use weft::messaging::nats::{NatsHeaders, SYSTEM, receive};

    fn plain_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("app-id", "checkout");
        headers
    }

    let mut group = c.benchmark_group("nats publish");
    group.bench_function("plain headers", |b| b.iter(|| black_box(plain_headers())));
    group.bench_function("headers + producer span + inject", |b| {
        b.iter(|| {
            let mut headers = plain_headers();
            let _span =
                messaging::producer_span(SYSTEM, "orders.created", Operation::send("publish"))
                    .entered();
            messaging::inject_into(&mut NatsHeaders(&mut headers));
            black_box(headers)
        })
    });
    group.finish();

    let mut headers = plain_headers();
    {
        let _span = messaging::producer_span(SYSTEM, "orders.created", Operation::send("publish"))
            .entered();
        messaging::inject_into(&mut NatsHeaders(&mut headers));
    }
    // What a subscriber receives: the message async-nats hands over, headers included.
    let message = Message {
        subject: Subject::from("orders.created"),
        reply: None,
        payload: bytes::Bytes::from_static(b"42"),
        headers: Some(headers),
        status: None,
        description: None,
        length: 0,
    };
    let mut group = c.benchmark_group("nats consume");
    group.bench_function("plain header read", |b| {
        b.iter(|| {
            let headers = black_box(&message).headers.as_ref();
            black_box(headers.and_then(|h| h.get("app-id")).is_some())
        })
    });
    group.bench_function("extract + consumer span", |b| {
        b.iter(|| {
            let received = receive(black_box(&message));
            black_box(received.state().clone())
        })
    });
    group.finish();
}

#[cfg(not(feature = "nats"))]
fn nats(_: &mut Criterion) {}

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
    amqp(c);
    nats(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
