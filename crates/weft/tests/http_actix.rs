//! The actix-web middleware on real actix `HttpServer`s over loopback (each on its own
//! thread, in its own actix `System`), called through weft's reqwest middleware: the
//! whole tree across client and servers, the headers on the wire, attributes, errors,
//! panics, and the policy checks of `http_support.rs`. The policy is process-wide:
//! every test here holds `POLICY_LOCK`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use opentelemetry::context::FutureExt as _;
use support::*;
use weft::DistributedTracing;
use weft::FutureExt as _;
use weft::export::Status;
use weft::integrations::actix_web::ServerMiddleware;

/// Runs the request in the slot's context: how the test carries its local weft
/// instance into actix's worker thread.
async fn in_slot<B: MessageBody>(
    slot: CxSlot,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let cx = slot.lock().unwrap().clone();
    let future = {
        let _attached = cx.clone().attach();
        next.call(req)
    };
    future.with_context(cx).await
}

/// Serves the routes `configure` adds, traced, on 127.0.0.1:0 with one worker.
fn serve_actix<F>(slot: CxSlot, configure: F) -> SocketAddr
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let slot = slot.clone();
                App::new()
                    .configure(configure.clone())
                    .wrap(ServerMiddleware::new())
                    .wrap(from_fn(move |req, next| in_slot(slot.clone(), req, next)))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        })
    });
    rx.recv().unwrap()
}

type Seen = Arc<Mutex<Vec<http::HeaderMap>>>;

fn backend(seen: Seen) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        let seen = seen.clone();
        cfg.route(
            "/items/{id}",
            web::get().to(move |req: HttpRequest| {
                let mut headers = http::HeaderMap::new();
                for (name, value) in req.headers() {
                    headers.append(
                        http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                        http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                    );
                }
                seen.lock().unwrap().push(headers);
                async {
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
                }
            }),
        )
        .route(
            "/boom",
            web::get().to(|| async { HttpResponse::InternalServerError().body("boom") }),
        )
        .route(
            "/fail",
            web::get().to(|| async {
                Err::<HttpResponse, _>(actix_web::error::ErrorInternalServerError("db down"))
            }),
        )
        .route(
            "/rejected",
            web::get().to(|| async {
                Err::<HttpResponse, _>(actix_web::error::ErrorBadRequest("bad input"))
            }),
        )
        .route(
            "/missing",
            web::get().to(|| async { HttpResponse::NotFound().body("no") }),
        );
    }
}

fn frontend(backend: SocketAddr) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/checkout",
            web::get().to(move || async move {
                let body = traced_client()
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
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_two_actix_servers_form_one_tree() {
    let _policy = with_policy(DistributedTracing::Allow).await;
    let (weft, memory) = local();
    let slot = cx_slot();
    *slot.lock().unwrap() = weft.context();
    let seen = Seen::default();
    let back = serve_actix(slot.clone(), backend(seen.clone()));
    let front = serve_actix(slot, frontend(back));

    let root = weft.in_scope(|| weft::span!("user clicks checkout"));
    let resp = traced_client()
        .get(format!("http://{front}/checkout"))
        .header("user-agent", "weft-test/1")
        .send()
        .in_span(root)
        .with_context(weft.context())
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
    let fetch = find(&spans, "fetch item").span_context.span_id();
    let inner_client = spans
        .iter()
        .find(|r| r.name == "GET" && r.parent_span_id == fetch)
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
    assert!(server.parent_is_remote, "the parent came over the wire");
    assert_eq!(server.kind, opentelemetry::trace::SpanKind::Server);
    assert_eq!(attr(server, "http.request.method"), "GET");
    assert_eq!(attr(server, "url.path"), "/items/42");
    assert_eq!(attr(server, "url.scheme"), "http");
    assert_eq!(attr(server, "http.route"), "/items/{id}");
    assert_eq!(attr(server, "http.response.status_code"), "200");
    assert_eq!(attr(server, "server.address"), "127.0.0.1");
    assert_eq!(attr(server, "server.port"), back.port().to_string());
    assert_eq!(attr(server, "client.address"), "127.0.0.1");
    assert_ne!(attr(server, "client.port"), "<none>");
    assert_eq!(attr(server, "network.protocol.version"), "1.1");
    assert_eq!(server.status, Status::Unset);
    let front_server = find(&spans, "GET /checkout");
    assert_eq!(attr(front_server, "user_agent.original"), "weft-test/1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_statuses() {
    let _policy = with_policy(DistributedTracing::Allow).await;
    let (weft, memory) = local();
    let slot = cx_slot();
    *slot.lock().unwrap() = weft.context();
    let back = serve_actix(slot, backend(Seen::default()));
    let client = reqwest::Client::new();
    for (path, status) in [
        ("/boom", 500),
        ("/fail", 500),
        ("/rejected", 400),
        ("/missing", 404),
        ("/nope/at/all", 404),
    ] {
        let resp = client
            .get(format!("http://{back}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{path}");
    }

    let spans = wait_for(&weft, &memory, 5).await;
    let mut got: Vec<String> = spans
        .iter()
        .map(|r| {
            format!(
                "{} path={} route={} status_code={} error.type={} {:?}",
                r.name,
                attr(r, "url.path"),
                attr(r, "http.route"),
                attr(r, "http.response.status_code"),
                attr(r, "error.type"),
                r.status
            )
        })
        .collect();
    got.sort();
    // A handler's error says more than its status; a 4xx, returned or not, is the
    // client's mistake; no route matched: the method alone, never the raw path.
    insta::assert_snapshot!(got.join("\n"), @r#"
    GET /boom path=/boom route=/boom status_code=500 error.type=500 Error("HTTP 500")
    GET /fail path=/fail route=/fail status_code=500 error.type=500 Error("HTTP 500: db down")
    GET /missing path=/missing route=/missing status_code=404 error.type=<none> Unset
    GET /rejected path=/rejected route=/rejected status_code=400 error.type=<none> Unset
    GET path=/nope/at/all route=<none> status_code=404 error.type=<none> Unset
    "#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_span() {
    let _policy = with_policy(DistributedTracing::Allow).await;
    let (weft, memory) = local();
    let slot = cx_slot();
    *slot.lock().unwrap() = weft.context();
    let addr = serve_actix(slot, |cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/panic",
            web::get().to(|| async {
                weft::info!("about to panic");
                if std::hint::black_box(true) {
                    panic!("the handler gave up");
                }
                "unreachable"
            }),
        );
    });
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/panic"))
        .send()
        .await;
    assert!(resp.is_err(), "actix drops the connection: {resp:?}");

    let spans = wait_for(&weft, &memory, 2).await;
    assert_eq!(
        tree(&spans),
        "GET /panic (server, weft)\n  about to panic (internal, weft)\n"
    );
    let server = find(&spans, "GET /panic");
    assert_eq!(
        server.status,
        Status::Error("panicked: the handler gave up".into())
    );
    assert_eq!(attr(server, "error.type"), "panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_and_malformed_headers() {
    let slot = cx_slot();
    let addr = serve_actix(slot.clone(), |cfg: &mut web::ServiceConfig| {
        cfg.route("/hello", web::get().to(|| async { policy_handler() }));
    });
    PolicyTarget {
        slot,
        server_span: "GET /hello",
        send: Box::new(move |headers| Box::pin(plain_get(format!("http://{addr}/hello"), headers))),
    }
    .check_every_policy()
    .await;
}
