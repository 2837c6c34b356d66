//! `weft demo` end to end: a real `weft serve`, the demo pointed at it with `--exit`,
//! then every tree the demo claims is checked through the viewer's API.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET of the viewer's JSON API.
fn api(ui: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let addr = ui.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let json = body.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(json).unwrap_or(serde_json::Value::Null)
}

/// Every node as `service: label <- parent label`, so the whole tree is compared
/// regardless of the order parallel work finished in.
fn edges(view: &serde_json::Value) -> BTreeSet<String> {
    let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
    let label = |key: &str| {
        nodes
            .iter()
            .find(|n| n["key"] == key)
            .map(|n| n["label"].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    nodes
        .iter()
        .map(|n| {
            let parent = n["parent_key"]
                .as_str()
                .map(label)
                .unwrap_or_else(|| "ROOT".into());
            format!(
                "{}: {} <- {}",
                n["service"].as_str().unwrap_or(""),
                n["label"].as_str().unwrap_or(""),
                parent
            )
        })
        .collect()
}

fn finding_codes(view: &serde_json::Value) -> BTreeSet<String> {
    view["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_demo_shows_every_scenario_in_the_viewer() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--memory",
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            "--ui-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };
    let (http, ui) = (format!("http://{}", field("otlp_http")), field("ui"));

    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["demo", "--exit", "--otlp-url", &http, "--api-url", &ui])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DEMO TRACES "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let id = |k: &str| {
        ids.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };

    let checkout = api(&ui, &format!("/api/traces/{}", id("checkout")));
    let want: BTreeSet<String> = [
        "demo-client: demo: checkout with 3 items <- ROOT",
        "demo-client: GET <- demo: checkout with 3 items",
        "gateway: GET /checkout <- GET",
        "gateway: Doubling everything <- GET /checkout",
        "gateway: Doubling 0 <- Doubling everything",
        "gateway: Doubling 1 <- Doubling everything",
        "gateway: Doubling 2 <- Doubling everything",
        "gateway: GET <- GET /checkout",
        "inventory: GET /stock <- GET",
        "inventory: reserving 3 items <- GET /stock",
        "inventory: reserved 3 items <- GET /stock",
        "inventory: audit record written for 3 items <- GET /stock",
        "pricing-worker: Pricing 3 items in a worker process <- GET /checkout",
        "pricing-worker: priced 3 items <- Pricing 3 items in a worker process",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        edges(&checkout),
        want,
        "the checkout tree across four processes"
    );
    assert!(
        finding_codes(&checkout).is_empty(),
        "a healthy trace: {:?}",
        checkout["findings"]
    );

    for policy in ["warn", "allow"] {
        let view = api(&ui, &format!("/api/traces/{}", id(policy)));
        let service = format!("edge-{policy}");
        assert_eq!(
            edges(&view),
            [
                format!("{service}: GET /hello <- ROOT"),
                format!("{service}: hello from the edge <- GET /hello")
            ]
            .into(),
            "{policy}: the stranger's trace holds the edge's request"
        );
        assert!(
            finding_codes(&view).contains("external_root"),
            "{policy}: rooted outside: {:?}",
            view["findings"]
        );
    }
    let deny = api(&ui, &format!("/api/traces/{}", id("deny")));
    assert!(
        finding_codes(&deny).is_empty(),
        "deny: a clean local root: {:?}",
        deny["findings"]
    );
    let links = deny["nodes"][0]["links"].to_string();
    assert!(
        links.contains("distributed_tracing=deny"),
        "deny keeps the caller as a link: {links}"
    );

    let unsampled = api(&ui, &format!("/api/traces/{}", id("unsampled")));
    assert!(
        unsampled["nodes"].is_null(),
        "nothing exported for the unsampled request: {unsampled}"
    );
}
