//! The W3C headers into an `http::HeaderMap`.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use weft_context::propagation::carrier_from_context;

/// Sets `traceparent` (and `tracestate`, `baggage` when there are any) in `headers`
/// from the current context, replacing what they held. For hyper or any client that
/// weft has no middleware for.
///
/// ```
/// # fn main() -> Result<(), weft::ConfigureError> {
/// # let weft = weft::configure().local().console(false).no_default_exporter().finish()?;
/// # let _weft = weft.set_default();
/// let mut headers = http::HeaderMap::new();
/// {
///     let _span = weft::span!("calling the backend").entered();
///     weft::integrations::inject_context(&mut headers);
/// }
/// assert!(headers.contains_key("traceparent"));
/// # Ok(()) }
/// ```
pub fn inject_context(headers: &mut HeaderMap) {
    Context::map_current(|cx| inject_from(cx, headers));
}

/// Like [`inject_context`], from a given context.
pub(crate) fn inject_from(cx: &Context, headers: &mut HeaderMap) {
    for (name, value) in &carrier_from_context(cx) {
        // The carrier's codecs only emit valid names and values; if one ever is not a
        // valid header, leaving it out beats sending a broken request.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
}
