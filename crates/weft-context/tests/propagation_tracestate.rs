//! `tracestate` vectors from W3C Trace Context Level 2, and round-trip properties.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceState};
use proptest::prelude::*;
use weft_context::propagation::{
    Carrier, TracestateError, attach_context, carrier_from_context, format_tracestate, get_context,
    insert_first, parse_tracestate, parse_tracestate_values,
};

fn pairs(state: &TraceState) -> Vec<(String, String)> {
    state
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn members(n: usize) -> String {
    (0..n)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[rustfmt::skip]
fn valid() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7", "single member"),
        ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "order kept"),
        ("", "", "empty header"),
        (" , ,\t,", "", "only empty members and OWS"),
        ("rojo=1 , congo=2\t,", "rojo=1,congo=2", "OWS around members and a trailing comma"),
        (",,rojo=1,,,congo=2,,", "rojo=1,congo=2", "empty members between"),
        ("tenant@system=x", "tenant@system=x", "multi-tenant key"),
        ("0tenant@s=x", "0tenant@s=x", "tenant-id may start with a digit"),
        ("a_b-c*d/e=x", "a_b-c*d/e=x", "every special key character"),
        ("k= leading", "k= leading", "leading spaces are part of the value"),
        ("k=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~", "k=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~", "every printable value character but , and ="),
        ("tenant@abcdefghijklm=x", "tenant@abcdefghijklm=x", "13-character system-id"),
    ]
}

#[rustfmt::skip]
fn invalid() -> Vec<(&'static str, TracestateError, &'static str)> {
    use TracestateError::*;
    let key = |k: &str| InvalidKey { key: k.to_owned() };
    let value = |k: &str| InvalidValue { key: k.to_owned() };
    vec![
        ("a=1,a=2", DuplicateKey { key: "a".into() }, "duplicate key"),
        ("a=1,b=2,a=1", DuplicateKey { key: "a".into() }, "duplicate key, same value"),
        ("novalue", NotKeyValue { member: "novalue".into() }, "member without ="),
        ("ok=1,bad", NotKeyValue { member: "bad".into() }, "one bad member drops the whole header"),
        ("Rojo=1", key("Rojo"), "upper case key"),
        ("0abc=1", key("0abc"), "simple key starting with a digit"),
        ("=1", key(""), "empty key"),
        ("ro jo=1", key("ro jo"), "space in key"),
        ("rojo =1", key("rojo "), "space before ="),
        ("a.b=1", key("a.b"), "dot in key"),
        ("a@b@c=1", key("a@b@c"), "two @"),
        ("@system=1", key("@system"), "empty tenant-id"),
        ("tenant@=1", key("tenant@"), "empty system-id"),
        ("tenant@0sys=1", key("tenant@0sys"), "system-id starting with a digit"),
        ("tenant@abcdefghijklmno=1", key("tenant@abcdefghijklmno"), "15-character system-id"),
        ("k=", value("k"), "empty value"),
        ("k=  ", value("k"), "blank value"),
        ("k=a=b", value("k"), "= in value"),
        ("k=caf\u{e9}", value("k"), "non-ASCII value"),
        ("k=a\u{7f}", value("k"), "DEL in value"),
        ("k=\ta", value("k"), "tab inside the value"),
    ]
}

#[test]
fn valid_vectors_parse_and_format() {
    for (input, formatted, reason) in valid() {
        let state = parse_tracestate(input)
            .unwrap_or_else(|err| panic!("{reason}: {input:?} rejected: {err}"));
        assert_eq!(format_tracestate(&state), formatted, "{reason}");
    }
}

#[test]
fn invalid_vectors_drop_the_whole_header() {
    for (input, expected, reason) in invalid() {
        assert_eq!(
            parse_tracestate(input).err(),
            Some(expected),
            "{reason}: {input:?}"
        );
    }
}

#[test]
fn thirty_two_members_are_allowed_and_thirty_three_are_not() {
    assert_eq!(
        parse_tracestate(&members(32)).unwrap().into_iter().len(),
        32
    );
    assert_eq!(
        parse_tracestate(&members(33)),
        Err(TracestateError::TooManyMembers)
    );
    // Empty members don't count: proxies create them when joining fields.
    assert!(parse_tracestate(&format!("{},,,", members(32))).is_ok());
}

#[test]
fn length_limits_of_keys_and_values() {
    let long_key = format!("a{}", "b".repeat(255));
    assert!(
        parse_tracestate(&format!("{long_key}=v")).is_ok(),
        "256-character simple key"
    );
    assert!(
        parse_tracestate(&format!("{long_key}b=v")).is_err(),
        "257-character simple key"
    );
    let tenant = format!("t{}", "b".repeat(240));
    assert!(
        parse_tracestate(&format!("{tenant}@s=v")).is_ok(),
        "241-character tenant-id"
    );
    assert!(
        parse_tracestate(&format!("{tenant}b@s=v")).is_err(),
        "242-character tenant-id"
    );
    assert!(
        parse_tracestate(&format!("k={}", "v".repeat(256))).is_ok(),
        "256-character value"
    );
    assert!(
        parse_tracestate(&format!("k={}", "v".repeat(257))).is_err(),
        "257-character value"
    );
}

