//! Context that follows tokio tasks (feature `tokio`).
//!
//! [`tokio::spawn`] does not carry the current [`opentelemetry::Context`]: the task starts
//! empty, so its spans start a **new trace**. And attaching a context inside a task with a
//! guard is wrong twice over: the guard would live across `.await`, while the task may
//! resume on another worker thread and the first thread goes on to poll other tasks in
//! the stale context.
//!
//! Each item here captures the context at the call and attaches it on every poll (or, for
//! blocking closures, for the closure's run), whatever thread that happens on:
//!
//! | instead of | use |
//! |---|---|
//! | `tokio::spawn(fut)` | [`spawn`]`(fut)` |
//! | `tokio::task::spawn_blocking(f)` | [`spawn_blocking`]`(f)` |
//! | `tokio::task::spawn_local(fut)` | [`spawn_local`]`(fut)` |
//! | `join_set.spawn(fut)` | `join_set.`[`spawn_in_current_context`](JoinSetExt::spawn_in_current_context)`(fut)` |
//! | `join_set.spawn_blocking(f)` | `join_set.`[`spawn_blocking_in_current_context`](JoinSetExt::spawn_blocking_in_current_context)`(f)` |
//! | `handle.spawn(fut)`, anything else taking a future | `handle.spawn(fut.`[`in_current_context`](crate::follow::FutureExt::in_current_context)`())` |
//!
//! ```
//! use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
//! use weft_context::follow;
//!
//! # let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build()?;
//! # rt.block_on(async {
//! let task = {
//!     let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
//!     follow::tokio::spawn(async {
//!         tokio::task::yield_now().await; // may resume on the other worker
//!         Context::current().baggage().get("k").map(|v| v.to_string())
//!     })
//! }; // the guard is dropped before any `.await` in this function
//! assert_eq!(task.await.ok().flatten().as_deref(), Some("v"));
//! # });
//! # Ok::<(), std::io::Error>(())
//! ```

use std::future::Future;

use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use crate::follow::future::FutureExt;
use crate::follow::wrap::wrap;

/// Like [`tokio::spawn`]; the task runs in the context current now, on every poll.
///
/// # Panics
///
/// As `tokio::spawn`: when called outside a tokio runtime.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::task::spawn(future.in_current_context())
}

/// Like [`tokio::task::spawn_blocking`]; `f` runs in the context current now.
///
/// # Panics
///
/// As `tokio::task::spawn_blocking`: when called outside a tokio runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(wrap(f))
}

/// Like [`tokio::task::spawn_local`]; the task runs in the context current now.
///
/// # Panics
///
/// As `tokio::task::spawn_local`: when called outside a `LocalSet`.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    tokio::task::spawn_local(future.in_current_context())
}

/// Context-carrying spawns on a [`JoinSet`].
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use tokio::task::JoinSet;
/// use weft_context::follow::tokio::JoinSetExt;
///
/// # let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
/// # rt.block_on(async {
/// let mut set = JoinSet::new();
/// {
///     let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
///     for _ in 0..3 {
///         set.spawn_in_current_context(async { Context::current().baggage().len() });
///     }
/// }
/// let lens = set.join_all().await;
/// assert_eq!(lens, [1, 1, 1]);
/// # });
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait JoinSetExt<T>: sealed::Sealed {
    /// Like [`JoinSet::spawn`]; the task runs in the context current now, on every poll.
    fn spawn_in_current_context<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send;

    /// Like [`JoinSet::spawn_blocking`]; `f` runs in the context current now.
    fn spawn_blocking_in_current_context<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send;
}

impl<T: 'static> JoinSetExt<T> for JoinSet<T> {
    #[track_caller]
    fn spawn_in_current_context<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.spawn(task.in_current_context())
    }

    #[track_caller]
    fn spawn_blocking_in_current_context<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.spawn_blocking(wrap(f))
    }
}

mod sealed {
    /// Sealed so methods can be added to [`super::JoinSetExt`] without a breaking change.
    pub trait Sealed {}
    impl<T> Sealed for tokio::task::JoinSet<T> {}
}
