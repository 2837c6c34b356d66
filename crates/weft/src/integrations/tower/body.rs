//! The response body: the span ends when it has been sent, or dropped; gRPC trailers
//! give the status.

use crate::integrations::Started;
use crate::integrations::server::{Side, record_panic};
use crate::span::Span;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// A response body that ends the request's span when it ends. Streamed frames are
    /// produced with the span current.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }
}

/// What ends with the body.
#[derive(Debug)]
pub(crate) struct Finish {
    pub(crate) started: Started,
    pub(crate) side: Side,
    pub(crate) grpc: bool,
}

impl<B> TracedBody<B> {
    pub(crate) fn new(inner: B, finish: Finish) -> Self {
        TracedBody {
            inner,
            finish: Some(finish),
        }
    }

    pub(crate) fn untraced(inner: B) -> Self {
        TracedBody {
            inner,
            finish: None,
        }
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = {
            let _attached = this.finish.as_ref().map(|f| f.started.cx.clone().attach());
            let mut inner = this.inner;
            // A streaming body can panic too: record it, end the span, let it go on.
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_frame(cx))) {
                Ok(polled) => polled,
                Err(payload) => {
                    if let Some(finish) = this.finish.take() {
                        record_panic(&finish.started.span, &*payload);
                        drop(finish);
                    }
                    resume_unwind(payload)
                }
            }
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(finish), Some(trailers)) = (this.finish.as_ref(), frame.trailers_ref())
                {
                    if finish.grpc {
                        record_grpc_status(&finish.started.span, finish.side, trailers);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(finish) = this.finish.take() {
                    finish
                        .started
                        .span
                        .set_value("error.type".into(), "body error".into());
                    finish.started.span.set_error("the response body failed");
                }
            }
            // The end of the body: dropping the state ends the span.
            Poll::Ready(None) => drop(this.finish.take()),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `rpc.grpc.status_code` from `grpc-status`, and the error status it implies.
pub(crate) fn record_grpc_status(span: &Span, side: Side, headers: &HeaderMap) {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return;
    };
    span.set_value("rpc.grpc.status_code".into(), code.into());
    if side.grpc_error(code) {
        // grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
        let message = headers
            .get("grpc-message")
            .map(|v| {
                percent_encoding::percent_decode(v.as_bytes())
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        span.set_value("error.type".into(), code.to_string().into());
        let separator = if message.is_empty() { "" } else { ": " };
        span.set_error(format!("gRPC status {code}{separator}{message}"));
    }
}
