//! Context that follows the work: threads, pools, rayon, tokio tasks, child processes.
//!
//! weft keeps the current span in [`opentelemetry::Context`], a **thread-local**. Work
//! handed to another thread (a spawned thread, a pool worker, a rayon job, a tokio task
//! that resumes on another worker) starts with that thread's context, normally empty,
//! so the spans it creates start a new trace instead of landing under the span that
//! started the work. Python Logfire fixes this by patching `ThreadPoolExecutor` at
//! `configure()`. Rust cannot patch, so weft gives each entry point a context-carrying
//! twin that differs by at most one word:
//!
//! | work | plain (new root trace) | context follows |
//! |---|---|---|
//! | thread | `std::thread::spawn(f)` | [`thread::spawn`]`(f)` (also [`thread::Builder`], [`thread::scope`]) |
//! | any executor | `pool.execute(f)` | `pool.execute(`[`wrap`]`(f))`, or [`wrap_fn`] for callbacks |
//! | rayon iterator | `v.par_iter().map(f)` | `v.par_iter().in_current_context().map(f)` (`rayon` feature) |
//! | rayon task | `rayon::spawn`/`join`/`scope` | `follow::rayon::spawn`/`join`/`scope` |
//! | tokio task | `tokio::spawn(fut)` | `follow::tokio::spawn(fut)` (`tokio` feature) |
//! | any future | `executor.spawn(fut)` | `executor.spawn(fut.`[`in_current_context`](FutureExt::in_current_context)`())` |
//! | child process | `Command::new(..).spawn()` | `Command::new(..).with_current_context().spawn()` |
//!
//! # The context itself travels, not a copy of its headers
//!
//! Python Logfire carries context into a pool by writing it to a W3C carrier
//! (`traceparent`, `baggage`) and extracting it in the worker, so a worker's span shows
//! `parent.is_remote = true`. Within one process weft moves the [`opentelemetry::Context`]
//! value itself: the parent is **local** (`is_remote = false`), and baggage together with
//! every other value stored in the context (including non-W3C ones such as
//! [`Context::with_value`](opentelemetry::Context::with_value) entries) arrives intact.
//! Only the hop to a child process goes through the W3C carrier, because it must.
//!
//! # When the context is captured
//!
//! Always when the work is *handed off* (the spawn, the wrap, the adapter call), on the
//! caller's thread. It is attached for the run of the work only (for a future, during
//! each poll), and detached again even if the work panics, so pool threads never keep a
//! stale context between jobs.

mod future;
pub mod process;
pub mod thread;
mod wrap;

#[cfg(feature = "rayon")]
pub mod rayon;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use future::{FutureExt, WithContext};
pub use wrap::{ContextExt, wrap, wrap_fn};
