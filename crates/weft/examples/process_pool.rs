//! Run with `cargo run -p weft --example process_pool`.
//!
//! The seed's `ProcessPoolExecutor` example in Rust: the parent opens a span and runs
//! a pool of worker processes, each this same binary started again with
//! `Command::with_current_context()`, which passes the span in `TRACEPARENT` (and
//! `TRACESTATE`, `BAGGAGE`). Each worker's `configure()` makes that context its own,
//! so every worker's spans are children of the parent's span, in the same trace.
//!
//! Each worker prints what it exported on stdout, one record a line, and the parent
//! joins those with its own records and prints the tree of the whole trace. (A real
//! application would let every process export to the same backend, such as
//! `weft serve`, which joins them the same way.)
#![allow(missing_docs, unreachable_pub)]

use std::collections::HashSet;
use std::error::Error;
use std::process::{Command, Stdio};
use weft::export::memory::MemoryExporter;
use weft::export::{SpanRecord, SpanType};
use weft::process::CommandExt;

/// Set on a worker's environment to its index; the parent has none.
pub const WORKER_VAR: &str = "WEFT_PROCESS_POOL_WORKER";
/// Marks a worker's stdout lines that carry an exported record.
const RECORD_PREFIX: &str = "weft-record\t";
/// How many worker processes the parent runs.
const WORKERS: u32 = 3;

#[weft::instrument("Squaring {x}")]
fn square(x: u32) -> u32 {
    x * x
}

pub fn main() -> Result<(), Box<dyn Error>> {
    match std::env::var(WORKER_VAR) {
        Ok(index) => worker(index.parse()?),
        Err(_) => parent(),
    }
}

fn parent() -> Result<(), Box<dyn Error>> {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .service_name("process-pool")
        .exporter(memory.clone())
        .finish()?;

    let mut rows = Vec::new();
    {
        let span = weft::span!("Squaring in {n} worker processes", n = WORKERS).entered();
        // Start every worker first, then collect them: they run at the same time.
        let workers = (0..WORKERS)
            .map(|i| {
                Command::new(std::env::current_exe()?)
                    .env(WORKER_VAR, i.to_string())
                    .with_current_context()
                    .stdout(Stdio::piped())
                    .spawn()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = Vec::new();
        for child in workers {
            let out = child.wait_with_output()?;
            if !out.status.success() {
                return Err(format!("a worker failed: {}", out.status).into());
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            for line in stdout.lines() {
                if let Some(record) = line.strip_prefix(RECORD_PREFIX) {
                    rows.push(Row::parse(record)?);
                } else if let Some(result) = line.strip_prefix("result ") {
                    results.push(result.parse::<u32>()?);
                }
            }
        }
        span.set_attribute("results", &results);
    }
    weft.force_flush();
    rows.extend(memory.spans().iter().map(Row::from));

    let traces: HashSet<&str> = rows.iter().map(|r| r.trace.as_str()).collect();
    println!(
        "\njoined tree ({} processes, {} trace):\n{}",
        WORKERS + 1,
        traces.len(),
        render(&rows)
    );
    Ok(())
}

fn worker(index: u32) -> Result<(), Box<dyn Error>> {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .service_name("process-pool-worker")
        .console(false)
        .exporter(memory.clone())
        .finish()?;
    let result = {
        // A root span here, yet a child of the parent's span: configure() attached it.
        let _s = weft::span!("worker {index}", index, pid = std::process::id()).entered();
        let y = square(index);
        weft::info!("worker {index} squared {index} into {y}", index, y);
        y
    };
    weft.force_flush();
    println!("result {result}");
    for record in memory.spans() {
        println!("{RECORD_PREFIX}{}", Row::from(&record).to_line());
    }
    Ok(())
}

/// One exported record, as a worker passes it to the parent.
struct Row {
    trace: String,
    span: String,
    parent: String,
    /// `log ` for a log, empty for a span, then the rendered message.
    text: String,
}

impl From<&SpanRecord> for Row {
    fn from(r: &SpanRecord) -> Row {
        let kind = if r.span_type == SpanType::Log {
            "log "
        } else {
            ""
        };
        Row {
            trace: r.span_context.trace_id().to_string(),
            span: r.span_context.span_id().to_string(),
            parent: r.parent_span_id.to_string(),
            text: format!("{kind}{}", r.message()),
        }
    }
}

impl Row {
    fn to_line(&self) -> String {
        // Messages never hold a tab or newline here; ids are hex.
        format!(
            "{}\t{}\t{}\t{}",
            self.trace, self.span, self.parent, self.text
        )
    }

    fn parse(line: &str) -> Result<Row, String> {
        let mut fields = line.splitn(4, '\t').map(str::to_owned);
        let mut next = || fields.next().ok_or(format!("a short record: {line:?}"));
        Ok(Row {
            trace: next()?,
            span: next()?,
            parent: next()?,
            text: next()?,
        })
    }
}

/// Roots first, children indented under their parent, siblings in message order (the
/// workers run at the same time, so start order says nothing).
fn render(rows: &[Row]) -> String {
    fn walk(rows: &[Row], node: &Row, depth: usize, out: &mut String) {
        out.push_str(&format!("{}{}\n", "  ".repeat(depth), node.text));
        let mut children: Vec<&Row> = rows
            .iter()
            .filter(|r| r.parent == node.span && r.trace == node.trace)
            .collect();
        children.sort_by(|a, b| a.text.cmp(&b.text));
        for child in children {
            walk(rows, child, depth + 1, out);
        }
    }
    let ids: HashSet<&str> = rows.iter().map(|r| r.span.as_str()).collect();
    let mut roots: Vec<&Row> = rows
        .iter()
        .filter(|r| !ids.contains(r.parent.as_str()))
        .collect();
    roots.sort_by(|a, b| a.text.cmp(&b.text));
    let mut out = String::new();
    for root in roots {
        walk(rows, root, 0, &mut out);
    }
    out
}