#[test]
fn a_spec_valid_key_opentelemetry_cannot_hold_is_reported() {
    // system-id = lcalpha 0*13(...) allows 14 characters; opentelemetry's TraceState stops at 13.
    assert_eq!(
        parse_tracestate("tenant@abcdefghijklmn=1"),
        Err(TracestateError::Unrepresentable {
            key: "tenant@abcdefghijklmn".into()
        })
    );
}

/// The W3C suite's `test_tracestate_key_length_limit`: the longest valid multi-tenant key
/// (241 + "@" + 14) arrives beside `foo=1`, and both must be sent on.
#[test]
fn a_list_opentelemetry_cannot_hold_whole_is_still_carried_whole() {
    let long = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    let carrier = Carrier::from_iter([
        (
            "traceparent",
            "00-12345678901234567890123456789012-1234567890123456-01".to_owned(),
        ),
        ("tracestate", format!("foo=1,{long}=1")),
    ]);
    let _attached = attach_context(&carrier);
    let out = get_context();
    assert_eq!(
        out.get("tracestate"),
        Some(format!("foo=1,{long}=1").as_str())
    );

    // A span under it (the same tracestate) sends it on too, and a changed one does not.
    let span = Context::current().span().span_context().clone();
    let child = SpanContext::new(
        span.trace_id(),
        SpanId::from(7u64),
        span.trace_flags(),
        false,
        span.trace_state().clone(),
    );
    let under_child = Context::current().with_remote_span_context(child.clone());
    assert_eq!(
        carrier_from_context(&under_child).get("tracestate"),
        Some(format!("foo=1,{long}=1").as_str())
    );
    let changed = SpanContext::new(
        child.trace_id(),
        child.span_id(),
        child.trace_flags(),
        false,
        insert_first(child.trace_state(), "weft", "x").unwrap(),
    );
    let changed = Context::current().with_remote_span_context(changed);
    assert_eq!(
        carrier_from_context(&changed).get("tracestate"),
        Some("weft=x,foo=1"),
        "a vendor that changed the list sends what it holds"
    );
}

#[test]
fn several_fields_combine_in_order() {
    let state = parse_tracestate_values(["rojo=1", " congo=2,", ""]).unwrap();
    assert_eq!(format_tracestate(&state), "rojo=1,congo=2");
    let err = parse_tracestate_values(["a=1", "a=2"]).unwrap_err();
    assert_eq!(
        err,
        TracestateError::DuplicateKey { key: "a".into() },
        "duplicates across fields"
    );
}

#[test]
fn insert_first_moves_weft_entry_to_the_front() {
    let state = parse_tracestate("rojo=1,weft=old,congo=2").unwrap();
    let state = insert_first(&state, "weft", "new").unwrap();
    assert_eq!(format_tracestate(&state), "weft=new,rojo=1,congo=2");
    assert!(
        insert_first(&state, "Weft", "x").is_err(),
        "keys are checked"
    );
    assert!(
        insert_first(&state, "weft", "a,b").is_err(),
        "values are checked"
    );

    let full = insert_first(&parse_tracestate(&members(32)).unwrap(), "weft", "1").unwrap();
    assert_eq!(full.into_iter().len(), 32, "the last member makes room");
    assert_eq!(full.into_iter().next(), Some(("weft", "1")));
}

#[test]
fn errors_link_their_anchor() {
    for (input, _, reason) in invalid() {
        let message = parse_tracestate(input).unwrap_err().to_string();
        assert!(
            message.contains("https://www.w3.org/TR/trace-context-2/#"),
            "{reason}: {message}"
        );
    }
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_*/-]{0,20}",
        "[a-z0-9][a-z0-9_*/-]{0,10}@[a-z][a-z0-9_*/-]{0,12}",
    ]
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(
        entries in prop::collection::btree_map(key_strategy(), "[ -+--<>-~]{0,20}[!-+--<>-~]", 0..=32)
    ) {
        let state = TraceState::from_key_value(entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        let header = format_tracestate(&state);
        let parsed = parse_tracestate(&header).unwrap();
        prop_assert_eq!(pairs(&parsed), pairs(&state));
    }

    #[test]
    fn arbitrary_input_never_panics(input in any::<String>()) {
        let _ = parse_tracestate(&input);
    }

    #[test]
    fn near_misses_never_panic_and_reparse(input in "[a-z0-9@=, \t*/_-]{0,80}") {
        if let Ok(state) = parse_tracestate(&input) {
            prop_assert_eq!(pairs(&parse_tracestate(&format_tracestate(&state)).unwrap()), pairs(&state));
        }
    }
}
