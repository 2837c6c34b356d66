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

/// `tree` with siblings in text order: concurrent work starts in any order.
fn sorted(tree: &str) -> String {
    fn subtree<'a>(lines: &[&'a str], at: &mut usize, depth: usize) -> Vec<(&'a str, String)> {
        let mut nodes = Vec::new();
        while let Some(line) = lines.get(*at) {
            let indent = (line.len() - line.trim_start().len()) / 2;
            if indent < depth {
                break;
            }
            *at += 1;
            let mut children = subtree(lines, at, depth + 1);
            children.sort();
            let below: String = children.into_iter().map(|(_, s)| s).collect();
            nodes.push((line.trim_start(), format!("{line}\n{below}")));
        }
        nodes
    }
    let lines: Vec<&str> = tree.lines().collect();
    let mut roots = subtree(&lines, &mut 0, 0);
    roots.sort();
    roots.into_iter().map(|(_, s)| s).collect()
}

/// The seed's `double`, instrumented as the issue writes it.
#[weft::instrument("Doubling {x}")]
fn double(x: i32) -> i32 {
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
    let spans = memory.spans();
    let outer = spans
        .iter()
        .find(|s| s.name == "Doubling everything")
        .unwrap();
    assert_eq!(
        outer.attribute("results"),
        Some(&weft::Value::Json("[0,2,4]".into(), weft::JsonKind::Array)),
        "{:?}",
        outer.attributes
    );
    let mut doubling: Vec<_> = spans
        .iter()
        .filter(|s| s.span_context.span_id() != outer.span_context.span_id())
        .collect();
    doubling.sort_by_key(|s| s.message());
    let messages: Vec<String> = doubling.iter().map(|s| s.message()).collect();
    assert_eq!(messages, ["Doubling 0", "Doubling 1", "Doubling 2"]);
    for s in doubling {
        assert_eq!(s.name, "Doubling {x}", "the span name is the template");
        assert_eq!(s.parent_span_id, outer.span_context.span_id());
        assert!(!s.parent_is_remote, "a local parent, as on one thread");
    }
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

/// Awaits until the task resumes on a worker other than the one it was on, at most
/// ten tries, and returns whether it moved. Each try spawns a plain "blocker" task,
/// which tokio puts in this worker's LIFO slot and runs next, blocking this worker;
/// the sleep's timer fires on the other worker, which then polls this task. The
/// blocker also reports whether the suspended task left its context behind.
async fn resume_on_another_worker() -> (bool, bool) {
    let mut leaked = false;
    for _ in 0..10 {
        let before = std::thread::current().id();
        let blocker = tokio::spawn(async {
            let left_behind = !weft::get_context().is_empty();
            std::thread::sleep(std::time::Duration::from_millis(150));
            left_behind
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let after = std::thread::current().id();
        leaked |= blocker.await.unwrap();
        if before != after {
            return (true, leaked);
        }
    }
    (false, leaked)
}

#[test]
fn tokio_task_migration_spawn_blocking_and_join_set() {
    use weft::tokio::JoinSetExt;
    let (weft, memory) = local();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cx = weft.context();
    let (moved, leaked) = rt.block_on(weft::follow::FutureExt::in_context(
        async {
            let root = weft::span!("handler");
            let (task, blocking, mut set) = {
                let _e = root.enter();
                let task = weft::tokio::spawn(async {
                    weft::info!("before the await");
                    let moved = resume_on_another_worker().await;
                    weft::info!("after the await, on another worker");
                    moved
                });
                let blocking = weft::tokio::spawn_blocking(|| weft::info!("blocking work"));
                let mut set = tokio::task::JoinSet::new();
                for i in 0..3 {
                    set.spawn_in_current_context(async move {
                        tokio::task::yield_now().await;
                        let _s = weft::span!("join set task {i}", i).entered();
                        weft::info!("inside task {i}", i);
                    });
                }
                set.spawn_blocking_in_current_context(|| weft::info!("join set blocking"));
                (task, blocking, set)
            };
            let moved = task.await.unwrap();
            blocking.await.unwrap();
            while let Some(done) = set.join_next().await {
                done.unwrap();
            }
            drop(root);
            moved
        },
        cx,
    ));
    assert!(
        moved,
        "the task never resumed on the other worker; the test proves less than it claims"
    );
    assert!(
        !leaked,
        "the suspended task left its context attached to its first worker"
    );
    let t = tree(&weft, &memory);
    assert_eq!(
        sorted(&t),
        "handler
  join set task 0
    log inside task 0
  join set task 1
    log inside task 1
  join set task 2
    log inside task 2
  log after the await, on another worker
  log before the await
  log blocking work
  log join set blocking
",
        "{t}"
    );
}

/// Which half `child_process_half` plays, set by whoever starts it.
const CHILD_MODE: &str = "WEFT_TEST_CHILD";
/// Marks a stdout line carrying one exported record: trace, span, parent, remote, text.
const ROW: &str = "weft-row\t";
/// Marks a stdout line carrying the baggage a process saw outside any span.
const BAGGAGE: &str = "weft-baggage\t";

/// One exported record, as a child process reports it.
#[derive(Debug)]
struct Row {
    trace: String,
    span: String,
    parent: String,
    remote: bool,
    text: String,
}

impl Row {
    fn of(r: &weft::export::SpanRecord) -> Row {
        let kind = if r.span_type == weft::export::SpanType::Log {
            "log "
        } else {
            ""
        };
        Row {
            trace: r.span_context.trace_id().to_string(),
            span: r.span_context.span_id().to_string(),
            parent: r.parent_span_id.to_string(),
            remote: r.parent_is_remote,
            text: format!("{kind}{}", r.message()),
        }
    }

    fn line(&self) -> String {
        let Row {
            trace,
            span,
            parent,
            remote,
            text,
        } = self;
        format!("{ROW}{trace}\t{span}\t{parent}\t{remote}\t{text}")
    }

    fn parse(json: &str) -> Row {
        let f: Vec<&str> = json.splitn(5, '\t').collect();
        Row {
            trace: f[0].into(),
            span: f[1].into(),
            parent: f[2].into(),
            remote: f[3] == "true",
            text: f[4].into(),
        }
    }
}

/// The rows as a tree, siblings in text order; a remote parent is marked.
fn rows_tree(rows: &[Row]) -> String {
    fn walk(rows: &[Row], node: &Row, depth: usize, out: &mut String) {
        let remote = if node.remote { " (remote parent)" } else { "" };
        out.push_str(&format!("{}{}{remote}\n", "  ".repeat(depth), node.text));
        let mut children: Vec<&Row> = rows
            .iter()
            .filter(|r| r.parent == node.span && r.trace == node.trace)
            .collect();
        children.sort_by(|a, b| a.text.cmp(&b.text));
        children
            .into_iter()
            .for_each(|c| walk(rows, c, depth + 1, out));
    }
    let mut roots: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            !rows
                .iter()
                .any(|p| p.span == r.parent && p.trace == r.trace)
        })
        .collect();
    roots.sort_by(|a, b| a.text.cmp(&b.text));
    let mut out = String::new();
    roots.into_iter().for_each(|r| walk(rows, r, 0, &mut out));
    out
}

/// Runs `child_process_half` in a new process of this test binary, as `mode`, with
/// `context` applied to the command; returns the rows and `(mode, baggage)` it reported
/// (its own and those it relayed from grandchildren).
fn run_half(
    mode: &str,
    context: impl FnOnce(&mut std::process::Command) -> &mut std::process::Command,
) -> (Vec<Row>, Vec<(String, String)>) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process_half",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_MODE, mode);
    let out = context(&mut cmd).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "the {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = Vec::new();
    let mut baggage = Vec::new();
    for line in stdout.lines() {
        if let Some((_, row)) = line.split_once(ROW) {
            rows.push(Row::parse(row));
        } else if let Some((_, seen)) = line.split_once(BAGGAGE) {
            let (who, value) = seen.split_once('\t').unwrap();
            baggage.push((who.to_owned(), value.to_owned()));
        }
    }
    assert!(
        stdout.contains("1 passed"),
        "the {mode} did not run:\n{stdout}"
    );
    (rows, baggage)
}

