//! The `distributed_tracing` policy at a real axum server, and malformed incoming
//! headers: the checks of `http_support.rs`, which the hyper, tonic and actix-web
//! tests run too. The policy is process-wide: every test here holds `POLICY_LOCK`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "http_support.rs"]
mod support;

use axum::Router;
use axum::routing::get;
use support::*;
use weft::integrations::tower::ServerLayer;

/// One axum server for the whole test; each request runs in the slot's instance.
async fn target() -> PolicyTarget {
    let slot = cx_slot();
    let app = Router::new()
        .route("/hello", get(|| async { policy_handler() }))
        .layer(ServerLayer::new())
        .layer(SlotLayer(slot.clone()));
    let addr = serve_axum(app).await;
    PolicyTarget {
        slot,
        server_span: "GET /hello",
        send: Box::new(move |headers| Box::pin(plain_get(format!("http://{addr}/hello"), headers))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_continues_and_warns_once() {
    target().await.warn_continues_and_warns_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_continues_silently_with_baggage() {
    target().await.allow_continues_silently_with_baggage().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_starts_a_root_and_links_the_caller() {
    target()
        .await
        .deny_starts_a_root_and_links_the_caller()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_headers_is_a_root_under_every_policy() {
    target()
        .await
        .no_headers_is_a_root_under_every_policy()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traceparent_is_a_new_root_and_served() {
    target()
        .await
        .malformed_traceparent_is_a_new_root_and_served()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_traceparent_fields_are_ambiguous_and_ignored() {
    target()
        .await
        .two_traceparent_fields_are_ambiguous_and_ignored()
        .await;
}
