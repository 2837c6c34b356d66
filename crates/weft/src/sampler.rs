//! Head sampling, decided when a span starts and carried in `trace_flags`.
//!
//! The default is parent-based: a child follows its parent's sampled bit, local or
//! remote, so an unsampled request stays unsampled in every service it reaches; a root
//! is kept with the configured probability, decided from the trace id the same way
//! OpenTelemetry's `TraceIdRatioBased` sampler decides it, so every SDK that sees the
//! same trace id agrees. See
//! <https://opentelemetry.io/docs/specs/otel/trace/sdk/#parentbased> and
//! <https://opentelemetry.io/docs/specs/otel/trace/sdk/#traceidratiobased>.

use opentelemetry::trace::{SpanContext, TraceId};

/// How roots (or, when not parent-based, all spans) are sampled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RootSampler {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
}

/// The sampler: parent-based by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sampler {
    pub(crate) parent_based: bool,
    pub(crate) root: RootSampler,
    /// `false` under `OTEL_SDK_DISABLED`: the sampled bit is still decided (and
    /// propagated, so downstream services keep sampling), but nothing is recorded.
    pub(crate) records: bool,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            parent_based: true,
            root: RootSampler::AlwaysOn,
            records: true,
        }
    }
}

impl Sampler {
    /// Records nothing, yet passes the parent's sampled bit on (`OTEL_SDK_DISABLED`),
    /// as an OpenTelemetry API with no SDK would: a disabled service in the middle of
    /// a request must not unsample the services after it.
    pub(crate) fn disabled() -> Sampler {
        Sampler {
            records: false,
            ..Sampler::default()
        }
    }

    /// Whether a new span in `trace_id` under `parent` (invalid for a root) is sampled.
    #[inline]
    pub(crate) fn should_sample(&self, parent: &SpanContext, trace_id: TraceId) -> bool {
        if self.parent_based && parent.is_valid() {
            return parent.is_sampled();
        }
        match self.root {
            RootSampler::AlwaysOn => true,
            RootSampler::AlwaysOff => false,
            RootSampler::Ratio(ratio) => ratio_keeps(ratio, trace_id),
        }
    }
}

/// The same arithmetic as OpenTelemetry's `TraceIdRatioBased`: the lower 8 bytes of the
/// trace id, shifted right once, compared with `ratio * 2^63`.
fn ratio_keeps(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let bound = (ratio * (1u64 << 63) as f64) as u64;
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    (u64::from_be_bytes(low) >> 1) < bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceState};

    fn parent(sampled: bool) -> SpanContext {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            true,
            TraceState::NONE,
        )
    }

    #[test]
    fn children_follow_the_parent_flag() {
        let never = Sampler {
            root: RootSampler::AlwaysOff,
            ..Sampler::default()
        };
        assert!(never.should_sample(&parent(true), TraceId::from(7u128)));
        let always = Sampler::default();
        assert!(!always.should_sample(&parent(false), TraceId::from(7u128)));
    }

    #[test]
    fn ratio_keeps_about_its_share_of_roots() {
        let s = Sampler {
            root: RootSampler::Ratio(0.25),
            ..Sampler::default()
        };
        let ids = crate::ids::IdSource::Random;
        let kept = (0..20_000)
            .filter(|_| s.should_sample(&SpanContext::empty_context(), ids.new_trace_id()))
            .count();
        assert!(
            (4_000..6_000).contains(&kept),
            "kept {kept} of 20000 at 0.25"
        );
    }
}
