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
//! children. The span ends when the response body has been sent (or dropped).

mod body;
mod future;
mod request;

pub use body::TracedBody;
pub use future::ResponseFuture;

use super::Started;
use crate::pipeline::ScopedPipeline;
use crate::record::SpanLink;
use future::Side;
use http::{Request, Response};
use opentelemetry::Context;
use opentelemetry::trace::SpanKind;
use std::task::{Context as TaskContext, Poll};
use tower::{Layer, Service};
use weft_context::propagation::{
    Carrier, LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, extract_third_party,
};

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
        let described = request::describe_server(&req);
        let started = start_server_span(&req, described.name, described.attributes);
        let future = {
            let _attached = started.cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(future, started, Side::Server, described.grpc)
    }
}

/// Extracts the caller's context under the policy and starts the SERVER span in it.
fn start_server_span<B>(
    req: &Request<B>,
    name: std::borrow::Cow<'static, str>,
    attributes: Vec<crate::record::Attribute>,
) -> Started {
    let carrier = Carrier::from_header_map(req.headers());
    // A new root drops the ambient context's values; keep the weft instance a test or
    // a non-global setup made current, so the span still records there.
    let scoped = Context::map_current(|cx| cx.get::<ScopedPipeline>().cloned());
    let extraction = extract_third_party(&carrier);
    let mut parent = extraction.context;
    if let Some(scoped) = scoped {
        if parent.get::<ScopedPipeline>().is_none() {
            parent = parent.with_value(scoped);
        }
    }
    let links = extraction
        .link
        .map(|span_context| SpanLink {
            span_context,
            attributes: vec![(LINK_REASON_ATTRIBUTE.into(), LINK_REASON_DENIED.into())],
        })
        .into_iter()
        .collect();
    super::start_span(
        name,
        SpanKind::Server,
        attributes,
        links,
        Some(parent),
        "weft::integrations::tower",
    )
}

/// The response future of a traced gRPC client call.
#[cfg(feature = "tonic")]
pub(crate) fn future_side_client<F>(inner: F, started: Started) -> ResponseFuture<F> {
    ResponseFuture::new(inner, started, Side::Client, true)
}
