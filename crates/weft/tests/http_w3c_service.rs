//! The W3C test service (`examples/w3c_test_service.rs`) against a real loopback "next
//! hop" that records the headers and bodies it got.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../examples/w3c_test_service.rs"]
#[allow(dead_code)]
mod service;
#[path = "http_support.rs"]
mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use opentelemetry::trace::SpanKind;
use support::*;

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn next_hop(seen: Seen) -> std::net::SocketAddr {
    let app = Router::new().route(
        "/hop",
        post(move |headers: HeaderMap, body: String| async move {
            seen.lock().unwrap().push((headers, body));
            "ok"
        }),
    );
    serve_axum(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagates_the_incoming_context_to_every_hop() {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    let (weft, memory) = local();
    let seen = Seen::default();
    let hop = next_hop(seen.clone()).await;
    let service = serve_axum(service::app().layer(InCxLayer(weft.context()))).await;

    let hops = format!(
        r#"[{{"url": "http://{hop}/hop", "arguments": [1, 2]}}, {{"url": "http://{hop}/hop", "arguments": {{"a": 1}}}}]"#
    );
    let send = |traceparent: &'static str| {
        reqwest::Client::new()
            .post(format!("http://{service}/test"))
            .header("traceparent", traceparent)
            .header("tracestate", "foo=bar,rojo=00f067aa0ba902b7")
            .body(hops.clone())
            .send()
    };
    let resp = send("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let spans = wait_for(&weft, &memory, 3).await;
    assert_eq!(
        tree(&spans),
        "POST /test (server, weft) (orphan)\n  POST (client, weft)\n  POST (client, weft)\n"
    );
    let clients: Vec<_> = spans
        .iter()
        .filter(|r| r.kind == SpanKind::Client)
        .collect();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for ((headers, _), client) in got.iter().zip(&clients) {
        let traceparent = headers.get("traceparent").unwrap().to_str().unwrap();
        assert_eq!(
            traceparent,
            format!(
                "00-0af7651916cd43dd8448eb211c80319c-{}-01",
                client.span_context.span_id()
            )
        );
        assert_eq!(
            headers.get("tracestate").unwrap(),
            "foo=bar,rojo=00f067aa0ba902b7"
        );
    }
    assert_eq!(got[0].1, "[1,2]");
    assert_eq!(got[1].1, r#"{"a":1}"#);

    // An invalid traceparent: a new trace, still propagated; the tracestate goes with it
    // only if a valid parent came (W3C: tracestate without traceparent is discarded).
    seen.lock().unwrap().clear();
    let resp = send("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let traceparent = got[0].0.get("traceparent").unwrap().to_str().unwrap();
    assert!(
        !traceparent.contains("0af7651916cd43dd8448eb211c80319c"),
        "{traceparent}"
    );
    assert!(got[0].0.get("tracestate").is_none());

    // Not JSON: 400, no hop.
    let resp = reqwest::Client::new()
        .post(format!("http://{service}/test"))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[test]
fn command_line_gives_port_then_host() {
    let args = |list: &[&str]| {
        list.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    };
    assert_eq!(
        service::bind_address(args(&[])).unwrap(),
        ("127.0.0.1".to_owned(), 7778),
        "not 7777: the W3C suite's harness listens there"
    );
    assert_eq!(
        service::bind_address(args(&["9000"])).unwrap(),
        ("127.0.0.1".to_owned(), 9000)
    );
    assert_eq!(
        service::bind_address(args(&["9000", "0.0.0.0"])).unwrap(),
        ("0.0.0.0".to_owned(), 9000)
    );
    let err = service::bind_address(args(&["seventy"])).unwrap_err();
    assert!(
        err.contains("usage: w3c_test_service [PORT] [HOST]"),
        "{err}"
    );
}
