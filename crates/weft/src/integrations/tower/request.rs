//! A tower server request read into the framework-neutral [`RequestInfo`].

use crate::integrations::server::RequestInfo;
use http::Request;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use std::net::SocketAddr;

/// Whether the request is gRPC (`content-type: application/grpc`, `application/grpc+proto`…).
pub(crate) fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

/// What the span says about `req`; `route` is the matched route, read by the caller
/// (it owns the string).
pub(super) fn describe_server<'a, B>(
    req: &'a Request<B>,
    route: Option<&'a str>,
) -> RequestInfo<'a> {
    RequestInfo {
        method: req.method().as_str(),
        path: req.uri().path(),
        scheme: req.uri().scheme_str().unwrap_or("http"),
        protocol_version: protocol_version(req.version()),
        authority: req
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| header_str(req, HOST)),
        user_agent: header_str(req, USER_AGENT),
        client: client_address(req),
        route,
        grpc: is_grpc(req),
    }
}

fn header_str<B>(req: &Request<B>, name: http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// axum's `MatchedPath`, when the layer runs after routing.
#[cfg(feature = "axum")]
pub(super) fn matched_path<B>(req: &Request<B>) -> Option<String> {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

#[cfg(not(feature = "axum"))]
pub(super) fn matched_path<B>(_req: &Request<B>) -> Option<String> {
    None
}

/// The peer: axum's `ConnectInfo<SocketAddr>`, or a plain `SocketAddr` extension (what
/// a hyper accept loop can insert, since hyper itself records no peer).
fn client_address<B>(req: &Request<B>) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(*addr);
    }
    req.extensions().get::<SocketAddr>().copied()
}
