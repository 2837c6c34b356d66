//! Context follows a real child process through `TRACEPARENT`/`TRACESTATE`/`BAGGAGE`.
//!
//! The child is this very test binary, re-run with `WEFT_FOLLOW_CHILD=1` and
//! `--ignored --exact` to run only [`child_process_entry_point`]. The child attaches the context from
//! its environment, opens a span with its own SDK pipeline, and prints what it exported
//! as one JSON line; the parent merges that with its own export and checks the tree.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]
#![allow(
    clippy::print_stdout,
    reason = "the child reports to its parent on stdout"
)]

mod follow_support;

use std::process::{Command, Output};

use follow_support::{Harness, SpanRow, trace_count, tree};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use serde::{Deserialize, Serialize};
use weft_context::follow::process::{self, CommandExt};

const CHILD_FLAG: &str = "WEFT_FOLLOW_CHILD";
const REPORT_PREFIX: &str = "WEFT_CHILD_REPORT ";
const ENV_NAMES: [&str; 3] = ["TRACEPARENT", "TRACESTATE", "BAGGAGE"];

/// What the child prints for its parent.
#[derive(Serialize, Deserialize)]
struct ChildReport {
    spans: Vec<SpanRow>,
    baggage: Vec<(String, String)>,
}

/// Not a test of its own: the body of the child process, which the tests below run with
/// `--ignored --exact`.
#[test]
#[ignore = "the child process of the tests in this file; they run it"]
fn child_process_entry_point() {
    assert!(
        std::env::var_os(CHILD_FLAG).is_some(),
        "run by this file's tests, which set {CHILD_FLAG}"
    );
    let h = Harness::new();
    let baggage = {
        // What weft's `configure()` does at start-up.
        let _parent = process::attach_from_env();
        h.in_span("child process", || h.leaf("child work"));
        Context::map_current(|cx| {
            cx.baggage()
                .iter()
                .map(|(k, (v, _))| (k.to_string(), v.to_string()))
                .collect()
        })
    };
    let report = ChildReport {
        spans: h.rows(),
        baggage,
    };
    // libtest has already printed `test child_process_entry_point ... ` on this line.
    println!(
        "\n{REPORT_PREFIX}{}",
        serde_json::to_string(&report).unwrap()
    );
}

/// Parses the child's report out of its captured output.
fn child_report(output: Output) -> ChildReport {
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(REPORT_PREFIX).map(|(_, json)| json))
        .unwrap_or_else(|| panic!("no report from the child; its stdout was:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

fn this_test_binary_as_child() -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process_entry_point",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_FLAG, "1");
    cmd
}

/// Negative control: a plain spawn passes no context, so the child starts a new trace.
/// (The three variables are removed so a context inherited by *this* test process,
/// say from a traced CI runner, cannot leak in.)
#[test]
fn plain_command_child_starts_a_new_trace() {
    let h = Harness::new();
    let report = h.in_span("parent", || {
        let mut cmd = this_test_binary_as_child();
        ENV_NAMES.iter().for_each(|n| {
            cmd.env_remove(n);
        });
        child_report(cmd.output().unwrap())
    });
    let mut all = h.rows();
    all.extend(report.spans);
    assert_eq!(tree(&all), "child process\n  child work\nparent\n");
    assert_eq!(trace_count(&all), 2);
}

#[test]
fn child_spans_land_under_the_parent_span_with_its_baggage() {
    let h = Harness::new();
    let cx = h
        .span_context("parent")
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let report = {
        let _guard = cx.clone().attach();
        child_report(
            this_test_binary_as_child()
                .with_current_context()
                .output()
                .unwrap(),
        )
    };
    cx.span().end();
    let mut all = h.rows();
    all.extend(report.spans);
    assert_eq!(
        tree(&all),
        "parent\n  child process (remote parent)\n    child work\n"
    );
    assert_eq!(trace_count(&all), 1);
    assert_eq!(report.baggage, [("tenant".to_owned(), "acme".to_owned())]);
}

/// A `TRACEPARENT` this process inherited (or someone set on the command) is stale once
/// there is no current context: `with_current_context` removes it.
#[test]
fn stale_context_variables_are_removed() {
    let stale = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut cmd = this_test_binary_as_child();
    cmd.env("TRACEPARENT", stale)
        .env("BAGGAGE", "stale=1")
        .with_current_context();
    let mut removed: Vec<_> = cmd
        .get_envs()
        .filter(|(k, v)| ENV_NAMES.iter().any(|n| k == n) && v.is_none())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    removed.sort();
    assert_eq!(removed, ["BAGGAGE", "TRACEPARENT", "TRACESTATE"]);

    let report = child_report(cmd.output().unwrap());
    assert_eq!(tree(&report.spans), "child process\n  child work\n");
    assert!(report.baggage.is_empty());
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_command_passes_the_context() {
    let h = Harness::new();
    let cx = h.span_context("parent");
    let child = {
        let _guard = cx.clone().attach();
        let mut cmd = tokio::process::Command::from(this_test_binary_as_child());
        cmd.with_current_context();
        cmd.output()
    }; // the guard is dropped before the `.await`
    let report = child_report(child.await.unwrap());
    cx.span().end();
    let mut all = h.rows();
    all.extend(report.spans);
    assert_eq!(
        tree(&all),
        "parent\n  child process (remote parent)\n    child work\n"
    );
    assert_eq!(trace_count(&all), 1);
}

/// The child side reads an injected environment: no real process, no `set_var`.
#[test]
fn attach_from_injected_env_vars() {
    assert!(process::context_from_env_vars([("PATH", "/bin")]).is_none());
    assert!(process::attach_from_env_vars(Vec::<(String, String)>::new()).is_none());

    let env = [
        ("HOME", "/root"),
        (
            "TRACEPARENT",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("TRACESTATE", "vendor=x"),
        ("BAGGAGE", "tenant=acme"),
    ];
    let carrier = process::context_from_env_vars(env).unwrap();
    assert_eq!(carrier.len(), 3);

    let h = Harness::new();
    {
        let _parent = process::attach_from_env_vars(env).unwrap();
        let cx = Context::current();
        assert_eq!(
            cx.baggage().get("tenant").map(|v| v.to_string()).as_deref(),
            Some("acme")
        );
        let expected = SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
            SpanId::from(0xb7ad6b7169203331),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("vendor", "x")]).unwrap(),
        );
        assert_eq!(cx.span().span_context(), &expected);
        h.leaf("child");
    }
    let rows = h.rows();
    assert_eq!(tree(&rows), "child <- missing parent (remote parent)\n");
    assert_eq!(rows[0].parent_span_id, "b7ad6b7169203331");
    assert_eq!(rows[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
    // Detached again once the guard dropped.
    assert!(!Context::current().has_active_span());
}

/// The parent side writes exactly the three variables of the current context.
#[test]
fn command_ext_sets_the_variables_from_the_current_context() {
    let h = Harness::new();
    let cx = h
        .span_context("parent")
        .with_baggage([KeyValue::new("k", "v")]);
    let span_context = cx.span().span_context().clone();
    let mut cmd = Command::new("true");
    {
        let _guard = cx.attach();
        cmd.with_current_context();
    }
    let envs: Vec<(String, Option<String>)> = cmd
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let traceparent = format!(
        "00-{}-{}-01",
        span_context.trace_id(),
        span_context.span_id()
    );
    assert_eq!(
        envs,
        [
            ("BAGGAGE".to_owned(), Some("k=v".to_owned())),
            ("TRACEPARENT".to_owned(), Some(traceparent)),
            ("TRACESTATE".to_owned(), None),
        ]
    );
}
