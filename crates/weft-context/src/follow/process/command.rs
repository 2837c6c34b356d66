//! [`CommandExt`]: the parent side of the process hop.

use super::base::current_or_base_context;
use crate::propagation::{Carrier, FIELDS};

/// Pass the current trace context to a child process through its environment.
///
/// Implemented for [`std::process::Command`] and, with the `tokio` feature, for
/// `tokio::process::Command`. If you also import `std::os::unix::process::CommandExt`,
/// import one of the two `as _`.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use std::ffi::OsStr;
/// use std::process::Command;
/// use weft_context::follow::process::CommandExt;
///
/// let span = SpanContext::new(
///     TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
///     SpanId::from(0xb7ad6b7169203331),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::NONE,
/// );
/// let _in_span = Context::current().with_remote_span_context(span).attach();
///
/// let mut cmd = Command::new("worker");
/// cmd.with_current_context();
/// let traceparent = cmd.get_envs().find(|(k, _)| *k == "TRACEPARENT").and_then(|(_, v)| v);
/// assert_eq!(traceparent, Some(OsStr::new("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
/// ```
pub trait CommandExt: sealed::Sealed {
    /// Sets `TRACEPARENT`, `TRACESTATE` and `BAGGAGE` from
    /// [`get_context`](crate::propagation::get_context) (the context current *now*), with
    /// what it lacks filled in from the process's
    /// [base context](super::current_or_base_context), and removes from the child's
    /// environment each of them that neither has, so a stale value inherited by this
    /// process is never passed on.
    fn with_current_context(&mut self) -> &mut Self;

    /// Like [`with_current_context`](Self::with_current_context), from a given carrier.
    fn with_context(&mut self, carrier: &Carrier) -> &mut Self;
}

/// What both `Command` types have in common, so the rule lives in one place.
trait EnvTarget {
    fn set(&mut self, name: &str, value: &str);
    fn remove(&mut self, name: &str);
}

fn apply(target: &mut impl EnvTarget, carrier: &Carrier) {
    let vars = carrier.to_env_vars();
    for field in FIELDS {
        let name = field.to_ascii_uppercase();
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => target.set(&name, value),
            None => target.remove(&name),
        }
    }
}

impl EnvTarget for std::process::Command {
    fn set(&mut self, name: &str, value: &str) {
        self.env(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.env_remove(name);
    }
}

impl CommandExt for std::process::Command {
    fn with_current_context(&mut self) -> &mut Self {
        self.with_context(&current_or_base_context())
    }

    fn with_context(&mut self, carrier: &Carrier) -> &mut Self {
        apply(self, carrier);
        self
    }
}

#[cfg(feature = "tokio")]
impl EnvTarget for tokio::process::Command {
    fn set(&mut self, name: &str, value: &str) {
        self.env(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.env_remove(name);
    }
}

#[cfg(feature = "tokio")]
impl CommandExt for tokio::process::Command {
    fn with_current_context(&mut self) -> &mut Self {
        self.with_context(&current_or_base_context())
    }

    fn with_context(&mut self, carrier: &Carrier) -> &mut Self {
        apply(self, carrier);
        self
    }
}

mod sealed {
    /// Sealed so methods can be added to [`super::CommandExt`] without a breaking change.
    pub trait Sealed {}
    impl Sealed for std::process::Command {}
    #[cfg(feature = "tokio")]
    impl Sealed for tokio::process::Command {}
}
