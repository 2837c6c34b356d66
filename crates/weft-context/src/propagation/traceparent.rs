//! The `traceparent` header of [W3C Trace Context Level 2](https://www.w3.org/TR/trace-context-2/#traceparent-header).
//!
//! `00-<trace-id>-<parent-id>-<trace-flags>`: 55 bytes of lowercase hex and dashes.
//! Parsing follows the spec's versioning rules, so a header from a future version is
//! read by its first four fields and written back as version `00`. Trace flags are kept
//! whole: the sampled bit (`0x01`), the Level 2 random-trace-id bit (`0x02`) and any
//! bit a newer sender set survive a round trip untouched.
//!
//! Formatting is on the hot path of every outgoing request, so it fills a fixed
//! 55-byte buffer from a hex table instead of going through `format!`.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Length of a version-`00` header, and the minimum length of any version:
/// 2 (version) + 1 + 32 (trace-id) + 1 + 16 (parent-id) + 1 + 2 (trace-flags).
pub const TRACEPARENT_LEN: usize = 55;

/// The version weft writes: the highest one this crate knows.
const VERSION_00: u8 = 0x00;
/// <https://www.w3.org/TR/trace-context-2/#version>: "Version `ff` is invalid".
const VERSION_FORBIDDEN: u8 = 0xff;

// Byte offsets of the fields (every field is fixed-width in all versions).
const VERSION: std::ops::Range<usize> = 0..2;
const TRACE_ID: std::ops::Range<usize> = 3..35;
const PARENT_ID: std::ops::Range<usize> = 36..52;
const TRACE_FLAGS: std::ops::Range<usize> = 53..55;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Why a `traceparent` value was rejected. Each variant is one rule of the spec and
/// its Display names the rule and links its anchor. A rejected header is ignored: the
/// work it came with starts a new trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceparentError {
    /// Shorter than the 55 bytes every version has.
    #[error(
        "traceparent is {len} bytes, shorter than the 55 of `00-<trace-id>-<parent-id>-<trace-flags>`; \
         see https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent"
    )]
    TooShort {
        /// Length of the rejected value, after trimming spaces and tabs.
        len: usize,
    },
    /// The version is not 2 lowercase hex digits followed by `-`.
    #[error(
        "traceparent version must be 2 lowercase hex digits followed by `-`; \
         see https://www.w3.org/TR/trace-context-2/#version"
    )]
    InvalidVersion,
    /// Version `ff`.
    #[error(
        "traceparent version `ff` is forbidden; see https://www.w3.org/TR/trace-context-2/#version"
    )]
    ForbiddenVersion,
    /// The trace-id is not 32 lowercase hex digits followed by `-`.
    #[error(
        "traceparent trace-id must be 32 lowercase hex digits followed by `-`; \
         see https://www.w3.org/TR/trace-context-2/#trace-id"
    )]
    InvalidTraceId,
    /// The trace-id is all zeroes.
    #[error(
        "traceparent trace-id must not be all zeroes; see https://www.w3.org/TR/trace-context-2/#trace-id"
    )]
    ZeroTraceId,
    /// The parent-id is not 16 lowercase hex digits followed by `-`.
    #[error(
        "traceparent parent-id must be 16 lowercase hex digits followed by `-`; \
         see https://www.w3.org/TR/trace-context-2/#parent-id"
    )]
    InvalidParentId,
    /// The parent-id is all zeroes.
    #[error(
        "traceparent parent-id must not be all zeroes; see https://www.w3.org/TR/trace-context-2/#parent-id"
    )]
    ZeroParentId,
    /// The trace-flags are not 2 lowercase hex digits.
    #[error(
        "traceparent trace-flags must be 2 lowercase hex digits; \
         see https://www.w3.org/TR/trace-context-2/#trace-flags"
    )]
    InvalidTraceFlags,
    /// Version `00` with anything after the trace-flags.
    #[error(
        "traceparent version 00 has exactly 4 fields (55 bytes), this one is {len} bytes; \
         see https://www.w3.org/TR/trace-context-2/#version-format"
    )]
    Version00TooLong {
        /// Length of the rejected value, after trimming spaces and tabs.
        len: usize,
    },
    /// A future version whose trace-flags are followed by something other than `-`.
    #[error(
        "traceparent of a future version must have `-` or nothing after trace-flags; \
         see https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent"
    )]
    InvalidFutureVersionSuffix,
}

