//! HTTP and gRPC: servers extract the caller's W3C context, clients inject theirs, so
//! one request is one trace across services and languages.
//!
//! - [`tower::ServerLayer`] (feature `tower`): one SERVER span per request, for axum,
//!   hyper and tonic servers. The caller's `traceparent`/`tracestate`/`baggage` are
//!   extracted under the [`distributed_tracing`](crate::DistributedTracing) policy.
//! - [`actix_web::ServerMiddleware`] (feature `actix-web`): the same for actix-web
//!   servers, with span names from the matched resource pattern.
//! - [`reqwest::ClientMiddleware`] (feature `reqwest`): one CLIENT span per request
//!   sent through `reqwest-middleware`, its context injected into the headers.
//! - [`tonic::ClientLayer`] (feature `tonic`): the same for tonic channels.
//! - [`inject_context`]: the current context into any `http::HeaderMap`, for hyper or
//!   any other client.
//!
//! The guide is `docs/http.md`.

#[cfg(feature = "actix-web")]
pub mod actix_web;
mod header;
mod interned;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(any(feature = "tower", feature = "actix-web"))]
mod server;
#[cfg(feature = "tonic")]
pub mod tonic;
#[cfg(feature = "tower")]
pub mod tower;

pub use header::inject_context;

use crate::pipeline::started::Site;
use crate::record::Attribute;
use crate::span::{Span, StartArgs};
use opentelemetry::Context;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use std::borrow::Cow;

/// A span started for one request, and the context its work runs in.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) span: Span,
    /// `parent` (or the current context) with `span` as the active span.
    pub(crate) cx: Context,
}

/// Starts a span of `kind` under `parent` (`None`: the current context).
pub(crate) fn start_span(
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<Attribute>,
    links: Vec<crate::record::SpanLink>,
    parent: Option<Context>,
    scope: &'static str,
) -> Started {
    let base = parent.clone().unwrap_or_else(Context::current);
    let span = Span::start(StartArgs {
        site: Site::named(name, kind, Cow::Borrowed(scope)),
        attributes: crate::value::fields_of(attributes),
        links,
        parent,
    });
    let cx = match span.span_context() {
        Some(sc) => base.with_remote_span_context(sc.clone()),
        None => base,
    };
    Started { span, cx }
}

/// HTTP methods as OpenTelemetry's semantic conventions know them; anything else is
/// `_OTHER`, so a caller cannot make span names of its choosing. Methods are
/// case-sensitive (RFC 9110 §9.1): `get` is not `GET`. A string, not `http::Method`,
/// so frameworks on another `http` version (actix-web) share it.
pub(crate) fn known_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => return None,
    })
}

/// `http.request.method` (and `http.request.method_original` for an unknown method),
/// and the method part of the span name.
pub(crate) fn method_attributes(method: &str, attributes: &mut Vec<Attribute>) -> &'static str {
    match known_method(method) {
        Some(known) => {
            attributes.push(("http.request.method".into(), known.into()));
            known
        }
        None => {
            attributes.push(("http.request.method".into(), "_OTHER".into()));
            attributes.push((
                "http.request.method_original".into(),
                method.to_owned().into(),
            ));
            "HTTP"
        }
    }
}

/// `/package.Service/Method` → (`package.Service`, `Method`), when the path has that shape.
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) fn grpc_path(path: &str) -> Option<(&str, &str)> {
    // Names come from the caller: bound them so a bad client cannot flood span names
    // with junk (tonic answers UNIMPLEMENTED for unknown paths anyway).
    const MAX_LEN: usize = 256;
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    };
    (path.len() <= MAX_LEN && valid(service) && valid(method)).then_some((service, method))
}

