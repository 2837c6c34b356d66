//! What every server integration shares, whatever the framework: the request
//! described in semantic-convention terms, the caller's context extracted under the
//! policy, the SERVER span started in it, and the response status or panic recorded.
//!
//! The tower layer and the actix-web middleware each read their own request type into
//! a [`RequestInfo`]; everything after that is here, so both behave the same.

use super::interned::{Pool, intern, route_and_name};
use super::{Started, authority_attributes, method_attributes};
use crate::level::Level;
use crate::pipeline::ScopedPipeline;
use crate::record::{Attribute, SpanLink};
use crate::span::Span;
use crate::value::Value;
use opentelemetry::Context;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::SpanKind;
use std::any::Any;
use std::borrow::Cow;
use std::net::SocketAddr;
use weft_context::propagation::{LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, extract_third_party};

/// A server request, as the span describes it: read from the framework's own type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestInfo<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) scheme: &'a str,
    /// `network.protocol.version`: `1.1`, `2`…
    pub(crate) protocol_version: Option<&'static str>,
    /// The URI's authority or the `Host` header: `server.address`/`server.port`.
    pub(crate) authority: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
    /// The peer: `client.address`/`client.port`.
    pub(crate) client: Option<SocketAddr>,
    /// The route template that matched (`/users/{id}`), never the raw path.
    pub(crate) route: Option<&'a str>,
    /// `content-type: application/grpc…`: named `package.Service/Method`.
    pub(crate) grpc: bool,
}

/// Which end of the call a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    #[cfg_attr(not(feature = "tonic"), allow(dead_code))]
    Client,
}

impl Side {
    /// Whether an HTTP status marks the span failed: 5xx on a server (the client's
    /// mistakes are not the server's), 4xx and 5xx on a client.
    pub(crate) fn http_error(self, status: u16) -> bool {
        match self {
            Side::Server => status >= 500,
            Side::Client => status >= 400,
        }
    }

    /// Whether a gRPC status code marks the span failed.
    #[cfg(feature = "tower")]
    pub(crate) fn grpc_error(self, code: i64) -> bool {
        match self {
            Side::Server => super::grpc_code_is_server_error(code),
            Side::Client => code != 0,
        }
    }
}

/// The span name and attributes of a request.
pub(crate) fn describe(info: &RequestInfo<'_>) -> (Cow<'static, str>, Vec<Attribute>) {
    let mut attributes = crate::pipeline::returned::attribute_list(12);
    let method = method_attributes(info.method, &mut attributes);
    // The route's strings are the application's own: leaked once, borrowed after.
    let interned = info.route.and_then(|route| route_and_name(route, method));
    let route = match (interned, info.route) {
        (Some((route, _)), _) => Some(Cow::Borrowed(route)),
        (None, route) => route.map(|route| Cow::Owned(route.to_owned())),
    };
    let path = match &route {
        // A route without parameters is its own path: the same leaked string serves.
        Some(Cow::Borrowed(route)) if *route == info.path => Cow::Borrowed(*route),
        _ => Cow::Owned(info.path.to_owned()),
    };
    attributes.push(("url.path".into(), Value::Str(path)));
    let scheme = match info.scheme {
        // The usual schemes need no copy.
        "http" => Cow::Borrowed("http"),
        "https" => Cow::Borrowed("https"),
        other => Cow::Owned(other.to_owned()),
    };
    attributes.push(("url.scheme".into(), Value::Str(scheme)));
    if let Some(version) = info.protocol_version {
        attributes.push(("network.protocol.version".into(), version.into()));
    }
    if let Some(authority) = info.authority {
        authority_attributes(authority, None, &mut attributes);
    }
    if let Some(agent) = info.user_agent {
        let agent = interned_or_owned(Pool::Peer, agent);
        attributes.push(("user_agent.original".into(), Value::Str(agent)));
    }
    if let Some(addr) = info.client {
        attributes.push(("client.address".into(), addr.ip().to_string().into()));
        attributes.push(("client.port".into(), addr.port().into()));
    }
    if let Some(route) = &route {
        attributes.push(("http.route".into(), Value::Str(route.clone())));
    }
    if info.grpc {
        if let Some((service, rpc)) = super::grpc_path(info.path) {
            attributes.push(("rpc.system".into(), "grpc".into()));
            attributes.push(("rpc.service".into(), service.to_owned().into()));
            attributes.push(("rpc.method".into(), rpc.to_owned().into()));
            return (Cow::Owned(format!("{service}/{rpc}")), attributes);
        }
    }
    let name = match (interned, info.route) {
        (Some((_, name)), _) => Cow::Borrowed(name),
        (None, Some(route)) => Cow::Owned(format!("{method} {route}")),
        (None, None) => Cow::Borrowed(method),
    };
    (name, attributes)
}

/// `s` borrowed from the interned strings, or copied when its pool is full.
pub(crate) fn interned_or_owned(pool: Pool, s: &str) -> Cow<'static, str> {
    match intern(pool, s) {
        Some(interned) => Cow::Borrowed(interned),
        None => Cow::Owned(s.to_owned()),
    }
}

/// Extracts the caller's context from `carrier` (the request's W3C fields) under the
/// policy and starts the request's SERVER span in it. Under `Deny` the caller's span
/// becomes a link.
pub(crate) fn start_server_span(
    carrier: &impl Extractor,
    info: &RequestInfo<'_>,
    scope: &'static str,
) -> Started {
    let (name, attributes) = describe(info);
    // A new root drops the ambient context's values; keep the weft instance a test or
    // a non-global setup made current, so the span still records there.
    let scoped = Context::map_current(|cx| cx.get::<ScopedPipeline>().cloned());
    let extraction = extract_third_party(carrier);
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
        scope,
    )
}

/// `http.response.status_code`, and the error status it implies on `side`.
pub(crate) fn record_status(span: &Span, side: Side, status: u16) {
    span.set_value("http.response.status_code".into(), status.into());
    if side.http_error(status) {
        span.set_value("error.type".into(), status.to_string().into());
        span.set_error(format!("HTTP {status}"));
    }
}

/// Marks the span failed by a panic, with its message. Called while the panic is
/// caught, before it resumes: a span dropped during unwinding would look successful.
pub(crate) fn record_panic(span: &Span, payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload");
    span.set_value("error.type".into(), "panic".into());
    span.set_error(format!("panicked: {message}"));
    span.set_level(Level::Error);
}
