//! Time stamps in nanoseconds since the Unix epoch, from the system clock or, in tests,
//! from a counter so exported records are repeatable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            Clock::Ticking(t) => t.fetch_add(1_000_000_000, Ordering::Relaxed),
        }
    }
}
