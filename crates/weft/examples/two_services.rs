//! A frontend and a backend, two axum servers on loopback in one program: the frontend
//! calls the backend through weft's reqwest middleware, and the joined tree of one
//! request is printed from the in-memory exporter.
//!
//! `cargo run -p weft --features axum,reqwest --example two_services`
#![allow(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use opentelemetry::trace::SpanKind;
use weft::FutureExt as _;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;
use weft::integrations::{reqwest::ClientMiddleware, tower::ServerLayer};

async fn serve(router: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(addr)
}

fn client() -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build()
}

fn print_tree(records: &[SpanRecord]) {
    let mut children: HashMap<_, Vec<&SpanRecord>> = HashMap::new();
    for r in records {
        children.entry(r.parent_span_id).or_default().push(r);
    }
    fn walk(
        r: &SpanRecord,
        depth: usize,
        children: &HashMap<opentelemetry::trace::SpanId, Vec<&SpanRecord>>,
    ) {
        let kind = match r.kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            _ => "internal",
        };
        let ms = (r.end_ns.saturating_sub(r.start_ns)) as f64 / 1e6;
        println!("{}{} [{kind}, {ms:.2} ms]", "  ".repeat(depth), r.message());
        let mut kids = children
            .get(&r.span_context.span_id())
            .cloned()
            .unwrap_or_default();
        kids.sort_by_key(|k| k.start_ns);
        for k in kids {
            walk(k, depth + 1, children);
        }
    }
    for root in children
        .get(&opentelemetry::trace::SpanId::INVALID)
        .cloned()
        .unwrap_or_default()
    {
        walk(root, 0, &children);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let memory = MemoryExporter::default();
    // A global instance: every server task records into it with no extra wiring.
    let weft = weft::configure()
        .service_name("two-services")
        .console(false)
        // hyper's own debug events (connection pooling…) would crowd the tree.
        .min_level(weft::Level::Info)
        .no_default_exporter()
        .distributed_tracing(weft::DistributedTracing::Allow)
        .exporter(memory.clone())
        .finish()?;

    let backend = Router::new()
        .route(
            "/stock/{sku}",
            get(
                |axum::extract::Path(sku): axum::extract::Path<String>| async move {
                    weft::info!("checking stock for {sku}", sku = sku.clone());
                    "3"
                },
            ),
        )
        .layer(ServerLayer::new());
    let backend = serve(backend).await?;

    let frontend = Router::new()
        .route(
            "/checkout",
            get(move || async move {
                let stock = match client()
                    .get(format!("http://{backend}/stock/ab-12"))
                    .send()
                    .await
                {
                    Ok(resp) => resp.text().await.unwrap_or_default(),
                    Err(err) => err.to_string(),
                };
                format!("in stock: {stock}")
            }),
        )
        .layer(ServerLayer::new());
    let frontend = serve(frontend).await?;

    let body = client()
        .get(format!("http://{frontend}/checkout"))
        .send()
        .in_span(weft::span!("user clicks checkout"))
        .await?
        .text()
        .await?;
    println!("response: {body}\n");

    // The backend's span ends once its body is sent: give it a moment, then flush.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    weft.force_flush();
    print_tree(&memory.spans());
    Ok(())
}
