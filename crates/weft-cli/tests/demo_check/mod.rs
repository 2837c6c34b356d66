//! What every `weft demo` run must show: in its stdout, and through the viewer's API.
//! Shared by the tests in `demo.rs`, which differ in where the viewer runs.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::BTreeSet;

/// A plain HTTP/1.1 GET of the viewer: status and body.
pub fn get(ui: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = ui.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {raw:?}"));
    (status, body.to_owned())
}

/// A GET that must answer 200 with JSON.
pub fn api(ui: &str, path: &str) -> serde_json::Value {
    let (status, body) = get(ui, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// `key=value` fields of the demo's machine-readable line `<prefix> k=v k=v…`.
pub fn fields(stdout: &str, prefix: &str) -> Vec<(String, String)> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{stdout}"));
    line.split_whitespace()
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The ids the demo printed: trace ids, and the strangers' traceparents.
pub struct Ids {
    traces: Vec<(String, String)>,
    strangers: Vec<(String, String)>,
}

impl Ids {
    pub fn parse(stdout: &str) -> Self {
        Ids {
            traces: fields(stdout, "DEMO TRACES "),
            strangers: fields(stdout, "DEMO STRANGERS "),
        }
    }
    pub fn trace(&self, key: &str) -> String {
        lookup(&self.traces, key)
    }
    /// (trace id, span id) of the stranger's traceparent sent to this edge.
    pub fn stranger(&self, key: &str) -> (String, String) {
        let tp = lookup(&self.strangers, key);
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "a traceparent: {tp}");
        (parts[1].to_owned(), parts[2].to_owned())
    }
}

fn lookup(fields: &[(String, String)], key: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key}= in {fields:?}"))
}

/// Every node as `service: label <- parent label`, so the whole tree is compared
/// regardless of the order parallel work finished in.
pub fn edges(view: &serde_json::Value) -> BTreeSet<String> {
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

/// The checkout tree: (depth, label, service), in the order the demo prints it
/// (siblings by start time; the three `Doubling {x}` spans may start in any order).
const CHECKOUT: [(usize, &str, &str); 14] = [
    (0, "demo: checkout with 3 items", "demo-client"),
    (1, "GET", "demo-client"),
    (2, "GET /checkout", "gateway"),
    (3, "Doubling everything", "gateway"),
    (4, "Doubling 0", "gateway"),
    (4, "Doubling 1", "gateway"),
    (4, "Doubling 2", "gateway"),
    (3, "GET", "gateway"),
    (4, "GET /stock", "inventory"),
    (5, "reserving 3 items", "inventory"),
    (5, "reserved 3 items", "inventory"),
    (5, "audit record written for 3 items", "inventory"),
    (3, "Pricing 3 items in a worker process", "pricing-worker"),
    (4, "priced 3 items", "pricing-worker"),
];

const WARNING: &str = "Found propagated trace context";

/// The part of stdout under the `== <title…` header, up to the next header.
fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let start = stdout
        .find(&format!("\n== {title}"))
        .unwrap_or_else(|| panic!("no section {title:?} in:\n{stdout}"));
    let rest = &stdout[start + 1..];
    let end = rest[3..].find("\n== ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The tree lines of a section: indented, `label  [service]  …`.
/// Only the first tree: what follows its `health:` line is about other traces.
fn tree_lines(section: &str) -> Vec<(usize, String, String)> {
    section
        .lines()
        .take_while(|l| !l.starts_with("health:"))
        .filter(|l| l.starts_with("  ") && l.contains("  ["))
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            let (label, rest) = l.trim_start().split_once("  [").unwrap();
            let service = rest.split_once(']').unwrap().0;
            (indent / 2 - 1, label.to_owned(), service.to_owned())
        })
        .collect()
}

