//! AMQP settlement against a real RabbitMQ node: nack and reject with and without
//! requeue, redelivery linked to the earlier attempt (also after a delivery dropped
//! unsettled), and a batch that links every message. The cross-process cases are in
//! `mq_amqp`, whose child process re-runs that binary.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod amqp_support;
#[path = "celery/brokers.rs"]
mod brokers;
#[path = "celery/tree.rs"]
mod tree;

use amqp_support::{SERIAL, channel, local, next_delivery, publish_in_span, rendered};
use lapin::options::BasicGetOptions;
use weft::DistributedTracing;
use weft::messaging::amqp;
use weft::opentelemetry::context::FutureExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_is_a_new_span_linked_to_the_earlier_attempt() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-redelivery";
    let (_conn, channel) = channel(queue).await;
    async {
        publish_in_span(&channel, queue, "sender", b"flaky").await;
        let first = next_delivery(&channel, queue).await;
        assert!(!first.redelivered);
        let received = amqp::receive(&first, queue);
        received.in_scope(|| weft::warn!("first attempt failed"));
        received.nack(true).await.unwrap();
        drop(received);
        let second = next_delivery(&channel, queue).await;
        assert!(second.redelivered, "RabbitMQ marks the requeued message");
        let received = amqp::receive(&second, queue);
        received.in_scope(|| weft::info!("second attempt worked"));
        received.ack().await.unwrap();
    }
    .with_context(weft.context())
    .await;
    insta::assert_snapshot!(rendered(&weft, &memory, "weft"), @r"
    trace
      sender [internal weft]
        publish weft-redelivery [producer weft]
          process weft-redelivery [consumer weft weft.messaging.requeue=true weft.messaging.settlement=nack]
            first attempt failed [log weft]
          process weft-redelivery [consumer weft weft.messaging.redelivered=true weft.messaging.settlement=ack] -> process weft-redelivery (messaging.redelivery)
            second attempt worked [log weft]
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_with_and_without_requeue() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-reject";
    let (_conn, channel) = channel(queue).await;
    async {
        publish_in_span(&channel, queue, "retry me", b"again").await;
        let first = next_delivery(&channel, queue).await;
        let received = amqp::receive(&first, queue);
        received.reject(true).await.unwrap();
        drop(received);
        let second = next_delivery(&channel, queue).await;
        assert!(second.redelivered, "reject(true) puts it back");
        amqp::receive(&second, queue).ack().await.unwrap();

        publish_in_span(&channel, queue, "drop me", b"poison").await;
        let poison = next_delivery(&channel, queue).await;
        assert!(!poison.redelivered);
        let received = amqp::receive(&poison, queue);
        received.reject(false).await.unwrap();
    }
    .with_context(weft.context())
    .await;
    let empty = channel
        .basic_get(queue.into(), BasicGetOptions::default())
        .await
        .unwrap();
    assert!(empty.is_none(), "reject(false) discards the message");
    insta::assert_snapshot!(rendered(&weft, &memory, "weft"), @r"
    trace
      drop me [internal weft]
        publish weft-reject [producer weft]
          process weft-reject [consumer weft weft.messaging.requeue=false weft.messaging.settlement=reject]
    trace
      retry me [internal weft]
        publish weft-reject [producer weft]
          process weft-reject [consumer weft weft.messaging.requeue=true weft.messaging.settlement=reject]
          process weft-reject [consumer weft weft.messaging.redelivered=true weft.messaging.settlement=ack] -> process weft-reject (messaging.redelivery)
    ");
}

/// A consumer that drops its delivery unsettled (a handler that panicked, a task
/// cancelled) and loses its channel: the broker redelivers, and the redelivery links to
/// the attempt that was dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_dropped_unsettled_is_linked_from_its_redelivery() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-dropped";
    let (_conn, channel) = channel(queue).await;
    async {
        publish_in_span(&channel, queue, "sender", b"lost").await;
        let (doomed_conn, doomed) = self::channel(queue).await;
        let first = next_delivery(&doomed, queue).await;
        {
            let received = amqp::receive(&first, queue);
            received.in_scope(|| weft::warn!("handler gave up"));
            // Dropped here, neither acked nor nacked.
        }
        doomed
            .close(200, "test drops the delivery".into())
            .await
            .unwrap();
        doomed_conn
            .close(200, "test drops the delivery".into())
            .await
            .unwrap();
        let second = next_delivery(&channel, queue).await;
        assert!(
            second.redelivered,
            "closing the channel requeues the unacked message"
        );
        let received = amqp::receive(&second, queue);
        received.in_scope(|| weft::info!("second attempt worked"));
        received.ack().await.unwrap();
    }
    .with_context(weft.context())
    .await;
    insta::assert_snapshot!(rendered(&weft, &memory, "weft"), @r"
    trace
      sender [internal weft]
        publish weft-dropped [producer weft]
          process weft-dropped [consumer weft]
            handler gave up [log weft]
          process weft-dropped [consumer weft weft.messaging.redelivered=true weft.messaging.settlement=ack] -> process weft-dropped (messaging.redelivery)
            second attempt worked [log weft]
    ");
    let spans = memory.spans();
    let attempts: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "process weft-dropped")
        .collect();
    let (dropped, retry) = if attempts[0].links.is_empty() {
        (attempts[0], attempts[1])
    } else {
        (attempts[1], attempts[0])
    };
    assert_eq!(
        retry.links[0].span_context.span_id(),
        dropped.span_context.span_id(),
        "the redelivery links to the dropped attempt itself"
    );
    assert_eq!(
        dropped.attribute("weft.messaging.settlement"),
        None,
        "never settled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_links_every_message() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-batch";
    let (_conn, channel) = channel(queue).await;
    async {
        for root in ["order 1", "order 2", "order 3"] {
            publish_in_span(&channel, queue, root, root.as_bytes()).await;
        }
        let mut deliveries = Vec::new();
        for _ in 0..3 {
            deliveries.push(next_delivery(&channel, queue).await);
        }
        let job = weft::span!("nightly batch");
        let batch = {
            let _job = job.enter();
            amqp::process_batch(&deliveries, queue)
        };
        batch.in_scope(|| weft::info!("processed {n}", n = deliveries.len() as u64));
        for delivery in &deliveries {
            delivery
                .acker
                .ack(lapin::options::BasicAckOptions::default())
                .await
                .unwrap();
        }
    }
    .with_context(weft.context())
    .await;
    insta::assert_snapshot!(rendered(&weft, &memory, "weft"), @r"
    trace
      nightly batch [internal weft]
        process weft-batch [consumer weft messaging.batch.message_count=3] -> publish weft-batch (messaging.batch) -> publish weft-batch (messaging.batch) -> publish weft-batch (messaging.batch)
          processed 3 [log weft]
    trace
      order 1 [internal weft]
        publish weft-batch [producer weft]
    trace
      order 2 [internal weft]
        publish weft-batch [producer weft]
    trace
      order 3 [internal weft]
        publish weft-batch [producer weft]
    ");
    let batch = memory
        .spans()
        .into_iter()
        .find(|s| s.name == "process weft-batch")
        .unwrap();
    let publishes: Vec<_> = memory
        .spans()
        .into_iter()
        .filter(|s| s.name == "publish weft-batch")
        .map(|s| s.span_context)
        .collect();
    let linked: Vec<_> = batch
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    assert_eq!(
        linked,
        publishes.iter().map(|s| s.span_id()).collect::<Vec<_>>(),
        "one link per message, in order"
    );
}
