//! `traceparent` vectors from W3C Trace Context Level 2, and round-trip properties.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use proptest::prelude::*;
use weft_context::propagation::{TraceparentError, format_traceparent, parse_traceparent};

const TID: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
const SID: u64 = 0x00f0_67aa_0ba9_02b7;

#[rustfmt::skip]
fn valid() -> Vec<(&'static str, u128, u64, u8, &'static str)> {
    vec![
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TID, SID, 0x01, "sampled"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", TID, SID, 0x00, "not sampled"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", TID, SID, 0x03, "sampled + level-2 random trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", TID, SID, 0x02, "random trace-id only"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", TID, SID, 0x09, "unknown flag kept, not masked"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", TID, SID, 0xff, "all flags kept"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", TID, SID, 0x01, "future version with an extra field"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-XYZxsf09", TID, SID, 0x09, "future version, opaque extra field"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", TID, SID, 0x01, "future version, empty extra field"),
        ("fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TID, SID, 0x01, "highest allowed version, 4 fields"),
        (" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t", TID, SID, 0x01, "spaces and tabs around the value"),
        ("00-00000000000000000000000000000001-0000000000000001-01", 1, 1, 0x01, "smallest non-zero ids"),
    ]
}

#[rustfmt::skip]
fn invalid() -> Vec<(&'static str, TraceparentError, &'static str)> {
    use TraceparentError::*;
    vec![
        ("", TooShort { len: 0 }, "empty"),
        ("garbage", TooShort { len: 7 }, "garbage"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", TooShort { len: 52 }, "3 fields: missing trace-flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-", TooShort { len: 53 }, "empty trace-flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", TooShort { len: 54 }, "one-digit trace-flags"),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ForbiddenVersion, "version ff"),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", ForbiddenVersion, "version ff with extra field"),
        ("qw-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", InvalidVersion, "bogus version"),
        ("A0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", InvalidVersion, "upper case version"),
        ("0000-00000000000000000000000000000000-0000000000000000-01", InvalidVersion, "wrong version length"),
        ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", InvalidVersion, "wrong delimiter after version"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", InvalidTraceId, "upper case trace-id"),
        ("00-qw000000000000000000000000000000-00f067aa0ba902b7-01", InvalidTraceId, "bogus trace-id"),
        ("00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", InvalidTraceId, "sign in trace-id (from_str_radix would take it)"),
        ("00-ab00000000000000000000000000000000-cd00000000000000-01", InvalidTraceId, "trace-id too long"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", InvalidTraceId, "wrong delimiter after trace-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473\u{e9}-00f067aa0ba902b7-01", InvalidTraceId, "non-ASCII in trace-id"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", ZeroTraceId, "all-zero trace-id"),
        ("00-00000000000000000000000000000000-0000000000000000-01", ZeroTraceId, "all-zero trace-id and parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", InvalidParentId, "upper case parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-qw00000000000000-01", InvalidParentId, "bogus parent-id"),
        ("00-ab000000000000000000000000000000-cd0000000000000000-01", InvalidParentId, "parent-id too long"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ZeroParentId, "all-zero parent-id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-A1", InvalidTraceFlags, "upper case trace-flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-qw", InvalidTraceFlags, "bogus trace-flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7--1", InvalidTraceFlags, "negative trace-flags"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0100", Version00TooLong { len: 57 }, "trace-flags too long"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", Version00TooLong { len: 61 }, "version 00 with a fifth field"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", Version00TooLong { len: 56 }, "version 00 with a trailing dash"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", InvalidFutureVersionSuffix, "future version, flags not followed by a dash"),
    ]
}

#[test]
fn valid_vectors_parse_with_flags_kept_whole() {
    for (input, trace_id, span_id, flags, reason) in valid() {
        let sc = parse_traceparent(input)
            .unwrap_or_else(|err| panic!("{reason}: {input:?} rejected: {err}"));
        assert_eq!(sc.trace_id(), TraceId::from(trace_id), "{reason}");
        assert_eq!(sc.span_id(), SpanId::from(span_id), "{reason}");
        assert_eq!(sc.trace_flags().to_u8(), flags, "{reason}");
        assert!(sc.is_remote() && sc.is_valid(), "{reason}");
    }
}

#[test]
fn invalid_vectors_name_the_broken_rule() {
    for (input, expected, reason) in invalid() {
        assert_eq!(
            parse_traceparent(input).err(),
            Some(expected),
            "{reason}: {input:?}"
        );
    }
}

#[test]
fn every_error_links_its_anchor() {
    for (input, _, reason) in invalid() {
        let message = parse_traceparent(input).unwrap_err().to_string();
        assert!(
            message.contains("https://www.w3.org/TR/trace-context-2/#"),
            "{reason}: {message}"
        );
    }
}

#[test]
fn future_versions_are_written_back_as_version_00() {
    let sc =
        parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").unwrap();
    assert_eq!(
        format_traceparent(&sc),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
}

#[test]
fn unsampled_and_random_flags_survive_a_round_trip() {
    for flags in ["00", "02", "03", "09"] {
        let header = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        assert_eq!(
            format_traceparent(&parse_traceparent(&header).unwrap()),
            header
        );
    }
}

#[test]
fn formats_lowercase_zero_padded_hex() {
    let sc = SpanContext::new(
        TraceId::from(1),
        SpanId::from(0xab),
        TraceFlags::new(0x0a),
        false,
        TraceState::NONE,
    );
    assert_eq!(
        format_traceparent(&sc),
        "00-00000000000000000000000000000001-00000000000000ab-0a"
    );
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(trace_id in 1..=u128::MAX, span_id in 1..=u64::MAX, flags: u8) {
        let sc = SpanContext::new(TraceId::from(trace_id), SpanId::from(span_id), TraceFlags::new(flags), true, TraceState::NONE);
        let header = format_traceparent(&sc);
        prop_assert_eq!(header.len(), 55);
        prop_assert_eq!(parse_traceparent(&header), Ok(sc));
    }

    #[test]
    fn arbitrary_input_never_panics(input in any::<String>()) {
        let _ = parse_traceparent(&input);
    }

    #[test]
    fn near_misses_never_panic_and_reparse(input in "[0-9a-fA-F-]{50,70}") {
        if let Ok(sc) = parse_traceparent(&input) {
            prop_assert_eq!(parse_traceparent(&format_traceparent(&sc)), Ok(sc));
        }
    }
}