/// What the terminal shows: the trees, the warning only under warn, the link under
/// deny, and "nothing was exported" for the unsampled request.
pub fn check_stdout(stdout: &str, ids: &Ids) {
    let checkout = section(stdout, "checkout: one request across four processes");
    let mut got = tree_lines(checkout);
    let mut want: Vec<(usize, String, String)> = CHECKOUT
        .iter()
        .map(|(d, l, s)| (*d, (*l).to_owned(), (*s).to_owned()))
        .collect();
    // Only the Doubling spans' order is free: compare them as a set, the rest in order.
    let doubling = |v: &mut Vec<(usize, String, String)>| {
        let mut d: Vec<_> = v.drain(4..7).collect();
        d.sort();
        d
    };
    assert_eq!(doubling(&mut got), doubling(&mut want), "{checkout}");
    assert_eq!(got, want, "the checkout tree as printed:\n{checkout}");
    assert!(checkout.contains("\nhealth: ok"), "{checkout}");

    for (key, name) in [
        ("warn", "edge-warn"),
        ("allow", "edge-allow"),
        ("deny", "edge-deny"),
    ] {
        let s = section(stdout, &format!("a stranger's traceparent at {name},"));
        assert_eq!(
            tree_lines(s),
            [
                (0, "GET /hello".to_owned(), name.to_owned()),
                (1, "hello from the edge".to_owned(), name.to_owned())
            ],
            "{s}"
        );
        let (stranger_trace, stranger_span) = ids.stranger(key);
        let root = s.lines().find(|l| l.starts_with("  GET /hello")).unwrap();
        match key {
            "warn" | "allow" => {
                assert!(s.contains(&format!("(trace {stranger_trace})")), "{s}");
                assert!(
                    root.contains(&format!("(parent {stranger_span} missing")),
                    "{key}: a child of the stranger's span: {root}"
                );
                assert!(s.contains("! external_root:"), "{s}");
            }
            _ => {
                assert!(!root.contains("parent"), "deny: a root: {root}");
                assert!(s.contains("\nhealth: ok"), "{s}");
                assert!(
                    s.contains(&format!(
                        "'GET /hello' keeps a span link to trace {stranger_trace} span {stranger_span} ({{\"weft.link.reason\":\"distributed_tracing=deny\"}})"
                    )),
                    "deny shows the link to the stranger:\n{s}"
                );
            }
        }
        if key == "warn" {
            assert!(
                s.contains(&format!("\n{name} stderr: weft: {WARNING}.")),
                "warn writes the warning on stderr, shown under its request:\n{s}"
            );
            assert!(
                s.contains(&format!("\n{name} sent its warning to the viewer too")),
                "{s}"
            );
        } else {
            assert!(!s.contains(WARNING), "{key} does not warn:\n{s}");
            assert!(
                s.contains(&format!("\n{name} wrote nothing on stderr")),
                "{s}"
            );
            assert!(
                s.contains(&format!("\n{name} sent no warning log to the viewer")),
                "{s}"
            );
        }
    }
    let unsampled = section(stdout, "an unsampled request (traceparent flags 00");
    assert!(
        unsampled.contains(
            "\nnothing was exported: the gateway, inventory and the pricing worker all ran"
        ),
        "{unsampled}"
    );
    assert!(
        unsampled.contains("\"pricing_worker_ok\":true"),
        "{unsampled}"
    );
    assert!(!stdout.contains("unexpected"), "{stdout}");
}

/// What the viewer holds for the ids the demo printed.
pub fn check_viewer(ui: &str, ids: &Ids) {
    let checkout = api(ui, &format!("/api/traces/{}", ids.trace("checkout")));
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
        let trace = ids.trace(policy);
        let (stranger_trace, stranger_span) = ids.stranger(policy);
        assert_eq!(trace, stranger_trace, "{policy} joins the stranger's trace");
        let view = api(ui, &format!("/api/traces/{trace}"));
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
        let root = &view["nodes"][0];
        assert_eq!(root["label"], "GET /hello");
        assert_eq!(root["parent_span_id"], stranger_span.as_str(), "{root}");
        assert!(
            finding_codes(&view).contains("external_root"),
            "{policy}: rooted outside: {:?}",
            view["findings"]
        );
    }

    // Only warn warns, and its warning is in the viewer as a warn-level log.
    let warn_log = api(ui, &format!("/api/traces/{}", ids.trace("warn_log")));
    let nodes = warn_log["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{warn_log}");
    assert_eq!(nodes[0]["service"], "edge-warn");
    assert_eq!(nodes[0]["is_log"], true);
    assert_eq!(nodes[0]["level_num"], 13, "warn (Logfire's level number)");
    assert!(
        nodes[0]["label"].as_str().unwrap().starts_with(WARNING),
        "{warn_log}"
    );
    for (service, count) in [("edge-warn", 1), ("edge-allow", 0), ("edge-deny", 0)] {
        let found = api(
            ui,
            &format!("/api/traces?service={service}&name=Found%20propagated%20trace%20context"),
        );
        assert_eq!(
            found.as_array().unwrap().len(),
            count,
            "{service}: warning logs: {found}"
        );
    }

    let deny_trace = ids.trace("deny");
    let (stranger_trace, stranger_span) = ids.stranger("deny");
    assert_ne!(deny_trace, stranger_trace, "deny starts its own trace");
    let deny = api(ui, &format!("/api/traces/{deny_trace}"));
    assert_eq!(
        edges(&deny),
        [
            "edge-deny: GET /hello <- ROOT".to_owned(),
            "edge-deny: hello from the edge <- GET /hello".to_owned()
        ]
        .into(),
        "deny: a clean root with its log"
    );
    assert!(
        finding_codes(&deny).is_empty(),
        "deny: a clean local root: {:?}",
        deny["findings"]
    );
    let root = &deny["nodes"][0];
    assert!(root["parent_span_id"].is_null(), "deny: no parent: {root}");
    let links = root["links"].as_array().unwrap();
    assert_eq!(
        links.len(),
        1,
        "deny keeps the caller as one link: {links:?}"
    );
    assert_eq!(links[0]["trace_id"], stranger_trace.as_str());
    assert_eq!(links[0]["span_id"], stranger_span.as_str());
    assert_eq!(
        links[0]["attributes"]["weft.link.reason"],
        "distributed_tracing=deny"
    );

    let unsampled = ids.trace("unsampled");
    let (status, body) = get(ui, &format!("/api/traces/{unsampled}"));
    assert_eq!(
        status, 404,
        "nothing exported for the unsampled request: {body}"
    );
    // The 404 means "no such trace", not a broken route: the same route serves a real one.
    assert_eq!(
        get(ui, &format!("/api/traces/{}", ids.trace("checkout"))).0,
        200
    );
}
