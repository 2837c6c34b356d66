//! An actix-web middleware that traces a server, as the tower `ServerLayer` does for
//! axum, hyper and tonic (feature `tower`), with the same span, attributes and policy.
//!
//! Each request gets one SERVER span, named `METHOD pattern` after the resource pattern
//! that matched (`GET /users/{id}`), `METHOD` alone when none did (never the raw path:
//! names stay few). Its parent is the caller's `traceparent`, as the
//! [`distributed_tracing`](crate::DistributedTracing) policy allows: `Warn` (the
//! default) continues it and warns once, `Allow` continues it silently, `Deny` makes the
//! request a new root and keeps the caller's span as a link with `weft.link.reason`.
//! Invalid headers are ignored: the request is a new root and is served as usual.
//!
//! Attributes: `http.request.method`, `url.path`, `url.scheme`, `http.route`,
//! `http.response.status_code`, `server.address`/`server.port` (from the `Host`
//! header, not `Forwarded`, which any caller can write), `client.address`/`client.port`
//! (the peer), `user_agent.original`, `network.protocol.version`. A 5xx marks the span
//! failed, with the handler's error message when it returned one; so do a service
//! error and a panic (`error.type = panic`).
//!
//! The handler runs with the span current, so its spans, logs and `tracing` spans are
//! children. The span ends when the response body has been sent (or dropped).
//!
//! ```
//! use actix_web::{App, web};
//!
//! let app = App::new()
//!     .route("/users/{id}", web::get().to(|| async { "ada" }))
//!     .wrap(weft::integrations::actix_web::ServerMiddleware::new());
//! # drop(app);
//! ```

mod body;
mod future;

pub use body::TracedBody;
pub use future::ResponseFuture;

use super::header::{W3cFields, single_field};
use super::server::{RequestInfo, start_server_span};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Version;
use actix_web::http::header::{self, HeaderMap};
use weft_context::propagation::{Carrier, FIELDS};

const SCOPE: &str = "weft::integrations::actix_web";

/// Traces every request an actix-web app handles: `App::wrap(ServerMiddleware::new())`.
/// See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerMiddleware {
    _private: (),
}

impl ServerMiddleware {
    /// The middleware.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S, B> Transform<S, ServiceRequest> for ServerMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<TracedBody<B>>;
    type Error = actix_web::Error;
    type Transform = ServerService<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<ServerService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(ServerService { inner: service }))
    }
}

/// The service [`ServerMiddleware`] wraps around yours.
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
}

impl<S, B> Service<ServiceRequest> for ServerService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<TracedBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Matched against the app's resource map, so it is known before routing: the
        // middleware can wrap the whole `App`.
        let route = req.match_pattern();
        let headers = req.headers();
        let fields = w3c_fields(headers);
        let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let info = RequestInfo {
            method: req.method().as_str(),
            path: req.path(),
            scheme: req
                .uri()
                .scheme_str()
                .unwrap_or(if req.app_config().secure() {
                    "https"
                } else {
                    "http"
                }),
            protocol_version: protocol_version(req.version()),
            authority: req
                .uri()
                .authority()
                .map(|a| a.as_str())
                .or_else(|| header_str(header::HOST)),
            user_agent: header_str(header::USER_AGENT),
            client: req.peer_addr(),
            route: route.as_deref(),
            grpc: false,
        };
        let started = start_server_span(&fields, &info, SCOPE);
        let future = {
            let _attached = started.cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(future, started)
    }
}

/// The W3C fields of actix's header map (on `http` 0.2): borrowed when each is sent at
/// most once as visible ASCII, as the tower layer does, else read through the same
/// `Carrier::from_header_map` as every other server: repeated fields are joined the
/// same way, so two `traceparent` fields are just as ambiguous here.
fn w3c_fields(headers: &HeaderMap) -> W3cFields<'_> {
    W3cFields::single_or_else(
        |i| single_field(headers.get_all(FIELDS[i]).map(|v| v.to_str().map_err(drop))),
        || carrier(headers),
    )
}

fn carrier(headers: &HeaderMap) -> Carrier {
    let mut w3c = http::HeaderMap::new();
    for field in ["traceparent", "tracestate", "baggage"] {
        for value in headers.get_all(field) {
            // actix already checked the bytes; a value `http` refuses is left out, as
            // any invalid header is.
            if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
                w3c.append(field, value);
            }
        }
    }
    Carrier::from_header_map(&w3c)
}

fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}
