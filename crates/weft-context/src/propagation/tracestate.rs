//! The `tracestate` header of [W3C Trace Context Level 2](https://www.w3.org/TR/trace-context-2/#tracestate-header).
//!
//! A list of up to 32 `key=value` members, opaque to everyone but the vendor that wrote
//! each one. Keys are simple (`congo`) or multi-tenant (`tenant@system`). A duplicate
//! key, a 33rd member or any malformed member makes the whole header invalid: the spec
//! gives no way to trust the rest of a list that is wrong somewhere. Empty members and
//! spaces or tabs around members are allowed, because proxies that join several
//! `tracestate` fields produce them.
//!
//! The parsed list is an [`opentelemetry::trace::TraceState`]. One spec-valid key
//! cannot be stored there: opentelemetry accepts system-ids of at most 13 characters
//! where the spec allows 14. [`parse_tracestate`] reports such a header as
//! [`TracestateError::Unrepresentable`]; when a carrier is extracted, weft keeps it
//! whole beside the span context instead and sends it on unchanged (`wire.rs`).

use opentelemetry::trace::TraceState;

/// <https://www.w3.org/TR/trace-context-2/#list>: "a maximum of 32 list-members".
pub const TRACESTATE_MAX_MEMBERS: usize = 32;
/// <https://www.w3.org/TR/trace-context-2/#key>: `simple-key = lcalpha 0*255(…)`.
const MAX_SIMPLE_KEY_LEN: usize = 256;
/// <https://www.w3.org/TR/trace-context-2/#key>: `tenant-id = (lcalpha / DIGIT) 0*240(…)`.
const MAX_TENANT_ID_LEN: usize = 241;
/// <https://www.w3.org/TR/trace-context-2/#key>: `system-id = lcalpha 0*13(…)`.
const MAX_SYSTEM_ID_LEN: usize = 14;
/// <https://www.w3.org/TR/trace-context-2/#value>: `value = 0*255(chr) nblk-chr`.
const MAX_VALUE_LEN: usize = 256;

/// Why a `tracestate` value was rejected. Each variant is one rule of the spec and its
/// Display links the rule's anchor. A rejected header is dropped whole; the
/// `traceparent` next to it is still used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TracestateError {
    /// A non-empty member without `=`.
    #[error(
        "tracestate member `{member}` is not `key=value`; see https://www.w3.org/TR/trace-context-2/#list"
    )]
    NotKeyValue {
        /// The member, trimmed.
        member: String,
    },
    /// A key outside the simple or multi-tenant grammar.
    #[error(
        "tracestate key `{key}` must be lowercase letters, digits and `_-*/`, either one name of at most \
         256 characters starting with a letter, or `tenant@system` with a tenant of at most 241 and a \
         system of at most 14; see https://www.w3.org/TR/trace-context-2/#key"
    )]
    InvalidKey {
        /// The rejected key.
        key: String,
    },
    /// A value that is empty, longer than 256 characters, ends in a space, or holds a
    /// character outside printable ASCII, `,` or `=`.
    #[error(
        "tracestate value of key `{key}` must be 1 to 256 printable ASCII characters other than `,` and `=`, \
         not ending in a space; see https://www.w3.org/TR/trace-context-2/#value"
    )]
    InvalidValue {
        /// The key whose value was rejected (values are opaque vendor data, so not echoed).
        key: String,
    },
    /// The same key twice.
    #[error(
        "tracestate key `{key}` appears twice, only one entry per key is allowed; \
         see https://www.w3.org/TR/trace-context-2/#combined-header-value"
    )]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// More than [`TRACESTATE_MAX_MEMBERS`] members.
    #[error(
        "tracestate has more than 32 list-members; see https://www.w3.org/TR/trace-context-2/#list"
    )]
    TooManyMembers,
    /// A spec-valid entry that [`TraceState`] refuses to hold.
    #[error(
        "tracestate key `{key}` is valid W3C but opentelemetry's TraceState cannot hold it \
         (it accepts system-ids of at most 13 characters); see https://www.w3.org/TR/trace-context-2/#key"
    )]
    Unrepresentable {
        /// The key that could not be stored.
        key: String,
    },
}

/// Parses one `tracestate` header value.
///
/// ```
/// use weft_context::propagation::parse_tracestate;
///
/// let ts = parse_tracestate("rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE").unwrap();
/// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
/// assert!(parse_tracestate("a=1,a=2").is_err());
/// ```
pub fn parse_tracestate(value: &str) -> Result<TraceState, TracestateError> {
    parse_tracestate_values([value])
}

/// Parses several `tracestate` header fields as one list, in order, as
/// <https://www.w3.org/TR/trace-context-2/#tracestate-header-field-values> requires
/// for a header sent as multiple fields.
pub fn parse_tracestate_values<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<TraceState, TracestateError> {
    let members = parse_members(values)?;
    TraceState::from_key_value(members.iter().copied()).map_err(|_| unrepresentable(&members))
}

