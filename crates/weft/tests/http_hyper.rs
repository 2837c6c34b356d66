//! The tower layer on a plain hyper server (through hyper-util's `TowerToHyperService`),
//! called by a client that injects with `inject_context`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use support::*;
use tower::Layer as _;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_server_continues_the_injected_context() {
    weft::propagation::set_policy(weft::DistributedTracing::Allow);
    let (weft, memory) = local();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service =
        InCxLayer(weft.context()).layer(ServerLayer::new().layer(tower::service_fn(hello)));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
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
}
