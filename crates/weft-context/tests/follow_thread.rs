//! Context follows `follow::thread::{spawn, Builder}` and any executor through
//! `follow::wrap` / `follow::wrap_fn` / `ContextExt`; plain `std::thread::spawn` does not.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod follow_support;

use std::sync::mpsc;

use follow_support::Harness;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::{Context, KeyValue};
use weft_context::follow::{self, ContextExt};

/// The negative control: without help the thread-local context does not travel, so the
/// child is a new root in a new trace. If this ever changes, the positive tests below
/// prove nothing.
#[test]
fn plain_std_spawn_starts_a_new_trace() {
    let h = Harness::new();
    h.in_span("parent", || {
        std::thread::spawn({
            let tracer = h.tracer().clone();
            move || opentelemetry::trace::Tracer::in_span(&tracer, "child", |_| {})
        })
        .join()
        .unwrap();
    });
    assert_eq!(h.tree(), "child\nparent\n");
    assert_eq!(h.trace_count(), 2);
}

#[test]
fn spawn_puts_the_thread_s_spans_under_the_spawner() {
    let h = Harness::new();
    h.in_span("parent", || {
        let tracer = h.tracer().clone();
        let caller = std::thread::current().id();
        let ran_on = follow::thread::spawn(move || {
            opentelemetry::trace::Tracer::in_span(&tracer, "child", |_| {
                opentelemetry::trace::Tracer::in_span(&tracer, "grandchild", |_| {});
            });
            std::thread::current().id()
        })
        .join()
        .unwrap();
        assert_ne!(ran_on, caller);
    });
    assert_eq!(h.tree(), "parent\n  child\n    grandchild\n");
    assert_eq!(h.trace_count(), 1);
}

#[test]
fn the_context_is_captured_at_spawn_time_and_detached_after() {
    let h = Harness::new();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let handle = h.in_span("spawner", || {
        let tracer = h.tracer().clone();
        follow::thread::spawn(move || {
            // The spawner's span has ended by now; the child must still point at it.
            go_rx.recv().unwrap();
            opentelemetry::trace::Tracer::in_span(&tracer, "late child", |_| {});
        })
    });
    h.in_span("unrelated", || go_tx.send(()).unwrap());
    handle.join().unwrap();
    assert_eq!(h.tree(), "spawner\n  late child\nunrelated\n");
    assert_eq!(h.trace_count(), 2);
}

