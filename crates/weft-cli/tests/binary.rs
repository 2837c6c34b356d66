//! The real `weft` binary: startup line, SIGTERM that loses nothing acknowledged, kill -9
//! mid-ingest leaving a readable database, the terminal commands, and the token rules.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use support::*;

struct Server {
    child: Child,
    http: String,
    ui: String,
}

/// Starts `weft serve` on port 0 and reads the addresses from its startup line.
fn spawn(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            "--ui-port",
            "0",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("weft listening "),
        "startup line: {line:?}"
    );
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };
    Server {
        http: field("otlp_http"),
        ui: field("ui"),
        child,
    }
}

fn weft(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn post(http: &str, spans: &[S]) -> u16 {
    use prost::Message;
    client()
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(spans).encode_to_vec())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn sigterm(child: &Child) {
    signal(child, "-TERM");
}

/// Sends `sig` (`-TERM`, `-INT`) to the child, as `kill` or a terminal's Ctrl-C would.
fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

const T: u128 = 0x5b8aa5a2d2c872e8321cf37308d69df2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_then_terminal_commands_read_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut server = spawn(&["--data-dir", data]);
    let t0 = now_ms();
    let spans = [
        S::new("shop", "GET /pay", T, 1, None, t0, t0 + 40).kind(SERVER),
        S::new("bank", "authorize", T, 2, Some(1), t0 + 5, t0 + 30)
            .kind(SERVER)
            .flags(REMOTE)
            .error(),
    ];
    assert_eq!(post(&server.http, &spans).await, 200);

    // Through the running server's API.
    let (ok, out, err) = weft(&["traces", "--url", &server.ui]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("{T:032x}")) && out.contains("shop: GET /pay"),
        "{out}"
    );

    sigterm(&server.child);
    assert!(
        server.child.wait().unwrap().success(),
        "SIGTERM is a clean exit"
    );

    // Straight from the database, server stopped.
    let (ok, out, err) = weft(&["trace", &format!("{T:032x}"), "--data-dir", data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("  GET /pay  [shop]")
            && out.contains("    authorize  [bank]")
            && out.contains("ERROR"),
        "{out}"
    );
    assert!(out.contains("health: ok"), "{out}");

    let (ok, out, _) = weft(&["trace", &format!("{T:032x}"), "--data-dir", data, "--json"]);
    assert!(ok);
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["resourceSpans"].as_array().unwrap().len(), 2);
    assert_eq!(
        line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"],
        format!("{T:032x}"),
        "hex ids"
    );

    let file = dir.path().join("all.jsonl");
    let (ok, _, err) = weft(&[
        "export",
        "--out",
        file.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);

    let (ok, _, err) = weft(&["trace", "nothex", "--data-dir", data]);
    assert!(!ok && err.contains("give the 32 hex digits"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_over_url_writes_the_whole_store_past_the_list_limit() {
    use prost::Message;
    let mut server = spawn(&["--memory"]);
    let t0 = now_ms();
    // More traces than the list endpoint returns (1000), one small span each.
    let spans: Vec<S> = (1..=1100u128)
        .map(|t| S::new("bulk", "tick", T + t, 1, None, t0, t0 + 1))
        .collect();
    assert_eq!(post(&server.http, &spans).await, 200);
    // And a log with no trace context, which no trace list shows.
    let r = client()
        .post(format!("http://{}/v1/logs", server.http))
        .header("content-type", "application/x-protobuf")
        .body(log_request(&[L::new("bulk", 0, 0, t0, "untraced")]).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.jsonl");
    let (ok, _, err) = weft(&[
        "export",
        "--out",
        file.to_str().unwrap(),
        "--url",
        &server.ui,
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("wrote 1101 trace(s)"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut untraced = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(rs) = v["resourceSpans"].as_array() {
            for s in rs[0]["scopeSpans"][0]["spans"].as_array().unwrap() {
                ids.insert(s["traceId"].as_str().unwrap().to_owned());
            }
        } else {
            let rec = &v["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
            assert_eq!(rec["body"]["stringValue"], "untraced", "{line}");
            untraced += 1;
        }
    }
    assert_eq!(ids.len(), 1100, "every trace, not the first 1000");
    assert!(
        ids.contains(&format!("{:032x}", T + 1)) && ids.contains(&format!("{:032x}", T + 1100))
    );
    assert_eq!(untraced, 1, "the untraced log is exported too");

    let one = dir.path().join("one.jsonl");
    let id = format!("{:032x}", T + 7);
    let (ok, _, err) = weft(&[
        "export",
        "--trace",
        &id,
        "--out",
        one.to_str().unwrap(),
        "--url",
        &server.ui,
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&one).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        v["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"],
        id
    );

    let (ok, _, err) = weft(&[
        "export",
        "--trace",
        &format!("{:032x}", T + 5000),
        "--out",
        one.to_str().unwrap(),
        "--url",
        &server.ui,
    ]);
    assert!(!ok && err.contains("no trace"), "{err}");

    sigterm(&server.child);
    assert!(server.child.wait().unwrap().success());
}

fn count_spans(db: &Path) -> (String, u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let n: u64 = conn
        .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
        .unwrap();
    (check, n)
}

/// Sends 100-span batches until stopped; counts acknowledged spans.
fn hammer(http: String, acked: Arc<AtomicU64>, trace_base: u128) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let t0 = now_ms();
        for batch in 0u64.. {
            let spans: Vec<S> = (0..100)
                .map(|i| {
                    S::new(
                        "load",
                        "work",
                        trace_base + u128::from(batch) + 1, // never the all-zero id, which is rejected
                        i + 1,
                        None,
                        t0,
                        t0 + 1,
                    )
                })
                .collect();
            if post(&http, &spans).await != 200 {
                return;
            }
            acked.fetch_add(100, Ordering::SeqCst);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_ingest_leaves_a_readable_database_with_every_acknowledged_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    let acked = Arc::new(AtomicU64::new(0));
    let senders: Vec<_> = (0..4)
        .map(|k| hammer(server.http.clone(), acked.clone(), (k as u128) << 64))
        .collect();
    while acked.load(Ordering::SeqCst) < 5_000 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap(); // SIGKILL, mid-ingest
    server.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let (check, stored) = count_spans(&dir.path().join("weft.db"));
    assert_eq!(check, "ok");
    let acked = acked.load(Ordering::SeqCst);
    assert!(
        stored >= acked,
        "every acknowledged span survives: {stored} stored < {acked} acked"
    );
    assert_eq!(stored % 100, 0, "no batch half-stored: {stored}");
    // And weft itself reopens it.
    let server = spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    let mut child = server.child;
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// Stops the server with `sig` while four senders hammer it; nothing acknowledged is lost.
async fn stop_during_ingest(sig: &str, trace_base: u128) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    let acked = Arc::new(AtomicU64::new(0));
    let senders: Vec<_> = (0..4)
        .map(|k| {
            hammer(
                server.http.clone(),
                acked.clone(),
                (k as u128 + trace_base) << 64,
            )
        })
        .collect();
    while acked.load(Ordering::SeqCst) < 3_000 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    signal(&server.child, sig);
    assert!(
        server.child.wait().unwrap().success(),
        "{sig} is a clean exit"
    );
    for s in senders {
        s.await.unwrap();
    }
    let (check, stored) = count_spans(&dir.path().join("weft.db"));
    assert_eq!(check, "ok");
    let acked = acked.load(Ordering::SeqCst);
    assert!(stored >= acked, "{sig}: {stored} stored < {acked} acked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_ingest_loses_nothing_acknowledged() {
    stop_during_ingest("-TERM", 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_ingest_loses_nothing_acknowledged() {
    // SIGINT is what Ctrl-C sends to the foreground process.
    stop_during_ingest("-INT", 16).await;
}

#[test]
fn non_loopback_bind_requires_a_token() {
    let (ok, _, err) = weft(&[
        "serve",
        "--memory",
        "--bind",
        "0.0.0.0",
        "--grpc-port",
        "0",
        "--http-port",
        "0",
        "--ui-port",
        "0",
    ]);
    assert!(!ok);
    assert!(
        err.contains("pass --token <secret> or set WEFT_TOKEN"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guards_ingest_and_ui() {
    let mut server = spawn(&["--memory", "--token", "s3cret"]);
    let t0 = now_ms();
    let spans = [S::new("a", "x", 1, 1, None, t0, t0 + 1)];
    assert_eq!(
        post(&server.http, &spans).await,
        401,
        "ingest without the token"
    );
    use prost::Message;
    let ok = client()
        .post(format!("http://{}/v1/traces", server.http))
        .bearer_auth("s3cret")
        .header("content-type", "application/x-protobuf")
        .body(request(&spans).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ui = server.ui.clone();
    let r = client()
        .get(format!("{ui}/api/traces"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("?token=<token>"));
    // The browser path: ?token= sets a cookie and redirects to the clean address.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{ui}/?token=s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = client()
        .get(format!("{ui}/api/traces"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (ok, out, _) = weft(&["traces", "--url", &ui, "--token", "s3cret"]);
    assert!(
        ok && out.contains("0000000000000000000000000000000"),
        "{out}"
    );
    sigterm(&server.child);
    server.child.wait().unwrap();
}

#[test]
fn sigterm_right_after_the_banner_is_a_clean_shutdown() {
    // The banner says the server is up; its signal handlers must be in place by then,
    // or a signal sent at once meets the default action and kills it uncleanly.
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn(&["--data-dir", dir.path().to_str().unwrap()]).child;
        sigterm(&child);
        assert!(child.wait().unwrap().success());
    }
}
