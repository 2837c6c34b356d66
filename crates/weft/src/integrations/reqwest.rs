//! A `reqwest-middleware` middleware: one CLIENT span per request, its context sent
//! in the request's W3C headers.

use super::{
    Started, authority_attributes, host_port_attributes, method_attributes, simple_authority,
};
use crate::record::Attribute;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;
use reqwest_middleware::reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use std::borrow::Cow;

/// Traces the requests of a `reqwest_middleware::ClientWithMiddleware`.
///
/// Each request gets a CLIENT span named after its method (`GET`), a child of the
/// current span, with `http.request.method`, `url.full` (credentials redacted),
/// `server.address`, `server.port` and `http.response.status_code`; 4xx, 5xx and
/// transport errors mark it failed. Its `traceparent` (and `tracestate`, `baggage`) are
/// set on the request, so an instrumented server continues the trace.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(weft::integrations::reqwest::ClientMiddleware::new())
///     .build();
/// # async fn call(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// let _span = weft::span!("checkout");
/// client.get("http://127.0.0.1:8080/stock").send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMiddleware {
    _private: (),
}

impl ClientMiddleware {
    /// The middleware.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut attributes = crate::pipeline::returned::attribute_list(6);
        let name = method_attributes(req.method().as_str(), &mut attributes);
        url_attributes(req.url(), &mut attributes);
        let Started { span, cx } = super::start_span(
            Cow::Borrowed(name),
            SpanKind::Client,
            attributes,
            Vec::new(),
            None,
            SCOPE,
        );
        super::header::inject_from(&cx, req.headers_mut());
        let result = next.run(req, extensions).with_context(cx).await;
        match &result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                span.set_value("http.response.status_code".into(), status.into());
                if status >= 400 {
                    span.set_value("error.type".into(), status.to_string().into());
                    span.set_error(format!("HTTP {status}"));
                }
            }
            Err(err) => {
                span.set_value("error.type".into(), error_type(err).into());
                span.record_exception(err);
            }
        }
        result
    }
}

const SCOPE: &str = "weft::integrations::reqwest";

fn url_attributes(url: &reqwest::Url, attributes: &mut Vec<Attribute>) {
    // OpenTelemetry: credentials in a URL are replaced, never exported.
    let full = if !url.username().is_empty() || url.password().is_some() {
        let mut full = url.clone();
        let _ = full.set_username("REDACTED");
        let _ = full.set_password(Some("REDACTED"));
        String::from(full)
    } else {
        url.as_str().to_owned()
    };
    attributes.push(("url.full".into(), full.into()));
    if let Some(host) = url.host_str() {
        let default_port = url.port_or_known_default();
        // `host:port` of an ordinary host is an authority that `Authority` reads back
        // as the same host and port: skip writing and parsing it.
        if simple_authority(host).is_some() {
            return host_port_attributes(host, url.port(), default_port, attributes);
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        authority_attributes(&authority, default_port, attributes);
    }
}

fn error_type(err: &reqwest_middleware::Error) -> &'static str {
    match err {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(_) => "reqwest",
        reqwest_middleware::Error::Middleware(_) => "middleware",
    }
}
