//! gRPC clients: a tower layer for tonic channels that makes a CLIENT span per call
//! and sends its context in the call's metadata.
//!
//! Servers need nothing gRPC-specific: [`ServerLayer`](super::tower::ServerLayer)
//! recognises `content-type: application/grpc` and names the span
//! `package.Service/Method`.
//!
//! ```no_run
//! use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:4317").connect().await?;
//! let channel = tower::Layer::layer(&weft::integrations::tonic::ClientLayer::new(), channel);
//! let client = TraceServiceClient::new(channel);
//! # drop(client); Ok(()) }
//! ```

use super::tower::{ResponseFuture, TracedBody};
use super::{authority_attributes, grpc_path};
use crate::integrations::tower::future_side_client;
use http::{Request, Response};
use opentelemetry::trace::SpanKind;
use std::borrow::Cow;
use std::task::{Context as TaskContext, Poll};
use tower::{Layer, Service};

/// Traces the calls made through a tonic channel (or any HTTP/2 tower client).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientLayer {
    _private: (),
}

impl ClientLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService { inner }
    }
}

/// The service [`ClientLayer`] wraps around a channel.
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for ClientService<S>
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let mut attributes = vec![("rpc.system".into(), "grpc".into())];
        let name = match grpc_path(req.uri().path()) {
            Some((service, method)) => {
                attributes.push(("rpc.service".into(), service.to_owned().into()));
                attributes.push(("rpc.method".into(), method.to_owned().into()));
                Cow::Owned(format!("{service}/{method}"))
            }
            None => Cow::Borrowed("grpc"),
        };
        if let Some(authority) = req.uri().authority() {
            authority_attributes(authority.as_str(), None, &mut attributes);
        }
        let started =
            super::start_span(name, SpanKind::Client, attributes, Vec::new(), None, SCOPE);
        super::header::inject_from(&started.cx, req.headers_mut());
        let future = {
            let _attached = started.cx.clone().attach();
            self.inner.call(req)
        };
        future_side_client(future, started)
    }
}

const SCOPE: &str = "weft::integrations::tonic";
