//! AMQP against a real RabbitMQ node: the whole exported tree across producer and
//! consumer (in one process and across two), the `distributed_tracing` policy and its
//! warning, malformed headers under every policy, and a redelivery in another process
//! linked to the producer. Settlement in one process (nack, reject, a delivery dropped
//! unsettled, batches) is in `mq_amqp_settlement`.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod amqp_support;
#[path = "celery/brokers.rs"]
mod brokers;
#[path = "celery/tree.rs"]
mod tree;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicGetOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use weft::DistributedTracing;
use weft::messaging::amqp;
use weft::opentelemetry::context::FutureExt as _;

use amqp_support::{
    NOTES, SERIAL, channel, local, next_delivery, publish_in_span, rendered, warnings,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_consume_is_one_trace() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-one-trace";
    let (_conn, channel) = channel(queue).await;
    let message_id = async {
        publish_in_span(&channel, queue, "checkout", b"order 42").await;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "one-trace".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let delivery = consumer.next().await.unwrap().unwrap();
        let handled = amqp::process(&delivery, queue, |d| async move {
            let _inner = weft::span!("charge card").entered();
            weft::info!("handled {n} bytes", n = d.data.len() as u64);
            Ok::<_, std::io::Error>(7)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(handled, 7);
        delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str().to_owned())
            .expect("publish gives every message an id")
    }
    .with_context(weft.context())
    .await;
    insta::assert_snapshot!(rendered(&weft, &memory, "weft"), @r"
    trace
      checkout [internal weft]
        publish weft-one-trace [producer weft]
          process weft-one-trace [consumer weft weft.messaging.settlement=ack]
            charge card [internal weft]
              handled 8 bytes [log weft]
    ");
    let spans = memory.spans();
    let publish = spans
        .iter()
        .find(|s| s.name.starts_with("publish"))
        .unwrap();
    let attr = |k: &str| publish.attribute(k).map(ToString::to_string);
    assert_eq!(attr("messaging.system").as_deref(), Some("rabbitmq"));
    assert_eq!(
        attr("messaging.destination.name").as_deref(),
        Some("amq.default")
    );
    assert_eq!(attr("messaging.operation.type").as_deref(), Some("send"));
    assert_eq!(attr("messaging.operation.name").as_deref(), Some("publish"));
    assert_eq!(
        attr("messaging.rabbitmq.destination.routing_key").as_deref(),
        Some(queue)
    );
    assert_eq!(attr("messaging.message.body.size").as_deref(), Some("8"));
    assert_eq!(
        message_id.len(),
        36,
        "a generated id is a UUID: {message_id}"
    );
    assert_eq!(
        attr("messaging.message.id").as_deref(),
        Some(message_id.as_str()),
        "the producer span names the id the message carries"
    );
    let process = spans
        .iter()
        .find(|s| s.name.starts_with("process"))
        .unwrap();
    let attr = |k: &str| process.attribute(k).map(ToString::to_string);
    assert_eq!(attr("messaging.system").as_deref(), Some("rabbitmq"));
    assert_eq!(attr("messaging.destination.name").as_deref(), Some(queue));
    assert_eq!(attr("messaging.operation.type").as_deref(), Some("process"));
    assert_eq!(attr("messaging.message.body.size").as_deref(), Some("8"));
    assert_eq!(
        attr("messaging.message.id").as_deref(),
        Some(message_id.as_str()),
        "the consumer span names the same message"
    );
    assert!(
        process.parent_is_remote,
        "the consumer's parent came with the message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_id_the_caller_set_is_kept() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-own-id";
    let (_conn, channel) = channel(queue).await;
    let delivered = async {
        let span = weft::span!("sender");
        amqp::publish(
            &channel,
            "",
            queue,
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default().with_message_id("order-42".into()),
        )
        .with_context(span.context())
        .await
        .unwrap();
        next_delivery(&channel, queue).await
    }
    .with_context(weft.context())
    .await;
    delivered
        .acker
        .ack(lapin::options::BasicAckOptions::default())
        .await
        .unwrap();
    assert_eq!(
        delivered
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str()),
        Some("order-42")
    );
    assert!(weft.force_flush());
    let spans = memory.spans();
    let publish = spans
        .iter()
        .find(|s| s.name == "publish weft-own-id")
        .unwrap();
    assert_eq!(
        publish
            .attribute("messaging.message.id")
            .map(ToString::to_string)
            .as_deref(),
        Some("order-42")
    );
}

/// Publishes messages without a usable context, consumes them under `policy` and
/// returns the tree; every message must be handled and acked.
async fn malformed_tree(policy: DistributedTracing) -> String {
    let (weft, memory) = local(policy);
    let queue = format!("weft-malformed-{policy:?}").to_lowercase();
    let (_conn, channel) = channel(&queue).await;
    let mut bad = FieldTable::default();
    bad.insert(
        "traceparent".into(),
        AMQPValue::LongString("00-not-a-trace".into()),
    );
    let mut zero = FieldTable::default();
    zero.insert(
        "traceparent".into(),
        AMQPValue::LongString("00-00000000000000000000000000000000-b7ad6b7169203331-01".into()),
    );
    let mut not_string = FieldTable::default();
    not_string.insert("traceparent".into(), AMQPValue::LongLongInt(42));
    let properties = [
        BasicProperties::default(),
        BasicProperties::default().with_headers(bad),
        BasicProperties::default().with_headers(zero),
        BasicProperties::default().with_headers(not_string),
    ];
    for (i, props) in properties.into_iter().enumerate() {
        let body = format!("message {i}");
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                props,
            )
            .await
            .unwrap();
    }
    async {
        for _ in 0..4 {
            let delivery = next_delivery(&channel, &queue).await;
            amqp::process(&delivery, &queue, |d| async move {
                weft::info!(
                    "handled {body}",
                    body = String::from_utf8_lossy(&d.data).into_owned()
                );
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap()
            .unwrap();
        }
    }
    .with_context(weft.context())
    .await;
    let empty = channel
        .basic_get(queue.as_str().into(), BasicGetOptions::default())
        .await
        .unwrap();
    assert!(empty.is_none(), "every message was acked ({policy:?})");
    assert_eq!(
        warnings(),
        Vec::<String>::new(),
        "no context was carried, so nothing to warn about ({policy:?})"
    );
    rendered(&weft, &memory, "weft")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_headers_start_new_roots_under_every_policy() {
    let _serial = SERIAL.lock().await;
    let expected = "\
trace
  process weft-malformed-POLICY [consumer weft weft.messaging.context=missing weft.messaging.settlement=ack]
    handled message 0 [log weft]
trace
  process weft-malformed-POLICY [consumer weft weft.messaging.context=invalid: traceparent is 14 bytes, shorter than the 55 of `00-<trace-id>-<parent-id>-<trace-flags>`; see https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent weft.messaging.settlement=ack]
    handled message 1 [log weft]
trace
  process weft-malformed-POLICY [consumer weft weft.messaging.context=invalid: traceparent trace-id must not be all zeroes; see https://www.w3.org/TR/trace-context-2/#trace-id weft.messaging.settlement=ack]
    handled message 2 [log weft]
trace
  process weft-malformed-POLICY [consumer weft weft.messaging.context=missing weft.messaging.settlement=ack]
    handled message 3 [log weft]";
    for policy in [
        DistributedTracing::Allow,
        DistributedTracing::Warn,
        DistributedTracing::Deny,
    ] {
        let name = format!("{policy:?}").to_lowercase();
        assert_eq!(
            malformed_tree(policy).await,
            expected.replace("POLICY", &name),
            "under {policy:?}"
        );
    }
}

/// Produces two messages in one span and consumes them inside a local span, under
/// `policy`: the tree, and the policy warnings given.
async fn policy_tree(policy: DistributedTracing) -> (String, Vec<String>) {
    let (weft, memory) = local(policy);
    let queue = format!("weft-policy-{policy:?}").to_lowercase();
    let (_conn, channel) = channel(&queue).await;
    async {
        let sender = weft::span!("sender");
        for body in [&b"first"[..], b"second"] {
            let span = sender.context();
            amqp::publish(
                &channel,
                "",
                &queue,
                BasicPublishOptions::default(),
                body,
                BasicProperties::default(),
            )
            .with_context(span)
            .await
            .unwrap();
        }
        drop(sender);
        let local = weft::span!("local work");
        for _ in 0..2 {
            let delivery = next_delivery(&channel, &queue).await;
            amqp::process(&delivery, &queue, |_| async { Ok::<_, std::io::Error>(()) })
                .with_context(local.context())
                .await
                .unwrap()
                .unwrap();
        }
    }
    .with_context(weft.context())
    .await;
    (rendered(&weft, &memory, "weft"), warnings())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy() {
    let _serial = SERIAL.lock().await;
    let continued = "\
trace
  local work [internal weft]
trace
  sender [internal weft]
    publish weft-policy-POLICY [producer weft]
      process weft-policy-POLICY [consumer weft weft.messaging.settlement=ack]
    publish weft-policy-POLICY [producer weft]
      process weft-policy-POLICY [consumer weft weft.messaging.settlement=ack]";
    let (tree, warned) = policy_tree(DistributedTracing::Allow).await;
    assert_eq!(tree, continued.replace("POLICY", "allow"));
    assert_eq!(warned, Vec::<String>::new(), "Allow is silent");

    let (tree, warned) = policy_tree(DistributedTracing::Warn).await;
    assert_eq!(tree, continued.replace("POLICY", "warn"));
    assert_eq!(
        warned,
        [weft::propagation::WARNING_MESSAGE],
        "Warn warns once for two messages"
    );

    let (tree, warned) = policy_tree(DistributedTracing::Deny).await;
    assert_eq!(
        warned,
        Vec::<String>::new(),
        "Deny is silent: it links instead"
    );
    insta::assert_snapshot!(tree, @r"
    trace
      local work [internal weft]
        process weft-policy-deny [consumer weft weft.messaging.settlement=ack] -> publish weft-policy-deny (distributed_tracing=deny)
        process weft-policy-deny [consumer weft weft.messaging.settlement=ack] -> publish weft-policy-deny (distributed_tracing=deny)
    trace
      sender [internal weft]
        publish weft-policy-deny [producer weft]
        publish weft-policy-deny [producer weft]
    ");
}

/// The consumer half of the cross-process tests, run as a child process: it handles
/// one message and settles it as `WEFT_TEST_SETTLE` says (`ack`, the default, or
/// `nack-requeue`), then prints its spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_consumer_process_joins_the_trace and a_redelivery_after_another_process in a child process"]
async fn child_consumer() {
    let (Ok(url), Ok(queue)) = (
        std::env::var("WEFT_TEST_AMQP_URL"),
        std::env::var("WEFT_TEST_QUEUE"),
    ) else {
        panic!("set WEFT_TEST_AMQP_URL and WEFT_TEST_QUEUE");
    };
    let requeue = match std::env::var("WEFT_TEST_SETTLE").as_deref() {
        Ok("ack") | Err(_) => false,
        Ok("nack-requeue") => true,
        Ok(other) => panic!("WEFT_TEST_SETTLE is {other:?}: use ack or nack-requeue"),
    };
    let (weft, memory) = local(DistributedTracing::Allow);
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    async {
        let delivery = next_delivery(&channel, &queue).await;
        if requeue {
            let received = amqp::receive(&delivery, &queue);
            received.in_scope(|| weft::warn!("worker gave up"));
            received.nack(true).await.unwrap();
        } else {
            amqp::process(&delivery, &queue, |_| async {
                weft::info!("worker handled it");
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap()
            .unwrap();
        }
    }
    .with_context(weft.context())
    .await;
    assert!(weft.force_flush());
    for node in tree::from_weft(&memory.spans(), "worker", NOTES) {
        println!(
            "NODE\t{}\t{}\t{}\t{}\t{}\t{}",
            node.trace_id,
            node.span_id,
            node.parent,
            node.name,
            node.kind,
            node.notes.join(" ")
        );
    }
}

/// Runs [`child_consumer`] on `queue` and returns the nodes it printed.
async fn child_nodes(queue: &str, settle: &str) -> Vec<tree::Node> {
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_consumer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEFT_TEST_AMQP_URL", brokers::amqp_url(brokers::rabbitmq()))
        .env("WEFT_TEST_QUEUE", queue)
        .env("WEFT_TEST_SETTLE", settle)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // libtest may print its `test … ` prefix on the first line of the child's output.
    let nodes: Vec<tree::Node> = stdout
        .lines()
        .filter_map(|l| l.find("NODE\t").map(|at| &l[at + 5..]))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            tree::Node {
                trace_id: f[0].into(),
                span_id: f[1].into(),
                parent: f[2].into(),
                name: f[3].into(),
                kind: f[4].into(),
                service: "worker".into(),
                notes: f[5]
                    .split(' ')
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect(),
                start: 0,
                links: Vec::new(),
            }
        })
        .collect();
    assert!(!nodes.is_empty(), "the child printed no spans: {stdout}");
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_process_joins_the_trace() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-cross-process";
    let (_conn, channel) = channel(queue).await;
    async { publish_in_span(&channel, queue, "checkout", b"order").await }
        .with_context(weft.context())
        .await;
    let worker = child_nodes(queue, "ack").await;
    assert!(weft.force_flush());
    let mut nodes = tree::from_weft(&memory.spans(), "producer", NOTES);
    nodes.extend(worker);
    assert_eq!(tree::trace_count(&nodes), 1);
    insta::assert_snapshot!(tree::render(&nodes), @r"
    trace
      checkout [internal producer]
        publish weft-cross-process [producer producer]
          process weft-cross-process [consumer worker weft.messaging.settlement=ack]
            worker handled it [log worker]
    ");
}

/// The first attempt ran in another process (a child that nacks with requeue): this
/// process cannot know its span, so the redelivery links to the producer's span,
/// whose child that attempt was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_after_another_process_links_to_the_producer() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let queue = "weft-redelivery-elsewhere";
    let (_conn, channel) = channel(queue).await;
    async { publish_in_span(&channel, queue, "checkout", b"order").await }
        .with_context(weft.context())
        .await;
    let worker = child_nodes(queue, "nack-requeue").await;
    async {
        let delivery = next_delivery(&channel, queue).await;
        assert!(delivery.redelivered, "the child requeued it");
        let received = amqp::receive(&delivery, queue);
        received.in_scope(|| weft::info!("second attempt worked"));
        received.ack().await.unwrap();
    }
    .with_context(weft.context())
    .await;
    assert!(weft.force_flush());
    let mut nodes = tree::from_weft(&memory.spans(), "producer", NOTES);
    nodes.extend(worker);
    assert_eq!(tree::trace_count(&nodes), 1);
    insta::assert_snapshot!(tree::render(&nodes), @r"
    trace
      checkout [internal producer]
        publish weft-redelivery-elsewhere [producer producer]
          process weft-redelivery-elsewhere [consumer worker weft.messaging.requeue=true weft.messaging.settlement=nack]
            worker gave up [log worker]
          process weft-redelivery-elsewhere [consumer producer weft.messaging.redelivered=true weft.messaging.settlement=ack] -> publish weft-redelivery-elsewhere (messaging.redelivery)
            second attempt worked [log producer]
    ");
}
