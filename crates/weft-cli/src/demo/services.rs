//! The demo's services, each run as its own process: `weft demo-service <role>`.
//!
//! A service prints `PORT <n>` once it listens, serves until its standard input closes
//! (the demo holds the other end, so services never outlive it), then flushes its
//! spans and exits.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use weft::integrations::reqwest::ClientMiddleware;
use weft::integrations::tower::ServerLayer;
use weft::process::CommandExt;
use weft::rayon::ParallelIteratorExt;

/// Which service to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The entry service: fans out, calls inventory, runs the pricing worker.
    Gateway,
    /// Called by the gateway: a tokio task and a job handed to a worker thread.
    Inventory,
    /// A child process of the gateway: one span under the gateway's.
    PricingWorker,
    /// A public service that receives a stranger's traceparent.
    Edge,
}

/// Flags of the hidden `weft demo-service`.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// The role.
    #[arg(value_enum)]
    pub role: Role,
    /// The service name (`service.name`).
    #[arg(long)]
    pub name: String,
    /// The OTLP/HTTP base URL of the viewer.
    #[arg(long)]
    pub otlp_url: String,
    /// The inventory service's base URL (gateway only).
    #[arg(long)]
    pub inventory_url: Option<String>,
    /// How many items to price (pricing worker only).
    #[arg(long, default_value_t = 3)]
    pub items: u32,
}

/// Runs one demo service.
pub fn service_main(args: &ServiceArgs) -> ExitCode {
    // `LOGFIRE_DISTRIBUTED_TRACING` in the environment picks the policy: the demo sets it
    // per edge service. Everything else is explicit.
    let weft = match weft::configure()
        .service_name(args.name.clone())
        .console(false)
        .otlp_endpoint(args.otlp_url.clone())
        .finish()
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("weft demo-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.role == Role::PricingWorker {
        pricing(args.items);
        drop(weft);
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weft demo-service: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(args));
    drop(weft);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft demo-service {}: {e}", args.name);
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone)]
struct Shared {
    client: ClientWithMiddleware,
    inventory_url: String,
    otlp_url: String,
}

async fn serve(args: &ServiceArgs) -> std::io::Result<()> {
    let shared = Shared {
        client: reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::new())
            .build(),
        inventory_url: args.inventory_url.clone().unwrap_or_default(),
        otlp_url: args.otlp_url.clone(),
    };
    let router = match args.role {
        Role::Gateway => Router::new().route("/checkout", get(checkout)),
        Role::Inventory => Router::new().route("/stock", get(stock)),
        _ => Router::new().route("/hello", get(hello)),
    }
    .layer(ServerLayer::new())
    .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "PORT {port}")?;
        out.flush()?;
    }
    let stdin_closed = tokio::task::spawn_blocking(|| {
        // Serve until the demo goes away: it holds our stdin.
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = stdin_closed.await;
        })
        .await
}

#[derive(Deserialize)]
struct Items {
    items: Option<u32>,
}

/// The seed's `@logfire.instrument("Doubling {x}")`.
#[weft::instrument("Doubling {x}")]
fn double(x: u32) -> u32 {
    x * 2
}

async fn checkout(State(s): State<Shared>, Query(q): Query<Items>) -> Json<serde_json::Value> {
    let items = q.items.unwrap_or(3);
    // CPU work leaves the async runtime; the context goes with it and on into rayon.
    let prices = weft::tokio::spawn_blocking(move || {
        let span = weft::span!("Doubling everything").entered();
        let results: Vec<u32> = (0..items)
            .into_par_iter()
            .in_current_context()
            .map(double)
            .collect();
        span.set_attribute("results", &results);
        results
    })
    .await
    .unwrap_or_default();

    let stock = match s
        .client
        .get(format!("{}/stock?items={items}", s.inventory_url))
        .send()
        .await
    {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => format!("inventory failed: {e}"),
    };

    // The seed's process pool: a worker process whose spans land under this request.
    let worker = match std::env::current_exe() {
        Ok(exe) => tokio::process::Command::new(exe)
            .args([
                "demo-service",
                "pricing-worker",
                "--name",
                "pricing-worker",
                "--otlp-url",
                &s.otlp_url,
            ])
            .args(["--items", &items.to_string()])
            .with_current_context()
            .status()
            .await
            .map(|st| st.success())
            .unwrap_or(false),
        Err(_) => false,
    };
    Json(serde_json::json!({ "prices": prices, "stock": stock, "pricing_worker_ok": worker }))
}

async fn stock(Query(q): Query<Items>) -> String {
    let items = q.items.unwrap_or(3);
    weft::tokio::spawn(async move {
        weft::info!("reserving {items} items", items);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        weft::info!("reserved {items} items", items);
    })
    .await
    .ok();

    // Manual propagation, as in the seed: the carrier travels with a job to a worker
    // thread that knows nothing else about this request.
    let carrier = weft::get_context();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _attached = weft::attach_context(&carrier);
        weft::info!("audit record written for {items} items", items);
        let _ = done_tx.send(());
    });
    let _ = done_rx.await;
    format!("{items} in stock")
}

async fn hello() -> Json<serde_json::Value> {
    weft::info!("hello from the edge");
    // Tell the caller which trace this request ended up in, so the demo can show it.
    let carrier = weft::get_context();
    let trace = carrier
        .get("traceparent")
        .and_then(|tp| tp.split('-').nth(1))
        .unwrap_or("")
        .to_owned();
    Json(serde_json::json!({ "trace_id": trace }))
}

fn pricing(items: u32) {
    let span = weft::span!("Pricing {items} items in a worker process", items).entered();
    let total: u32 = (1..=items).map(|i| i * 100).sum();
    span.set_attribute("total_cents", total);
    weft::info!("priced {items} items", items);
}
