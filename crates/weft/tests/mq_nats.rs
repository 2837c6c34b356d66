//! NATS against a real nats-server: publish/subscribe and request/reply trees (the
//! reply published in a span of its own, under the responder's), the messaging
//! attributes, every `distributed_tracing` setting and its warning, and messages
//! without headers or with malformed ones under every setting.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "celery/brokers.rs"]
mod brokers;
#[path = "celery/tree.rs"]
mod tree;

use async_nats::HeaderMap;
use futures_util::StreamExt;
use std::sync::Mutex;
use weft::DistributedTracing;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;
use weft::messaging::nats;
use weft::opentelemetry::context::FutureExt as _;

/// The policy is process-global: every test here extracts, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The `distributed_tracing` warnings since the last [`local`].
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn warnings() -> Vec<String> {
    WARNINGS.lock().unwrap().clone()
}

fn local(policy: DistributedTracing) -> (weft::Weft, MemoryExporter) {
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

fn rendered(weft: &weft::Weft, memory: &MemoryExporter) -> String {
    assert!(weft.force_flush());
    tree::render(&tree::from_weft(
        &memory.spans(),
        "weft",
        &["weft.messaging.context"],
    ))
}

async fn client() -> async_nats::Client {
    async_nats::connect(format!("127.0.0.1:{}", brokers::nats().port))
        .await
        .unwrap()
}

fn find<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?}"))
}