#[test]
fn builder_spawn_carries_context_and_keeps_options() {
    let h = Harness::new();
    h.in_span("parent", || {
        let tracer = h.tracer().clone();
        let name = follow::thread::Builder::new()
            .name("weft-worker".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                opentelemetry::trace::Tracer::in_span(&tracer, "child", |_| {});
                std::thread::current().name().map(str::to_owned)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(name.as_deref(), Some("weft-worker"));
    });
    assert_eq!(h.tree(), "parent\n  child\n");
    assert_eq!(h.trace_count(), 1);
}

/// In-process hops move the `Context` value itself, unlike Python Logfire's W3C
/// round-trip: the parent is local, and baggage and custom values arrive too.
#[test]
fn the_parent_is_local_and_every_context_value_travels() {
    #[derive(Debug, PartialEq)]
    struct RequestId(u64);

    let h = Harness::new();
    let cx = h
        .span_context("parent")
        .with_baggage([KeyValue::new("tenant", "acme")])
        .with_value(RequestId(7));
    let (baggage, request_id) = {
        let _guard = cx.attach();
        let tracer = h.tracer().clone();
        follow::thread::spawn(move || {
            opentelemetry::trace::Tracer::in_span(&tracer, "child", |_| {});
            let cx = Context::current();
            (
                cx.baggage().get("tenant").map(|v| v.to_string()),
                cx.get::<RequestId>().map(|r| r.0),
            )
        })
        .join()
        .unwrap()
    };
    assert_eq!(baggage.as_deref(), Some("acme"));
    assert_eq!(request_id, Some(7));
    // No " (remote parent)" marker: the parent link is local.
    assert_eq!(h.tree(), "parent\n  child\n");
    assert!(h.rows().iter().all(|r| !r.parent_is_remote));
}

/// A hand-made pool: long-lived workers fed boxed jobs through a channel, the shape of the
/// `threadpool` crate. Jobs are wrapped when queued, under different parents.
#[test]
fn wrap_carries_context_through_a_hand_made_pool() {
    type Job = Box<dyn FnOnce() + Send>;
    let h = Harness::new();
    let (tx, rx) = crossbeam_like_queue();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                while let Ok(job) = rx.lock().unwrap().recv() {
                    job();
                }
            })
        })
        .collect();
    for batch in ["batch a", "batch b"] {
        h.in_span(batch, || {
            for i in 0..2 {
                let tracer = h.tracer().clone();
                let job: Job = Box::new(follow::wrap(move || {
                    opentelemetry::trace::Tracer::in_span(&tracer, format!("job {i}"), |_| {});
                }));
                tx.send(job).unwrap();
            }
        });
    }
    drop(tx);
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(
        h.tree(),
        "batch a\n  job 0\n  job 1\nbatch b\n  job 0\n  job 1\n"
    );
    assert_eq!(h.trace_count(), 2);

    fn crossbeam_like_queue() -> (
        mpsc::Sender<Job>,
        std::sync::Arc<std::sync::Mutex<mpsc::Receiver<Job>>>,
    ) {
        let (tx, rx) = mpsc::channel();
        (tx, std::sync::Arc::new(std::sync::Mutex::new(rx)))
    }
}

/// `wrap_fn` makes one callback that many threads call at once.
#[test]
fn wrap_fn_attaches_around_every_call_from_any_thread() {
    let h = Harness::new();
    h.in_span("map", || {
        let tracer = h.tracer().clone();
        let double = follow::wrap_fn(move |x: u32| {
            opentelemetry::trace::Tracer::in_span(&tracer, format!("double {x}"), |_| x * 2)
        });
        let out = std::thread::scope(|s| {
            let double = &double;
            let handles: Vec<_> = (0..3).map(|x| s.spawn(move || double(x))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(out, [0, 2, 4]);
    });
    assert_eq!(h.tree(), "map\n  double 0\n  double 1\n  double 2\n");
    assert_eq!(h.trace_count(), 1);
}

/// `ContextExt` carries an explicit context, not the current one.
#[test]
fn context_ext_wraps_with_an_explicit_context() {
    let h = Harness::new();
    let kept = h.span_context("kept for later");
    h.in_span("current", || {
        let tracer = h.tracer().clone();
        let job = kept
            .clone()
            .wrap(move || opentelemetry::trace::Tracer::in_span(&tracer, "job", |_| {}));
        std::thread::spawn(job).join().unwrap();
        kept.in_scope(|| h.leaf("in scope"));
        h.leaf("after");
    });
    drop(kept);
    assert_eq!(
        h.tree(),
        "current\n  after\nkept for later\n  in scope\n  job\n"
    );
    assert_eq!(h.trace_count(), 2);
}

/// A job that panics must not leave its context attached to the worker thread.
#[test]
fn a_panicking_job_leaves_the_worker_clean() {
    let h = Harness::new();
    let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
    let tracer = h.tracer().clone();
    let worker = std::thread::spawn(move || {
        for job in rx {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
        opentelemetry::trace::Tracer::in_span(&tracer, "after the panic", |_| {});
    });
    h.in_span("parent", || {
        tx.send(Box::new(follow::wrap(|| panic!("job failed"))))
            .unwrap();
    });
    drop(tx);
    worker.join().unwrap();
    assert_eq!(h.tree(), "after the panic\nparent\n");
    assert_eq!(h.trace_count(), 2);
}
