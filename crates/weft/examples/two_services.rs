//! A frontend and a backend, two axum servers on loopback in one program: the frontend
//! calls the backend through weft's reqwest middleware, and the joined tree of one
//! request is printed from the in-memory exporter.
//!
//! `cargo run -p weft --features axum,reqwest --example two_services`
//!
//! `tests/http_two_services.rs` runs [`run`] and checks the tree.
#![allow(missing_docs, unreachable_pub)]

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

/// The tree of `records`, one line per span with its kind and duration.
pub fn render_tree(records: &[SpanRecord]) -> String {
    let mut out = String::new();
    let mut children: HashMap<_, Vec<&SpanRecord>> = HashMap::new();
    for r in records {
        children.entry(r.parent_span_id).or_default().push(r);
    }
    fn walk(
        r: &SpanRecord,
        depth: usize,
        children: &HashMap<opentelemetry::trace::SpanId, Vec<&SpanRecord>>,
        out: &mut String,
    ) {
        let kind = match r.kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            _ => "internal",
        };
        let ms = (r.end_ns.saturating_sub(r.start_ns)) as f64 / 1e6;
        let indent = "  ".repeat(depth);
        out.push_str(&format!("{indent}{} [{kind}, {ms:.2} ms]\n", r.message()));
        let mut kids = children
            .get(&r.span_context.span_id())
            .cloned()
            .unwrap_or_default();
        kids.sort_by_key(|k| k.start_ns);
        for k in kids {
            walk(k, depth + 1, children, out);
        }
    }
    for root in children
        .get(&opentelemetry::trace::SpanId::INVALID)
        .cloned()
        .unwrap_or_default()
    {
        walk(root, 0, &children, &mut out);
    }
    out
}

/// What one run gives: the frontend's answer and every record of the request.
pub struct Outcome {
    pub body: String,
    pub records: Vec<SpanRecord>,
}

/// Starts both services, sends one request to the frontend, and returns once the
/// backend's span has been exported. Configures weft's global instance: once per process.
pub async fn run() -> Result<Outcome, Box<dyn std::error::Error>> {
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

    // The server spans end once their bodies are sent, which can be a moment after the
    // client has the answer: wait for both.
    for _ in 0..200 {
        weft.force_flush();
        let spans = memory.spans();
        let ended = |name: &str| spans.iter().any(|r| r.name == name);
        if ended("GET /checkout") && ended("GET /stock/{sku}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Ok(Outcome {
        body,
        records: memory.spans(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let outcome = run().await?;
    println!("response: {}\n", outcome.body);
    print!("{}", render_tree(&outcome.records));
    Ok(())
}
