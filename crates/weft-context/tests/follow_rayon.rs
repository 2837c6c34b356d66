//! Context follows rayon: `.in_current_context()` on parallel iterators, and
//! `follow::rayon::{spawn, join, scope}` / `ThreadPoolExt`. Plain rayon does not.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod follow_support;

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;
use std::thread::ThreadId;

use follow_support::Harness;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use rayon::prelude::*;
use weft_context::follow::{self, rayon::ParallelIteratorExt, rayon::ThreadPoolExt};

/// The seed's `double`: one span per call, named like logfire's formatted message.
fn double(h: &Harness, threads: &Mutex<HashSet<ThreadId>>, x: u32) -> u32 {
    threads.lock().unwrap().insert(std::thread::current().id());
    h.tracer().in_span(format!("Doubling {x}"), |_| x * 2)
}

/// Negative control: rayon runs `map` on pool threads, whose context is empty.
#[test]
fn plain_par_iter_spans_are_new_roots() {
    let h = Harness::new();
    let threads = Mutex::default();
    h.in_span("Doubling everything", || {
        let results: Vec<u32> = (0..3)
            .into_par_iter()
            .map(|x| double(&h, &threads, x))
            .collect();
        assert_eq!(results, [0, 2, 4]);
    });
    assert_eq!(
        h.tree(),
        "Doubling 0\nDoubling 1\nDoubling 2\nDoubling everything\n"
    );
    assert_eq!(h.trace_count(), 4);
}

/// The seed example ("Thread and Pool executors"), in Rust.
#[test]
fn seed_example_doubling_everything() {
    let h = Harness::new();
    let threads = Mutex::default();
    h.tracer().in_span("Doubling everything", |cx| {
        let results: Vec<u32> = (0..3)
            .into_par_iter()
            .in_current_context()
            .map(|x| double(&h, &threads, x))
            .collect();
        assert_eq!(results, [0, 2, 4]);
        cx.span()
            .set_attribute(KeyValue::new("results", format!("{results:?}")));
    });
    // Called from a non-pool thread, rayon ran every item on a pool thread.
    assert!(
        !threads
            .lock()
            .unwrap()
            .contains(&std::thread::current().id())
    );
    assert_eq!(
        h.tree(),
        "Doubling everything\n  Doubling 0\n  Doubling 1\n  Doubling 2\n"
    );
    assert_eq!(h.trace_count(), 1);
    assert!(h.rows().iter().all(|r| !r.parent_is_remote));
}

/// A 4-thread pool, enough items that every thread takes a share: order and indexing are
/// kept, and every span lands under the parent whichever thread ran it.
#[test]
fn many_items_on_a_custom_pool_keep_order_and_parent() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let h = Harness::new();
    let threads = Mutex::default();
    let results: Vec<u32> = h.in_span("batch", || {
        pool.install_in_current_context(|| {
            (0..200u32)
                .into_par_iter()
                .in_current_context()
                .with_max_len(1)
                .map(|x| double(&h, &threads, x))
                .collect()
        })
    });
    assert_eq!(results, (0..200).map(|x| x * 2).collect::<Vec<_>>());
    let mut expected = String::from("batch\n");
    let mut names: Vec<String> = (0..200).map(|x| format!("Doubling {x}")).collect();
    names.sort();
    names
        .iter()
        .for_each(|n| expected.push_str(&format!("  {n}\n")));
    assert_eq!(h.tree(), expected);
    assert_eq!(h.trace_count(), 1);
}

