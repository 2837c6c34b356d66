//! Shared by the AMQP tests (`mq_amqp`, `mq_amqp_settlement`): a local weft instance
//! under a policy, a channel to the real RabbitMQ node, and the tree the spans render.
//! Each test binary declares `brokers` and `tree` (from `celery/`) at its root.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use crate::{brokers, tree};
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::sync::Mutex;
use weft::DistributedTracing;
use weft::export::memory::MemoryExporter;
use weft::messaging::amqp;
use weft::opentelemetry::context::FutureExt as _;

/// The policy is process-global: every test here extracts, so they run one at a time.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The `distributed_tracing` warnings since the last [`local`].
pub static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub fn warnings() -> Vec<String> {
    WARNINGS.lock().unwrap().clone()
}

pub fn local(policy: DistributedTracing) -> (weft::Weft, MemoryExporter) {
    weft::propagation::set_warning_sink(|message| {
        WARNINGS.lock().unwrap().push(message.to_owned())
    });
    WARNINGS.lock().unwrap().clear();
    weft::propagation::set_policy(policy);
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .distributed_tracing(policy)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    (weft, memory)
}

pub const NOTES: &[&str] = &[
    "weft.messaging.context",
    "weft.messaging.settlement",
    "weft.messaging.requeue",
    "weft.messaging.redelivered",
    "messaging.batch.message_count",
];

pub fn rendered(weft: &weft::Weft, memory: &MemoryExporter, service: &str) -> String {
    assert!(weft.force_flush());
    tree::render(&tree::from_weft(&memory.spans(), service, NOTES))
}

pub async fn channel(queue: &str) -> (Connection, Channel) {
    let url = brokers::amqp_url(brokers::rabbitmq());
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (conn, channel)
}

pub async fn next_delivery(channel: &Channel, queue: &str) -> lapin::message::Delivery {
    for _ in 0..100 {
        if let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            return message.delivery;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message on {queue} within 5 s");
}

pub async fn publish_in_span(channel: &Channel, queue: &str, root: &str, body: &[u8]) {
    let span = weft::span!("{root}", root = root.to_owned());
    let cx = span.context();
    amqp::publish(
        channel,
        "",
        queue,
        BasicPublishOptions::default(),
        body,
        BasicProperties::default(),
    )
    .with_context(cx)
    .await
    .unwrap();
}
