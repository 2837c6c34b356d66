//! The demo's driver: viewer, services, requests, then the trees the viewer rebuilt.

use super::DemoArgs;
use crate::serve::{self, ServeConfig};
use crate::store::Location;
use crate::view::TraceView;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use weft::FutureExt as _;
use weft::integrations::reqwest::ClientMiddleware;

/// A service process; dropping it closes its stdin (it then flushes and exits).
struct Service {
    name: String,
    url: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_service(
    role: &str,
    name: &str,
    otlp: &str,
    policy: &str,
    extra: &[&str],
) -> Result<Service, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["demo-service", role, "--name", name, "--otlp-url", otlp])
        .args(extra);
    cmd.env_remove("LOGFIRE_DISTRIBUTED_TRACING");
    if !policy.is_empty() {
        cmd.env("LOGFIRE_DISTRIBUTED_TRACING", policy);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the {name} service: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout from a service")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("{name} did not start: {e}"))?;
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| format!("{name} did not say which port it listens on (it said {line:?})"))?;
    Ok(Service {
        name: name.to_owned(),
        url: format!("http://127.0.0.1:{port}"),
        stdin: child.stdin.take(),
        child,
    })
}

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

    // 3. The services, each its own process.
    let inventory = start_service("inventory", "inventory", &otlp, "true", &[])?;
    let gateway = start_service(
        "gateway",
        "gateway",
        &otlp,
        "true",
        &["--inventory-url", &inventory.url],
    )?;
    let edges = [
        (
            start_service("edge", "edge-warn", &otlp, "", &[])?,
            "unset (warn)",
        ),
        (
            start_service("edge", "edge-allow", &otlp, "true", &[])?,
            "true (allow)",
        ),
        (
            start_service("edge", "edge-deny", &otlp, "false", &[])?,
            "false (deny)",
        ),
    ];
    println!(
        "services: gateway {}, inventory {}, edges {}",
        gateway.url,
        inventory.url,
        edges
            .iter()
            .map(|(s, _)| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let outcome = runtime.block_on(scenarios(&gateway, &edges));
    weft.force_flush();
    let outcome = outcome?;

    // 4. What the viewer reconstructed.
    println!("\nwaiting for every service's spans to reach the viewer…");
    let expected = ["demo-client", "gateway", "inventory", "pricing-worker"];
    let checkout = runtime.block_on(wait_for(&api, &outcome.checkout, &expected))?;
    println!(
        "\n== checkout: one request across four processes (trace {}) ==",
        outcome.checkout
    );
    print!("{}", crate::term::print::print_trace(&checkout));
    for ((service, policy), trace) in edges
        .iter()
        .map(|(s, p)| (s.name.as_str(), *p))
        .zip(&outcome.edges)
    {
        println!(
            "\n== a stranger's traceparent at {service}, LOGFIRE_DISTRIBUTED_TRACING={policy} (trace {trace}) =="
        );
        match runtime.block_on(wait_for(&api, trace, &[service])) {
            Ok(view) => print!("{}", crate::term::print::print_trace(&view)),
            Err(e) => println!("{e}"),
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let unsampled = runtime.block_on(fetch(&api, &outcome.unsampled))?;
    println!(
        "\n== an unsampled request (traceparent flags 00, trace {}) ==",
        outcome.unsampled
    );
    match unsampled {
        None => println!(
            "nothing was exported: the gateway, inventory and the pricing worker all followed the flag"
        ),
        Some(v) => println!("unexpected: {} records were exported for it", v.nodes.len()),
    }
    println!(
        "DEMO TRACES checkout={} warn={} allow={} deny={} unsampled={}",
        outcome.checkout, outcome.edges[0], outcome.edges[1], outcome.edges[2], outcome.unsampled
    );

    drop(edges);
    drop(gateway);
    drop(inventory);
    drop(weft);
    if let Some(running) = viewer {
        println!("\nopen {api} to browse these traces");
        if !args.exit {
            println!("the viewer stays up until Ctrl-C");
            runtime.block_on(serve::shutdown_signal());
        }
        runtime.block_on(running.shutdown());
    }
    Ok(())
}

/// The trace ids of what the demo sent.
struct Outcome {
    checkout: String,
    edges: Vec<String>,
    unsampled: String,
}

async fn scenarios(gateway: &Service, edges: &[(Service, &str); 3]) -> Result<Outcome, String> {
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
    for (edge, policy) in edges {
        let stranger = format!("00-{}-{}-01", random_hex(16), random_hex(8));
        let text = plain
            .get(format!("{}/hello", edge.url))
            .header("traceparent", &stranger)
            .send()
            .await
            .map_err(|e| format!("{} failed: {e}", edge.name))?
            .text()
            .await
            .map_err(|e| format!("{} failed: {e}", edge.name))?;
        let answer: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} answered badly: {e}", edge.name))?;
        let trace = answer["trace_id"].as_str().unwrap_or_default().to_owned();
        println!(
            "{} with LOGFIRE_DISTRIBUTED_TRACING={policy}: stranger's trace {} → request recorded in trace {trace}",
            edge.name,
            &stranger[3..35]
        );
        edge_traces.push(trace);
    }

    // An unsampled request: flags 00. Its ids still propagate; nothing is exported.
    let unsampled = random_hex(16);
    plain
        .get(format!("{}/checkout?items=2", gateway.url))
        .header(
            "traceparent",
            format!("00-{unsampled}-{}-00", random_hex(8)),
        )
        .send()
        .await
        .map_err(|e| format!("unsampled request failed: {e}"))?;
    Ok(Outcome {
        checkout,
        edges: edge_traces,
        unsampled,
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

async fn fetch(api: &str, trace: &str) -> Result<Option<TraceView>, String> {
    let resp = reqwest::get(format!("{api}/api/traces/{trace}"))
        .await
        .map_err(|e| format!("viewer API: {e}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let text = resp.text().await.map_err(|e| format!("viewer API: {e}"))?;
    serde_json::from_str::<TraceView>(&text)
        .map(Some)
        .map_err(|e| format!("viewer API answered badly: {e}"))
}

/// Polls the viewer until the trace has a span from every expected service.
async fn wait_for(api: &str, trace: &str, services: &[&str]) -> Result<TraceView, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = fetch(api, trace).await?;
        if let Some(v) = &view {
            if services
                .iter()
                .all(|s| v.nodes.iter().any(|n| n.service == *s && !n.open))
            {
                tokio::time::sleep(Duration::from_millis(700)).await;
                return fetch(api, trace)
                    .await?
                    .ok_or_else(|| format!("trace {trace} vanished"));
            }
        }
        if Instant::now() > deadline {
            return view.ok_or_else(|| format!("the viewer never received trace {trace}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
