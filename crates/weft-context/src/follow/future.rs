//! Context that survives `.await`, on any executor.
//!
//! A future may be polled on a different thread after every `.await`, so a context
//! attached with a guard before the `.await` is gone (or, worse, leaks into whatever task
//! that thread polls next). The only correct place to attach is *inside each poll*:
//! [`WithContext`] attaches its context when it is polled and detaches it before the
//! poll returns, so no guard ever lives across a suspension point.

use std::future::Future;

use opentelemetry::Context;
pub use opentelemetry::context::WithContext;

/// Attach a context to a future for every poll.
///
/// Implemented for every [`Future`]. The wrapper is OpenTelemetry's own
/// [`WithContext`], so it composes with code that already uses
/// [`opentelemetry::context::FutureExt::with_context`]; the weft names exist so that one
/// vocabulary (`in_current_context`) works for futures and parallel iterators alike.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow::FutureExt;
///
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let cx = Context::new().with_baggage([KeyValue::new("k", "v")]);
/// let seen = async {
///     tokio::task::yield_now().await;
///     Context::current().baggage().get("k").map(|v| v.to_string())
/// }
/// .in_context(cx)
/// .await;
/// assert_eq!(seen.as_deref(), Some("v"));
/// # });
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait FutureExt: Future + Sized {
    /// Captures [`Context::current`] now and attaches it on every poll of `self`.
    ///
    /// Call it where the work is *created* (before handing the future to an executor),
    /// not inside the future: inside, the current context is already the executor's.
    fn in_current_context(self) -> WithContext<Self> {
        self.in_context(Context::current())
    }

    /// Attaches `cx` on every poll of `self`, and detaches it before each poll returns.
    fn in_context(self, cx: Context) -> WithContext<Self> {
        opentelemetry::context::FutureExt::with_context(self, cx)
    }
}

impl<F: Future> FutureExt for F {}
