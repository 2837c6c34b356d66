//! The service the W3C Trace Context test suite drives
//! (<https://github.com/w3c/trace-context/tree/main/test>).
//!
//! `cargo run -p weft --features axum,reqwest --example w3c_test_service -- 7777`, then
//! point the suite at `http://127.0.0.1:7777/test`. On `POST /test` it reads a JSON
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("7777")
        .parse()?;
    let _weft = weft::configure()
        .service_name("w3c-test-service")
        .distributed_tracing(weft::DistributedTracing::Allow)
        .finish()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}/test", listener.local_addr()?);
    axum::serve(listener, app()).await?;
    Ok(())
}
