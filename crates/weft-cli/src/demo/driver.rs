//! The demo's driver: viewer, services, requests, then the trees the viewer rebuilt.

use super::DemoArgs;
use super::process::Service;
use super::viewer_api::{fetch, find, wait_for};
use crate::serve::{self, ServeConfig};
use crate::store::Location;
use std::time::Instant;
use weft::FutureExt as _;
use weft::integrations::reqwest::ClientMiddleware;

/// The edge services: name, `LOGFIRE_DISTRIBUTED_TRACING` ("" = unset), and how the
/// demo describes the setting.
const EDGES: [(&str, &str, &str); 3] = [
    ("edge-warn", "", "unset (warn)"),
    ("edge-allow", "true", "true (allow)"),
    ("edge-deny", "false", "false (deny)"),
];

/// The start of weft's `distributed_tracing` warning (Logfire's text).
const WARNING_START: &str = "Found propagated trace context";

pub(super) fn run(args: &DemoArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;

    // 1. The viewer: a running one, or our own on the embedded store.
    let (viewer, otlp, api) = match (&args.otlp_url, &args.api_url) {
        (Some(o), Some(a)) => (
            None,
            o.trim_end_matches('/').to_owned(),
            a.trim_end_matches('/').to_owned(),
        ),
        _ => {
            let mut config = ServeConfig {
                location: if args.memory {
                    Location::Memory
                } else {
                    Location::Dir(crate::cli::default_data_dir())
                },
                ..ServeConfig::default()
            };
            if args.any_ports {
                (config.grpc_port, config.http_port, config.ui_port) = (0, 0, 0);
            }
            let running = runtime.block_on(serve::start(config)).map_err(|e| {
                format!("{e} (is `weft serve` already running? then use --otlp-url and --api-url, or --any-ports)")
            })?;
            println!("{}", running.banner());
            let (o, a) = (
                format!("http://{}", running.http),
                format!("http://{}", running.ui),
            );
            (Some(running), o, a)
        }
    };

    // 2. The demo client is a weft service too.
    let weft = weft::configure()
        .service_name("demo-client")
        .console(false)
        .otlp_endpoint(otlp.clone())
        .finish()
        .map_err(|e| e.to_string())?;

    // 3. The services, each its own process. The edges' stderr is captured so that the
    //    warning one of them writes is shown under its own request.
    let inventory = Service::start("inventory", "inventory", &otlp, "true", &[], false)?;
    let gateway = Service::start(
        "gateway",
        "gateway",
        &otlp,
        "true",
        &["--inventory-url", &inventory.url],
        false,
    )?;
    let mut edges = Vec::new();
    for (name, policy, _) in EDGES {
        edges.push(Service::start("edge", name, &otlp, policy, &[], true)?);
    }
    println!(
        "services: gateway {}, inventory {}, edges {} (the gateway runs the pricing worker \
         as a child process per request)",
        gateway.url,
        inventory.url,
        EDGES.map(|(name, _, _)| name).join(", ")
    );

    let outcome = runtime.block_on(scenarios(&gateway, &edges))?;
    weft.force_flush();
    drop(weft);

    // 4. Stop every service before looking: each flushes its spans as it exits, so what
    //    the viewer holds afterwards is all it will ever get. That is what makes
    //    "nothing was exported" below a fact rather than "nothing yet".
    println!("\nstopping the services: each flushes its spans to the viewer as it exits…");
    let mut edge_stderr = Vec::new();
    for edge in edges {
        edge_stderr.push(edge.stop()?);
    }
    gateway.stop()?;
    inventory.stop()?;

    // 5. What the viewer reconstructed.
    let expected = ["demo-client", "gateway", "inventory", "pricing-worker"];
    let checkout = runtime.block_on(wait_for(&api, &outcome.checkout, &expected))?;
    println!(
        "\n== checkout: one request across four processes (trace {}) ==",
        outcome.checkout
    );
    print!("{}", crate::term::print::print_trace(&checkout));
    let mut warn_log = None;
    for (((name, _, policy), trace), stderr) in EDGES.iter().zip(&outcome.edges).zip(&edge_stderr) {
        println!(
            "\n== a stranger's traceparent at {name}, LOGFIRE_DISTRIBUTED_TRACING={policy} (trace {trace}) =="
        );
        match runtime.block_on(wait_for(&api, trace, &[name])) {
            Ok(view) => {
                print!("{}", crate::term::print::print_trace(&view));
                print_links(&view);
            }
            Err(e) => println!("{e}"),
        }
        if stderr.is_empty() {
            println!("{name} wrote nothing on stderr");
        }
        for line in stderr {
            println!("{name} stderr: {line}");
        }
        // The warning is written while the stranger's context is being extracted, before
        // it is attached, so in the viewer it is a log of its own, not in the trace above.
        let logs = runtime.block_on(find(&api, name, WARNING_START))?;
        match logs.first() {
            None => println!("{name} sent no warning log to the viewer"),
            Some(log) => {
                println!(
                    "{name} sent its warning to the viewer too, as a log of its own (trace {}):",
                    log.trace_id
                );
                if let Some(view) = runtime.block_on(fetch(&api, &log.trace_id.to_string()))? {
                    print!("{}", crate::term::print::print_trace(&view));
                }
                if warn_log.is_none() {
                    warn_log = Some(log.trace_id.to_string());
                }
            }
        }
    }

    // Every service has exited, so a 404 here means nothing will ever arrive.
    println!(
        "\n== an unsampled request (traceparent flags 00, trace {}) ==",
        outcome.unsampled
    );
    if let Some(v) = runtime.block_on(fetch(&api, &outcome.unsampled))? {
        return Err(format!(
            "the viewer holds {} records of the unsampled request {}: something ignored the \
             traceparent's sampled flag",
            v.nodes.len(),
            outcome.unsampled
        ));
    }
    println!(
        "nothing was exported: the gateway, inventory and the pricing worker all ran \
         (answer {}) and all followed the flag; checked after every service had flushed and exited",
        outcome.unsampled_answer
    );
    println!(
        "DEMO TRACES checkout={} warn={} allow={} deny={} unsampled={} warn_log={}",
        outcome.checkout,
        outcome.edges[0],
        outcome.edges[1],
        outcome.edges[2],
        outcome.unsampled,
        warn_log.as_deref().unwrap_or("-")
    );
    println!(
        "DEMO STRANGERS warn={} allow={} deny={}",
        outcome.strangers[0], outcome.strangers[1], outcome.strangers[2]
    );

    if let Some(running) = viewer {
        println!("\nopen {api} to browse these traces");
        if !args.exit {
            // Listen before saying so: a Ctrl-C right after the line must not kill us.
            let stop = {
                let _inside = runtime.enter();
                interrupted()
            };
            println!("the viewer stays up until Ctrl-C");
            runtime.block_on(stop);
            println!("stopping the viewer");
        }
        runtime.block_on(running.shutdown());
    }
    Ok(())
}

