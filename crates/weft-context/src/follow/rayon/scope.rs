//! [`scope`]: rayon scopes whose spawned jobs carry the spawner's context.

use opentelemetry::Context;

use crate::follow::wrap::run_in;

/// Like [`rayon::scope`]; `op` and every job spawned on the [`Scope`] run in the context
/// current when each was started.
///
/// `op` needs it too: called from outside the pool, rayon runs `op` itself on a pool
/// thread.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use weft_context::follow;
///
/// let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
/// let in_context = AtomicUsize::new(0);
/// follow::rayon::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|_| {
///             if Context::current().baggage().len() == 1 {
///                 in_context.fetch_add(1, Ordering::Relaxed);
///             }
///         });
///     }
/// });
/// assert_eq!(in_context.into_inner(), 4);
/// ```
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: for<'s> FnOnce(&Scope<'s, 'scope>) -> R + Send,
    R: Send,
{
    let cx = Context::current();
    rayon::scope(move |inner| run_in(cx, || op(&Scope { inner })))
}

/// The scope handed out by [`scope`]: a [`rayon::Scope`] whose `spawn` carries the current
/// context into the job.
///
/// It has one more lifetime than `rayon::Scope<'scope>`: `'s`, the borrow of the rayon
/// scope it wraps. Closures that take `|s|` never need to name either.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'s, 'scope> {
    inner: &'s rayon::Scope<'scope>,
}

impl<'s, 'scope> Scope<'s, 'scope> {
    /// Like [`rayon::Scope::spawn`]; `body` runs in the context current now, and receives
    /// a `Scope` whose own `spawn` carries context in turn.
    pub fn spawn<BODY>(&self, body: BODY)
    where
        BODY: for<'t> FnOnce(&Scope<'t, 'scope>) + Send + 'scope,
    {
        let cx = Context::current();
        self.inner
            .spawn(move |inner| run_in(cx, || body(&Scope { inner })));
    }

    /// The underlying rayon scope; its `spawn` does **not** carry the context.
    #[must_use]
    pub fn as_rayon(&self) -> &'s rayon::Scope<'scope> {
        self.inner
    }
}
