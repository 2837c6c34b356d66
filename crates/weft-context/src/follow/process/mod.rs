//! Context that follows a child process, through its environment.
//!
//! A child process shares nothing with its parent but what the parent hands it, so this
//! hop, unlike the in-process ones, goes through the W3C carrier: the parent sets
//! `TRACEPARENT`, `TRACESTATE` and `BAGGAGE` on the child's environment (the names of
//! the [OpenTelemetry environment-variable carrier](https://opentelemetry.io/docs/specs/otel/context/env-carriers/)),
//! and the child attaches them, so its spans are children of the parent's span with
//! `parent.is_remote = true`.
//!
//! - **Parent:** [`CommandExt::with_current_context`] on `std::process::Command` (and on
//!   `tokio::process::Command` with the `tokio` feature).
//! - **Child:** weft's `configure()` reads the carrier and makes it the process's base
//!   context with [`install_base_context`] (`ConfigBuilder::attach_from_env(false)`
//!   turns that off): attached on the configuring thread, so [`get_context`] there
//!   returns it, baggage included, and passed on by [`CommandExt::with_current_context`]
//!   from code with no context of its own, so a grandchild stays in the same trace.
//!   Without weft's `configure()`, or in a library, call [`attach_from_env`] (this
//!   thread only) or [`install_base_context`] yourself, or read the carrier with
//!   [`context_from_process_env`] / [`context_from_env_vars`].
//!
//! [`get_context`]: crate::propagation::get_context
//!
//! A plain `Command::spawn` passes the parent's *own* environment through, which may hold
//! a `TRACEPARENT` the parent itself inherited: stale, and pointing at the wrong span.
//! `with_current_context` therefore removes the variables it does not set.
//!
//! ```no_run
//! use std::process::Command;
//! use weft_context::follow::process::CommandExt;
//!
//! // Parent, inside some span:
//! let status = Command::new("worker").arg("--once").with_current_context().status()?;
//!
//! // Child (`worker`), at start-up, when not using weft's `configure()`:
//! let _parent = weft_context::follow::process::attach_from_env();
//! # Ok::<(), std::io::Error>(())
//! ```

mod base;
mod command;

pub use base::{base_context, current_or_base_context, install_base_context, set_base_context};
pub use command::CommandExt;

use crate::propagation::{AttachGuard, Carrier, attach_context};

/// The context a parent process passed in `vars`, or `None` when it passed none.
///
/// `vars` is any `(name, value)` list: `std::env::vars()`, or a fixed list in a test
/// (which never needs to touch the real environment). `TRACEPARENT`, `TRACESTATE` and
/// `BAGGAGE` are read; everything else is ignored.
///
/// ```
/// use weft_context::follow::process::context_from_env_vars;
///
/// let env = [
///     ("PATH", "/usr/bin"),
///     ("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
/// ];
/// let carrier = context_from_env_vars(env).expect("a parent context");
/// assert_eq!(carrier.get("traceparent"), Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
/// assert!(context_from_env_vars([("PATH", "/usr/bin")]).is_none());
/// ```
pub fn context_from_env_vars<I, K, V>(vars: I) -> Option<Carrier>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    non_empty(Carrier::from_env_vars(vars))
}

/// The context the parent process passed in this process's environment, if any.
pub fn context_from_process_env() -> Option<Carrier> {
    non_empty(Carrier::from_process_env())
}

/// Attaches the context passed in `vars` (see [`context_from_env_vars`]) until the guard
/// drops; `None`, and nothing attached, when there is none.
///
/// This is a first-party attach ([`attach_context`]): the parent process is part of the
/// same application, so the `distributed_tracing` policy does not apply and nothing
/// warns. The guard belongs to the calling thread (it is `!Send`).
pub fn attach_from_env_vars<I, K, V>(vars: I) -> Option<AttachGuard>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    context_from_env_vars(vars).map(|carrier| attach_context(&carrier))
}

/// Attaches the context the parent process passed in this process's environment, until
/// the guard drops; `None` when there is none. See [`attach_from_env_vars`].
pub fn attach_from_env() -> Option<AttachGuard> {
    context_from_process_env().map(|carrier| attach_context(&carrier))
}

fn non_empty(carrier: Carrier) -> Option<Carrier> {
    (!carrier.is_empty()).then_some(carrier)
}
