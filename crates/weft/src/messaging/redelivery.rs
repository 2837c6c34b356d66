//! Which consumer span handled a message before, so a redelivery links to it.
//!
//! A broker redelivers the message as it was published: its headers cannot say which
//! consumer span saw it first. This process remembers the last few thousand consumer
//! spans by message key (the producer's `traceparent`, unique per publish since every
//! publish has its own PRODUCER span, or the message id). A redelivery that lands in
//! another process, or after the entry was evicted, links to the producer's span
//! instead: the earlier attempt was that span's child too.

use opentelemetry::trace::SpanContext;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// How many attempts are remembered; the oldest go first.
const CAPACITY: usize = 4096;

#[derive(Default)]
struct Attempts {
    by_key: HashMap<String, SpanContext>,
    order: VecDeque<String>,
}

static ATTEMPTS: Mutex<Option<Attempts>> = Mutex::new(None);

/// Records that `span` handled the message known by `key` and did not finish it.
pub(crate) fn remember(key: &str, span: &SpanContext) {
    let mut guard = ATTEMPTS.lock().unwrap_or_else(PoisonError::into_inner);
    let attempts = guard.get_or_insert_with(Attempts::default);
    if attempts
        .by_key
        .insert(key.to_owned(), span.clone())
        .is_none()
    {
        attempts.order.push_back(key.to_owned());
        while attempts.order.len() > CAPACITY {
            if let Some(oldest) = attempts.order.pop_front() {
                attempts.by_key.remove(&oldest);
            }
        }
    }
}

/// The span of the last attempt this process remembers for `key`.
pub(crate) fn earlier(key: &str) -> Option<SpanContext> {
    let guard = ATTEMPTS.lock().unwrap_or_else(PoisonError::into_inner);
    guard
        .as_ref()
        .and_then(|attempts| attempts.by_key.get(key).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    fn sc(n: u64) -> SpanContext {
        SpanContext::new(
            TraceId::from(1u128),
            SpanId::from(n),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        )
    }

    #[test]
    fn remembers_the_last_attempt_and_forgets_the_oldest() {
        assert_eq!(earlier("redelivery-test-a"), None);
        remember("redelivery-test-a", &sc(1));
        remember("redelivery-test-a", &sc(2));
        assert_eq!(earlier("redelivery-test-a"), Some(sc(2)));
        for i in 0..CAPACITY {
            remember(&format!("redelivery-test-fill-{i}"), &sc(3));
        }
        assert_eq!(earlier("redelivery-test-a"), None, "evicted");
    }
}