/// Adapters after `map` that iterate the producer (`enumerate`, `zip`, `rev`, `step_by`,
/// `chunks`) call `map`'s closure between our iterator's `next` calls; the context must
/// still be attached there.
#[test]
fn producer_driven_adapters_downstream_keep_the_context() {
    let h = Harness::new();
    let out: Vec<(usize, (u32, char))> = h.in_span("parent", || {
        (0..6u32)
            .into_par_iter()
            .in_current_context()
            .map(|x| h.tracer().in_span(format!("map {x}"), |_| x))
            .rev()
            .step_by(2)
            .zip(['a', 'b', 'c'].into_par_iter())
            .enumerate()
            .collect()
    });
    assert_eq!(out, [(0, (5, 'a')), (1, (3, 'b')), (2, (1, 'c'))]);
    // `step_by` skips 4, 2, 0 without calling `map` on them.
    assert_eq!(h.tree(), "parent\n  map 1\n  map 3\n  map 5\n");

    let h = Harness::new();
    let sums: Vec<u32> = h.in_span("parent", || {
        (0..6u32)
            .into_par_iter()
            .in_current_context()
            .map(|x| h.tracer().in_span(format!("map {x}"), |_| x))
            .chunks(2)
            .map(|c| c.iter().sum())
            .collect()
    });
    assert_eq!(sums, [1, 5, 9]);
    assert_eq!(
        h.tree(),
        "parent\n  map 0\n  map 1\n  map 2\n  map 3\n  map 4\n  map 5\n"
    );
}

/// Unindexed sources (`par_bridge`) and unindexed downstream (`filter`, `flat_map_iter`)
/// are driven by consumer; every folder attaches the context.
#[test]
fn unindexed_iterators_keep_the_context() {
    let h = Harness::new();
    h.in_span("parent", || {
        (0..4u32)
            .par_bridge()
            .in_current_context()
            .filter(|x| x % 2 == 0)
            .flat_map_iter(|x| [x, x + 10])
            .for_each(|x| h.leaf(format!("item {x}")));
    });
    assert_eq!(
        h.tree(),
        "parent\n  item 0\n  item 10\n  item 12\n  item 2\n"
    );
    assert_eq!(h.trace_count(), 1);
}

/// `fold`'s identity runs when rayon makes a folder, and `reduce`'s closure in a reducer;
/// both run in the context. How many of each depends on splitting, so the check is that
/// every one of them is a direct child of the parent.
#[test]
fn fold_identity_and_reduce_closures_run_in_the_context() {
    let h = Harness::new();
    let total = h.in_span("parent", || {
        (0..100u32)
            .into_par_iter()
            .in_current_context()
            .fold(
                || h.tracer().in_span("fold identity", |_| 0u32),
                |acc, x| acc + x,
            )
            .reduce(|| 0, |a, b| h.tracer().in_span("reduce", |_| a + b))
    });
    assert_eq!(total, 4950);
    assert_only_children_named(&h, &["fold identity", "reduce"]);
}

/// Documented limit: behind an index-driven adapter (`with_max_len` here) rayon makes the
/// final folders and reducer itself, outside the adapter's reach. A second
/// `.in_current_context()` right before `fold` covers them again.
#[test]
fn a_second_adapter_after_index_driven_ones_covers_fold_and_reduce() {
    let h = Harness::new();
    let total = h.in_span("parent", || {
        (0..100u32)
            .into_par_iter()
            .in_current_context()
            .with_max_len(10)
            .in_current_context()
            .fold(
                || h.tracer().in_span("fold identity", |_| 0u32),
                |acc, x| acc + x,
            )
            .reduce(|| 0, |a, b| h.tracer().in_span("reduce", |_| a + b))
    });
    assert_eq!(total, 4950);
    assert_only_children_named(&h, &["fold identity", "reduce"]);
}

fn assert_only_children_named(h: &Harness, names: &[&str]) {
    let tree = h.tree();
    let mut lines = tree.lines();
    assert_eq!(lines.next(), Some("parent"), "{tree}");
    let children: BTreeSet<String> = lines.map(str::to_owned).collect();
    let expected: BTreeSet<String> = names.iter().map(|n| format!("  {n}")).collect();
    assert_eq!(children, expected, "{tree}");
    assert_eq!(h.trace_count(), 1);
}