/// Parses a `traceparent` value into a remote [`SpanContext`] with an empty
/// [`TraceState`] (the caller adds `tracestate` if this succeeds).
///
/// Spaces and tabs around the value are ignored, as HTTP does with field values.
///
/// ```
/// use weft_context::propagation::parse_traceparent;
///
/// let sc = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
/// assert!(sc.is_remote() && sc.is_sampled());
/// assert!(parse_traceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01").is_err());
/// ```
pub fn parse_traceparent(value: &str) -> Result<SpanContext, TraceparentError> {
    let bytes = value.trim_matches([' ', '\t']).as_bytes();
    // #versioning-of-traceparent: shorter than 55 bytes is never parsed.
    if bytes.len() < TRACEPARENT_LEN {
        return Err(TraceparentError::TooShort { len: bytes.len() });
    }
    // #version: 2 lowercase hex digits, then the first dash.
    let version = hex_field(&bytes[VERSION])
        .filter(|_| bytes[VERSION.end] == b'-')
        .ok_or(TraceparentError::InvalidVersion)? as u8;
    if version == VERSION_FORBIDDEN {
        return Err(TraceparentError::ForbiddenVersion);
    }
    // #trace-id: 32 lowercase hex digits followed by a dash; all zeroes is invalid.
    let trace_id = hex_field(&bytes[TRACE_ID])
        .filter(|_| bytes[TRACE_ID.end] == b'-')
        .ok_or(TraceparentError::InvalidTraceId)?;
    if trace_id == 0 {
        return Err(TraceparentError::ZeroTraceId);
    }
    // #parent-id: 16 lowercase hex digits followed by a dash; all zeroes is invalid.
    let parent_id = hex_field(&bytes[PARENT_ID])
        .filter(|_| bytes[PARENT_ID.end] == b'-')
        .ok_or(TraceparentError::InvalidParentId)? as u64;
    if parent_id == 0 {
        return Err(TraceparentError::ZeroParentId);
    }
    // #trace-flags: 2 lowercase hex digits, kept whole (sampled, random, future bits).
    let flags = hex_field(&bytes[TRACE_FLAGS]).ok_or(TraceparentError::InvalidTraceFlags)? as u8;
    if bytes.len() > TRACEPARENT_LEN {
        if version == VERSION_00 {
            // #version-format: version 00 is exactly these four fields.
            return Err(TraceparentError::Version00TooLong { len: bytes.len() });
        }
        // #versioning-of-traceparent: a higher version may append fields after a dash.
        if bytes[TRACEPARENT_LEN] != b'-' {
            return Err(TraceparentError::InvalidFutureVersionSuffix);
        }
    }
    Ok(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(parent_id),
        TraceFlags::new(flags),
        true,
        TraceState::NONE,
    ))
}

/// Formats the version-`00` `traceparent` of a span context, flags kept whole.
///
/// The caller checks [`SpanContext::is_valid`] first: an invalid context formats to
/// all-zero ids, which every reader rejects.
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// use weft_context::propagation::format_traceparent;
///
/// let sc = SpanContext::new(
///     TraceId::from(0x0af7651916cd43dd8448eb211c80319c),
///     SpanId::from(0xb7ad6b7169203331),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::NONE,
/// );
/// assert_eq!(format_traceparent(&sc), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
/// ```
pub fn format_traceparent(span_context: &SpanContext) -> String {
    let mut buf = [b'-'; TRACEPARENT_LEN];
    write_hex(&mut buf[VERSION], &[VERSION_00]);
    write_hex(&mut buf[TRACE_ID], &span_context.trace_id().to_bytes());
    write_hex(&mut buf[PARENT_ID], &span_context.span_id().to_bytes());
    write_hex(&mut buf[TRACE_FLAGS], &[span_context.trace_flags().to_u8()]);
    // Every byte is ASCII from HEX_DIGITS or a dash, so this borrows and never replaces.
    String::from_utf8_lossy(&buf).into_owned()
}

/// Decodes lowercase hex (at most 32 digits). `None` on any other byte, uppercase
/// included: the spec's `HEXDIGLC` is lowercase only.
fn hex_field(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &b| {
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u128::from(nibble))
    })
}

fn write_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
        pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
    }
}
