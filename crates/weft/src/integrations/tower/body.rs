//! The response body: the span ends when it has been sent, or dropped; gRPC trailers
//! give the status.
//!
//! An HTTP/1 response of known length ends its span only after hyper has written it.
//! hyper drops a body as soon as it has taken the last frame, before it writes the
//! response to the socket, so ending the span there puts the span's end (and the
//! status code, recorded with it) on the caller's critical path. Instead the body
//! keeps reporting that more may come, answers the poll after its last frame with
//! `Pending` (waking its task at once), and so lets hyper flush what it has; the next
//! poll ends the span and the body. The bytes sent are the same: the length was
//! announced, so the end adds nothing to the message. Streamed (chunked) and HTTP/2
//! bodies end as before: for them, an end reported later is a frame of its own.

use crate::integrations::Started;
use crate::integrations::server::{Side, record_panic, record_status};
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
        ending: Ending,
    }
}

/// When the span ends (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// When the inner body ends or is dropped.
    WithBody,
    /// After the write, if the body turns out to have a known length: no data yet.
    AfterWrite,
    /// Data handed over; the end is held back until one `Pending` has let hyper flush.
    Holding,
    /// Flushed: the next poll ends the span and the body.
    Flushed,
}

/// What ends with the body.
#[derive(Debug)]
pub(crate) struct Finish {
    pub(crate) started: Started,
    pub(crate) side: Side,
    pub(crate) grpc: bool,
    /// The HTTP status, recorded when the span ends rather than when the response
    /// left the handler, so that it too waits until the response is written.
    pub(crate) status: Option<u16>,
}

impl Finish {
    /// Records the held status now: before anything the body records, so the order of
    /// the span's late fields (status, then a body error or panic) stays as it was.
    fn record_status(&mut self) {
        if let Some(status) = self.status.take() {
            record_status(&self.started.span, self.side, status);
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        // Runs before the fields drop, so the status is in before the span ends.
        self.record_status();
    }
}

impl<B> TracedBody<B> {
    /// `end_after_write`: an HTTP/1 server response, which may end its span after
    /// hyper has written it (if its length is known).
    pub(crate) fn new(inner: B, finish: Finish, end_after_write: bool) -> Self {
        TracedBody {
            inner,
            finish: Some(finish),
            ending: if end_after_write {
                Ending::AfterWrite
            } else {
                Ending::WithBody
            },
        }
    }

    pub(crate) fn untraced(inner: B) -> Self {
        TracedBody {
            inner,
            finish: None,
            ending: Ending::WithBody,
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
        match *this.ending {
            Ending::AfterWrite if this.inner.size_hint().exact().is_none() => {
                *this.ending = Ending::WithBody;
            }
            Ending::Holding if this.finish.is_some() && this.inner.is_end_stream() => {
                // The last frame is out; hyper flushes the response before it polls
                // again, and the wake makes that poll come right after.
                *this.ending = Ending::Flushed;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Ending::Flushed => {
                *this.ending = Ending::WithBody;
                drop(this.finish.take());
                return Poll::Ready(None);
            }
            _ => {}
        }
        let polled = {
            let _attached = this.finish.as_ref().map(|f| f.started.cx.clone().attach());
            let mut inner = this.inner;
            // A streaming body can panic too: record it, end the span, let it go on.
            match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_frame(cx))) {
                Ok(polled) => polled,
                Err(payload) => {
                    if let Some(mut finish) = this.finish.take() {
                        finish.record_status();
                        record_panic(&finish.started.span, &*payload);
                        drop(finish);
                    }
                    resume_unwind(payload)
                }
            }
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if *this.ending == Ending::AfterWrite && frame.is_data() {
                    *this.ending = Ending::Holding;
                }
                if let (Some(finish), Some(trailers)) = (this.finish.as_mut(), frame.trailers_ref())
                {
                    if finish.grpc {
                        finish.record_status();
                        record_grpc_status(&finish.started.span, finish.side, trailers);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut finish) = this.finish.take() {
                    finish.record_status();
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
        // While the end is held back, more may come (see the module docs).
        let holding =
            self.finish.is_some() && matches!(self.ending, Ending::Holding | Ending::Flushed);
        !holding && self.inner.is_end_stream()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::memory::MemoryExporter;
    use crate::value::Value;
    use http_body_util::Full;
    use opentelemetry::trace::SpanKind;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn finish(status: u16) -> Finish {
        let started = crate::integrations::start_span(
            "GET /t".into(),
            SpanKind::Server,
            Vec::new(),
            Vec::new(),
            None,
            "test",
        );
        Finish {
            started,
            side: Side::Server,
            grpc: false,
            status: Some(status),
        }
    }

    fn status_of(memory: &MemoryExporter) -> Vec<(Option<Value>, bool)> {
        memory
            .spans()
            .iter()
            .map(|r| {
                let status = r
                    .attributes
                    .iter()
                    .find(|(k, _)| k == "http.response.status_code")
                    .map(|(_, v)| v.clone());
                (status, matches!(r.status, crate::record::Status::Error(_)))
            })
            .collect()
    }

    type Polled = Poll<Option<Result<Frame<&'static [u8]>, std::convert::Infallible>>>;

    /// An HTTP/1 body of known length says it may go on after its last frame, answers
    /// the next poll with `Pending` (waking its task, so hyper flushes and comes back),
    /// and ends the span, with its status, on the poll after that.
    #[test]
    fn a_known_length_body_ends_its_span_after_one_pending() {
        let (weft, memory) = crate::testing::deterministic().expect("a test instance");
        let _weft = weft.set_default();
        let mut body = std::pin::pin!(TracedBody::new(Full::new(&b"hello"[..]), finish(503), true));
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = TaskContext::from_waker(&waker);
        let mut poll = || -> Polled { body.as_mut().poll_frame(&mut cx) };
        assert!(matches!(poll(), Poll::Ready(Some(Ok(f))) if f.is_data()));
        assert!(matches!(poll(), Poll::Pending));
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1);
        weft.force_flush();
        assert!(memory.spans().is_empty(), "the span waits for the flush");
        assert!(matches!(poll(), Poll::Ready(None)));
        weft.force_flush();
        assert_eq!(status_of(&memory), [(Some(Value::I64(503)), true)]);
        assert!(body.is_end_stream());
    }

    #[test]
    fn the_end_is_held_only_while_the_span_is() {
        let (weft, memory) = crate::testing::deterministic().expect("a test instance");
        let _weft = weft.set_default();
        let inner = Full::new(&b"hello"[..]);
        let mut body = Box::pin(TracedBody::new(inner, finish(200), true));
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(!body.is_end_stream());
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(!body.is_end_stream(), "more may come while the end is held");
        drop(body);
        weft.force_flush();
        assert_eq!(status_of(&memory), [(Some(Value::I64(200)), false)]);
    }

    /// Without the HTTP/1 flag (HTTP/2, gRPC, clients) the span ends with the body, as
    /// the body's own end.
    #[test]
    fn other_bodies_end_with_the_body() {
        let (weft, memory) = crate::testing::deterministic().expect("a test instance");
        let _weft = weft.set_default();
        let mut body = std::pin::pin!(TracedBody::new(
            Full::new(&b"hello"[..]),
            finish(200),
            false
        ));
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(body.is_end_stream());
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(None)
        ));
        weft.force_flush();
        assert_eq!(status_of(&memory), [(Some(Value::I64(200)), false)]);
    }
}
