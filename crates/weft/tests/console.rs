//! The console as a user sees it: this test binary re-runs itself as a child process
//! (`--ignored --exact console_child`) whose stderr is a pipe, configures the global
//! instance with the console on, and the parent reads what it printed: the time, level
//! tags, messages and indentation by nesting, no colour (a pipe is not a terminal),
//! levels below `LOGFIRE_CONSOLE_MIN_LOG_LEVEL` left out, nothing with
//! `LOGFIRE_CONSOLE=false`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

const CHILD_FLAG: &str = "WEFT_CONSOLE_CHILD";

/// Not a test of its own: the child process of the tests below.
#[test]
#[ignore = "the child process of the tests in this file; they run it"]
fn console_child() {
    assert!(
        std::env::var_os(CHILD_FLAG).is_some(),
        "run by this file's tests, which set {CHILD_FLAG}"
    );
    let weft = weft::configure()
        .deterministic()
        .no_default_exporter()
        .finish()
        .unwrap();
    {
        let _outer = weft::span!("Handling {user}", user = "ada").entered();
        weft::info!("cart has {n} items", n = 3);
        {
            let _inner = weft::span!("Doubling {x}", x = 2).entered();
            weft::warn!("slow: {ms} ms", ms = 150);
            weft::debug!("below the console's level");
        }
        weft::error!("payment failed");
    }
    weft::notice!("after the request");
    drop(weft); // Shutdown flushes: everything is printed before the process exits.
}

/// Runs the child with `vars` and returns its stderr.
fn child_stderr(vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "console_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_FLAG, "1");
    // Only the variables under test: none inherited from whoever runs the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("LOGFIRE_") || k.starts_with("OTEL_") || k == "TRACEPARENT" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child failed or ran no test:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn logfire_style_lines_indented_by_nesting_without_colour_on_a_pipe() {
    let stderr = child_stderr(&[]);
    assert!(!stderr.contains('\x1b'), "no colour on a pipe: {stderr:?}");
    // The deterministic clock starts at 1 s after the epoch and ticks 1 s per reading
    // (the debug log and span ends read it too); times are UTC.
    insta::assert_snapshot!(stderr, @r"
    00:00:01.000 Handling ada
    00:00:02.000   cart has 3 items
    00:00:03.000   Doubling 2
    00:00:04.000     [warn] slow: 150 ms
    00:00:07.000   [error] payment failed
    00:00:09.000 [notice] after the request
    ");
}

#[test]
fn the_console_min_level_comes_from_the_environment() {
    let stderr = child_stderr(&[("LOGFIRE_CONSOLE_MIN_LOG_LEVEL", "warn")]);
    insta::assert_snapshot!(stderr, @r"
    00:00:04.000     [warn] slow: 150 ms
    00:00:07.000   [error] payment failed
    ");
}

#[test]
fn logfire_console_false_prints_nothing() {
    assert_eq!(child_stderr(&[("LOGFIRE_CONSOLE", "false")]), "");
    // The negative control: the same child does print with the variable true.
    assert!(!child_stderr(&[("LOGFIRE_CONSOLE", "true")]).is_empty());
}
