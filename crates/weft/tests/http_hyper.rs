//! The tower layer on a plain hyper server (through hyper-util's `TowerToHyperService`),
//! called by a client that injects with `inject_context`; the policy checks of
//! `http_support.rs`. The policy is process-wide: every test here holds `POLICY_LOCK`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use support::*;
use tower::{Layer as _, ServiceExt as _};
use weft::integrations::tower::ServerLayer;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    weft::info!("hyper handler");
    let traceparent = req
        .headers()
        .get("traceparent")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(traceparent))))
}

/// Serves `service` on 127.0.0.1:0, one task per connection. The accept loop puts the
/// peer's address in each request's extensions, as a hyper user does to get
/// `client.address` (hyper itself records no peer).
async fn serve_hyper<S>(service: S) -> SocketAddr
where
    S: tower::Service<
            Request<Incoming>,
            Response = Response<weft::integrations::tower::TracedBody<Full<Bytes>>>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let service = service
                .clone()
                .map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(peer);
                    req
                });
            let service = hyper_util::service::TowerToHyperService::new(service);
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(io, service)
                .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_server_continues_the_injected_context() {
    let _policy = with_policy(weft::DistributedTracing::Allow).await;
    let (weft, memory) = local();
    let addr = serve_hyper(
        InCxLayer(weft.context()).layer(ServerLayer::new().layer(tower::service_fn(hello))),
    )
    .await;

    // A client weft has no middleware for: inject by hand inside the caller's span.
    let mut headers = http::HeaderMap::new();
    let caller = weft.in_scope(|| {
        let span = weft::span!("hyper caller").entered();
        weft::integrations::inject_context(&mut headers);
        span.exit()
    });
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/x/y"))
        .headers(headers.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let echoed = resp.text().await.unwrap();
    assert_eq!(
        echoed,
        headers.get("traceparent").unwrap().to_str().unwrap(),
        "the wire carried the injected header"
    );
    drop(caller);

    let spans = wait_for(&weft, &memory, 3).await;
    insta::assert_snapshot!(tree(&spans), @r"
    hyper caller (internal, weft)
      GET (server, weft)
        hyper handler (internal, weft)
    ");
    let server = find(&spans, "GET");
    assert_eq!(attr(server, "url.path"), "/x/y");
    assert_eq!(attr(server, "http.route"), "<none>");
    assert_eq!(attr(server, "client.address"), "127.0.0.1");
    assert_ne!(attr(server, "client.port"), "<none>");
    assert_eq!(attr(server, "server.address"), "127.0.0.1");
    assert_eq!(attr(server, "server.port"), addr.port().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_and_malformed_headers() {
    let slot = cx_slot();
    let handler = tower::service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(policy_handler()))))
    });
    let addr = serve_hyper(SlotLayer(slot.clone()).layer(ServerLayer::new().layer(handler))).await;
    PolicyTarget {
        slot,
        server_span: "GET",
        send: Box::new(move |headers| Box::pin(plain_get(format!("http://{addr}/hello"), headers))),
    }
    .check_every_policy()
    .await;
}