/// A valid `tracestate` that opentelemetry's [`TraceState`] cannot hold whole: the
/// members it can hold, and the header as received (members joined in order), which
/// is what weft sends on while the span context still has exactly those members.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawTracestate {
    pub(crate) held: TraceState,
    pub(crate) header: String,
}

/// Like [`parse_tracestate_values`], but a valid list with a key opentelemetry refuses
/// is kept: the members it can hold, plus the whole list as [`RawTracestate`].
pub(crate) fn parse_tracestate_keeping_raw<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<(TraceState, Option<RawTracestate>), TracestateError> {
    let members = parse_members(values)?;
    if let Ok(state) = TraceState::from_key_value(members.iter().copied()) {
        return Ok((state, None));
    }
    let held: Vec<(&str, &str)> = members
        .iter()
        .copied()
        .filter(|(key, value)| TraceState::from_key_value([(*key, *value)]).is_ok())
        .collect();
    let held = TraceState::from_key_value(held).map_err(|_| unrepresentable(&members))?;
    let header = members
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    Ok((held.clone(), Some(RawTracestate { held, header })))
}

/// The list's members in order, each checked against the W3C grammar and limits.
fn parse_members<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(&'a str, &'a str)>, TracestateError> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for value in values {
        for member in value.split(',') {
            // #list: spaces and tabs around members are ignored and empty members allowed.
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, val) =
                member
                    .split_once('=')
                    .ok_or_else(|| TracestateError::NotKeyValue {
                        member: member.to_owned(),
                    })?;
            check_member(key, val)?;
            if members.iter().any(|(seen, _)| *seen == key) {
                // #combined-header-value: "Only one entry per key is allowed".
                return Err(TracestateError::DuplicateKey {
                    key: key.to_owned(),
                });
            }
            if members.len() == TRACESTATE_MAX_MEMBERS {
                return Err(TracestateError::TooManyMembers);
            }
            members.push((key, val));
        }
    }
    Ok(members)
}

/// Formats a [`TraceState`] as a `tracestate` header value (`k1=v1,k2=v2`).
pub fn format_tracestate(state: &TraceState) -> String {
    let mut out = String::new();
    for (key, value) in state {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Returns `state` with `key=value` as its first member, replacing any earlier entry
/// for `key`. This is the mutation <https://www.w3.org/TR/trace-context-2/#mutating-the-tracestate-field>
/// asks of a vendor that writes its own entry; when the list is full, the last member
/// is dropped to make room.
///
/// ```
/// use weft_context::propagation::{insert_first, parse_tracestate};
///
/// let ts = parse_tracestate("rojo=1,weft=old").unwrap();
/// let ts = insert_first(&ts, "weft", "new").unwrap();
/// assert_eq!(weft_context::propagation::format_tracestate(&ts), "weft=new,rojo=1");
/// ```
pub fn insert_first(
    state: &TraceState,
    key: &str,
    value: &str,
) -> Result<TraceState, TracestateError> {
    check_member(key, value)?;
    state
        .insert(key, value)
        .map_err(|_| TracestateError::Unrepresentable {
            key: key.to_owned(),
        })
}

fn check_member(key: &str, value: &str) -> Result<(), TracestateError> {
    if !is_valid_key(key) {
        return Err(TracestateError::InvalidKey {
            key: key.to_owned(),
        });
    }
    if !is_valid_value(value) {
        return Err(TracestateError::InvalidValue {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// Names the first member [`TraceState`] refused. Only keys can be refused, since
/// every value this module accepts is one opentelemetry accepts too.
fn unrepresentable(members: &[(&str, &str)]) -> TracestateError {
    let refused = members
        .iter()
        .find(|(key, value)| TraceState::from_key_value([(*key, *value)]).is_err())
        .map_or("", |(key, _)| key);
    TracestateError::Unrepresentable {
        key: refused.to_owned(),
    }
}

/// <https://www.w3.org/TR/trace-context-2/#key>: `simple-key / tenant-id "@" system-id`.
fn is_valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => is_key_part(key, MAX_SIMPLE_KEY_LEN, false),
        Some((tenant, system)) => {
            is_key_part(tenant, MAX_TENANT_ID_LEN, true)
                && is_key_part(system, MAX_SYSTEM_ID_LEN, false)
        }
    }
}

/// One part of a key: a lowercase letter (or, for a tenant-id, a digit) first, then
/// `lcalpha / DIGIT / "_" / "-" / "*" / "/"`, at most `max` characters in all.
fn is_key_part(part: &str, max: usize, digit_first: bool) -> bool {
    let bytes = part.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    let first_ok = first.is_ascii_lowercase() || (digit_first && first.is_ascii_digit());
    first_ok
        && bytes.len() <= max
        && rest.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
}

/// <https://www.w3.org/TR/trace-context-2/#value>: `0*255(chr) nblk-chr`, where `chr` is
/// printable ASCII except `,` and `=`, and the last one is not a space.
fn is_valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() <= MAX_VALUE_LEN
        && bytes.last().is_some_and(|&b| b != b' ')
        && bytes
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}
