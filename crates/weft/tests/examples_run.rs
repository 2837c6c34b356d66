//! Runs the seed's pool examples and checks the trees they print.
//!
//! The examples' code is compiled into this test (`#[path]`), so no second cargo build
//! is needed: this binary re-runs itself with the example's name as its argument, and
//! that child runs the example's real `main` as a process of its own, global
//! `configure()` included. The process-pool example's workers are this binary again,
//! told apart by the variable the example sets on them. Hence `harness = false`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../examples/process_pool.rs"]
mod process_pool;
#[path = "../examples/thread_pool.rs"]
mod thread_pool;

use std::process::Command;

fn main() {
    if std::env::var_os(process_pool::WORKER_VAR).is_some() {
        return process_pool::main().unwrap();
    }
    match std::env::args().nth(1).as_deref() {
        Some("thread_pool") => return thread_pool::main().unwrap(),
        Some("process_pool") => return process_pool::main().unwrap(),
        _ => {}
    }
    thread_pool_prints_the_seed_tree();
    println!("test thread_pool_prints_the_seed_tree ... ok");
    process_pool_prints_one_joined_tree();
    println!("test process_pool_prints_one_joined_tree ... ok");
}

/// Runs an example in a child process and returns its stdout.
fn run_example(name: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg(name)
        // Nothing listens on the discard port: OTLP export fails at once, quietly for the test.
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .env("LOGFIRE_CONSOLE", "false")
        // A context this test inherited must not leak into the example.
        .env_remove("TRACEPARENT")
        .env_remove("TRACESTATE")
        .env_remove("BAGGAGE")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn thread_pool_prints_the_seed_tree() {
    let stdout = run_example("thread_pool");
    let (head, tree) = stdout.split_once("\nexported tree:\n").unwrap();
    assert_eq!(head.trim(), "results: [0, 2, 4]", "{stdout}");
    let mut lines: Vec<&str> = tree.trim_end().lines().collect();
    // The pool threads start their spans in any order.
    lines[1..].sort_unstable();
    assert_eq!(
        lines,
        [
            "Doubling everything",
            "  Doubling 0",
            "  Doubling 1",
            "  Doubling 2"
        ],
        "{stdout}"
    );
}

fn process_pool_prints_one_joined_tree() {
    let stdout = run_example("process_pool");
    assert_eq!(
        stdout,
        "
joined tree (4 processes, 1 trace):
Squaring in 3 worker processes
  worker 0
    Squaring 0
    log worker 0 squared 0 into 0
  worker 1
    Squaring 1
    log worker 1 squared 1 into 1
  worker 2
    Squaring 2
    log worker 2 squared 2 into 4

",
        "every worker's spans under the parent's span, in one trace"
    );
}
