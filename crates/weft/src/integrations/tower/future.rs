//! The response future: polled with the request's span current; records the status.

use super::body::{Finish, TracedBody};
use crate::integrations::{Started, grpc_code_is_server_error};
use crate::span::Span;
use http::Response;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// Which end of the call the span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    #[cfg_attr(not(feature = "tonic"), allow(dead_code))]
    Client,
}

impl Side {
    /// Whether an HTTP status marks the span failed: 5xx on a server (the client's
    /// mistakes are not the server's), 4xx and 5xx on a client.
    fn http_error(self, status: u16) -> bool {
        match self {
            Side::Server => status >= 500,
            Side::Client => status >= 400,
        }
    }

    /// Whether a gRPC status code marks the span failed.
    pub(crate) fn grpc_error(self, code: i64) -> bool {
        match self {
            Side::Server => grpc_code_is_server_error(code),
            Side::Client => code != 0,
        }
    }
}

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
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, started: Started, side: Side, grpc: bool) -> Self {
        ResponseFuture {
            inner,
            state: Some(State {
                started,
                side,
                grpc,
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
            match this.inner.poll(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            }
        };
        let Some(State {
            started,
            side,
            grpc,
        }) = this.state.take()
        else {
            // Polled after completion: only a misbehaving caller gets here. Nothing is
            // left to record; hand the result through.
            return Poll::Ready(result.map(|resp| resp.map(TracedBody::untraced)));
        };
        Poll::Ready(match result {
            Ok(resp) => {
                record_response(&started.span, side, grpc, &resp);
                let finish = Finish {
                    started,
                    side,
                    grpc,
                };
                Ok(resp.map(|body| TracedBody::new(body, finish)))
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

fn record_response<RB>(span: &Span, side: Side, grpc: bool, resp: &Response<RB>) {
    let status = resp.status().as_u16();
    span.set_value("http.response.status_code".into(), status.into());
    if side.http_error(status) {
        span.set_value("error.type".into(), status.to_string().into());
        span.set_error(format!("HTTP {status}"));
    }
    if grpc {
        // A trailers-only response carries grpc-status in its headers.
        super::body::record_grpc_status(span, side, resp.headers());
    }
}