/// The child (and grandchild) half of the child-process tests, run by them with
/// `--ignored --exact`: configured globally, as a real program is, from the
/// environment its parent set.
#[test]
#[ignore = "the child half of the child-process tests; they run it"]
fn child_process_half() {
    use weft::process::CommandExt;
    let mode = std::env::var(CHILD_MODE).expect("run by child_processes_join_the_parent_trace");
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone())
        .attach_from_env(mode != "off")
        .finish()
        .unwrap();
    // Outside any span: what the parent passed, baggage included.
    let seen = weft::get_context().get("baggage").unwrap_or("").to_owned();
    println!("\n{BAGGAGE}{mode}\t{seen}");
    let relay = |(rows, baggage): (Vec<Row>, Vec<(String, String)>)| {
        rows.iter().for_each(|r| println!("{}", r.line()));
        baggage
            .iter()
            .for_each(|(who, value)| println!("{BAGGAGE}{who}\t{value}"));
    };
    if mode.starts_with("grandchild") {
        drop(weft::span!("{mode}", mode));
    } else {
        {
            let _s = weft::span!("worker {n}", n = 1).entered();
            weft::info!("in the worker");
        }
        let is_child = mode == "child";
        let orphan = std::thread::spawn(move || {
            // A thread that inherits nothing: its spans join the parent's span too...
            drop(weft::span!("orphan thread"));
            // ...and so does a grandchild it starts, through the process's base context.
            is_child.then(|| run_half("grandchild from a thread", |c| c.with_current_context()))
        });
        if let Some(from_thread) = orphan.join().unwrap() {
            relay(from_thread);
        }
        if is_child {
            // Started outside any span, from the thread that configured weft.
            relay(run_half("grandchild from main", |c| {
                c.with_current_context()
            }));
        }
    }
    assert!(weft.force_flush());
    memory
        .spans()
        .iter()
        .for_each(|r| println!("{}", Row::of(r).line()));
}

