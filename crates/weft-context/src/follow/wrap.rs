//! The executor-agnostic core: capture a [`Context`] now, attach it when the work runs.
//!
//! Every other module in [`follow`](crate::follow) is a thin, named shortcut over these
//! functions, so this is the one place that decides *when* the context is captured (at
//! wrap time, on the caller's thread) and *how long* it stays attached (exactly for the
//! duration of each call, detached again even if the closure panics).

use opentelemetry::Context;

/// Captures the current [`Context`] now and returns a closure that attaches it while `f` runs.
///
/// Use it with any executor that takes a `FnOnce() + Send + 'static` job: a hand-made
/// thread pool, the `threadpool` crate, `crossbeam`, `rayon::spawn_fifo`, an
/// `mpsc::Sender<Box<dyn FnOnce() + Send>>`. The returned closure is `Send` exactly when
/// `f` is, and `'static` exactly when `f` is.
///
/// The context is captured when `wrap` is called, not when the job starts, so a job that
/// waits in a queue still lands under the span that was current when it was queued.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow;
///
/// let cx = Context::current_with_baggage([KeyValue::new("tenant", "acme")]);
/// let _guard = cx.attach();
///
/// // A hand-made pool: one worker thread fed through a channel.
/// let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
/// let worker = std::thread::spawn(move || rx.into_iter().for_each(|job| job()));
///
/// let (done_tx, done_rx) = std::sync::mpsc::channel();
/// tx.send(Box::new(follow::wrap(move || {
///     let tenant = Context::current().baggage().get("tenant").map(|v| v.to_string());
///     done_tx.send(tenant).ok();
/// })))
/// .ok();
/// assert_eq!(done_rx.recv().ok().flatten().as_deref(), Some("acme"));
/// drop(tx);
/// worker.join().ok();
/// ```
pub fn wrap<F, R>(f: F) -> impl FnOnce() -> R
where
    F: FnOnce() -> R,
{
    wrap_with(Context::current(), f)
}

/// Captures the current [`Context`] now and returns a reusable callback that attaches it
/// around every call of `f`.
///
/// This is for executors that call one function many times, possibly on several threads
/// at once (a `map` over a pool, a callback handed to a library). The callback is `Sync`
/// and `Send` when `f` is, so it can be shared by reference across workers.
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow;
///
/// let _guard = Context::current_with_baggage([KeyValue::new("run", "7")]).attach();
/// let tag = follow::wrap_fn(|x: u32| {
///     let run = Context::current().baggage().get("run").map(|v| v.to_string());
///     format!("{x}@{}", run.unwrap_or_default())
/// });
/// let tags = std::thread::scope(|s| {
///     let tag = &tag;
///     let handles: Vec<_> = (0..2).map(|x| s.spawn(move || tag(x))).collect();
///     handles.into_iter().filter_map(|h| h.join().ok()).collect::<Vec<_>>()
/// });
/// assert_eq!(tags, ["0@7", "1@7"]);
/// ```
pub fn wrap_fn<F, A, R>(f: F) -> impl Fn(A) -> R
where
    F: Fn(A) -> R,
{
    wrap_fn_with(Context::current(), f)
}

/// Runs `f` with `cx` attached as the current context, detaching it afterwards.
///
/// The synchronous counterpart of [`FutureExt::in_context`](crate::follow::FutureExt::in_context).
pub(crate) fn run_in<F, R>(cx: Context, f: F) -> R
where
    F: FnOnce() -> R,
{
    // The guard is dropped on return *and* on unwind, so a panicking job never leaves
    // its context attached to a pool thread that goes on to run someone else's job.
    let _guard = cx.attach();
    f()
}

pub(crate) fn wrap_with<F, R>(cx: Context, f: F) -> impl FnOnce() -> R
where
    F: FnOnce() -> R,
{
    move || run_in(cx, f)
}

pub(crate) fn wrap_fn_with<F, A, R>(cx: Context, f: F) -> impl Fn(A) -> R
where
    F: Fn(A) -> R,
{
    // Each call clones the context (two `Arc` increments) because `attach` consumes it;
    // that is cheaper than any lock and keeps the callback `Fn` rather than `FnMut`.
    move |arg| run_in(cx.clone(), || f(arg))
}

/// Carry an explicit [`Context`] into a closure.
///
/// [`wrap`] and [`wrap_fn`] capture *the current* context. Use this trait when you already
/// hold a context, for example one kept from a request handler, or one built with
/// [`TraceContextExt::with_remote_span_context`](opentelemetry::trace::TraceContextExt::with_remote_span_context).
///
/// ```
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// use weft_context::follow::ContextExt;
///
/// let cx = Context::new().with_baggage([KeyValue::new("k", "v")]);
/// let job = cx.clone().wrap(|| Context::current().baggage().get("k").map(|v| v.to_string()));
/// let seen = std::thread::spawn(job).join().ok().flatten();
/// assert_eq!(seen.as_deref(), Some("v"));
///
/// assert_eq!(cx.in_scope(|| Context::current().baggage().len()), 1);
/// ```
pub trait ContextExt: sealed::Sealed {
    /// Returns a closure that attaches this context while `f` runs.
    ///
    /// Takes the context by value, like [`Context::attach`]; clone it to wrap several
    /// closures (a clone is two `Arc` increments).
    fn wrap<F, R>(self, f: F) -> impl FnOnce() -> R
    where
        F: FnOnce() -> R;

    /// Returns a reusable callback that attaches this context around each call.
    fn wrap_fn<F, A, R>(self, f: F) -> impl Fn(A) -> R
    where
        F: Fn(A) -> R;

    /// Runs `f` now, on this thread, with this context attached; detaches it afterwards.
    fn in_scope<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R;
}

impl ContextExt for Context {
    fn wrap<F, R>(self, f: F) -> impl FnOnce() -> R
    where
        F: FnOnce() -> R,
    {
        wrap_with(self, f)
    }

    fn wrap_fn<F, A, R>(self, f: F) -> impl Fn(A) -> R
    where
        F: Fn(A) -> R,
    {
        wrap_fn_with(self, f)
    }

    fn in_scope<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        run_in(self.clone(), f)
    }
}

mod sealed {
    /// Sealed so methods can be added to [`super::ContextExt`] without a breaking change.
    pub trait Sealed {}
    impl Sealed for opentelemetry::Context {}
}
