//! The UI port's JSON API beyond the trace list: live events, services, errors.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::*;

#[tokio::test]
async fn committed_batches_are_pushed_as_server_sent_events() {
    let run = start().await;
    let mut events = client()
        .get(format!("http://{}/api/events", run.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let t0 = now_ms();
    send(
        &run,
        &[S::new("api", "GET /live", 0xe1, 1, None, t0, t0 + 3)],
    )
    .await;
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.starts_with("event: traces\ndata: "), "{seen}");
    let data: serde_json::Value =
        serde_json::from_str(seen.trim_start_matches("event: traces\ndata: ").trim()).unwrap();
    assert_eq!(data[0]["trace_id"], format!("{:032x}", 0xe1));
    assert_eq!(data[0]["root"], "GET /live");
    run.shutdown().await;
}

#[tokio::test]
async fn services_health_and_errors() {
    let run = start().await;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("b-svc", "x", 0xe2, 1, None, t0, t0 + 1),
            S::new("a-svc", "y", 0xe2, 2, Some(1), t0, t0 + 1),
        ],
    )
    .await;
    assert_eq!(
        get_json(&run, "/api/services").await,
        serde_json::json!(["a-svc", "b-svc"])
    );
    assert_eq!(get_json(&run, "/api/health").await["schema_version"], 2);
    let r = client()
        .get(format!("http://{}/api/traces/{:032x}", run.ui, 0xdead))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("no trace 0000000000000000000000000000dead")
    );
    let r = client()
        .get(format!("http://{}/api/traces/xyz", run.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expected 32 hex digits"));
    let page = client()
        .get(format!("http://{}/trace/{:032x}", run.ui, 0xe2))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("/assets/trace.js"));
    run.shutdown().await;
}

#[tokio::test]
async fn critical_path_follows_what_each_parent_waited_on() {
    let run = start().await;
    let t = 0xe3u128;
    let t0 = now_ms();
    // root waits first on auth (sequential), then on a fan-out of search and ads in parallel;
    // search (and its query inside) ends last, so ads is not on the path.
    send(
        &run,
        &[
            S::new("web", "GET /", t, 1, None, t0, t0 + 100).kind(SERVER),
            S::new("web", "auth", t, 2, Some(1), t0 + 5, t0 + 30),
            S::new("web", "search", t, 3, Some(1), t0 + 35, t0 + 95).kind(CLIENT),
            S::new("web", "ads", t, 4, Some(1), t0 + 35, t0 + 60).kind(CLIENT),
            S::new("search", "query", t, 5, Some(3), t0 + 40, t0 + 90)
                .kind(SERVER)
                .flags(REMOTE),
            S::new("search", "rank", t, 6, Some(5), t0 + 41, t0 + 55),
            S::new("search", "fetch", t, 7, Some(5), t0 + 52, t0 + 88),
            // A Logfire-style log (a zero-length span) after fetch ended: a moment, not work.
            S::new("search", "fetched", t, 8, Some(5), t0 + 89, t0 + 89)
                .attr("logfire.span_type", "log"),
        ],
    )
    .await;
    let v = view(&run, t).await;
    let critical: Vec<&str> = v
        .nodes
        .iter()
        .filter(|n| n.critical)
        .map(|n| n.label.as_str())
        .collect();
    assert_eq!(
        critical,
        ["GET /", "auth", "search", "query", "fetch"],
        "not ads (it finished while search ran), not rank (it overlapped fetch, which ended last), not the log"
    );
    run.shutdown().await;
}
