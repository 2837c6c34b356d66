//! Context follows tokio tasks across `.await` on a multi-thread runtime, through
//! `spawn_blocking` and `JoinSet`; plain `tokio::spawn` does not carry it.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod follow_support;

use std::time::Duration;

use follow_support::Harness;
use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, Tracer};
use tokio::task::JoinSet;
use weft_context::follow::{self, FutureExt, tokio::JoinSetExt};

/// Negative control: a plain task starts with an empty context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_spawn_and_spawn_blocking_start_new_traces() {
    let h = Harness::new();
    let (task, blocking) = h.in_span("parent", || {
        let (t1, t2) = (h.tracer().clone(), h.tracer().clone());
        (
            tokio::spawn(async move { t1.in_span("task", |_| {}) }),
            tokio::task::spawn_blocking(move || t2.in_span("blocking", |_| {})),
        )
    });
    task.await.unwrap();
    blocking.await.unwrap();
    assert_eq!(h.tree(), "blocking\nparent\ntask\n");
    assert_eq!(h.trace_count(), 3);
}

/// Forces the task to resume on the *other* worker, then checks its span's parent.
///
/// The task spawns a plain "blocker" task, which tokio puts in its worker's LIFO slot, and
/// then sleeps. Its worker runs the blocker next, which blocks that worker; the sleep's
/// timer is fired by the other worker, which then runs the task. The blocker also checks
/// that the first worker was left clean by the suspended task: no guard across `.await`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_survives_resuming_on_another_worker() {
    let h = Harness::new();
    let task = h.in_span("parent", || {
        let tracer = h.tracer().clone();
        follow::tokio::spawn(async move {
            let before = std::thread::current().id();
            tracer.in_span("before await", |_| {});
            let blocker = tokio::spawn(async {
                let leaked = Context::current().has_active_span();
                std::thread::sleep(Duration::from_millis(300));
                leaked
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let after = std::thread::current().id();
            tracer.in_span("after await", |_| {});
            tokio::task::yield_now().await;
            tracer.in_span("after yield", |_| {});
            (before, after, blocker.await.unwrap())
        })
    });
    let (before, after, leaked) = task.await.unwrap();
    assert_ne!(
        before, after,
        "the task did not migrate; the test proves less than it claims"
    );
    assert!(
        !leaked,
        "the suspended task left its context attached to its first worker"
    );
    assert_eq!(
        h.tree(),
        "parent\n  after await\n  after yield\n  before await\n"
    );
    assert_eq!(h.trace_count(), 1);
}

/// Many tasks, each yielding and sleeping several times: wherever each resumes, every
/// span after every `.await` lands under the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_with_yields_and_sleeps_keep_their_parent() {
    let h = Harness::new();
    let tasks: Vec<_> = h.in_span("parent", || {
        (0..8)
            .map(|i| {
                let tracer = h.tracer().clone();
                follow::tokio::spawn(async move {
                    for step in 0..3 {
                        tokio::task::yield_now().await;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        tracer.in_span(format!("task {i} step {step}"), |_| {});
                    }
                })
            })
            .collect()
    });
    for t in tasks {
        t.await.unwrap();
    }
    let mut expected = String::from("parent\n");
    let mut names: Vec<String> = (0..8)
        .flat_map(|i| (0..3).map(move |s| format!("task {i} step {s}")))
        .collect();
    names.sort();
    names
        .iter()
        .for_each(|n| expected.push_str(&format!("  {n}\n")));
    assert_eq!(h.tree(), expected);
    assert_eq!(h.trace_count(), 1);
}

/// Inside a task, `.in_context(cx)` scopes a child span over an inner future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_spans_inside_a_task_nest() {
    let h = Harness::new();
    let task = h.in_span("parent", || {
        let tracer = h.tracer().clone();
        follow::tokio::spawn(async move {
            let child = Context::current_with_span(tracer.start("child"));
            async {
                tokio::task::yield_now().await;
                tracer.in_span("grandchild", |_| {});
            }
            .in_context(child.clone())
            .await;
            child.span().end();
            tracer.in_span("sibling", |_| {});
        })
    });
    task.await.unwrap();
    assert_eq!(h.tree(), "parent\n  child\n    grandchild\n  sibling\n");
    assert_eq!(h.trace_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_carries_context() {
    let h = Harness::new();
    let caller = std::thread::current().id();
    let blocking = h.in_span("parent", || {
        let tracer = h.tracer().clone();
        follow::tokio::spawn_blocking(move || {
            tracer.in_span("blocking", |_| {});
            std::thread::current().id()
        })
    });
    assert_ne!(blocking.await.unwrap(), caller);
    assert_eq!(h.tree(), "parent\n  blocking\n");
    assert_eq!(h.trace_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_set_spawns_carry_context() {
    let h = Harness::new();
    let mut set = JoinSet::new();
    h.in_span("parent", || {
        for i in 0..3 {
            let tracer = h.tracer().clone();
            set.spawn_in_current_context(async move {
                tokio::task::yield_now().await;
                tracer.in_span(format!("task {i}"), |_| {});
            });
        }
        let tracer = h.tracer().clone();
        set.spawn_blocking_in_current_context(move || tracer.in_span("blocking", |_| {}));
    });
    set.join_all().await;
    assert_eq!(
        h.tree(),
        "parent\n  blocking\n  task 0\n  task 1\n  task 2\n"
    );
    assert_eq!(h.trace_count(), 1);
}

/// `.in_current_context()` works with any spawn API, here `Handle::spawn`, and
/// `spawn_local` on a `LocalSet`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_ext_and_spawn_local_carry_context() {
    let h = Harness::new();
    let handle = tokio::runtime::Handle::current();
    let local = tokio::task::LocalSet::new();
    let (remote, local_task) = h.in_span("parent", || {
        let (t1, t2) = (h.tracer().clone(), h.tracer().clone());
        (
            handle.spawn(
                async move {
                    tokio::task::yield_now().await;
                    t1.in_span("handle spawn", |_| {});
                }
                .in_current_context(),
            ),
            local.spawn_local(
                async move {
                    tokio::task::yield_now().await;
                    t2.in_span("local", |_| {});
                }
                .in_current_context(),
            ),
        )
    });
    remote.await.unwrap();
    local.run_until(local_task).await.unwrap();

    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let task = h.in_span("parent 2", || {
                let tracer = h.tracer().clone();
                follow::tokio::spawn_local(async move {
                    tokio::task::yield_now().await;
                    tracer.in_span("spawn_local", |_| {});
                })
            });
            task.await.unwrap();
        })
        .await;

    assert_eq!(
        h.tree(),
        "parent\n  handle spawn\n  local\nparent 2\n  spawn_local\n"
    );
    assert_eq!(h.trace_count(), 2);
}