/// The span links of a trace, which the tree above does not draw: under deny, the
/// stranger's context is kept as one.
fn print_links(view: &crate::view::TraceView) {
    for node in &view.nodes {
        let links: Vec<serde_json::Value> =
            serde_json::from_str(node.links.get()).unwrap_or_default();
        for link in links {
            println!(
                "'{}' keeps a span link to trace {} span {} ({})",
                node.label,
                link["trace_id"].as_str().unwrap_or("?"),
                link["span_id"].as_str().unwrap_or("?"),
                link["attributes"]
            );
        }
    }
}

/// A future that completes on Ctrl-C (or SIGTERM), with the handlers installed now.
/// Call it inside the runtime.
fn interrupted() -> impl std::future::Future<Output = ()> {
    serve::shutdown_signal()
}

/// The trace ids of what the demo sent.
struct Outcome {
    checkout: String,
    /// Per edge, in [`EDGES`] order: the trace its request was recorded in…
    edges: Vec<String>,
    /// …and the stranger's `traceparent` it was sent.
    strangers: Vec<String>,
    unsampled: String,
    /// The gateway's answer to the unsampled request (it says whether the worker ran).
    unsampled_answer: String,
}

async fn scenarios(gateway: &Service, edges: &[Service]) -> Result<Outcome, String> {
    let traced = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::new())
        .build();
    let plain = reqwest::Client::new();

    // The checkout request, from inside a span of the demo client.
    let span = weft::span!("demo: checkout with {items} items", items = 3);
    let checkout = span
        .span_context()
        .map(|sc| sc.trace_id().to_string())
        .unwrap_or_default();
    let body = async {
        traced
            .get(format!("{}/checkout?items=3", gateway.url))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
            .map_err(Into::into)
    }
    .in_span(span)
    .await
    .map_err(|e: reqwest_middleware::Error| format!("checkout request failed: {e}"))?;
    println!("checkout answered {body}");

    // A stranger's context: what a browser extension, a cloud load balancer or another
    // company's service might send to a public endpoint.
    let mut edge_traces = Vec::new();
    let mut strangers = Vec::new();
    for (edge, (_, _, policy)) in edges.iter().zip(EDGES) {
        let stranger = format!("00-{}-{}-01", random_hex(16), random_hex(8));
        let failed = |e: reqwest::Error| format!("{} failed: {e}", edge.name);
        let text = plain
            .get(format!("{}/hello", edge.url))
            .header("traceparent", &stranger)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?
            .text()
            .await
            .map_err(failed)?;
        let answer: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} answered badly: {e}", edge.name))?;
        let trace = answer["trace_id"].as_str().unwrap_or_default().to_owned();
        println!(
            "{} with LOGFIRE_DISTRIBUTED_TRACING={policy}: stranger's trace {} → request recorded in trace {trace}",
            edge.name,
            &stranger[3..35]
        );
        edge_traces.push(trace);
        strangers.push(stranger);
    }

    // An unsampled request: flags 00. Its ids still propagate; nothing is exported. It
    // must succeed, or "nothing exported" would only mean "nothing ran".
    let unsampled = random_hex(16);
    let resp = plain
        .get(format!("{}/checkout?items=2", gateway.url))
        .header(
            "traceparent",
            format!("00-{unsampled}-{}-00", random_hex(8)),
        )
        .send()
        .await
        .map_err(|e| format!("unsampled request failed: {e}"))?;
    let status = resp.status();
    let unsampled_answer = resp
        .text()
        .await
        .map_err(|e| format!("unsampled request failed: {e}"))?;
    let worker_ran = serde_json::from_str::<serde_json::Value>(&unsampled_answer)
        .is_ok_and(|v| v["pricing_worker_ok"] == true);
    if status != reqwest::StatusCode::OK || !worker_ran {
        return Err(format!(
            "the unsampled request did not run through (status {status}, answer {unsampled_answer})"
        ));
    }
    Ok(Outcome {
        checkout,
        edges: edge_traces,
        strangers,
        unsampled,
        unsampled_answer,
    })
}

/// Random hex for a stranger's ids. `RandomState` is seeded from the OS once per
/// process and differs per instance, which is all a demo needs.
fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(bytes * 2);
    out
}
