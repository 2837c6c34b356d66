//! The response future: polled with the request's span current; records the status,
//! and a panic of the inner service.

use super::body::{Finish, TracedBody};
use crate::integrations::Started;
use crate::integrations::server::{Side, record_panic, record_status};
use crate::span::Span;
use http::Response;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// The future of a traced service: see [`ServerLayer`](super::ServerLayer).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<State>,
    }
}

#[derive(Debug)]
struct State {
    started: Started,
    side: Side,
    grpc: bool,
    /// An HTTP/1 request served: its body may end the span after the write.
    http1: bool,
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, started: Started, side: Side, grpc: bool, http1: bool) -> Self {
        ResponseFuture {
            inner,
            state: Some(State {
                started,
                side,
                grpc,
                http1,
            }),
        }
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<Response<TracedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            // Attached at every poll, on whatever thread polls: the handler's work is
            // the span's child.
            let _attached = this.state.as_ref().map(|s| s.started.cx.clone().attach());
            let mut inner = this.inner;
            // Caught only to record it: the panic resumes at once, so whatever the
            // caller relies on (a catch-panic layer, the task aborting) still happens.
            // The future is never polled again after it panicked.
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
                Ok(Poll::Ready(result)) => result,
                Ok(Poll::Pending) => return Poll::Pending,
                Err(payload) => {
                    if let Some(state) = this.state.take() {
                        record_panic(&state.started.span, &*payload);
                        // Ends the span now, not during the unwinding.
                        drop(state);
                    }
                    resume_unwind(payload)
                }
            }
        };
        let Some(State {
            started,
            side,
            grpc,
            http1,
        }) = this.state.take()
        else {
            // Polled after completion: only a misbehaving caller gets here. Nothing is
            // left to record; hand the result through.
            return Poll::Ready(result.map(|resp| resp.map(TracedBody::untraced)));
        };
        Poll::Ready(match result {
            Ok(resp) => {
                // gRPC reads its status from the headers now; a plain HTTP status is
                // recorded when the span ends (see `Finish::status`).
                let status = if grpc {
                    record_response(&started.span, side, &resp);
                    None
                } else {
                    Some(resp.status().as_u16())
                };
                let end_after_write = http1 && side == Side::Server && !grpc;
                let finish = Finish {
                    started,
                    side,
                    grpc,
                    status,
                };
                Ok(resp.map(|body| TracedBody::new(body, finish, end_after_write)))
            }
            Err(err) => {
                started
                    .span
                    .set_value("error.type".into(), "service error".into());
                started.span.set_error(err.to_string());
                Err(err)
            }
        })
    }
}

/// The status of a gRPC response: HTTP's, then `grpc-status` from the headers, where a
/// trailers-only response carries it.
fn record_response<RB>(span: &Span, side: Side, resp: &Response<RB>) {
    record_status(span, side, resp.status().as_u16());
    super::body::record_grpc_status(span, side, resp.headers());
}
