//! How a [`Carrier`] crosses a boundary: JSON (serde), `HashMap`, `http::HeaderMap`,
//! and environment variables of a child process, as the OpenTelemetry specification
//! for environment-variable carriers describes
//! (<https://opentelemetry.io/docs/specs/otel/context/env-carriers/>): names
//! uppercased (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`), values unchanged.

use std::collections::HashMap;
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::carrier::Carrier;
use super::wire::{FIELDS, log_ignored};

impl Carrier {
    /// The carrier as environment variables for a child process: each name uppercased,
    /// with any character other than a letter, digit or `_` replaced by `_`.
    /// An entry with an empty name, or a value holding a NUL byte, is left out: no
    /// environment can hold it.
    ///
    /// ```
    /// use weft_context::propagation::Carrier;
    ///
    /// let carrier = Carrier::from_iter([("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]);
    /// let vars = carrier.to_env_vars();
    /// assert_eq!(vars, [("TRACEPARENT".to_owned(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned())]);
    /// // In the child (here, fed directly instead of through the real environment):
    /// assert_eq!(Carrier::from_env_vars(vars), carrier);
    /// ```
    pub fn to_env_vars(&self) -> Vec<(String, String)> {
        self.iter()
            .filter(|(name, value)| !name.is_empty() && !value.contains('\0'))
            .map(|(name, value)| (env_name(name), value.to_owned()))
            .collect()
    }

    /// Reads `TRACEPARENT`, `TRACESTATE` and `BAGGAGE` from an environment given as
    /// `(name, value)` pairs, such as `std::env::vars()` or a test's fixed list. Other
    /// variables are ignored; names match whatever their case, as on Windows.
    pub fn from_env_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut carrier = Carrier::new();
        for (name, value) in vars {
            if let Some(field) = FIELDS
                .iter()
                .find(|f| f.eq_ignore_ascii_case(name.as_ref()))
            {
                carrier.insert(*field, value);
            }
        }
        carrier.sort_canonically();
        carrier
    }

    /// Reads `TRACEPARENT`, `TRACESTATE` and `BAGGAGE` from this process's environment,
    /// as set by a parent that passed [`Carrier::to_env_vars`] to its child. A variable
    /// that is not valid Unicode is ignored.
    pub fn from_process_env() -> Self {
        Carrier::from_env_vars(FIELDS.iter().filter_map(|field| {
            let value = std::env::var(env_name(field)).ok()?;
            Some((*field, value))
        }))
    }

    /// The carrier as HTTP headers. An entry that is not a valid header name or value
    /// is left out and logged at debug level.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.len());
        for (name, value) in self {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.insert(name, value);
                }
                (Err(err), _) => log_ignored("http header name", &err),
                (_, Err(err)) => log_ignored("http header value", &err),
            }
        }
        headers
    }

    /// Reads `traceparent`, `tracestate` and `baggage` from HTTP headers; other headers
    /// are ignored. A header sent as several fields is joined with `,`, as RFC 7230
    /// §3.2.2 says; for `traceparent`, which is not a list, that makes it invalid, so
    /// an ambiguous parent is never guessed. A value that is not visible ASCII is
    /// logged at debug level and ignored.
    pub fn from_header_map(headers: &HeaderMap) -> Self {
        let mut carrier = Carrier::new();
        for field in FIELDS {
            let mut joined: Option<String> = None;
            for value in headers.get_all(field) {
                match value.to_str() {
                    Ok(value) => match joined.as_mut() {
                        Some(joined) => {
                            joined.push(',');
                            joined.push_str(value);
                        }
                        None => joined = Some(value.to_owned()),
                    },
                    Err(err) => log_ignored(field, &err),
                }
            }
            if let Some(joined) = joined {
                carrier.insert(field, joined);
            }
        }
        carrier
    }
}

/// `traceparent` → `TRACEPARENT`; `x-b3.id` → `X_B3_ID`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl<S: std::hash::BuildHasher> From<HashMap<String, String, S>> for Carrier {
    /// Known fields first, then the rest by name: a `HashMap` has no order to keep.
    fn from(map: HashMap<String, String, S>) -> Self {
        let mut carrier: Carrier = map.into_iter().collect();
        carrier.sort_canonically();
        carrier
    }
}

impl From<Carrier> for HashMap<String, String> {
    fn from(carrier: Carrier) -> Self {
        carrier
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

impl From<&HeaderMap> for Carrier {
    fn from(headers: &HeaderMap) -> Self {
        Carrier::from_header_map(headers)
    }
}

/// A JSON object of strings, in the carrier's order.
impl Serialize for Carrier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// From a JSON object of strings; names are lowercased and a later duplicate wins.
impl<'de> Deserialize<'de> for Carrier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CarrierVisitor)
    }
}

struct CarrierVisitor;

impl<'de> Visitor<'de> for CarrierVisitor {
    type Value = Carrier;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an object of header names to string values, like {\"traceparent\": \"00-…-01\"}",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Carrier, A::Error> {
        let mut carrier = Carrier::new();
        while let Some((name, value)) = access.next_entry::<String, String>()? {
            carrier.insert(name, value);
        }
        Ok(carrier)
    }
}
