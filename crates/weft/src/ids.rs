//! Trace and span ids.
//!
//! Trace ids are ULID-like, as the Python Logfire SDK makes them: the top 48 bits are
//! the milliseconds since the epoch (so traces sort by time in any store), the other
//! 80 bits are random. Because the rightmost 7 bytes are random, weft sets the W3C
//! Trace Context Level 2 `random-trace-id` flag on traces it starts
//! (<https://www.w3.org/TR/trace-context-2/#random-trace-id-flag>).

use opentelemetry::trace::{SpanId, TraceId};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_os_rng());
}

/// Where ids come from.
#[derive(Debug)]
pub(crate) enum IdSource {
    /// ULID-like trace ids and random span ids.
    Random,
    /// 1, 2, 3…: repeatable ids for snapshot tests.
    Sequential { traces: AtomicU64, spans: AtomicU64 },
}

impl IdSource {
    pub(crate) fn new_trace_id(&self) -> TraceId {
        let ms = match self {
            IdSource::Random => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            IdSource::Sequential { .. } => 0,
        };
        self.new_trace_id_at(ms)
    }

    /// A trace id for a trace that starts at `unix_ms` (ms since the Unix epoch): the
    /// caller has read the clock already, for the span's start.
    pub(crate) fn new_trace_id_at(&self, unix_ms: u64) -> TraceId {
        match self {
            IdSource::Random => {
                let random: u128 = RNG.with(|r| r.borrow_mut().random());
                let id = (u128::from(unix_ms & 0xFFFF_FFFF_FFFF) << 80) | (random >> 48);
                TraceId::from(id.max(1))
            }
            IdSource::Sequential { traces, .. } => {
                TraceId::from(u128::from(traces.fetch_add(1, Ordering::Relaxed)))
            }
        }
    }

    pub(crate) fn new_span_id(&self) -> SpanId {
        match self {
            IdSource::Random => loop {
                let id: u64 = RNG.with(|r| r.borrow_mut().random());
                if id != 0 {
                    return SpanId::from(id);
                }
            },
            IdSource::Sequential { spans, .. } => {
                SpanId::from(spans.fetch_add(1, Ordering::Relaxed))
            }
        }
    }

    /// Trace ids and span ids each counting from 1.
    pub(crate) fn sequential() -> IdSource {
        IdSource::Sequential {
            traces: AtomicU64::new(1),
            spans: AtomicU64::new(1),
        }
    }

    pub(crate) fn is_random(&self) -> bool {
        matches!(self, IdSource::Random)
    }
}

/// The id of the `pending_span` record of a span: derived from the real span's id by a
/// bijective mix (splitmix64's finaliser), so it is stable, unique per span, and needs
/// no shared generator on the export thread.
pub(crate) fn pending_span_id(real: SpanId) -> SpanId {
    let mut z = u64::from_be_bytes(real.to_bytes()) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    SpanId::from(z.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_trace_ids_start_with_the_time() {
        let ids = IdSource::Random;
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let id = u128::from_be_bytes(ids.new_trace_id().to_bytes());
        let stamped = id >> 80;
        assert!(
            stamped.abs_diff(ms & 0xFFFF_FFFF_FFFF) < 5_000,
            "{stamped} vs {ms}"
        );
        assert_ne!(ids.new_trace_id(), ids.new_trace_id());
        assert_ne!(ids.new_span_id(), SpanId::INVALID);
    }

    #[test]
    fn pending_ids_differ_from_real_ids() {
        for n in 1..1000u64 {
            let real = SpanId::from(n);
            assert_ne!(pending_span_id(real), real);
        }
    }
}
