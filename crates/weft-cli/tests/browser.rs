//! A real browser (Debian's headless Chromium, driven by playwright-core from
//! `tests/browser/viewer.mjs`) opens the list, sees a trace pushed live over SSE, opens a
//! trace, sees the tree and the waterfall (one colour per service, the critical path, an
//! open bar for a pending span), collapses it, clicks a span and reads its attributes, a
//! span's inline logs, ticks the clock-skew correction, follows a deep link and a span link
//! to another trace; the live push is exported cross-origin from the page itself (CORS).
//! Set up with `scripts/setup-chromium.sh`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::*;

const T: u128 = 0x7f3e0c1a9b2d4e5f8a6b7c8d9e0f1a2b;
const LINKED: u128 = 0x11112222333344445555666677778888;

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
                .attr("db.system", "sqlite")
                .link(LINKED, 0x21),
            S::new("cart", "cache miss", T, 5, Some(3), t0 + 41, t0 + 41)
                .attr("logfire.span_type", "log")
                .attr("logfire.level_num", "13"),
            S::new("payments", "charge", T, 6, Some(0x99), t0 + 62, t0 + 75)
                .kind(SERVER)
                .flags(REMOTE),
            // inventory's clock is 3 ms behind: its server span starts before the call.
            S::new("inventory", "GET /stock", T, 8, Some(2), t0 + 2, t0 + 4)
                .kind(SERVER)
                .flags(REMOTE),
            // Logfire's pending record of span 7 (started under the root, not ended).
            S::new("frontend", "render", T, 0x1007, Some(7), t0 + 50, t0 + 50)
                .attr("logfire.span_type", "pending_span")
                .attr("logfire.pending_parent_id", "0000000000000001"),
            S::new("batch", "nightly batch", LINKED, 0x21, None, t0, t0 + 5),
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
                format!("{LINKED:032x}"),
                format!("{:016x}", 0x21),
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
            "GET /stock",
            "POST /cart",
            "SELECT cart",
            "cache miss",
            "render",
            "charge"
        ])
    );
    assert_eq!(report["colors"], 4, "frontend, cart, payments, inventory");
    // What the root waited on: the cart call, and in it inventory (before the cart server
    // began) and the cart server; not charge (another root), not the pending render
    // (it overlaps the cart call), and the log is no bar.
    assert_eq!(
        report["critical"],
        serde_json::json!([
            "GET /checkout",
            "POST cart",
            "GET /stock",
            "POST /cart",
            "SELECT cart"
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
