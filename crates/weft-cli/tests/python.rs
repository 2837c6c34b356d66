//! A real Python exporter (opentelemetry-sdk 1.45.1, from `scripts/setup-python.sh`) sends a
//! trace across two services, one over OTLP/HTTP and one over OTLP/gRPC; the API's tree is
//! checked whole. Then one trace per health diagnosis, each made by the real SDK
//! (`tests/python/diagnoses.py`), not by hand.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::*;

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Canonical, so the venv's python finds its pyvenv.cfg however the crate was reached.
    let py = root.canonicalize().unwrap_or(root).join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup-python.sh (it creates .venv with the pinned OpenTelemetry Python SDK)",
        py.display()
    );
    py
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_trace_across_two_services() {
    let py = python();
    let run = start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/two_services.py");
    let (http, grpc) = (
        format!("http://{}", run.http),
        format!("http://{}", run.grpc),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .arg(script)
            .arg(http)
            .arg(grpc)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace_id = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let v = view_path(&run, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(
        v.outline(),
        "py-frontend GET /order\n  py-frontend call pricing\n    py-backend POST /price\n      py-backend compute\n"
    );
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    let server = &v.nodes[2];
    assert_eq!(server.kind, "server");
    assert_eq!(
        server.parent_key.as_deref(),
        Some(v.nodes[1].key.as_str()),
        "parented by the client span across services"
    );
    assert_eq!(
        server.flags & 0x300,
        0x300,
        "the Python SDK marks the parent as remote"
    );
    assert_eq!(v.nodes[3].attributes.get(), r#"{"price.items":3}"#);
    run.shutdown().await;
}

/// Runs `tests/python/diagnoses.py <scenario>` against the server; returns the trace id.
async fn scenario(run: &weft_cli::serve::Running, name: &str) -> String {
    let py = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/diagnoses.py");
    let (name, http) = (name.to_owned(), format!("http://{}", run.http));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .arg(script)
            .arg(name)
            .arg(http)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sampler_that_is_not_parent_based_leaves_a_sampling_gap() {
    let run = start().await;
    let id = scenario(&run, "sampling_gap").await;
    let v = view_path(&run, &format!("/api/traces/{id}")).await;
    assert_eq!(
        v.outline(),
        "py-gateway GET /quote\n  py-gateway call pricing\npy-worker work\n  py-worker compute\n",
        "pricing exported nothing for this trace"
    );
    assert_eq!(codes(&v), ["missing_parent", "sampling_gap"]);
    let work = &v.nodes[2];
    assert_eq!(
        work.flags & 0x3ff,
        0x300,
        "Python sends only the is-remote bits"
    );
    let e = explain(&v, "sampling_gap");
    assert!(
        e.contains(
            "1 span(s) continue a remote parent that never arrived, e.g. 'work' (py-worker)"
        ),
        "{e}"
    );
    assert!(
        e.contains("not parent-based") && e.contains("ParentBased"),
        "{e}"
    );
    assert!(
        !e.contains("sampled=0 from an exporter"),
        "no flag evidence claimed: {e}"
    );
    run.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_foreign_traceparent_is_a_remote_missing_parent_rooted_outside() {
    let run = start().await;
    let id = scenario(&run, "foreign_parent").await;
    let v = view_path(&run, &format!("/api/traces/{id}")).await;
    assert_eq!(v.outline(), "py-worker GET /public\n  py-worker render\n");
    assert_eq!(
        codes(&v),
        ["external_root", "missing_parent"],
        "not a sampling gap: nothing upstream exports here"
    );
    assert!(
        explain(&v, "missing_parent").contains("(span flags: parent is remote)"),
        "{:#?}",
        v.findings
    );
    assert!(explain(&v, "external_root").contains("The trace was started outside"));
    run.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_parent_never_ended_is_a_local_missing_parent() {
    let run = start().await;
    let id = scenario(&run, "local_unended").await;
    let v = view_path(&run, &format!("/api/traces/{id}")).await;
    assert_eq!(v.outline(), "py-app step\n");
    assert_eq!(v.nodes[0].flags & 0x3ff, 0x100, "local parent, not remote");
    assert_eq!(codes(&v), ["missing_parent"]);
    let e = explain(&v, "missing_parent");
    assert!(
        e.contains("in the same process (span flags: parent is local)")
            && e.contains("never ended"),
        "{e}"
    );
    run.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clock_running_ahead_is_clock_skew() {
    let run = start().await;
    let id = scenario(&run, "clock_skew").await;
    let v = view_path(&run, &format!("/api/traces/{id}")).await;
    assert_eq!(
        v.outline(),
        "py-front GET /page\n  py-front call backend\n    py-backend GET /data\n"
    );
    assert_eq!(codes(&v), ["clock_skew"]);
    let e = explain(&v, "clock_skew");
    assert!(e.contains("The clock of 'py-backend' looks"), "{e}");
    assert!(e.contains("ahead of 'py-front'"), "{e}");
    let c = view_path(&run, &format!("/api/traces/{id}?correct_skew=1")).await;
    let offset = c.skew_offsets["py-backend"];
    assert!(
        (-2_100_000_000..=-1_900_000_000).contains(&offset),
        "about -2 s: {offset}"
    );
    let (call, server) = (&c.nodes[1], &c.nodes[2]);
    assert!(server.start_ns >= call.start_ns && server.end_ns <= call.end_ns);
    run.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_id_generator_seeded_alike_gives_duplicate_ids() {
    let run = start().await;
    let id = scenario(&run, "duplicate_ids").await;
    let v = view_path(&run, &format!("/api/traces/{id}")).await;
    assert_eq!(
        v.outline(),
        "py-gateway GET /batch\n  py-gateway call worker 0\n    py-worker POST /item\n  py-gateway call worker 1\n    py-worker POST /item\n"
    );
    assert!(
        codes(&v).contains(&"duplicate_span_id".to_owned()),
        "{:?}",
        codes(&v)
    );
    assert!(
        explain(&v, "duplicate_span_id").contains("2 different spans share span id"),
        "{:#?}",
        v.findings
    );
    run.shutdown().await;
}
