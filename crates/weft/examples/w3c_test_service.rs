//! The service the W3C Trace Context test suite drives
//! (<https://github.com/w3c/trace-context/tree/main/test>).
//!
//! `cargo run -p weft --features axum,reqwest --example w3c_test_service -- [PORT] [HOST]`
//! listens on `HOST:PORT` (default `127.0.0.1:7778`; not 7777, where the suite's own
//! harness listens for the hops); point the suite at `http://127.0.0.1:7778/test`.
//! Give `0.0.0.0` as `HOST` when the suite runs elsewhere (another container or
//! machine). On `POST /test` it reads a JSON
//! array of `{"url": ..., "arguments": [...]}` and, for each, POSTs `arguments` as JSON
//! to `url`, carrying the context extracted from the incoming request: the outgoing
//! call is a CLIENT span, child of the request's SERVER span. It runs with
//! `DistributedTracing::Allow`: it exists to propagate.
#![allow(missing_docs, unreachable_pub)]

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use weft::integrations::{reqwest::ClientMiddleware, tower::ServerLayer};

/// One hop the suite asks for.
#[derive(Debug, Deserialize)]
pub struct Hop {
    pub url: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// The `/test` route, traced.
pub fn app() -> Router {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    Router::new()
        .route(
            "/test",
            post(move |body: axum::body::Bytes| async move {
                // The suite sends malformed bodies too: answer 400, never panic.
                let Ok(hops) = serde_json::from_slice::<Vec<Hop>>(&body) else {
                    return StatusCode::BAD_REQUEST;
                };
                for hop in hops {
                    let Ok(payload) = serde_json::to_vec(&hop.arguments) else {
                        continue;
                    };
                    let sent = client
                        .post(&hop.url)
                        .header("content-type", "application/json")
                        .body(payload)
                        .send()
                        .await;
                    if let Err(err) = sent {
                        weft::warn!(
                            "hop to {url} failed: {err}",
                            url = hop.url.clone(),
                            err = err.to_string()
                        );
                    }
                }
                StatusCode::OK
            }),
        )
        .layer(ServerLayer::new())
}

/// The default port: the suite's harness takes 7777 for itself.
pub const DEFAULT_PORT: u16 = 7778;
/// The default host: loopback only.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// `[PORT] [HOST]` from the command line (without the program name).
pub fn bind_address(mut args: impl Iterator<Item = String>) -> Result<(String, u16), String> {
    let port = match args.next() {
        Some(port) => port.parse().map_err(|err| {
            format!("the port {port:?} is not a number from 0 to 65535 ({err}); usage: w3c_test_service [PORT] [HOST]")
        })?,
        None => DEFAULT_PORT,
    };
    let host = args.next().unwrap_or_else(|| DEFAULT_HOST.to_owned());
    Ok((host, port))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (host, port) = bind_address(std::env::args().skip(1))?;
    let _weft = weft::configure()
        .service_name("w3c-test-service")
        .distributed_tracing(weft::DistributedTracing::Allow)
        .finish()?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|err| {
            format!("cannot listen on {host}:{port} ({err}): give another [PORT] [HOST]")
        })?;
    println!("listening on http://{}/test", listener.local_addr()?);
    axum::serve(listener, app()).await?;
    Ok(())
}
