//! The tower server layer on a real axum server and reqwest client over loopback: the
//! whole tree across client and server, the headers on the wire, attributes, errors.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use opentelemetry::context::FutureExt as _;
use support::*;
use weft::FutureExt as _;
use weft::integrations::tower::ServerLayer;

type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// backend: records the headers it got; frontend: calls backend through the middleware.
fn backend(seen: Seen, cx: opentelemetry::Context) -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(move |headers: HeaderMap| async move {
                seen.lock().unwrap().push(headers);
                weft::info!("loading item");
                // A `tracing` span in the handler is the server span's child too.
                let subscriber = tracing_subscriber::layer::SubscriberExt::with(
                    tracing_subscriber::registry(),
                    weft::tracing_layer(),
                );
                tracing::subscriber::with_default(subscriber, || {
                    tracing::info_span!("db query").in_scope(|| ())
                });
                "item"
            }),
        )
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .layer(ServerLayer::new())
        .layer(InCxLayer(cx))
}

fn frontend(backend: std::net::SocketAddr, cx: opentelemetry::Context) -> Router {
    let client = traced_client();
    Router::new()
        .route(
            "/checkout",
            get(move || async move {
                let body = client
                    .get(format!("http://{backend}/items/42"))
                    .send()
                    .in_span(weft::span!("fetch item"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                format!("got {body}")
            }),
        )
        .layer(ServerLayer::new())
        .layer(InCxLayer(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_two_servers_form_one_tree() {
    let (weft, memory) = local();
    let seen = Seen::default();
    let back = serve_axum(backend(seen.clone(), weft.context())).await;
    let front = serve_axum(frontend(back, weft.context())).await;

    let client = traced_client();
    let cx = weft.context();
    let root = weft.in_scope(|| weft::span!("user clicks checkout"));
    let resp = client
        .get(format!("http://{front}/checkout"))
        .header("user-agent", "weft-test/1")
        .send()
        .in_span(root)
        .with_context(cx.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "got item");

    let spans = wait_for(&weft, &memory, 8).await;
    insta::assert_snapshot!(tree(&spans), @r"
    user clicks checkout (internal, weft)
      GET (client, weft)
        GET /checkout (server, weft)
          fetch item (internal, weft)
            GET (client, weft)
              GET /items/{id} (server, weft)
                db query (internal, weft)
                loading item (internal, weft)
    ");
    assert_eq!(
        trace_count(&spans),
        1,
        "one trace across client and servers"
    );

    // On the wire: the backend got the traceparent of the frontend's CLIENT span.
    let headers = seen.lock().unwrap()[0].clone();
    let traceparent = headers.get("traceparent").unwrap().to_str().unwrap();
    let inner_client = spans
        .iter()
        .find(|r| {
            r.name == "GET" && r.parent_span_id == find(&spans, "fetch item").span_context.span_id()
        })
        .unwrap();
    let sc = &inner_client.span_context;
    assert_eq!(
        traceparent,
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    );

    let server = find(&spans, "GET /items/{id}");
    assert!(
        server.parent_is_remote,
        "the server's parent came over the wire"
    );
    assert_eq!(attr(server, "http.request.method"), "GET");
    assert_eq!(attr(server, "url.path"), "/items/42");
    assert_eq!(attr(server, "url.scheme"), "http");
    assert_eq!(attr(server, "http.route"), "/items/{id}");
    assert_eq!(attr(server, "http.response.status_code"), "200");
    assert_eq!(attr(server, "server.address"), "127.0.0.1");
    assert_eq!(attr(server, "server.port"), back.port().to_string());
    assert_eq!(attr(server, "client.address"), "127.0.0.1");
    assert_eq!(attr(server, "network.protocol.version"), "1.1");
    let front_server = find(&spans, "GET /checkout");
    assert_eq!(attr(front_server, "user_agent.original"), "weft-test/1");

    let outer_client = spans
        .iter()
        .find(|r| r.name == "GET" && r.span_context.span_id() == front_server.parent_span_id)
        .unwrap();
    assert_eq!(
        attr(outer_client, "url.full"),
        format!("http://{front}/checkout")
    );
    assert_eq!(attr(outer_client, "server.address"), "127.0.0.1");
    assert_eq!(attr(outer_client, "server.port"), front.port().to_string());
    assert_eq!(attr(outer_client, "http.response.status_code"), "200");
    assert_eq!(outer_client.status, weft::export::Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_statuses() {
    let (weft, memory) = local();
    let back = serve_axum(backend(Seen::default(), weft.context())).await;
    let client = traced_client();
    let boom = client
        .get(format!("http://{back}/boom"))
        .send()
        .with_context(weft.context())
        .await
        .unwrap();
    assert_eq!(boom.status(), 500);
    let missing = client
        .get(format!("http://{back}/missing"))
        .send()
        .with_context(weft.context())
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let unrouted = client
        .get(format!("http://{back}/nope/at/all"))
        .send()
        .with_context(weft.context())
        .await
        .unwrap();
    assert_eq!(unrouted.status(), 404);
    // Nothing listens here: a transport error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = client
        .get(format!("http://{closed}/"))
        .send()
        .with_context(weft.context())
        .await;
    assert!(err.is_err());

    let spans = wait_for(&weft, &memory, 7).await;
    let server = find(&spans, "GET /boom");
    assert_eq!(attr(server, "http.response.status_code"), "500");
    assert_eq!(
        server.status,
        weft::export::Status::Error("HTTP 500".into())
    );
    let missing = find(&spans, "GET /missing");
    assert_eq!(
        missing.status,
        weft::export::Status::Unset,
        "a 404 is the client's mistake, not the server's"
    );
    // No route matched: no route in the name, and never the raw path.
    assert!(
        spans.iter().all(|r| !r.name.contains("/nope")),
        "raw paths never name spans"
    );
    let clients: Vec<_> = spans
        .iter()
        .filter(|r| r.kind == opentelemetry::trace::SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 4);
    let statuses: Vec<String> = clients
        .iter()
        .map(|r| format!("{:?}", r.status).replace(&closed.port().to_string(), "PORT"))
        .collect();
    insta::assert_snapshot!(statuses.join("\n"), @r#"
    Error("HTTP 500")
    Error("HTTP 404")
    Error("HTTP 404")
    Error("reqwest_middleware::error::Error: error sending request for url (http://127.0.0.1:PORT/)")
    "#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_context_sets_the_current_span() {
    let (weft, _memory) = local();
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", http::HeaderValue::from_static("stale"));
    let span_id = weft.in_scope(|| {
        let span = weft::span!("outgoing").entered();
        weft::integrations::inject_context(&mut headers);
        span.span_context().unwrap().span_id()
    });
    let value = headers.get("traceparent").unwrap().to_str().unwrap();
    assert!(value.contains(&span_id.to_string()), "{value}");
    assert_eq!(
        headers.get_all("traceparent").iter().count(),
        1,
        "replaced, not appended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_span() {
    let (weft, memory) = local();
    let app = Router::new()
        .route(
            "/panic",
            get(|| async {
                weft::info!("about to panic");
                if std::hint::black_box(true) {
                    panic!("the handler gave up");
                }
                "unreachable"
            }),
        )
        .layer(ServerLayer::new())
        .layer(InCxLayer(weft.context()));
    let addr = serve_axum(app).await;
    // No catch-panic layer: the panic ends the connection's task, so the client sees
    // the connection close. The span must still say what happened.
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/panic"))
        .send()
        .await;
    assert!(resp.is_err(), "{resp:?}");

    let spans = wait_for(&weft, &memory, 2).await;
    assert_eq!(
        tree(&spans),
        "GET /panic (server, weft)\n  about to panic (internal, weft)\n"
    );
    let server = find(&spans, "GET /panic");
    assert_eq!(
        server.status,
        weft::export::Status::Error("panicked: the handler gave up".into())
    );
    assert_eq!(attr(server, "error.type"), "panic");
    assert_eq!(attr(server, "http.response.status_code"), "<none>");
    assert_eq!(server.level, Some(weft::Level::Error));

    // The server still serves: only that connection's task ended.
    let again = reqwest::Client::new()
        .get(format!("http://{addr}/panic"))
        .send()
        .await;
    assert!(again.is_err());
    assert_eq!(wait_for(&weft, &memory, 4).await.len(), 4);
}
