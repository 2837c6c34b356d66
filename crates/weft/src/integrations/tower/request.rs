//! A tower server request read into the framework-neutral [`RequestInfo`].

use crate::integrations::header::W3cFields;
use crate::integrations::server::RequestInfo;
use http::header::{CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use http::{HeaderMap, Request};
use std::net::SocketAddr;
use weft_context::propagation::{Carrier, FIELDS};

/// What the span says about `req`, and the caller's W3C fields.
pub(super) fn describe_server<B>(req: &Request<B>) -> (RequestInfo<'_>, W3cFields<'_>) {
    let headers = Scanned::new(req.headers());
    let info = RequestInfo {
        method: req.method().as_str(),
        path: req.uri().path(),
        scheme: req.uri().scheme_str().unwrap_or("http"),
        protocol_version: protocol_version(req.version()),
        authority: req
            .uri()
            .authority()
            .map(|a| a.as_str())
            .or_else(|| header_str(headers.host)),
        user_agent: header_str(headers.user_agent),
        client: client_address(req),
        route: matched_path(req),
        // `content-type: application/grpc`, `application/grpc+proto`…
        grpc: headers
            .content_type
            .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc")),
    };
    let fields = W3cFields::single_or_else(
        |i| match headers.w3c[i] {
            Field::Absent => Ok(None),
            Field::One(value) => value.to_str().map(Some).map_err(drop),
            Field::Repeated => Err(()),
        },
        || Carrier::from_header_map(req.headers()),
    );
    (info, fields)
}

fn header_str(value: Option<&HeaderValue>) -> Option<&str> {
    value.and_then(|v| v.to_str().ok())
}

/// The headers the span reads, found in one pass over the map: for the few headers of
/// a typical request, looking at each costs less than hashing every name looked up.
/// Each is the first value sent, as `HeaderMap::get` gives.
struct Scanned<'a> {
    host: Option<&'a HeaderValue>,
    user_agent: Option<&'a HeaderValue>,
    content_type: Option<&'a HeaderValue>,
    /// `traceparent`, `tracestate`, `baggage`, in `FIELDS` order.
    w3c: [Field<'a>; 3],
}

#[derive(Clone, Copy)]
enum Field<'a> {
    Absent,
    One(&'a HeaderValue),
    /// Sent more than once: the carrier joins the values.
    Repeated,
}

impl<'a> Scanned<'a> {
    fn new(headers: &'a HeaderMap) -> Self {
        let mut scanned = Scanned {
            host: None,
            user_agent: None,
            content_type: None,
            w3c: [Field::Absent; 3],
        };
        for (name, value) in headers {
            let first = |slot: &mut Option<&'a HeaderValue>| {
                slot.get_or_insert(value);
            };
            if name == HOST {
                first(&mut scanned.host);
            } else if name == USER_AGENT {
                first(&mut scanned.user_agent);
            } else if name == CONTENT_TYPE {
                first(&mut scanned.content_type);
            } else if let Some(i) = FIELDS.iter().position(|field| name == *field) {
                scanned.w3c[i] = match scanned.w3c[i] {
                    Field::Absent => Field::One(value),
                    Field::One(_) | Field::Repeated => Field::Repeated,
                };
            }
        }
        scanned
    }
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
fn matched_path<B>(req: &Request<B>) -> Option<&str> {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn matched_path<B>(_req: &Request<B>) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::propagation::Extractor;

    /// The fields read in the one pass say what the carrier would, whatever the
    /// request sent, and the other headers are their first values.
    #[test]
    fn scanned_fields_match_the_carrier() {
        let tp: &[u8] = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let cases: Vec<Vec<(&'static str, &[u8])>> = vec![
            vec![],
            vec![("traceparent", tp)],
            vec![
                ("host", b"a:1"),
                ("traceparent", tp),
                ("tracestate", b"a=1"),
                ("baggage", b"k=v"),
            ],
            vec![("traceparent", tp), ("traceparent", tp)],
            vec![
                ("tracestate", b"a=1"),
                ("accept", b"*/*"),
                ("tracestate", b"b=2"),
            ],
            vec![("baggage", b"k=\xe9")],
            vec![("host", b"a:1"), ("host", b"b:2"), ("user-agent", b"ua")],
            vec![("content-type", b"application/grpc"), ("x-other", b"1")],
        ];
        for case in cases {
            let mut req = Request::new(());
            for (name, value) in &case {
                let value = HeaderValue::from_bytes(value).expect("a valid test value");
                req.headers_mut().append(*name, value);
            }
            let (info, fields) = describe_server(&req);
            let carrier = Carrier::from_header_map(req.headers());
            for field in FIELDS {
                assert_eq!(fields.get(field), carrier.get(field), "{case:?} {field}");
            }
            assert_eq!(fields.keys(), carrier.keys(), "{case:?}");
            let single = matches!(fields, W3cFields::Single(_));
            let repeated = FIELDS
                .iter()
                .any(|f| case.iter().filter(|(n, _)| n == f).count() > 1);
            let ascii = case.iter().all(|(_, v)| v.is_ascii());
            assert_eq!(single, !repeated && ascii, "{case:?}");
            let first = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
            assert_eq!(info.authority, first(HOST), "{case:?}");
            assert_eq!(info.user_agent, first(USER_AGENT), "{case:?}");
            assert_eq!(info.grpc, first(CONTENT_TYPE) == Some("application/grpc"));
        }
    }
}
