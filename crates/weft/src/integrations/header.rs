//! The W3C headers into an `http::HeaderMap`, and out of a request's headers.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use weft_context::propagation::{BAGGAGE, FIELDS, TRACEPARENT, TRACESTATE, WeftPropagator};

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
    // The propagator writes what `carrier_from_context` would hold, straight into the
    // headers: no carrier to build, and each value is moved in rather than copied.
    WeftPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// The three W3C header names, ready-made: a name parsed from a string is a custom
/// header, which `http` copies into a new allocation every time.
const NAMES: [HeaderName; 3] = [
    HeaderName::from_static(TRACEPARENT),
    HeaderName::from_static(TRACESTATE),
    HeaderName::from_static(BAGGAGE),
];

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = match FIELDS.iter().position(|field| *field == key) {
            Some(i) => NAMES[i].clone(),
            None => match HeaderName::from_bytes(key.as_bytes()) {
                Ok(name) => name,
                Err(_) => return,
            },
        };
        // The codecs only emit valid values; if one ever is not a valid header,
        // leaving it out beats sending a broken request.
        if let Ok(value) = HeaderValue::try_from(value) {
            self.0.insert(name, value);
        }
    }
}

/// A request's W3C fields, for `extract_third_party`.
#[cfg(any(feature = "tower", feature = "actix-web"))]
pub(crate) enum W3cFields<'a> {
    /// Each field sent at most once and as visible ASCII (every well-behaved caller):
    /// the values borrowed from the request, exactly what a `Carrier` would hold.
    Single([Option<&'a str>; 3]),
    /// Anything else goes through `Carrier::from_header_map`, which joins repeated
    /// fields and logs the values it leaves out.
    Joined(weft_context::propagation::Carrier),
}

/// One field, if it is sent at most once as visible ASCII: `Ok(None)` when absent,
/// `Err` when the carrier must decide.
#[cfg(feature = "actix-web")]
pub(crate) fn single_field<'a, I>(mut values: I) -> Result<Option<&'a str>, ()>
where
    I: Iterator<Item = Result<&'a str, ()>>,
{
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value.map(Some),
        (Some(_), Some(_)) => Err(()),
    }
}

#[cfg(any(feature = "tower", feature = "actix-web"))]
impl<'a> W3cFields<'a> {
    /// `Single` if `field(i)` gives every field as single, else the carrier `joined` makes.
    pub(crate) fn single_or_else(
        mut field: impl FnMut(usize) -> Result<Option<&'a str>, ()>,
        joined: impl FnOnce() -> weft_context::propagation::Carrier,
    ) -> Self {
        let mut values = [None; 3];
        for (i, value) in values.iter_mut().enumerate() {
            match field(i) {
                Ok(single) => *value = single,
                Err(()) => return W3cFields::Joined(joined()),
            }
        }
        W3cFields::Single(values)
    }
}

#[cfg(any(feature = "tower", feature = "actix-web"))]
impl opentelemetry::propagation::Extractor for W3cFields<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self {
            W3cFields::Single(values) => FIELDS
                .iter()
                // Exact first: extraction asks with these very names.
                .position(|field| *field == key)
                .or_else(|| FIELDS.iter().position(|f| f.eq_ignore_ascii_case(key)))
                .and_then(|i| values[i]),
            W3cFields::Joined(carrier) => carrier.get(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            W3cFields::Single(values) => FIELDS
                .iter()
                .zip(values)
                .filter(|(_, value)| value.is_some())
                .map(|(field, _)| *field)
                .collect(),
            W3cFields::Joined(carrier) => carrier.keys(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the injector writes is what the carrier holds.
    #[test]
    fn injected_headers_match_the_carrier() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
        let sc = SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
            SpanId::from(0xb7ad6b7169203331),
            TraceFlags::SAMPLED,
            true,
            "a=1".parse().expect("a valid tracestate"),
        );
        let cx = Context::new().with_remote_span_context(sc);
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static("stale"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        inject_from(&cx, &mut headers);
        let carrier = weft_context::propagation::carrier_from_context(&cx);
        assert_eq!(carrier.len(), 2);
        for (name, value) in &carrier {
            assert_eq!(headers.get_all(name).iter().count(), 1, "{name}");
            assert_eq!(headers[name], value, "{name}");
        }
        assert_eq!(headers["accept"], "*/*");
    }
}
