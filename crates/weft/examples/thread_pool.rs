//! Run with `cargo run -p weft --features rayon --example thread_pool`.
//!
//! The seed's "Thread and Pool executors" example in Rust: `double` runs on rayon's
//! pool threads, and because the parallel iterator carries the current context
//! (`.in_current_context()`), every "Doubling {x}" span is a child of
//! "Doubling everything", whichever thread ran it. `tests/examples_run.rs` runs it
//! and checks the tree it prints.
#![allow(missing_docs, unreachable_pub)]

use rayon::prelude::*;
use weft::export::memory::MemoryExporter;
use weft::rayon::ParallelIteratorExt;

#[weft::instrument("Doubling {x}")]
fn double(x: i32) -> i32 {
    x * 2
}

pub fn main() -> Result<(), weft::ConfigureError> {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .service_name("thread-pool")
        .exporter(memory.clone())
        .finish()?;

    {
        let span = weft::span!("Doubling everything").entered();
        let results: Vec<i32> = (0..3)
            .into_par_iter()
            .in_current_context()
            .map(double)
            .collect();
        span.set_attribute("results", &results);
        println!("results: {results:?}");
    }

    weft.force_flush();
    println!("\nexported tree:\n{}", memory.tree());
    Ok(())
}
