//! W3C Trace Context and Baggage for weft.
//!
//! This crate is the part of weft that needs no exporter: it reads and writes the
//! `traceparent`, `tracestate` and `baggage` headers exactly as the W3C specifications
//! say, holds them in a [`Carrier`], decides under the `distributed_tracing` policy
//! whether a third party's context is trusted, and carries the current
//! [`opentelemetry::Context`] onto threads, thread pools, rayon, tokio tasks and child
//! processes. The `weft` crate re-exports everything here; depend on `weft`.

pub mod follow;
pub mod propagation;

pub use propagation::{
    AttachGuard, AttachOptions, Carrier, DistributedTracing, Extraction, PolicyError,
    WeftPropagator, attach_context, attach_context_with, carrier_from_context, extract_third_party,
    get_context, policy, set_policy, set_warning_sink,
};
