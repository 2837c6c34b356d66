//! A real Python exporter (opentelemetry-sdk 1.45.1, from `scripts/setup-python.sh`) sends a
//! trace across two services, one over OTLP/HTTP and one over OTLP/gRPC; the API's tree is
//! checked whole.
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
