//! The `baggage` header of [W3C Baggage](https://www.w3.org/TR/baggage/).
//!
//! `key=value;property;k=v, key2=value2`: application entries that travel with the
//! trace. Keys are RFC 7230 tokens; values are percent-encoded UTF-8; properties after
//! `;` are opaque to the spec and kept verbatim as the entry's
//! [`BaggageMetadata`].
//!
//! **Encoding, both directions.** The spec's values are percent-encoded and `+` is an
//! ordinary character (<https://www.w3.org/TR/baggage/#value>). OpenTelemetry Python
//! (and so Logfire) instead uses form encoding (`quote_plus`/`unquote_plus`: a space
//! is `+`, `tenant=a+b%2Cc`), a known bug
//! (<https://github.com/open-telemetry/opentelemetry-python/issues/5566>) that the
//! .NET and Go SDKs had and fixed; opentelemetry-rust and Go send a literal `+`
//! unencoded. weft therefore:
//! - writes what OpenTelemetry Python writes except that a space is `%20`: letters,
//!   digits and `.-_~` stay, every other byte is `%XX` (uppercase hex), `+` included.
//!   Strict readers and `unquote_plus` both decode that to the same string;
//! - reads as the spec says: `%XX` is decoded, `+` stays `+`, and malformed UTF-8
//!   becomes U+FFFD. A value with a space from today's OpenTelemetry Python therefore
//!   arrives with `+` in its place; reading `+` as a space instead would corrupt every
//!   literal `+` from opentelemetry-rust and Go (base64 values, phone numbers).
//!
//! **Invalid members.** A malformed member is dropped alone and the rest kept, as
//! <https://www.w3.org/TR/baggage/#mutating-baggage> allows and as OpenTelemetry Python
//! and Rust do. Past the limits below, what fits is kept.

use std::borrow::Cow;

use opentelemetry::baggage::{Baggage, BaggageMetadata};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// <https://www.w3.org/TR/baggage/#definition>: `list-member 0*179( OWS "," OWS list-member )`.
pub const BAGGAGE_MAX_MEMBERS: usize = 180;
/// <https://www.w3.org/TR/baggage/#limits>: a platform must propagate at least 8192
/// bytes; weft reads and writes at most that, counting members and commas.
pub const BAGGAGE_MAX_BYTES: usize = 8192;
/// [`Baggage`] silently refuses a 65th entry. The spec's
/// <https://www.w3.org/TR/baggage/#limits> asks at least 64, so this stays compliant;
/// weft checks it first so that the drop is reported.
pub const BAGGAGE_MAX_ENTRIES: usize = 64;

/// Bytes written as `%XX`: everything but ASCII letters, digits and `.-_~`, the set
/// OpenTelemetry Python's `quote_plus` leaves alone, so weft's headers match Python's
/// byte for byte except for spaces.
const VALUE_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// Why one baggage member was dropped. Each variant is one rule of the spec and its
/// Display links the rule's anchor. Values are never echoed: baggage often carries
/// user data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaggageError {
    /// A member with no `=` between key and value.
    #[error("baggage member is not `key=value`; see https://www.w3.org/TR/baggage/#definition")]
    NotKeyValue,
    /// A key that is not an RFC 7230 token.
    #[error(
        "baggage key `{key}` must be a non-empty RFC 7230 token (letters, digits, `!#$%&'*+-.^_`|~`); \
         see https://www.w3.org/TR/baggage/#key"
    )]
    InvalidKey {
        /// The rejected key.
        key: String,
    },
    /// A value with a space, `"`, `,`, `;`, `\` or a non-ASCII byte left unencoded.
    #[error(
        "baggage value of key `{key}` has a character that must be percent-encoded \
         (space, `\"`, `,`, `;`, `\\`, controls, non-ASCII); see https://www.w3.org/TR/baggage/#value"
    )]
    InvalidValue {
        /// The key whose value was rejected.
        key: String,
    },
    /// A property that is not `key` or `key=value` with the same rules.
    #[error(
        "baggage property of key `{key}` must be `;name` or `;name=value`; see https://www.w3.org/TR/baggage/#property"
    )]
    InvalidProperty {
        /// The key of the member the property belongs to.
        key: String,
    },
    /// A member past the entry limit.
    #[error(
        "baggage member `{key}` dropped: at most {limit} entries are kept; see https://www.w3.org/TR/baggage/#limits"
    )]
    TooManyMembers {
        /// The key of the dropped member.
        key: String,
        /// The limit that was reached.
        limit: usize,
    },
    /// A member that would take the header past [`BAGGAGE_MAX_BYTES`].
    #[error(
        "baggage member `{key}` dropped: the header would exceed {limit} bytes; see https://www.w3.org/TR/baggage/#limits"
    )]
    TooLong {
        /// The key of the dropped member.
        key: String,
        /// The limit in bytes.
        limit: usize,
    },
}

