//! When and how long to retry, as the OTLP specification says: retry on 429, 502, 503
//! and 504 and on connection errors, with exponential backoff, honouring
//! `Retry-After`, within the export timeout
//! (<https://opentelemetry.io/docs/specs/otlp/#failures-1>).

use std::time::{Duration, Instant};

/// Whether an HTTP status is worth retrying.
#[cfg(feature = "otlp-http")]
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Exponential backoff bounded by a deadline.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    deadline: Instant,
}

impl Backoff {
    pub(crate) fn new(timeout: Duration) -> Self {
        Backoff {
            next: Duration::from_millis(100),
            deadline: Instant::now() + timeout,
        }
    }

    /// How long to wait before the next try, or `None` when the deadline would pass.
    /// `server_hint` is a `Retry-After` the backend sent.
    pub(crate) fn next_delay(&mut self, server_hint: Option<Duration>) -> Option<Duration> {
        let delay = server_hint.unwrap_or(self.next);
        self.next = (self.next * 2).min(Duration::from_secs(5));
        (Instant::now() + delay < self.deadline).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops_at_the_deadline() {
        let mut b = Backoff::new(Duration::from_millis(1_000));
        assert_eq!(b.next_delay(None), Some(Duration::from_millis(100)));
        assert_eq!(b.next_delay(None), Some(Duration::from_millis(200)));
        assert_eq!(b.next_delay(None), Some(Duration::from_millis(400)));
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(10))),
            None,
            "a hint past the deadline ends the retries"
        );
    }

    #[cfg(feature = "otlp-http")]
    #[test]
    fn retries_only_the_statuses_the_spec_names() {
        assert!(retryable_status(503) && !retryable_status(400) && !retryable_status(500));
    }
}