/// gRPC status codes, by number (<https://grpc.github.io/grpc/core/md_doc_statuscodes.html>).
#[cfg(feature = "tower")]
pub(crate) fn grpc_code_is_server_error(code: i64) -> bool {
    // OpenTelemetry's RPC conventions: on the server only these codes are errors;
    // the others describe the client's request.
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// `server.address` and `server.port` from an authority such as `example.com:8080`.
pub(crate) fn authority_attributes(
    authority: &str,
    default_port: Option<u16>,
    attributes: &mut Vec<Attribute>,
) {
    let (host, port) = match simple_authority(authority) {
        Some(parts) => parts,
        None => {
            let Ok(authority) = authority.parse::<http::uri::Authority>() else {
                return;
            };
            host_port_attributes(
                authority.host(),
                authority.port_u16(),
                default_port,
                attributes,
            );
            return;
        }
    };
    host_port_attributes(host, port, default_port, attributes);
}

/// `server.address` and `server.port` from a host and port already split.
pub(crate) fn host_port_attributes(
    host: &str,
    port: Option<u16>,
    default_port: Option<u16>,
    attributes: &mut Vec<Attribute>,
) {
    let host = match interned::intern(interned::Pool::Peer, host) {
        Some(host) => Cow::Borrowed(host),
        None => Cow::Owned(host.to_owned()),
    };
    attributes.push(("server.address".into(), crate::value::Value::Str(host)));
    if let Some(port) = port.or(default_port) {
        attributes.push(("server.port".into(), port.into()));
    }
}

/// The host and port of `host` or `host:digits` where the host is letters, digits, `.`
/// and `-` (every ordinary `Host` header): such a string is always a valid authority,
/// and these are the host and port `http::uri::Authority` reads from it. Parsing it
/// with `Authority` instead would copy it into a new allocation on every request.
/// Anything else is `None`, for `Authority` to judge.
pub(crate) fn simple_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let bytes = authority.as_bytes();
    let colon = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-'));
    let Some(colon) = colon else {
        return (!bytes.is_empty()).then_some((authority, None));
    };
    if bytes[colon] != b':' {
        return None;
    }
    // An empty or out-of-range port is no port, as `Authority::port_u16` says.
    let mut port: Option<u16> = (colon + 1 < bytes.len()).then_some(0);
    for b in &bytes[colon + 1..] {
        if !b.is_ascii_digit() {
            return None;
        }
        port = port
            .and_then(|p| p.checked_mul(10))
            .and_then(|p| p.checked_add(u16::from(b - b'0')));
    }
    Some((&authority[..colon], port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "tower", feature = "actix-web"))]
    fn grpc_paths() {
        assert_eq!(
            grpc_path("/grpc.health.v1.Health/Check"),
            Some(("grpc.health.v1.Health", "Check"))
        );
        assert_eq!(grpc_path("/a/b/c"), None);
        assert_eq!(grpc_path("/a/"), None);
        assert_eq!(grpc_path("a/b"), None);
        assert_eq!(grpc_path("/a b/c"), None);
    }

    /// The shortcut reads what `Authority` reads, wherever it applies.
    #[test]
    fn simple_authorities_read_as_authority_does() {
        let cases = [
            "example.com",
            "example.com:8080",
            "127.0.0.1:3000",
            "localhost:",
            ":80",
            "a:99999",
            "a:65535",
            "a:65536",
            "a:00000000000000000080",
            "0:0",
            "a.b-c:1",
            "a:0080",
            "a:+80",
            "a:80:90",
            "[::1]:8080",
            "user@host:1",
            "under_score:1",
            "",
            "ex ample",
            "h%41",
        ];
        for case in cases {
            let parsed = case
                .parse::<http::uri::Authority>()
                .ok()
                .map(|a| (a.host().to_owned(), a.port_u16()));
            if let Some((host, port)) = simple_authority(case) {
                assert_eq!(parsed, Some((host.to_owned(), port)), "{case:?}");
            }
            let mut fast = Vec::new();
            authority_attributes(case, Some(1), &mut fast);
            let mut slow = Vec::new();
            if let Some((host, port)) = parsed {
                host_port_attributes(&host, port, Some(1), &mut slow);
            }
            assert_eq!(fast, slow, "{case:?}");
        }
        assert!(simple_authority("example.com:8080").is_some());
        assert!(simple_authority("[::1]:8080").is_none());
    }

    #[test]
    fn methods() {
        let mut attrs = Vec::new();
        assert_eq!(method_attributes("GET", &mut attrs), "GET");
        assert_eq!(method_attributes("BREW", &mut attrs), "HTTP");
        assert_eq!(
            method_attributes("get", &mut attrs),
            "HTTP",
            "case-sensitive"
        );
        assert_eq!(attrs.len(), 5);
    }
}
