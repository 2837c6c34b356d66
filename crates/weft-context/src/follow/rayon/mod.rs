//! Context that follows work onto rayon's thread pool (feature `rayon`).
//!
//! rayon runs closures on pool threads, and a pool thread's current
//! [`opentelemetry::Context`] is whatever that thread last attached, normally nothing.
//! Without help, a span created inside `par_iter().map(..)`, `rayon::spawn`,
//! `rayon::join` or `rayon::scope` starts a **new trace** (or, when the work happens to
//! run on the calling thread, lands under the right parent by luck).
//!
//! # Parallel iterators: one adapter, placed first
//!
//! [`ParallelIteratorExt::in_current_context`] captures the current context and
//! attaches it on whichever pool thread runs each piece of the iterator. Put it right
//! after `into_par_iter()` / `par_iter()`, so that every adapter after it (`map`,
//! `filter`, `for_each`, `fold`, `collect`, …) runs inside the context:
//!
//! ```
//! use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
//! use rayon::prelude::*;
//! use weft_context::follow::rayon::ParallelIteratorExt;
//!
//! let _guard = Context::current_with_baggage([KeyValue::new("batch", "b1")]).attach();
//! let tags: Vec<String> = (0..3)
//!     .into_par_iter()
//!     .in_current_context()
//!     .map(|x| format!("{x}/{}", Context::current().baggage().get("batch").map(|v| v.to_string()).unwrap_or_default()))
//!     .collect();
//! assert_eq!(tags, ["0/b1", "1/b1", "2/b1"]);
//! ```
//!
//! The adapter keeps indexing (`collect` into a `Vec`, `zip`, `enumerate` keep their
//! order) because it is implemented on rayon's plumbing rather than on top of `map`:
//! each split of the work carries a clone of the context, and each *folder* (the piece of
//! work one thread runs) attaches it around everything it consumes.
//!
//! # Tasks: `spawn`, `join`, `scope`
//!
//! [`spawn`], [`join`] and [`scope`] have the signatures of their rayon counterparts and
//! carry the context current at the call. For a custom pool, [`ThreadPoolExt`] adds
//! `install_in_current_context` and `spawn_in_current_context` to
//! [`rayon::ThreadPool`]. Anything else (`spawn_fifo`, `scope_fifo`, `broadcast`) takes a
//! closure: wrap it with [`follow::wrap`](crate::follow::wrap).
//!
//! # Why no `ThreadPoolBuilder` helper
//!
//! A pool's threads are created once and live for the life of the pool, so the only
//! context a builder hook (`start_handler`, `spawn_handler`) could attach is the one
//! current when the pool was *built*. Every later job, whatever span queued it, would be
//! parented under that stale span. The context has to travel with each job, which is
//! what the items of this module do.
//!
//! # Limits
//!
//! - Closures *before* the adapter (`par_iter().map(f).in_current_context()`) run
//!   outside the context when rayon drives the iterator by consumer; put the adapter
//!   first.
//! - A reduction closure (`reduce`, `reduce_with`) runs in the context when the adapter
//!   is the last indexed step before it; behind `zip`/`enumerate`/`chunks` rayon reduces
//!   with a reducer the adapter never sees.
//! - While a pool thread waits inside instrumented work (a nested `join`), it may steal an
//!   unrelated job; that job sees the context unless it carries its own. This is how
//!   thread-local context works with work stealing; jobs wrapped by this module always
//!   attach their own context, so they are never affected.

mod iter;
mod plumbing;
mod pool;
mod scope;

pub use iter::{InContext, ParallelIteratorExt};
pub use pool::{ThreadPoolExt, join, spawn};
pub use scope::{Scope, scope};
