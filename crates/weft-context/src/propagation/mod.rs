//! The W3C codecs, carriers and the `distributed_tracing` policy.
//!
//! - One module per specification, each citing it at every check:
//!   [`traceparent`] and [`tracestate`] ([W3C Trace Context Level 2](https://www.w3.org/TR/trace-context-2/)),
//!   [`baggage`] ([W3C Baggage](https://www.w3.org/TR/baggage/)).
//! - [`Carrier`]: the propagated context as ordered headers, printable like Logfire's
//!   Python dict, convertible to JSON, `http::HeaderMap` and environment variables.
//! - [`get_context`] / [`attach_context`]: Logfire's manual propagation.
//! - [`DistributedTracing`] and [`extract_third_party`]: whether a third party's
//!   context is trusted; [`WeftPropagator`] applies it to OpenTelemetry's global
//!   propagator.
//!
//! Nothing here panics on input: whatever is invalid is ignored (the work becomes a
//! new root, or the entry is left out) and logged at debug level under the target
//! `weft::propagation`, with the rule it broke. The guide is `docs/propagation.md`.

mod attach;
pub mod baggage;
mod carrier;
mod carrier_convert;
mod new_root;
mod policy;
mod propagator;
pub mod traceparent;
pub mod tracestate;
mod wire;

pub use attach::{
    AttachGuard, AttachOptions, attach_context, attach_context_with, carrier_from_context,
    get_context,
};
pub use baggage::{BaggageError, decode_baggage, format_baggage, parse_baggage};
pub use carrier::{Carrier, CarrierIter};
pub use new_root::preserve_on_new_root;
pub use policy::{
    DistributedTracing, Extraction, LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, PolicyError,
    WARNING_MESSAGE, denied_parent_for, extract_third_party, extracted_link, parse_env_value,
    policy, set_policy, set_warning_sink,
};
pub use propagator::WeftPropagator;
pub use traceparent::{TraceparentError, format_traceparent, parse_traceparent};
pub use tracestate::{
    TracestateError, format_tracestate, insert_first, parse_tracestate, parse_tracestate_values,
};
pub use wire::{BAGGAGE, FIELDS, TRACEPARENT, TRACESTATE};
