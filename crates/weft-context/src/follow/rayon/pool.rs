//! [`spawn`], [`join`] and [`ThreadPoolExt`]: rayon's task entry points, carrying context.

use opentelemetry::Context;

use crate::follow::wrap::{run_in, wrap, wrap_with};

/// Like [`rayon::spawn`]; `f` runs in the context that is current now.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow;
///
/// let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
/// let (tx, rx) = std::sync::mpsc::channel();
/// follow::rayon::spawn(move || {
///     tx.send(Context::current().baggage().len()).ok();
/// });
/// assert_eq!(rx.recv().ok(), Some(1));
/// ```
pub fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    rayon::spawn(wrap(f));
}

/// Like [`rayon::join`]; both closures run in the context that is current now.
///
/// Both need it: called from outside the pool, rayon runs *both* on pool threads; from
/// inside, `b` may be stolen by another thread.
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let cx = Context::current();
    rayon::join(wrap_with(cx.clone(), a), wrap_with(cx, b))
}

/// Context-carrying entry points on a custom [`rayon::ThreadPool`].
///
/// `pool.install(op)` runs `op` on one of the pool's threads, where the current context
/// is not the caller's; a `.in_current_context()` *inside* `op` would then capture
/// nothing. `install_in_current_context` captures the caller's context first.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use rayon::prelude::*;
/// use weft_context::follow::rayon::{ParallelIteratorExt, ThreadPoolExt};
///
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
/// let _guard = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
/// let n = pool.install_in_current_context(|| {
///     (0..10).into_par_iter().in_current_context().filter(|_| Context::current().baggage().len() == 1).count()
/// });
/// assert_eq!(n, 10);
/// # Ok::<(), rayon::ThreadPoolBuildError>(())
/// ```
pub trait ThreadPoolExt: sealed::Sealed {
    /// Like [`rayon::ThreadPool::install`]; `op` runs in the context current now.
    fn install_in_current_context<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send;

    /// Like [`rayon::ThreadPool::spawn`]; `op` runs in the context current now.
    fn spawn_in_current_context<OP>(&self, op: OP)
    where
        OP: FnOnce() + Send + 'static;
}

impl ThreadPoolExt for rayon::ThreadPool {
    fn install_in_current_context<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        let cx = Context::current();
        self.install(move || run_in(cx, op))
    }

    fn spawn_in_current_context<OP>(&self, op: OP)
    where
        OP: FnOnce() + Send + 'static,
    {
        self.spawn(wrap(op));
    }
}

mod sealed {
    /// Sealed so methods can be added to [`super::ThreadPoolExt`] without a breaking change.
    pub trait Sealed {}
    impl Sealed for rayon::ThreadPool {}
}
