//! A real browser (Debian's headless Chromium, driven by playwright-core from
//! `tests/browser/viewer.mjs`) opens the list, sees a trace pushed live over SSE, opens a
//! trace, sees the tree and the waterfall, collapses it, clicks a span and reads its
//! attributes, and follows a deep link. Set up with `scripts/setup-chromium.sh`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::*;

const T: u128 = 0x7f3e0c1a9b2d4e5f8a6b7c8d9e0f1a2b;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_sees_the_tree_waterfall_and_span_details() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let script = root.join("tests/browser/viewer.mjs");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && root
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        "Chromium or playwright-core is missing: run scripts/setup-chromium.sh"
    );
    let run = start().await;
    let t0 = now_ms();
    send(
        &run,
        &[
            S::new("frontend", "GET /checkout", T, 1, None, t0, t0 + 80)
                .kind(SERVER)
                .attr("http.route", "/checkout"),
            S::new("frontend", "POST cart", T, 2, Some(1), t0 + 5, t0 + 60).kind(CLIENT),
            S::new("cart", "POST /cart", T, 3, Some(2), t0 + 7, t0 + 58)
                .kind(SERVER)
                .flags(REMOTE),
            S::new("cart", "SELECT cart", T, 4, Some(3), t0 + 10, t0 + 40)
                .attr("db.system", "sqlite"),
            S::new("cart", "cache miss", T, 5, Some(3), t0 + 41, t0 + 41)
                .attr("logfire.span_type", "log")
                .attr("logfire.level_num", "13"),
            S::new("payments", "charge", T, 6, Some(0x99), t0 + 62, t0 + 75)
                .kind(SERVER)
                .flags(REMOTE),
        ],
    )
    .await;
    let shot = std::env::temp_dir().join("weft-viewer.png");
    let (ui, otlp) = (format!("http://{}", run.ui), format!("http://{}", run.http));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .args([
                ui,
                otlp,
                format!("{T:032x}"),
                format!("{:016x}", 4),
                shot.display().to_string(),
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("node runs (Node.js 18+ is needed for the browser test)");
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["rows"],
        serde_json::json!([
            "GET /checkout",
            "POST cart",
            "POST /cart",
            "SELECT cart",
            "cache miss",
            "charge"
        ])
    );
    assert!(
        report["health"]
            .as_str()
            .unwrap()
            .contains("missing parent")
    );
    run.shutdown().await;
}
