//! A macro call below the level floor evaluates none of its field expressions (and
//! `#[weft::instrument]` serializes none of its arguments): filtering costs one load
//! and one branch, whatever the fields cost.
//!
//! The floor is process-wide (the lowest `min_level` of any instance), so every
//! instance in this test binary records `info` and above, and nothing else lowers it.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use weft::Level;
use weft::export::memory::MemoryExporter;

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// A field expression with a visible side effect.
fn count() -> usize {
    CALLS.fetch_add(1, Ordering::SeqCst) + 1
}

/// An argument whose serialization is counted.
struct Counted;

impl serde::Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        count();
        s.serialize_str("counted")
    }
}

#[weft::instrument("quiet {arg}", level = "debug")]
fn quiet(arg: Counted) -> usize {
    let Counted = arg;
    7
}

#[weft::instrument("loud {arg}")]
fn loud(arg: Counted) -> usize {
    let Counted = arg;
    8
}

fn info_instance() -> (weft::Weft, MemoryExporter) {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env(std::iter::empty::<(String, String)>())
        .min_level(Level::Info)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    (weft, memory)
}

#[test]
fn filtered_out_macros_never_evaluate_their_fields() {
    let (weft, memory) = info_instance();
    // One test only: CALLS is shared, and a parallel test would race on it.
    weft.in_scope(|| {
        weft::debug!("x {n}", n = count());
        weft::trace!("x {n}", n = count());
        let span = weft::span!(level: Level::Debug, "debug span {n}", n = count());
        assert!(!span.is_recording());
        drop(span);
        assert_eq!(quiet(Counted), 7, "the function still runs");
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            0,
            "no field of a filtered call was evaluated"
        );

        // The same calls at a recorded level do evaluate: the counter can move.
        weft::info!("x {n}", n = count());
        let span = weft::span!("info span {n}", n = count());
        assert!(span.is_recording());
        drop(span);
        assert_eq!(loud(Counted), 8);
        assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    });
    assert!(weft.force_flush());
    let mut names: Vec<String> = memory.spans().iter().map(|r| r.message()).collect();
    names.sort();
    assert_eq!(names, ["info span 2", "loud counted", "x 1"]);
}
