//! Log and span levels, numbered as the Logfire SDKs number them (`logfire.level_num`),
//! so records render with the right severity in the Logfire UI and in `weft serve`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// A severity. The numbers are Logfire's `logfire.level_num` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Very fine detail (1).
    Trace = 1,
    /// Debugging detail (5).
    Debug = 5,
    /// Normal operation (9).
    Info = 9,
    /// Normal but significant (10).
    Notice = 10,
    /// Something unexpected that was handled (13).
    Warn = 13,
    /// An operation failed (17).
    Error = 17,
    /// The process cannot go on (21).
    Fatal = 21,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Notice,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// Logfire's `logfire.level_num`.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The lowercase name, as Logfire spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    pub(crate) fn from_tracing(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::ERROR => Level::Error,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text was not a level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}: expected one of trace, debug, info, notice, warn, error, fatal")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Level::ALL
            .into_iter()
            .find(|l| l.name() == lower || (lower == "warning" && *l == Level::Warn))
            .ok_or_else(|| ParseLevelError(s.to_owned()))
    }
}

/// The lowest level any pipeline in this process records. The macros compare against
/// it before doing anything else, so a filtered-out `debug!` costs one load and one branch.
static MIN_ENABLED: AtomicU8 = AtomicU8::new(Level::Fatal as u8 + 1);

/// True when some pipeline records `level`. Used by the macros; not a stable API.
#[inline(always)]
pub(crate) fn enabled(level: Level) -> bool {
    level as u8 >= MIN_ENABLED.load(Ordering::Relaxed)
}

/// Lowers the process-wide floor so `level` passes the macros' first check.
pub(crate) fn lower_floor(level: Level) {
    MIN_ENABLED.fetch_min(level as u8, Ordering::Relaxed);
}
