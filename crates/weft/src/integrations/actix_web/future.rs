//! The response future: polled with the request's span current; records the status,
//! the handler's error and a panic.

use super::body::TracedBody;
use crate::integrations::Started;
use crate::integrations::server::{Side, record_panic, record_status};
use actix_web::dev::ServiceResponse;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// The future of a traced actix-web service: see
    /// [`ServerMiddleware`](super::ServerMiddleware).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        started: Option<Started>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, started: Started) -> Self {
        ResponseFuture {
            inner,
            started: Some(started),
        }
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<TracedBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            // Attached at every poll: the handler's work is the span's child.
            let _attached = this.started.as_ref().map(|s| s.cx.clone().attach());
            let mut inner = this.inner;
            // Caught only to record it, then resumed: actix's own handling goes on.
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
                Ok(Poll::Ready(result)) => result,
                Ok(Poll::Pending) => return Poll::Pending,
                Err(payload) => {
                    if let Some(started) = this.started.take() {
                        record_panic(&started.span, &*payload);
                        // Ends the span now, not during the unwinding.
                        drop(started);
                    }
                    resume_unwind(payload)
                }
            }
        };
        let Some(started) = this.started.take() else {
            // Polled after completion: nothing is left to record.
            return Poll::Ready(
                result.map(|res| res.map_body(|_, body| TracedBody::untraced(body))),
            );
        };
        Poll::Ready(match result {
            Ok(res) => {
                let status = res.status().as_u16();
                record_status(&started.span, Side::Server, status);
                if let Some(err) = res.response().error() {
                    // A handler's `Err` became this response. Its message says more
                    // than the status; a 4xx stays the client's mistake, as in axum.
                    if Side::Server.http_error(status) {
                        started.span.set_error(format!("HTTP {status}: {err}"));
                    }
                }
                Ok(res.map_body(move |_, body| TracedBody::new(body, started)))
            }
            Err(err) => {
                // An inner middleware failed: actix turns the error into a response
                // after this one; record the status it will have.
                let status = err.as_response_error().status_code().as_u16();
                record_status(&started.span, Side::Server, status);
                started
                    .span
                    .set_value("error.type".into(), "service error".into());
                started.span.set_error(err.to_string());
                Err(err)
            }
        })
    }
}
