//! [`Carrier`]: the propagated context as an ordered map of header names to values.
//!
//! It is what [`get_context`](super::get_context) returns and
//! [`attach_context`](super::attach_context) takes, and what crosses a boundary:
//! HTTP headers, message headers, JSON, environment variables of a child process.
//! Names are matched case-insensitively (the W3C specs require it of receivers) and
//! stored lowercase. Conversions live in `carrier_convert.rs`.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use opentelemetry::propagation::{Extractor, Injector};

use super::wire::FIELDS;

/// The propagated context: header names (lowercase) mapped to values, in insertion
/// order. weft writes `traceparent`, `tracestate`, `baggage`, in that order, each only
/// when there is something to say, so outside any span a carrier is empty.
///
/// Its [`Display`](fmt::Display) matches the Python dict Logfire prints.
///
/// ```
/// use weft_context::propagation::Carrier;
///
/// let mut carrier = Carrier::new();
/// assert_eq!(carrier.to_string(), "{}");
/// carrier.insert("Traceparent", "00-d1b9e555b056907ee20b0daebf62282c-7dcd821387246e1c-01");
/// assert_eq!(carrier.get("TRACEPARENT"), Some("00-d1b9e555b056907ee20b0daebf62282c-7dcd821387246e1c-01"));
/// assert_eq!(
///     carrier.to_string(),
///     "{'traceparent': '00-d1b9e555b056907ee20b0daebf62282c-7dcd821387246e1c-01'}"
/// );
/// // It crosses a process boundary as environment variables.
/// assert_eq!(carrier.to_env_vars()[0].0, "TRACEPARENT");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carrier {
    entries: Vec<(Cow<'static, str>, String)>,
}

impl Carrier {
    /// An empty carrier: attaching it starts a new trace.
    pub const fn new() -> Self {
        Carrier {
            entries: Vec::new(),
        }
    }

    /// Whether it carries nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The value of a header, whatever the case of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.entries[i].1.as_str())
    }

    /// Sets a header, keeping its position if it was already there, and returns the
    /// previous value. The name is stored lowercase.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl Into<String>) -> Option<String> {
        let name = intern(name.as_ref());
        let value = value.into();
        match self.position(&name) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((name, value));
                None
            }
        }
    }

    /// Removes a header, whatever the case of `name`, and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.position(name).map(|i| self.entries.remove(i).1)
    }

    /// The headers in order, as `(name, value)`.
    pub fn iter(&self) -> CarrierIter<'_> {
        CarrierIter(self.entries.iter())
    }

    /// Orders the known fields first (`traceparent`, `tracestate`, `baggage`), then the
    /// rest by name: used where the source has no order of its own (a `HashMap`).
    pub(crate) fn sort_canonically(&mut self) {
        let rank = |name: &str| {
            FIELDS
                .iter()
                .position(|f| *f == name)
                .unwrap_or(FIELDS.len())
        };
        self.entries
            .sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Lowercases a header name; the fields weft knows map to their `'static` names, so
/// the common case allocates nothing.
fn intern(name: &str) -> Cow<'static, str> {
    match FIELDS.iter().find(|field| field.eq_ignore_ascii_case(name)) {
        Some(field) => Cow::Borrowed(field),
        None => Cow::Owned(name.to_ascii_lowercase()),
    }
}

/// Iterator over a [`Carrier`]'s `(name, value)` pairs, in order.
#[derive(Debug, Clone)]
pub struct CarrierIter<'a>(std::slice::Iter<'a, (Cow<'static, str>, String)>);

impl<'a> Iterator for CarrierIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.0
            .next()
            .map(|(name, value)| (name.as_ref(), value.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for CarrierIter<'_> {}

impl<'a> IntoIterator for &'a Carrier {
    type Item = (&'a str, &'a str);
    type IntoIter = CarrierIter<'a>;

    fn into_iter(self) -> CarrierIter<'a> {
        self.iter()
    }
}

impl<N: AsRef<str>, V: Into<String>> FromIterator<(N, V)> for Carrier {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut carrier = Carrier::new();
        carrier.extend(iter);
        carrier
    }
}

impl<N: AsRef<str>, V: Into<String>> Extend<(N, V)> for Carrier {
    fn extend<T: IntoIterator<Item = (N, V)>>(&mut self, iter: T) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

/// Prints like the Python dict Logfire's `get_context()` returns:
/// `{'traceparent': '00-…-01'}`, and `{}` when empty.
impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_python_str(f, name)?;
            f.write_str(": ")?;
            write_python_str(f, value)?;
        }
        f.write_char('}')
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`, with
/// backslash escapes for the quote, backslashes and control characters.
fn write_python_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    f.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if u32::from(c) < 0x100 && c.is_control() => write!(f, "\\x{:02x}", u32::from(c))?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}

/// Lets any OpenTelemetry propagator write into a carrier.
impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key, value);
    }

    fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }
}

/// Lets any OpenTelemetry propagator read from a carrier.
impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        Carrier::get(self, key)
    }

    fn keys(&self) -> Vec<&str> {
        self.entries.iter().map(|(name, _)| name.as_ref()).collect()
    }
}
