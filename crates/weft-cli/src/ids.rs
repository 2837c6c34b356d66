//! Trace and span ids as fixed-size byte arrays, written as lowercase hex everywhere a
//! person or a JSON client sees them (OTLP/JSON encodes ids as hex, not base64:
//! <https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 16-byte trace id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

/// Why a hex id did not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected {expected} hex digits, got {got:?}")]
pub struct IdParseError {
    expected: usize,
    got: String,
}

/// Writes `bytes` as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn parse_fixed<const N: usize>(s: &str) -> Result<[u8; N], IdParseError> {
    let err = || IdParseError {
        expected: N * 2,
        got: s.to_owned(),
    };
    let raw = s.as_bytes();
    if raw.len() != N * 2 {
        return Err(err());
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16).ok_or_else(err)?;
        let lo = (pair[1] as char).to_digit(16).ok_or_else(err)?;
        // Both digits are < 16, so the byte always fits.
        out[i] = u8::try_from(hi * 16 + lo).map_err(|_| err())?;
    }
    Ok(out)
}

macro_rules! id_impls {
    ($ty:ident, $n:literal) => {
        impl $ty {
            /// The id from a protobuf byte field, or `None` when it is not exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $n]>::try_from(bytes).ok().map(Self)
            }
            /// True for the all-zero id, which OTLP and W3C Trace Context call invalid.
            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|b| *b == 0)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&to_hex(&self.0))
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($ty), self)
            }
        }
        impl FromStr for $ty {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_fixed::<$n>(s).map(Self)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_impls!(TraceId, 16);
id_impls!(SpanId, 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const BAD: &[(&str, &str)] = &[
        ("", "empty"),
        ("7dcd821387246e1", "15 digits"),
        ("7dcd821387246e1cc", "17 digits"),
        ("7dcd821387246e1g", "non-hex digit"),
    ];

    #[test]
    fn span_id_round_trips_and_rejects_bad_input() {
        let id: SpanId = "7dcd821387246e1c".parse().expect("valid id");
        assert_eq!(id.to_string(), "7dcd821387246e1c");
        assert_eq!(
            "7DCD821387246E1C".parse::<SpanId>(),
            Ok(id),
            "upper case is accepted"
        );
        for (input, reason) in BAD {
            assert!(input.parse::<SpanId>().is_err(), "{reason}");
        }
    }
}