/// Runs the child half as `mode` under the span "spawn workers" with baggage
/// `tenant=acme`; returns every process's rows merged, and the baggage each saw.
fn spawn_workers(mode: &str) -> (Vec<Row>, Vec<(String, String)>) {
    use weft::opentelemetry::KeyValue;
    use weft::opentelemetry::baggage::BaggageExt;
    use weft::process::CommandExt;
    let (weft, memory) = local();
    let cx = weft
        .context()
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let (mut rows, baggage) = {
        let _cx = cx.attach();
        let _span = weft::span!("spawn workers").entered();
        run_half(mode, |c| c.with_current_context())
    };
    assert!(weft.force_flush());
    rows.extend(memory.spans().iter().map(Row::of));
    (rows, baggage)
}

#[test]
fn child_processes_join_the_parent_trace() {
    let (rows, mut baggage) = spawn_workers("child");
    assert_eq!(
        rows_tree(&rows),
        "spawn workers
  grandchild from a thread (remote parent)
  grandchild from main (remote parent)
  orphan thread (remote parent)
  worker 1 (remote parent)
    log in the worker
",
        "{rows:#?}"
    );
    let traces: std::collections::HashSet<&str> = rows.iter().map(|r| r.trace.as_str()).collect();
    assert_eq!(traces.len(), 1, "one trace across three generations");
    baggage.sort();
    assert_eq!(
        baggage,
        [
            ("child".to_owned(), "tenant=acme".to_owned()),
            (
                "grandchild from a thread".to_owned(),
                "tenant=acme".to_owned()
            ),
            ("grandchild from main".to_owned(), "tenant=acme".to_owned()),
        ],
        "the baggage reached the child and, through it, the grandchildren"
    );
}

/// `attach_from_env(false)`: the child ignores the context it was passed, and every
/// span it makes is a root of a trace of its own.
#[test]
fn attach_from_env_false_makes_the_child_a_root() {
    let (rows, baggage) = spawn_workers("off");
    assert_eq!(
        rows_tree(&rows),
        "orphan thread\nspawn workers\nworker 1\n  log in the worker\n",
        "{rows:#?}"
    );
    let traces: std::collections::HashSet<&str> = rows.iter().map(|r| r.trace.as_str()).collect();
    assert_eq!(traces.len(), 3, "the parent's trace and two new roots");
    assert_eq!(baggage, [("off".to_owned(), String::new())]);
}
