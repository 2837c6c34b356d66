//! The response body: the span ends when it has been sent, or dropped.

use crate::integrations::Started;
use crate::integrations::server::record_panic;
use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// A response body that ends the request's span when it ends. Streamed chunks are
    /// produced with the span current.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        started: Option<Started>,
    }
}

impl<B> TracedBody<B> {
    pub(super) fn new(inner: B, started: Started) -> Self {
        TracedBody {
            inner,
            started: Some(started),
        }
    }

    pub(super) fn untraced(inner: B) -> Self {
        TracedBody {
            inner,
            started: None,
        }
    }
}

impl<B: MessageBody> MessageBody for TracedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let polled = {
            let _attached = this.started.as_ref().map(|s| s.cx.clone().attach());
            let mut inner = this.inner;
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx))) {
                Ok(polled) => polled,
                Err(payload) => {
                    if let Some(started) = this.started.take() {
                        record_panic(&started.span, &*payload);
                        drop(started);
                    }
                    resume_unwind(payload)
                }
            }
        };
        match &polled {
            Poll::Ready(Some(Err(_))) => {
                if let Some(started) = this.started.take() {
                    started
                        .span
                        .set_value("error.type".into(), "body error".into());
                    started.span.set_error("the response body failed");
                }
            }
            // The end of the body: dropping the span ends it.
            Poll::Ready(None) => drop(this.started.take()),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        polled
    }
}
