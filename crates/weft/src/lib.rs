//! weft: distributed tracing for Rust services.
//!
//! Spans and logs built on OpenTelemetry, whose *context* travels between threads,
//! tasks, processes and services, so the whole tree of one request is reconstructed
//! and viewed together, in `weft serve`, Logfire, or any OpenTelemetry backend.
//!
//! ```no_run
//! fn main() -> Result<(), weft::ConfigureError> {
//!     let _weft = weft::configure().service_name("checkout").finish()?;
//!
//!     let ctx = {
//!         let _parent = weft::span!("parent").entered();
//!         weft::get_context() // {'traceparent': '00-…-…-03'}
//!     };
//!     println!("{ctx}");
//!
//!     // in another execution environment
//!     let _attached = weft::attach_context(&ctx);
//!     weft::info!("child"); // a child of `parent`
//!     Ok(())
//! }
//! ```

mod clock;
mod config;
mod diagnostics;
pub mod export;
mod future;
mod ids;
mod instance;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod integrations;
mod level;
mod log;
mod macros;
pub mod messaging;
mod otel_bridge;
mod pipeline;
mod record;
mod sampler;
mod span;
mod suppress;
mod template;
pub mod testing;
mod tracing_layer;
mod value;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use config::{ConfigBuilder, ConfigureError, OtlpTarget, Settings, configure};
pub use future::{FutureExt, InSpan};
pub use instance::Weft;
pub use level::{Level, ParseLevelError};
pub use otel_bridge::{WeftOtelSpan, WeftTracer, WeftTracerProvider};
pub use span::{Entered, EnteredSpan, Span};
pub use tracing_layer::{WeftLayer, tracing_layer};
pub use value::{JsonKind, Value};

/// Context that follows the work onto threads, pools, rayon, tokio tasks and child processes.
pub use weft_context::follow;
/// Child processes that inherit the current context through `TRACEPARENT`.
pub use weft_context::follow::process;
/// rayon work that carries the current context (`.in_current_context()`, `spawn`, `join`, `scope`).
#[cfg(feature = "rayon")]
pub use weft_context::follow::rayon;
/// Drop-in `std::thread` twins that carry the current context: `weft::thread::spawn(f)`.
pub use weft_context::follow::thread;
/// tokio tasks that carry the current context: `weft::tokio::spawn(fut)`.
#[cfg(feature = "tokio")]
pub use weft_context::follow::tokio;
/// W3C Trace Context and Baggage: codecs, carriers and the `distributed_tracing` policy.
pub use weft_context::propagation;
pub use weft_context::propagation::{
    AttachGuard, AttachOptions, Carrier, DistributedTracing, attach_context, attach_context_with,
    get_context,
};

#[cfg(feature = "macros")]
pub use weft_macros::instrument;

/// The OpenTelemetry API weft is built on, re-exported so you never match versions by hand.
pub use opentelemetry;
/// The context weft keeps the current span in: `weft::Context::current().wrap(f)`
/// (with [`follow::ContextExt`] in scope) carries it into any executor.
pub use opentelemetry::Context;
/// The `tracing` crate weft reads from, re-exported for the same reason.
pub use tracing;

// The README's Rust code, compiled by `cargo test --doc` so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