/// Nested parallelism: each outer item opens a span, and an inner parallel iterator
/// under it puts its spans under that item's span.
#[test]
fn nested_parallel_iterators_nest_their_spans() {
    let h = Harness::new();
    h.in_span("parent", || {
        (0..2u32)
            .into_par_iter()
            .in_current_context()
            .for_each(|i| {
                h.tracer().in_span(format!("outer {i}"), |_| {
                    (0..2u32)
                        .into_par_iter()
                        .in_current_context()
                        .for_each(|j| h.leaf(format!("inner {i}.{j}")));
                });
            });
    });
    assert_eq!(
        h.tree(),
        "parent\n  outer 0\n    inner 0.0\n    inner 0.1\n  outer 1\n    inner 1.0\n    inner 1.1\n"
    );
    assert_eq!(h.trace_count(), 1);
}

/// `in_context` carries an explicit context rather than the current one.
#[test]
fn in_context_uses_the_given_context() {
    let h = Harness::new();
    let kept = h.span_context("kept");
    h.in_span("current", || {
        (0..2u32)
            .into_par_iter()
            .in_context(kept.clone())
            .for_each(|x| h.leaf(format!("item {x}")));
    });
    drop(kept);
    assert_eq!(h.tree(), "current\nkept\n  item 0\n  item 1\n");
}

#[test]
fn spawn_join_and_scope_carry_context() {
    let h = Harness::new();
    let tracer = h.tracer().clone();
    h.in_span("parent", || {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned_tracer = tracer.clone();
        follow::rayon::spawn(move || {
            spawned_tracer.in_span("spawned", |_| {});
            tx.send(()).unwrap();
        });
        rx.recv().unwrap();

        follow::rayon::join(|| h.leaf("join a"), || h.leaf("join b"));

        follow::rayon::scope(|s| {
            h.leaf("scope body");
            s.spawn(|s| {
                h.tracer().in_span("scope job", |_| {
                    s.spawn(|_| h.leaf("nested scope job"));
                });
            });
        });
    });
    assert_eq!(
        h.tree(),
        "parent\n  join a\n  join b\n  scope body\n  scope job\n    nested scope job\n  spawned\n"
    );
    assert_eq!(h.trace_count(), 1);
}

/// Negative control for the task entry points: plain `rayon::join` from outside the pool
/// runs both closures on pool threads with an empty context.
#[test]
fn plain_rayon_join_starts_new_traces() {
    let h = Harness::new();
    h.in_span("parent", || {
        rayon::join(|| h.leaf("a"), || h.leaf("b"));
    });
    assert_eq!(h.tree(), "a\nb\nparent\n");
    assert_eq!(h.trace_count(), 3);
}

#[test]
fn thread_pool_ext_install_and_spawn_carry_context() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let h = Harness::new();
    let tracer = h.tracer().clone();
    h.in_span("parent", || {
        pool.install_in_current_context(|| h.leaf("installed"));
        // Plain `install` runs on a pool thread: a new root.
        pool.install(|| h.leaf("plain install"));
        let (tx, rx) = std::sync::mpsc::channel();
        pool.spawn_in_current_context(move || {
            tracer.in_span("pool spawn", |_| {});
            tx.send(()).unwrap();
        });
        rx.recv().unwrap();
    });
    assert_eq!(
        h.tree(),
        "parent\n  installed\n  pool spawn\nplain install\n"
    );
    assert_eq!(h.trace_count(), 2);
}

/// After the work is done no pool thread keeps the context attached.
#[test]
fn pool_threads_are_clean_afterwards() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let h = Harness::new();
    h.in_span("parent", || {
        pool.install_in_current_context(|| {
            (0..100u32)
                .into_par_iter()
                .in_current_context()
                .map(|x| x + 1)
                .zip((0..100u32).into_par_iter())
                .count()
        });
    });
    let leftover = pool.broadcast(|_| Context::current().has_active_span());
    assert_eq!(leftover, [false, false]);
}
