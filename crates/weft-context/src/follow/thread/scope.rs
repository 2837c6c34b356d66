//! [`scope`]: scoped threads that start in the spawner's context.

use std::thread::ScopedJoinHandle;

use crate::follow::wrap::wrap;

/// Like [`std::thread::scope`]; threads spawned on the [`Scope`] run in the context that
/// is current when each of them is spawned.
///
/// The closure receives `&Scope`, as with `std`. One difference: `std` hands out a
/// `&'scope Scope` that can be moved into a spawned thread to spawn more threads from
/// there. This `Scope` is a small `Copy` handle, so copy it instead (`let s = *s;`) and
/// move the copy; safe Rust cannot hand out a `'scope` reference to a wrapper it creates.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow::thread;
///
/// let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
/// let seen = thread::scope(|s| {
///     let s = *s; // a copy, moved into the first thread so it can spawn the second
///     s.spawn(move || s.spawn(|| Context::current().baggage().len()).join().ok())
///         .join()
///         .ok()
///         .flatten()
/// });
/// assert_eq!(seen, Some(1));
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&Scope<'scope, 'env>) -> T,
{
    std::thread::scope(|inner| f(&Scope { inner }))
}

/// The scope handed out by [`scope`]: a [`std::thread::Scope`] whose `spawn` carries the
/// current context into the new thread.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'scope, 'env: 'scope> {
    inner: &'scope std::thread::Scope<'scope, 'env>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Like [`std::thread::Scope::spawn`]; the thread runs `f` in the context current now.
    pub fn spawn<F, T>(&self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.inner.spawn(wrap(f))
    }

    /// The underlying `std` scope; its `spawn` does **not** carry the context.
    #[must_use]
    pub fn as_std(&self) -> &'scope std::thread::Scope<'scope, 'env> {
        self.inner
    }
}
