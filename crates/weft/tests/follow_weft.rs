//! Context follows the work, with weft's own spans: every path's exported tree is
//! compared whole (names and parents), one trace per request.
#![allow(clippy::unwrap_used, missing_docs)]

use rayon::prelude::*;
use weft::export::memory::MemoryExporter;
use weft::rayon::ParallelIteratorExt;

fn local() -> (weft::Weft, MemoryExporter) {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone())
        .finish()
        .unwrap();
    (weft, memory)
}

fn tree(weft: &weft::Weft, memory: &MemoryExporter) -> String {
    assert!(weft.force_flush());
    let spans = memory.spans();
    let traces: std::collections::HashSet<_> =
        spans.iter().map(|s| s.span_context.trace_id()).collect();
    assert_eq!(traces.len(), 1, "one trace:\n{}", memory.tree());
    memory.tree()
}

fn double(x: i32) -> i32 {
    let _s = weft::span!("Doubling {x}", x).entered();
    x * 2
}

#[test]
fn the_seed_thread_pool_example_with_rayon() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let span = weft::span!("Doubling everything").entered();
        let results: Vec<i32> = (0..3)
            .into_par_iter()
            .in_current_context()
            .map(double)
            .collect();
        span.set_attribute("results", &results);
        assert_eq!(results, [0, 2, 4]);
    });
    let t = tree(&weft, &memory);
    let mut lines: Vec<&str> = t.lines().collect();
    lines[1..].sort_unstable();
    assert_eq!(
        lines,
        [
            "Doubling everything",
            "  Doubling 0",
            "  Doubling 1",
            "  Doubling 2"
        ],
        "{t}"
    );
}

#[test]
fn plain_rayon_loses_the_parent() {
    let (weft, memory) = local();
    let cx = weft.context();
    weft.in_scope(|| {
        let _span = weft::span!("Doubling everything").entered();
        // Without the adapter the pool threads see neither the span nor the instance;
        // give them the instance only, to show the parent is what is lost.
        let _: Vec<i32> = (0..3)
            .into_par_iter()
            .map(|x| {
                let _g = cx.clone().attach();
                double(x)
            })
            .collect();
    });
    assert!(weft.force_flush());
    let roots = memory
        .spans()
        .iter()
        .filter(|s| s.parent_span_id == opentelemetry::trace::SpanId::INVALID)
        .count();
    assert_eq!(
        roots,
        4,
        "each Doubling span is a root of its own:\n{}",
        memory.tree()
    );
}

#[test]
fn threads_and_scopes() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let _root = weft::span!("request").entered();
        weft::thread::spawn(|| weft::info!("in a thread"))
            .join()
            .unwrap();
        weft::thread::scope(|s| {
            s.spawn(|| {
                let _s = weft::span!("scoped work").entered();
                weft::info!("inside scoped work");
            });
        });
    });
    let t = tree(&weft, &memory);
    assert_eq!(
        t, "request\n  log in a thread\n  scoped work\n    log inside scoped work\n",
        "{t}"
    );
}

#[test]
fn tokio_tasks_across_awaits_on_a_multi_thread_runtime() {
    let (weft, memory) = local();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cx = weft.context();
    rt.block_on(weft::follow::FutureExt::in_context(
        async {
            let root = weft::span!("handler");
            let task = {
                let _e = root.enter();
                weft::tokio::spawn(async {
                    for i in 0..3 {
                        tokio::task::yield_now().await;
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        weft::info!("step {i}", i);
                    }
                })
            };
            let blocking = {
                let _e = root.enter();
                weft::tokio::spawn_blocking(|| weft::info!("blocking work"))
            };
            task.await.unwrap();
            blocking.await.unwrap();
            drop(root);
        },
        cx,
    ));
    let t = tree(&weft, &memory);
    let mut lines: Vec<&str> = t.lines().collect();
    lines[1..].sort_unstable();
    assert_eq!(
        lines,
        [
            "handler",
            "  log blocking work",
            "  log step 0",
            "  log step 1",
            "  log step 2"
        ],
        "{t}"
    );
}

/// The child half of `child_processes_join_the_parent_trace`: configured globally from
/// the environment `TRACEPARENT`, it records one span and prints its ids.
#[test]
fn child_process_half() {
    if std::env::var("WEFT_TEST_CHILD").is_err() {
        return;
    }
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone())
        .finish()
        .unwrap();
    {
        let _s = weft::span!("worker {n}", n = 1).entered();
    }
    assert!(weft.force_flush());
    let s = &memory.spans()[0];
    println!(
        "CHILD {} {} {}",
        s.span_context.trace_id(),
        s.parent_span_id,
        s.parent_is_remote
    );
}

#[test]
fn child_processes_join_the_parent_trace() {
    use weft::process::CommandExt;
    let (weft, _memory) = local();
    let (trace, parent, out) = weft.in_scope(|| {
        let span = weft::span!("spawn workers").entered();
        let sc = span.span_context().unwrap().clone();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process_half",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WEFT_TEST_CHILD", "1")
            .with_current_context()
            .output()
            .unwrap();
        (sc.trace_id(), sc.span_id(), out)
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find("CHILD ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("child said:\n{stdout}"));
    assert_eq!(
        line,
        format!("CHILD {trace} {parent} true"),
        "the child's root span is under `spawn workers`"
    );
}
