//! Time stamps in nanoseconds since the Unix epoch, from the system clock or, in tests,
//! from a counter so exported records are repeatable.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where time stamps come from.
#[derive(Debug)]
pub(crate) enum Clock {
    /// The system clock.
    System,
    /// Each reading is one second after the previous one.
    Ticking(AtomicU64),
}

impl Clock {
    pub(crate) fn now_ns(&self) -> u64 {
        match self {
            Clock::System => system_now_ns(),
            Clock::Ticking(t) => t.fetch_add(1_000_000_000, Ordering::Relaxed),
        }
    }
}

/// The system clock, read directly: `SystemTime::now().duration_since(UNIX_EPOCH)`
/// converts through checked `Duration` arithmetic and a 128-bit multiply, which cost as
/// much as the clock read itself, twice per span.
#[cfg(unix)]
#[inline]
fn system_now_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    // Before 1970 (a badly set clock) reads as 0, as the fallback does.
    let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.tv_sec), u64::try_from(ts.tv_nsec)) else {
        return 0;
    };
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(not(unix))]
#[inline]
fn system_now_ns() -> u64 {
    fallback_now_ns()
}

#[cfg(any(test, not(unix)))]
fn fallback_now_ns() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_clock_reads_the_same_time_as_system_time() {
        let before = fallback_now_ns();
        let direct = system_now_ns();
        let after = fallback_now_ns();
        assert!(
            before <= direct && direct <= after,
            "{before} {direct} {after}"
        );
    }
}
