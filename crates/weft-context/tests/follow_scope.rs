//! Context follows `follow::thread::scope`; plain `std::thread::scope` does not.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod follow_support;

use follow_support::Harness;
use weft_context::follow::thread;

/// Negative control: `std::thread::scope` threads start with an empty context.
#[test]
fn plain_std_scope_threads_start_new_traces() {
    let h = Harness::new();
    h.in_span("parent", || {
        std::thread::scope(|s| {
            s.spawn(|| h.leaf("a"));
            s.spawn(|| h.leaf("b"));
        });
    });
    assert_eq!(h.tree(), "a\nb\nparent\n");
    assert_eq!(h.trace_count(), 3);
}

#[test]
fn scoped_threads_land_under_the_spawner_and_may_borrow() {
    let h = Harness::new();
    let items = ["a", "b", "c"];
    let caller = std::thread::current().id();
    let threads = h.in_span("parent", || {
        thread::scope(|s| {
            let handles: Vec<_> = items
                .iter()
                .map(|item| {
                    let h = &h;
                    s.spawn(move || {
                        h.leaf(format!("item {item}"));
                        std::thread::current().id()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        })
    });
    assert!(threads.iter().all(|t| *t != caller));
    assert_eq!(h.tree(), "parent\n  item a\n  item b\n  item c\n");
    assert_eq!(h.trace_count(), 1);
}

/// Each spawn captures the context current *at that spawn*, so a thread spawned inside a
/// span opened within the scope lands under that span.
#[test]
fn each_spawn_captures_the_context_current_at_that_spawn() {
    let h = Harness::new();
    h.in_span("parent", || {
        thread::scope(|s| {
            s.spawn(|| h.leaf("direct"));
            h.in_span("phase", || {
                s.spawn(|| h.leaf("in phase"));
            });
        });
    });
    assert_eq!(h.tree(), "parent\n  direct\n  phase\n    in phase\n");
    assert_eq!(h.trace_count(), 1);
}

/// Nested spawns: copy the `Scope` handle and move the copy (see `thread::scope` docs).
#[test]
fn nested_scoped_spawns_carry_context_down() {
    let h = Harness::new();
    h.in_span("parent", || {
        thread::scope(|s| {
            let s = *s;
            let h = &h;
            s.spawn(move || {
                h.in_span("outer thread", || {
                    s.spawn(move || h.leaf("inner thread")).join().unwrap();
                });
            });
        });
    });
    assert_eq!(h.tree(), "parent\n  outer thread\n    inner thread\n");
    assert_eq!(h.trace_count(), 1);
}

#[test]
fn builder_spawn_scoped_carries_context() {
    let h = Harness::new();
    h.in_span("parent", || {
        thread::scope(|s| {
            let name = thread::Builder::new()
                .name("scoped-worker".into())
                .spawn_scoped(s, || {
                    h.leaf("child");
                    std::thread::current().name().map(str::to_owned)
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(name.as_deref(), Some("scoped-worker"));
        });
    });
    assert_eq!(h.tree(), "parent\n  child\n");
    assert_eq!(h.trace_count(), 1);
}

/// The escape hatch `as_std` is the plain std scope: no context.
#[test]
fn as_std_is_the_plain_scope() {
    let h = Harness::new();
    h.in_span("parent", || {
        thread::scope(|s| {
            s.as_std().spawn(|| h.leaf("plain"));
        });
    });
    assert_eq!(h.tree(), "parent\nplain\n");
}
