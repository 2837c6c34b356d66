//! Runs `examples/two_services.rs` (compiled in with `#[path]`) and checks the joined
//! tree it prints: one trace from the caller through the frontend to the backend. The
//! example configures weft's global instance, so this binary holds this one test.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../examples/two_services.rs"]
#[allow(dead_code)]
mod example;
#[path = "http_support.rs"]
mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frontend_and_backend_form_one_tree() {
    let outcome = example::run().await.unwrap();
    assert_eq!(outcome.body, "in stock: 3");
    let records = &outcome.records;
    insta::assert_snapshot!(tree(records), @r"
    user clicks checkout (internal, weft)
      GET (client, weft)
        GET /checkout (server, weft)
          GET (client, weft)
            GET /stock/{sku} (server, weft)
              checking stock for {sku} (internal, weft)
    ");
    assert_eq!(trace_count(records), 1, "one trace across both services");
    assert!(
        records
            .iter()
            .filter(|r| r.kind == opentelemetry::trace::SpanKind::Server)
            .all(|r| r.parent_is_remote),
        "each server continued its caller's context from the wire"
    );

    // What the example prints: the same tree, with the log's message filled in.
    let printed: Vec<String> = example::render_tree(records)
        .lines()
        .map(|line| line.split(" [").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        printed,
        [
            "user clicks checkout",
            "  GET",
            "    GET /checkout",
            "      GET",
            "        GET /stock/{sku}",
            "          checking stock for ab-12",
        ]
    );
}
