//! NATS against a real nats-server: publish/subscribe and request/reply trees,
//! and a message without headers.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "celery/brokers.rs"]
mod brokers;
#[path = "celery/tree.rs"]
mod tree;

use futures_util::StreamExt;
use weft::export::memory::MemoryExporter;
use weft::messaging::nats;
use weft::opentelemetry::context::FutureExt as _;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn local() -> (weft::Weft, MemoryExporter) {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_is_one_trace() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local();
    let client = client().await;
    let mut sub = client.subscribe("orders.created").await.unwrap();
    client.flush().await.unwrap();
    async {
        let root = weft::span!("checkout");
        nats::publish(
            &client,
            "orders.created",
            async_nats::HeaderMap::new(),
            "42".into(),
        )
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_is_a_child_of_the_request() {
    let _serial = SERIAL.lock().await;
    let (weft, memory) = local();
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
        nats::request(
            &client,
            "prices",
            async_nats::HeaderMap::new(),
            "apples".into(),
        )
        .with_context(root.context())
        .await
        .unwrap()
    }
    .with_context(weft.context())
    .await;
    server.await.unwrap();
    assert_eq!(&reply.payload[..], b"3.50");
    assert!(
        reply
            .headers
            .as_ref()
            .and_then(|h| h.get("traceparent"))
            .is_some(),
        "the reply carries the responder's context"
    );
    insta::assert_snapshot!(rendered(&weft, &memory), @r"
    trace
      basket [internal weft]
        request prices [client weft]
          process prices [consumer weft]
            pricing [log weft]
    ");
}
