//! A tower [`Layer`] that traces an HTTP or gRPC server: axum, hyper and tonic.
//!
//! Each request gets one SERVER span, named `METHOD route` (axum's `MatchedPath`,
//! feature `axum`), `METHOD` alone when no route is known (never the raw path: names
//! stay few), or `package.Service/Method` for gRPC. Its parent is the caller's
//! `traceparent`, as the [`distributed_tracing`](crate::DistributedTracing) policy
//! allows: `Warn` (the default) continues it and warns once, `Allow` continues it
//! silently, `Deny` makes the request a new root and keeps the caller's span as a link
//! with `weft.link.reason`. Invalid headers are ignored: the request is a new root and
//! is served as usual.
//!
//! The handler runs with the span current, so its spans, logs and `tracing` spans are
//! children. The span ends when the response body has been sent (or dropped). A
//! handler that panics leaves the span failed (`error.type = panic`) before the panic
//! goes on to whatever catches it.

mod body;
mod future;
mod request;

pub use body::TracedBody;
pub use future::ResponseFuture;

#[cfg(feature = "tonic")]
use super::Started;
use super::server::{Side, start_server_span};
use http::{Request, Response, Version};
use std::task::{Context as TaskContext, Poll};
use tower::{Layer, Service};

/// Traces every request a server handles. See the [module docs](self).
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "ada" }))
///     // `Router::layer` runs after routing: spans are named `GET /users/{id}`.
///     .layer(weft::integrations::tower::ServerLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer {
    _private: (),
}

impl ServerLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService { inner }
    }
}

/// The service [`ServerLayer`] wraps around yours.
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for ServerService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Error: std::fmt::Display,
{
    type Response = Response<TracedBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (info, fields) = request::describe_server(&req);
        let grpc = info.grpc;
        let http1 = matches!(req.version(), Version::HTTP_10 | Version::HTTP_11);
        let started = start_server_span(&fields, &info, "weft::integrations::tower");
        let future = {
            let _attached = started.cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(future, started, Side::Server, grpc, http1)
    }
}

/// The response future of a traced gRPC client call.
#[cfg(feature = "tonic")]
pub(crate) fn future_side_client<F>(inner: F, started: Started) -> ResponseFuture<F> {
    ResponseFuture::new(inner, started, Side::Client, true, false)
}
