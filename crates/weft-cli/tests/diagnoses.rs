//! One test per health diagnosis, each built from real spans sent over OTLP/HTTP and read
//! back through the API, checking the tree, the finding and its sentence.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;

const MIN: u64 = 60_000;

#[tokio::test]
async fn remote_parent_that_never_arrived_is_rooted_outside() {
    let run = start().await;
    let t = 0x11u128;
    let t0 = now_ms();
    // The caller (a browser or a stranger's service) sent traceparent ...-0000000000000099-01; it never exports.
    send(
        &run,
        &[
            S::new("api", "GET /items", t, 1, Some(0x99), t0, t0 + 30)
                .kind(SERVER)
                .flags(REMOTE),
            S::new("api", "load", t, 2, Some(1), t0 + 1, t0 + 20),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(v.outline(), "api GET /items\n  api load\n");
    assert_eq!(codes(&v), ["external_root", "missing_parent"]);
    let e = explain(&v, "missing_parent");
    assert!(
        e.contains("'GET /items' (api) continues parent span 0000000000000099"),
        "{e}"
    );
    assert!(e.contains("span flags: parent is remote"), "{e}");
    let e = explain(&v, "external_root");
    assert!(e.contains("The trace was started outside"), "{e}");
    assert!(
        e.contains("distributed_tracing=false (LOGFIRE_DISTRIBUTED_TRACING=false)"),
        "{e}"
    );
    assert!(v.nodes[0].missing_parent);
    run.shutdown().await;
}

#[tokio::test]
async fn local_parent_that_never_arrived_is_a_span_that_never_ended() {
    let run = start().await;
    let t = 0x12u128;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("worker", "job", t, 1, None, t0, t0 + 30),
            // Its parent 0x55 was a local span that crashed before ending.
            S::new("worker", "step", t, 2, Some(0x55), t0 + 5, t0 + 10).flags(LOCAL),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(v.outline(), "worker job\nworker step\n");
    assert_eq!(codes(&v), ["missing_parent"]);
    let e = explain(&v, "missing_parent");
    assert!(
        e.contains("in the same process (span flags: parent is local)"),
        "{e}"
    );
    assert!(e.contains("never ended"), "{e}");
    run.shutdown().await;
}

#[tokio::test]
async fn without_remote_flags_the_kind_decides_and_says_it_guessed() {
    let run = start().await;
    let t = 0x13u128;
    let t0 = now_ms();
    send(
        &run,
        &[S::new("legacy", "POST /hook", t, 1, Some(0x77), t0, t0 + 5)
            .kind(SERVER)
            .flags(0)],
    )
    .await;
    let v = view(&run, t).await;
    let e = explain(&v, "missing_parent");
    assert!(
        e.contains("from another process") && e.contains("guessed"),
        "{e}"
    );
    run.shutdown().await;
}

fn pending(s: &S, real: u64, pending_parent: &str) -> S {
    // Logfire's pending record: its own id, parent = the real span, pending_parent_id = real parent.
    let mut p = S::new(
        s.service,
        s.name,
        s.trace,
        real + 0x1000,
        Some(real),
        s.start_ms,
        s.start_ms,
    );
    p.attrs = vec![
        ("logfire.span_type", "pending_span".into()),
        ("logfire.pending_parent_id", pending_parent.into()),
    ];
    p
}

#[tokio::test]
async fn pending_span_is_an_open_bar_until_the_real_span_arrives() {
    let run = start().await;
    let t = 0x14u128;
    let t0 = now_ms() - 10 * MIN;
    let real = S::new("etl", "nightly {job}", t, 1, None, t0, t0 + 500)
        .attr("logfire.msg", "nightly load")
        .attr("logfire.span_type", "span");
    let child = S::new("etl", "extract", t, 2, Some(1), t0 + 10, t0 + 100);
    send(
        &run,
        &[pending(&real, 1, "0000000000000000"), child.clone()],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(
        v.outline(),
        "etl nightly {job}\n  etl extract\n",
        "the pending record stands in for its span"
    );
    assert!(v.nodes[0].open);
    assert_eq!(
        v.nodes[0].key, "0000000000000001",
        "keyed by the real span id"
    );
    assert_eq!(codes(&v), ["unfinished_span"]);
    assert!(explain(&v, "unfinished_span").contains("its end never did"));

    send(&run, std::slice::from_ref(&real)).await;
    let v = view(&run, t).await;
    assert_eq!(
        v.outline(),
        "etl nightly load\n  etl extract\n",
        "logfire.msg shown, pending record folded, never an extra span"
    );
    assert!(!v.nodes[0].open);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    run.shutdown().await;
}

#[tokio::test]
async fn one_trace_id_grouping_unrelated_requests_is_diagnosed() {
    let run = start().await;
    let t = 0x15u128;
    let t0 = now_ms() - 10 * MIN;
    // A proxy keeps sending the same traceparent: two requests three minutes apart share one trace.
    send(
        &run,
        &[
            S::new("shop", "GET /", t, 1, Some(0xabc), t0, t0 + 20)
                .kind(SERVER)
                .flags(REMOTE),
            S::new(
                "shop",
                "GET /cart",
                t,
                2,
                Some(0xabc),
                t0 + 3 * MIN,
                t0 + 3 * MIN + 15,
            )
            .kind(SERVER)
            .flags(REMOTE),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(codes(&v), ["external_root", "missing_parent"]);
    let e = explain(&v, "external_root");
    assert!(
        e.contains("2 unrelated requests share this trace id"),
        "{e}"
    );
    assert!(e.contains("2m 59s apart"), "{e}");
    assert!(e.contains("LOGFIRE_DISTRIBUTED_TRACING=false"), "{e}");
    run.shutdown().await;
}

#[tokio::test]
async fn sampling_priority_zero_marks_a_sampling_gap_and_half_does_not() {
    let run = start().await;
    let (t, half) = (0x16u128, 0x26u128);
    let t0 = now_ms();
    // The gateway dropped the trace and said so (sampling.priority=0); billing records anyway.
    let trace = |t: u128, priority: &str| {
        vec![
            S::new("billing", "charge", t, 5, Some(0x42), t0, t0 + 9)
                .kind(SERVER)
                .flags(REMOTE)
                .attr("sampling.priority", priority),
            S::new("billing", "stripe", t, 6, Some(5), t0 + 1, t0 + 8).kind(CLIENT),
        ]
    };
    send(&run, &trace(t, "0")).await;
    send(&run, &trace(half, "0.5")).await;
    let v = view(&run, t).await;
    assert!(
        codes(&v).contains(&"sampling_gap".to_owned()),
        "{:?}",
        codes(&v)
    );
    let e = explain(&v, "sampling_gap");
    assert!(
        e.contains("(1 span(s) with sampling.priority=0)")
            && e.contains(
                "1 span(s) miss their parent, e.g. 'charge' (billing) (parent 0000000000000042)"
            ),
        "{e}"
    );
    assert!(e.contains("ParentBased"), "{e}");
    let v = view(&run, half).await;
    assert_eq!(
        codes(&v),
        ["external_root", "missing_parent"],
        "0.5 is not 0"
    );
    run.shutdown().await;
}

#[tokio::test]
async fn sampled_zero_flags_count_only_from_an_exporter_that_fills_them() {
    let run = start().await;
    let (filled, bare) = (0x36u128, 0x46u128);
    let t0 = now_ms();
    // Like Java's exporter: the low byte is the span's W3C trace flags. "charge" was
    // recorded but not sampled (sampled=0) while "refund", same service, was sampled.
    send(
        &run,
        &[
            S::new("billing", "charge", filled, 5, Some(0x42), t0, t0 + 9)
                .kind(SERVER)
                .flags(0x300),
            S::new("billing", "refund", filled, 7, Some(0x43), t0 + 20, t0 + 29)
                .kind(SERVER)
                .flags(0x301),
        ],
    )
    .await;
    // Like Python's and Go's exporters: only the is-remote bits, the low byte always 0.
    send(
        &run,
        &[S::new("billing", "charge", bare, 5, Some(0x42), t0, t0 + 9)
            .kind(SERVER)
            .flags(0x300)],
    )
    .await;
    let v = view(&run, filled).await;
    let e = explain(&v, "sampling_gap");
    assert!(
        e.contains("(1 span(s) with trace flags sampled=0 from an exporter that fills them)"),
        "{e}"
    );
    let v = view(&run, bare).await;
    assert!(
        !codes(&v).contains(&"sampling_gap".to_owned()),
        "an unfilled byte is no evidence: {:?}",
        codes(&v)
    );
    run.shutdown().await;
}

#[tokio::test]
async fn clock_skew_is_shown_and_corrected_only_when_asked() {
    let run = start().await;
    let t = 0x17u128;
    let t0 = now_ms();
    // inventory's clock runs 300 ms behind: its server span starts before the client call.
    send(
        &run,
        &[
            S::new("orders", "POST /order", t, 1, None, t0, t0 + 100).kind(SERVER),
            S::new("orders", "GET stock", t, 2, Some(1), t0 + 10, t0 + 60).kind(CLIENT),
            S::new(
                "inventory",
                "GET /stock",
                t,
                3,
                Some(2),
                t0 + 12 - 300,
                t0 + 55 - 300,
            )
            .kind(SERVER)
            .flags(REMOTE),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(codes(&v), ["clock_skew"]);
    let e = explain(&v, "clock_skew");
    assert!(
        e.contains("The clock of 'inventory' looks 298.00 ms behind 'orders'"),
        "{e}"
    );
    assert!(e.contains("?correct_skew=1"), "{e}");
    assert!(!v.skew_corrected);
    assert_eq!(
        v.nodes[2].start_ns,
        ((t0 + 12 - 300) * 1_000_000) as i64,
        "uncorrected unless asked"
    );

    let c = view_path(&run, &format!("/api/traces/{t:032x}?correct_skew=1")).await;
    assert!(c.skew_corrected);
    assert_eq!(c.skew_offsets["inventory"], 298_000_000);
    let (parent, child) = (&c.nodes[1], &c.nodes[2]);
    assert!(
        child.start_ns >= parent.start_ns && child.end_ns <= parent.end_ns,
        "corrected child lies inside its parent"
    );
    assert_eq!(child.skew_ns, 298_000_000);
    run.shutdown().await;
}

#[tokio::test]
async fn duplicate_span_ids_are_reported() {
    let run = start().await;
    let t = 0x18u128;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("a", "root", t, 1, None, t0, t0 + 10),
            S::new("a", "first", t, 2, Some(1), t0 + 1, t0 + 3),
            S::new("b", "second", t, 2, Some(1), t0 + 4, t0 + 6),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(
        v.outline(),
        "a root\n  a first\n  b second\n",
        "both are kept"
    );
    assert_eq!(codes(&v), ["duplicate_span_id"]);
    assert!(
        explain(&v, "duplicate_span_id")
            .contains("2 different spans share span id 0000000000000002")
    );
    assert_eq!(v.nodes[2].key, "0000000000000002~1");
    run.shutdown().await;
}

#[tokio::test]
async fn parent_cycles_are_cut_and_reported() {
    let run = start().await;
    let t = 0x19u128;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("a", "x", t, 1, Some(2), t0, t0 + 10),
            S::new("a", "y", t, 2, Some(1), t0 + 1, t0 + 5),
        ],
    )
    .await;
    let v = view(&run, t).await;
    assert_eq!(v.outline(), "a x\n  a y\n", "cut at the earliest span");
    assert_eq!(codes(&v), ["parent_cycle"]);
    assert!(explain(&v, "parent_cycle").contains("'x' (a) is its own ancestor"));
    run.shutdown().await;
}

#[tokio::test]
async fn list_shows_health_badges_and_filters() {
    let run = start().await;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("api", "GET /a", 0x21, 1, Some(0x9), t0, t0 + 5)
                .kind(SERVER)
                .flags(REMOTE)
                .attr("http.route", "/a"),
            S::new("api", "GET /b", 0x22, 1, None, t0 + 1, t0 + 500)
                .kind(SERVER)
                .error(),
            S::new("db", "query", 0x22, 2, Some(1), t0 + 2, t0 + 400).attr("db.system", "postgres"),
        ],
    )
    .await;
    let list = get_json(&run, "/api/traces").await;
    let badges: Vec<String> = list[1]["health"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["summary"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        badges,
        [
            "1 sign(s) the trace was rooted outside",
            "1 span(s) missing their parent"
        ]
    );
    #[rustfmt::skip]
    let cases: &[(&str, &[u128])] = &[
        ("service=db", &[0x22]),
        ("name=query", &[0x22]),
        ("attr=http.route%3D/a", &[0x21]),
        ("attr=db.system%3Dpostgres", &[0x22]),
        ("status=error", &[0x22]),
        ("status=ok", &[0x21]),
        ("min_duration_ms=100", &[0x22]),
        ("q=postgres", &[0x22]),
        ("q=00000000000000000000000000000021", &[0x21]),
        ("limit=1", &[0x22]),
    ];
    for (query, want) in cases {
        let got: Vec<String> = get_json(&run, &format!("/api/traces?{query}"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_owned())
            .collect();
        let want: Vec<String> = want.iter().map(|t| format!("{t:032x}")).collect();
        assert_eq!(got, want, "{query}");
    }
    run.shutdown().await;
}
