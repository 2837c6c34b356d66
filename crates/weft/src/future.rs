//! Futures that run inside a span: the span is current on every poll (whatever thread
//! polls it) and ends when the future is dropped.

use crate::span::Span;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// A future polled with a span current. See [`FutureExt::in_span`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        #[pin]
        future: F,
        span: Span,
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        this.future.poll(cx)
    }
}

/// Runs futures inside weft spans.
pub trait FutureExt: Future + Sized {
    /// Polls `self` with `span` current; the span ends when the future is dropped.
    ///
    /// ```
    /// use weft::FutureExt;
    /// # async fn fetch() {}
    /// # async fn run() {
    /// fetch().in_span(weft::span!("fetching")).await;
    /// # }
    /// ```
    fn in_span(self, span: Span) -> InSpan<Self> {
        InSpan { future: self, span }
    }
}

impl<F: Future> FutureExt for F {}