fn attr(span: &SpanRecord, key: &str) -> Option<String> {
    span.attribute(key).map(ToString::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_is_one_trace() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let client = client().await;
    let mut sub = client.subscribe("orders.created").await.unwrap();
    client.flush().await.unwrap();
    async {
        let root = weft::span!("checkout");
        nats::publish(&client, "orders.created", HeaderMap::new(), "42".into())
            .with_context(root.context())
            .await
            .unwrap();
        client
            .publish("orders.created", "no headers".into())
            .await
            .unwrap();
        for _ in 0..2 {
            let message = sub.next().await.unwrap();
            let received = nats::receive(&message);
            received.in_scope(|| {
                weft::info!(
                    "got {body}",
                    body = String::from_utf8_lossy(&message.payload).into_owned()
                )
            });
        }
    }
    .with_context(weft.context())
    .await;
    insta::assert_snapshot!(rendered(&weft, &memory), @r"
    trace
      checkout [internal weft]
        publish orders.created [producer weft]
          process orders.created [consumer weft]
            got 42 [log weft]
    trace
      process orders.created [consumer weft weft.messaging.context=missing]
        got no headers [log weft]
    ");
    let spans = memory.spans();
    let publish = find(&spans, "publish orders.created");
    assert_eq!(attr(publish, "messaging.system").as_deref(), Some("nats"));
    assert_eq!(
        attr(publish, "messaging.destination.name").as_deref(),
        Some("orders.created")
    );
    assert_eq!(
        attr(publish, "messaging.operation.type").as_deref(),
        Some("send")
    );
    assert_eq!(
        attr(publish, "messaging.operation.name").as_deref(),
        Some("publish")
    );
    assert_eq!(
        attr(publish, "messaging.message.body.size").as_deref(),
        Some("2")
    );
    let process = spans
        .iter()
        .find(|s| s.name == "process orders.created" && s.parent_is_remote)
        .expect("the consumer's parent came with the message");
    assert_eq!(process.parent_span_id, publish.span_context.span_id());
    assert_eq!(attr(process, "messaging.system").as_deref(), Some("nats"));
    assert_eq!(
        attr(process, "messaging.destination.name").as_deref(),
        Some("orders.created")
    );
    assert_eq!(
        attr(process, "messaging.operation.type").as_deref(),
        Some("process")
    );
    assert_eq!(
        attr(process, "messaging.message.body.size").as_deref(),
        Some("2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_is_a_child_of_the_request() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local(DistributedTracing::Allow);
    let client = client().await;
    let mut requests = client.subscribe("prices").await.unwrap();
    client.flush().await.unwrap();
    let responder = client.clone();
    let server_cx = weft.context();
    let server = tokio::spawn(
        async move {
            let message = requests.next().await.unwrap();
            let received = nats::receive(&message);
            received
                .instrument(async {
                    weft::info!("pricing");
                    nats::respond(&responder, &message, "3.50".into())
                        .await
                        .unwrap();
                })
                .await;
        }
        .with_context(server_cx),
    );
    let reply = async {
        let root = weft::span!("basket");
        nats::request(&client, "prices", HeaderMap::new(), "apples".into())
            .with_context(root.context())
            .await
            .unwrap()
    }
    .with_context(weft.context())
    .await;
    server.await.unwrap();
    assert_eq!(&reply.payload[..], b"3.50");
    insta::assert_snapshot!(rendered(&weft, &memory), @r"
    trace
      basket [internal weft]
        request prices [client weft]
          process prices [consumer weft]
            pricing [log weft]
            reply prices [producer weft]
    ");
    let spans = memory.spans();
    let request = find(&spans, "request prices");
    let process = find(&spans, "process prices");
    let respond = find(&spans, "reply prices");
    assert_eq!(process.parent_span_id, request.span_context.span_id());
    assert!(
        process.parent_is_remote,
        "the responder's parent came with the request"
    );
    assert_eq!(respond.parent_span_id, process.span_context.span_id());
    let carried = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("traceparent"))
        .map(|v| v.as_str().to_owned())
        .expect("the reply carries the responder's context");
    let expected = format!(
        "00-{}-{}-",
        respond.span_context.trace_id(),
        respond.span_context.span_id()
    );
    assert!(
        carried.starts_with(&expected),
        "the reply's traceparent names the reply span: {carried} vs {expected}"
    );
    assert_eq!(
        attr(request, "messaging.operation.type").as_deref(),
        Some("send")
    );
    assert_eq!(
        attr(request, "weft.messaging.reply.body.size").as_deref(),
        Some("4")
    );
    assert_eq!(attr(respond, "messaging.system").as_deref(), Some("nats"));
    assert_eq!(
        attr(respond, "messaging.operation.name").as_deref(),
        Some("reply")
    );
    assert_eq!(
        attr(respond, "messaging.destination.temporary").as_deref(),
        Some("true")
    );
    assert!(
        attr(respond, "messaging.destination.name")
            .is_some_and(|inbox| inbox.starts_with("_INBOX.")),
        "the reply goes to the requester's inbox"
    );
}

/// Publishes two messages in one span and receives them outside any span, under
/// `policy`: the tree, and the policy warnings given.
async fn policy_tree(policy: DistributedTracing) -> (String, Vec<String>) {
    let (weft, memory) = local(policy);
    let subject = format!("policy.{policy:?}").to_lowercase();
    let client = client().await;
    let mut sub = client.subscribe(subject.clone()).await.unwrap();
    client.flush().await.unwrap();
    async {
        let sender = weft::span!("sender");
        for body in ["first", "second"] {
            nats::publish(&client, &subject, HeaderMap::new(), body.into())
                .with_context(sender.context())
                .await
                .unwrap();
        }
        drop(sender);
        for _ in 0..2 {
            let message = sub.next().await.unwrap();
            let received = nats::receive(&message);
            received.in_scope(|| weft::info!("handled"));
        }
    }
    .with_context(weft.context())
    .await;
    (rendered(&weft, &memory), warnings())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy() {
    let _serial = SERIAL.lock().await;
    let continued = "\
trace
  sender [internal weft]
    publish policy.POLICY [producer weft]
      process policy.POLICY [consumer weft]
        handled [log weft]
    publish policy.POLICY [producer weft]
      process policy.POLICY [consumer weft]
        handled [log weft]";
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
      process policy.deny [consumer weft] -> publish policy.deny (distributed_tracing=deny)
        handled [log weft]
    trace
      process policy.deny [consumer weft] -> publish policy.deny (distributed_tracing=deny)
        handled [log weft]
    trace
      sender [internal weft]
        publish policy.deny [producer weft]
        publish policy.deny [producer weft]
    ");
}

/// Publishes messages without a usable context and receives them under `policy`:
/// every one handled, as a new root saying why.
async fn malformed_tree(policy: DistributedTracing) -> String {
    let (weft, memory) = local(policy);
    let subject = format!("malformed.{policy:?}").to_lowercase();
    let client = client().await;
    let mut sub = client.subscribe(subject.clone()).await.unwrap();
    client.flush().await.unwrap();
    let with = |name: &str, value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        headers
    };
    let messages = [
        HeaderMap::new(),
        with("traceparent", "00-not-a-trace"),
        with(
            "traceparent",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        ),
        with(
            "TraceParent",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        with("x-other", "no context here"),
    ];
    let count = messages.len();
    for (i, headers) in messages.into_iter().enumerate() {
        client
            .publish_with_headers(subject.clone(), headers, format!("message {i}").into())
            .await
            .unwrap();
    }
    async {
        for _ in 0..count {
            let message = sub.next().await.unwrap();
            let received = nats::receive(&message);
            received.in_scope(|| {
                weft::info!(
                    "handled {body}",
                    body = String::from_utf8_lossy(&message.payload).into_owned()
                )
            });
        }
    }
    .with_context(weft.context())
    .await;
    assert_eq!(
        warnings(),
        Vec::<String>::new(),
        "no context was carried, so nothing to warn about ({policy:?})"
    );
    rendered(&weft, &memory)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_headers_start_new_roots_under_every_policy() {
    let _serial = SERIAL.lock().await;
    let allow = malformed_tree(DistributedTracing::Allow).await;
    insta::assert_snapshot!(allow, @r"
    trace
      process malformed.allow [consumer weft weft.messaging.context=missing]
        handled message 0 [log weft]
    trace
      process malformed.allow [consumer weft weft.messaging.context=invalid: traceparent is 14 bytes, shorter than the 55 of `00-<trace-id>-<parent-id>-<trace-flags>`; see https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent]
        handled message 1 [log weft]
    trace
      process malformed.allow [consumer weft weft.messaging.context=invalid: traceparent trace-id must not be all zeroes; see https://www.w3.org/TR/trace-context-2/#trace-id]
        handled message 2 [log weft]
    trace
      process malformed.allow [consumer weft weft.messaging.context=invalid: traceparent version `ff` is forbidden; see https://www.w3.org/TR/trace-context-2/#version]
        handled message 3 [log weft]
    trace
      process malformed.allow [consumer weft weft.messaging.context=missing]
        handled message 4 [log weft]
    ");
    for policy in [DistributedTracing::Warn, DistributedTracing::Deny] {
        let name = format!("{policy:?}").to_lowercase();
        assert_eq!(
            malformed_tree(policy).await,
            allow.replace("malformed.allow", &format!("malformed.{name}")),
            "under {policy:?}"
        );
    }
}
