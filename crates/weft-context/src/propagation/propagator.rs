//! [`WeftPropagator`]: weft's codecs and policy behind OpenTelemetry's
//! [`TextMapPropagator`] trait.
//!
//! weft's `configure()` installs it with
//! `opentelemetry::global::set_text_map_propagator`, so every crate that propagates
//! through OpenTelemetry's global propagator (HTTP client and server integrations)
//! writes the same headers as [`get_context`](super::get_context) and obeys the
//! `distributed_tracing` policy when it extracts.

use std::sync::OnceLock;

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

use super::policy::{self, Absent};
use super::wire::{self, BAGGAGE, FIELDS};

/// W3C `traceparent` + `tracestate` + `baggage` in one propagator, whose extraction is
/// a third-party one governed by the [`distributed_tracing`
/// policy](super::DistributedTracing).
///
/// Extraction follows the OpenTelemetry convention for propagators: a header that is
/// missing or invalid leaves that part of the given context as it was. Under
/// [`Deny`](super::DistributedTracing::Deny) the given context's span stays the parent
/// and the remote one is readable with [`extracted_link`](super::extracted_link).
/// Injection is never affected by the policy.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use weft_context::propagation::WeftPropagator;
///
/// let propagator = WeftPropagator::new();
/// let fields: Vec<&str> = propagator.fields().collect();
/// assert_eq!(fields, ["traceparent", "tracestate", "baggage"]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WeftPropagator {
    _private: (),
}

impl WeftPropagator {
    /// The propagator; it holds no state (the policy is process-wide).
    pub const fn new() -> Self {
        WeftPropagator { _private: () }
    }
}

impl TextMapPropagator for WeftPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        wire::inject(cx, injector, |err| wire::log_ignored(BAGGAGE, &err));
    }

    /// From the current context, without holding a borrow of it: the warning sink may log.
    fn extract(&self, extractor: &dyn Extractor) -> Context {
        self.extract_with_context(&Context::current(), extractor)
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        policy::decide(
            cx,
            wire::extract(extractor),
            policy::policy(),
            Absent::KeepBase,
        )
        .context
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELD_NAMES: OnceLock<[String; 3]> = OnceLock::new();
        FieldIter::new(FIELD_NAMES.get_or_init(|| FIELDS.map(str::to_owned)))
    }
}