/// Parses one `baggage` header value, failing on the first member that is invalid or
/// over a limit. Extraction uses the lenient [`decode_baggage`] instead.
///
/// ```
/// use weft_context::propagation::parse_baggage;
///
/// let b = parse_baggage("user_id=u1, tenant=a%20b%2Cc;region=eu").unwrap();
/// assert_eq!(b.get("tenant").map(|v| v.as_str()), Some("a b,c"));
/// let (_, metadata) = b.get_with_metadata("tenant").unwrap();
/// assert_eq!(metadata.as_str(), "region=eu");
/// ```
pub fn parse_baggage(value: &str) -> Result<Baggage, BaggageError> {
    let mut first = None;
    let baggage = decode_baggage([value], |err| {
        first.get_or_insert(err);
    });
    first.map_or(Ok(baggage), Err)
}

/// Parses several `baggage` header fields as one list, dropping each invalid member
/// and every member past the limits; `on_drop` hears why, once per dropped member.
pub fn decode_baggage<'a>(
    values: impl IntoIterator<Item = &'a str>,
    mut on_drop: impl FnMut(BaggageError),
) -> Baggage {
    let mut baggage = Baggage::new();
    let (mut members, mut bytes) = (0usize, 0usize);
    for value in values {
        for member in value.split(',') {
            // #definition: OWS around list members; empty members carry nothing.
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, decoded, metadata) = match parse_member(member) {
                Ok(parts) => parts,
                Err(err) => {
                    on_drop(err);
                    continue;
                }
            };
            // #limits: keep what fits, whole members only.
            let member_bytes = member.len() + usize::from(members > 0);
            if let Some(err) = over_limit(&baggage, key, members, bytes + member_bytes) {
                on_drop(err);
                continue;
            }
            members += 1;
            bytes += member_bytes;
            baggage.insert_with_metadata(key.to_owned(), decoded.into_owned(), metadata);
        }
    }
    baggage
}

/// Formats [`Baggage`] as a `baggage` header value, keys in sorted order so the output
/// is stable. Entries that would break a limit are left out and reported to `on_drop`;
/// so is metadata that is not a valid property list (the entry is written without it).
pub fn format_baggage(baggage: &Baggage, mut on_drop: impl FnMut(BaggageError)) -> String {
    let mut entries: Vec<_> = baggage.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut out = String::new();
    let mut written = 0usize;
    for (key, (value, metadata)) in entries {
        let key = key.as_str();
        if written == BAGGAGE_MAX_MEMBERS {
            on_drop(BaggageError::TooManyMembers {
                key: key.to_owned(),
                limit: BAGGAGE_MAX_MEMBERS,
            });
            continue;
        }
        let mark = out.len();
        if written > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.extend(utf8_percent_encode(value.as_str(), VALUE_ENCODE_SET));
        if !metadata.as_str().is_empty() {
            if is_valid_properties(metadata.as_str()) {
                out.push(';');
                out.push_str(metadata.as_str());
            } else {
                on_drop(BaggageError::InvalidProperty {
                    key: key.to_owned(),
                });
            }
        }
        if out.len() > BAGGAGE_MAX_BYTES {
            out.truncate(mark);
            on_drop(BaggageError::TooLong {
                key: key.to_owned(),
                limit: BAGGAGE_MAX_BYTES,
            });
            continue;
        }
        written += 1;
    }
    out
}

