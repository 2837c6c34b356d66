//! A server request's span name and semantic-convention attributes.

use crate::integrations::{authority_attributes, grpc_path, method_attributes};
use crate::record::Attribute;
use http::Request;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use std::borrow::Cow;

/// What the span says about a request.
pub(super) struct Described {
    pub(super) name: Cow<'static, str>,
    pub(super) attributes: Vec<Attribute>,
    pub(super) grpc: bool,
}

/// Whether the request is gRPC (`content-type: application/grpc`, `application/grpc+proto`…).
pub(crate) fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

pub(super) fn describe_server<B>(req: &Request<B>) -> Described {
    let mut attributes = Vec::with_capacity(12);
    let method = method_attributes(req.method(), &mut attributes);
    let path = req.uri().path();
    attributes.push(("url.path".into(), path.to_owned().into()));
    let scheme = req.uri().scheme_str().unwrap_or("http");
    attributes.push(("url.scheme".into(), scheme.to_owned().into()));
    if let Some(version) = protocol_version(req.version()) {
        attributes.push(("network.protocol.version".into(), version.into()));
    }
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| header_str(req, HOST));
    if let Some(authority) = authority {
        authority_attributes(authority, None, &mut attributes);
    }
    if let Some(agent) = header_str(req, USER_AGENT) {
        attributes.push(("user_agent.original".into(), agent.to_owned().into()));
    }
    client_address(req, &mut attributes);

    let grpc = is_grpc(req);
    let route = matched_path(req);
    if let Some(route) = &route {
        attributes.push(("http.route".into(), route.clone().into()));
    }
    let name = match (grpc, grpc_path(path)) {
        (true, Some((service, rpc))) => {
            attributes.push(("rpc.system".into(), "grpc".into()));
            attributes.push(("rpc.service".into(), service.to_owned().into()));
            attributes.push(("rpc.method".into(), rpc.to_owned().into()));
            Cow::Owned(format!("{service}/{rpc}"))
        }
        _ => match route {
            Some(route) => Cow::Owned(format!("{method} {route}")),
            None => Cow::Borrowed(method),
        },
    };
    Described {
        name,
        attributes,
        grpc,
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

#[cfg(feature = "axum")]
fn matched_path<B>(req: &Request<B>) -> Option<String> {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

#[cfg(not(feature = "axum"))]
fn matched_path<B>(_req: &Request<B>) -> Option<String> {
    None
}

#[cfg(feature = "axum")]
fn client_address<B>(req: &Request<B>, attributes: &mut Vec<Attribute>) {
    use axum::extract::ConnectInfo;
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>() {
        attributes.push(("client.address".into(), addr.ip().to_string().into()));
        attributes.push(("client.port".into(), addr.port().into()));
    }
}

#[cfg(not(feature = "axum"))]
fn client_address<B>(_req: &Request<B>, _attributes: &mut Vec<Attribute>) {}