/// Splits and checks one trimmed, non-empty member: `key OWS "=" OWS value *(OWS ";" OWS property)`.
fn parse_member(member: &str) -> Result<(&str, Cow<'_, str>, BaggageMetadata), BaggageError> {
    let (pair, properties) = match member.split_once(';') {
        Some((pair, properties)) => (pair, Some(properties)),
        None => (member, None),
    };
    let (key, value) = pair.split_once('=').ok_or(BaggageError::NotKeyValue)?;
    // #key and #value: OWS around both "MUST be trimmed".
    let (key, value) = (trim_ows(key), trim_ows(value));
    if !is_token(key) {
        return Err(BaggageError::InvalidKey {
            key: key.to_owned(),
        });
    }
    if !value.bytes().all(is_baggage_octet) {
        return Err(BaggageError::InvalidValue {
            key: key.to_owned(),
        });
    }
    let metadata = match properties {
        None => BaggageMetadata::default(),
        Some(properties) => {
            let normalized =
                normalize_properties(properties).ok_or_else(|| BaggageError::InvalidProperty {
                    key: key.to_owned(),
                })?;
            BaggageMetadata::from(normalized)
        }
    };
    Ok((key, decode_value(value), metadata))
}

/// Whether adding a member would break a limit, and which.
fn over_limit(
    baggage: &Baggage,
    key: &str,
    members: usize,
    bytes_after: usize,
) -> Option<BaggageError> {
    let is_new = baggage.get(key).is_none();
    if members == BAGGAGE_MAX_MEMBERS || (is_new && baggage.len() == BAGGAGE_MAX_ENTRIES) {
        let limit = BAGGAGE_MAX_MEMBERS.min(BAGGAGE_MAX_ENTRIES);
        return Some(BaggageError::TooManyMembers {
            key: key.to_owned(),
            limit,
        });
    }
    (bytes_after > BAGGAGE_MAX_BYTES).then(|| BaggageError::TooLong {
        key: key.to_owned(),
        limit: BAGGAGE_MAX_BYTES,
    })
}

/// <https://www.w3.org/TR/baggage/#property>: `;`-separated `key` or `key = value`,
/// OWS trimmed. Returns the list rejoined without the OWS, or `None` if one is invalid.
fn normalize_properties(properties: &str) -> Option<String> {
    let mut out = String::with_capacity(properties.len());
    for property in properties.split(';') {
        let (key, value) = match property.split_once('=') {
            Some((key, value)) => (trim_ows(key), Some(trim_ows(value))),
            None => (trim_ows(property), None),
        };
        if !is_token(key) || !value.is_none_or(|v| v.bytes().all(is_baggage_octet)) {
            return None;
        }
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(key);
        if let Some(value) = value {
            out.push('=');
            out.push_str(value);
        }
    }
    Some(out)
}

/// Whether metadata from an in-process [`Baggage`] can be written as properties as is.
fn is_valid_properties(metadata: &str) -> bool {
    normalize_properties(metadata).is_some_and(|normalized| normalized == metadata)
}

/// <https://www.w3.org/TR/baggage/#value>: `%XX` is decoded (a `+` is literal);
/// invalid UTF-8 becomes U+FFFD.
fn decode_value(value: &str) -> Cow<'_, str> {
    percent_decode_str(value).decode_utf8_lossy()
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// RFC 7230 §3.2.6 `token = 1*tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// <https://www.w3.org/TR/baggage/#definition>: `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}
