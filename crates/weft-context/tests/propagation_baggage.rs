//! `baggage` vectors from W3C Baggage and OpenTelemetry Python's encoding, limits,
//! and round-trip properties.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use opentelemetry::baggage::{Baggage, BaggageMetadata};
use proptest::prelude::*;
use weft_context::propagation::baggage::{BAGGAGE_MAX_BYTES, BAGGAGE_MAX_ENTRIES};
use weft_context::propagation::{BaggageError, decode_baggage, format_baggage, parse_baggage};

type Entries = Vec<(String, String, String)>;
/// `(key, value, metadata)` as written in the tables.
type Row = (&'static str, &'static str, &'static str);

fn entries(baggage: &Baggage) -> Entries {
    let mut all: Entries = baggage
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    all.sort();
    all
}

fn expect(rows: &[(&str, &str, &str)]) -> Entries {
    let mut all: Entries = rows
        .iter()
        .map(|(k, v, m)| ((*k).into(), (*v).into(), (*m).into()))
        .collect();
    all.sort();
    all
}

fn lossy(header: &str) -> (Entries, Vec<BaggageError>) {
    let mut dropped = Vec::new();
    let baggage = decode_baggage([header], |err| dropped.push(err));
    (entries(&baggage), dropped)
}

#[rustfmt::skip]
fn valid() -> Vec<(&'static str, Vec<Row>, &'static str)> {
    vec![
        ("key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
            vec![("key1", "value1", "property1;property2"), ("key2", "value2", ""), ("key3", "value3", "propertyKey=propertyValue")],
            "the spec's example: OWS trimmed, properties kept"),
        ("userId=alice,serverNode=DF%2028,isProduction=false",
            vec![("userId", "alice", ""), ("serverNode", "DF 28", ""), ("isProduction", "false", "")], "%20 is a space"),
        ("user_id=u1,tenant=a+b%2Cc", vec![("user_id", "u1", ""), ("tenant", "a+b,c", "")], "+ is literal (W3C), though OpenTelemetry Python meant a space"),
        ("k=a%2Bb", vec![("k", "a+b", "")], "%2B is a plus"),
        ("k=a%20b", vec![("k", "a b", "")], "%20 is a space"),
        ("k=", vec![("k", "", "")], "empty value"),
        ("k=%E2%9C%93", vec![("k", "\u{2713}", "")], "UTF-8"),
        ("k=%FF", vec![("k", "\u{fffd}", "")], "invalid UTF-8 becomes U+FFFD"),
        ("k=a=b", vec![("k", "a=b", "")], "= inside a value"),
        ("k=1,k=2", vec![("k", "2", "")], "a later duplicate wins"),
        (" , ,k=v,\t", vec![("k", "v", "")], "empty members"),
        ("k=v;p1 = x ;\tflag", vec![("k", "v", "p1=x;flag")], "OWS inside properties trimmed"),
        ("!#$%&'*+-.^_`|~09azAZ=v", vec![("!#$%&'*+-.^_`|~09azAZ", "v", "")], "every token character in a key"),
        ("", vec![], "empty header"),
    ]
}

#[rustfmt::skip]
fn invalid() -> Vec<(&'static str, BaggageError, &'static str)> {
    use BaggageError::*;
    let key = |k: &str| InvalidKey { key: k.to_owned() };
    let value = |k: &str| InvalidValue { key: k.to_owned() };
    let property = |k: &str| InvalidProperty { key: k.to_owned() };
    vec![
        ("noequals", NotKeyValue, "member without ="),
        ("ke y=v", key("ke y"), "space in key"),
        ("k(=v", key("k("), "separator in key"),
        ("=v", key(""), "empty key"),
        ("k\u{e9}=v", key("k\u{e9}"), "non-ASCII key"),
        ("k=a b", value("k"), "space inside value"),
        ("k=a\"b", value("k"), "DQUOTE in value"),
        ("k=a\\b", value("k"), "backslash in value"),
        ("k=caf\u{e9}", value("k"), "unencoded non-ASCII value"),
        ("k=v;bad prop", property("k"), "space in property key"),
        ("k=v;=x", property("k"), "property without key"),
        ("k=v;", property("k"), "empty property"),
        ("k=v;p=a b", property("k"), "space in property value"),
    ]
}

#[test]
fn valid_vectors_decode() {
    for (input, expected, reason) in valid() {
        let baggage = parse_baggage(input)
            .unwrap_or_else(|err| panic!("{reason}: {input:?} rejected: {err}"));
        assert_eq!(entries(&baggage), expect(&expected), "{reason}");
    }
}

#[test]
fn an_invalid_member_is_dropped_alone() {
    for (member, expected, reason) in invalid() {
        let (kept, dropped) = lossy(&format!("before=1,{member},after=2"));
        assert_eq!(
            kept,
            expect(&[("before", "1", ""), ("after", "2", "")]),
            "{reason}"
        );
        assert_eq!(dropped, std::slice::from_ref(&expected), "{reason}");
        assert_eq!(
            parse_baggage(member).err(),
            Some(expected),
            "strict parse: {reason}"
        );
    }
}

#[test]
fn errors_link_their_anchor() {
    for (member, _, reason) in invalid() {
        let message = parse_baggage(member).unwrap_err().to_string();
        assert!(
            message.contains("https://www.w3.org/TR/baggage/#"),
            "{reason}: {message}"
        );
    }
}

#[test]
fn members_past_the_entry_limit_are_dropped() {
    let header: Vec<String> = (0..BAGGAGE_MAX_ENTRIES + 2)
        .map(|i| format!("k{i}=v"))
        .collect();
    let (kept, dropped) = lossy(&header.join(","));
    assert_eq!(kept.len(), BAGGAGE_MAX_ENTRIES);
    assert_eq!(dropped.len(), 2);
    assert!(matches!(&dropped[0], BaggageError::TooManyMembers { key, limit: 64 } if key == "k64"));
    // A duplicate of a kept key still updates it at the limit.
    let (kept, dropped) = lossy(&format!(
        "{},k0=new",
        header[..BAGGAGE_MAX_ENTRIES].join(",")
    ));
    assert!(dropped.is_empty() && kept.contains(&("k0".into(), "new".into(), String::new())));
}

#[test]
fn a_header_past_8192_bytes_keeps_what_fits() {
    // Ten members of 1000 bytes: eight fit with their commas (8007 bytes), the ninth would not.
    let members: Vec<String> = (0..10)
        .map(|i| format!("k{i}={}", "v".repeat(997)))
        .collect();
    let (kept, dropped) = lossy(&members.join(","));
    assert_eq!(kept.len(), 8);
    assert_eq!(dropped.len(), 2);
    assert!(matches!(&dropped[0], BaggageError::TooLong { key, limit: 8192 } if key == "k8"));
    // A short member after a long one still fits.
    let (kept, _) = lossy(&format!(
        "{},{},small=1",
        members.join(","),
        "x".repeat(9000)
    ));
    assert!(kept.iter().any(|(k, _, _)| k == "small"));
}

#[rustfmt::skip]
fn formatted() -> Vec<(Vec<Row>, &'static str, &'static str)> {
    vec![
        (vec![("user_id", "u1", ""), ("tenant", "a b,c", "")], "tenant=a%20b%2Cc,user_id=u1", "space as %20, sorted keys"),
        (vec![("k", "a+b", "")], "k=a%2Bb", "a plus is encoded so that unquote_plus readers keep it"),
        (vec![("k", "AZaz09.-_~", "")], "k=AZaz09.-_~", "unreserved characters stay"),
        (vec![("k", "\u{2713}%;\"\\", "")], "k=%E2%9C%93%25%3B%22%5C", "UTF-8 and delimiters as uppercase %XX"),
        (vec![("foo", "", "red;state=on")], "foo=;red;state=on", "empty value with properties"),
        (vec![], "", "no entries"),
    ]
}

#[test]
fn formats_like_opentelemetry_python_but_space_as_percent_20() {
    for (rows, expected, reason) in formatted() {
        let baggage: Baggage = rows
            .iter()
            .map(|(k, v, m)| opentelemetry::baggage::KeyValueMetadata::new(*k, *v, *m))
            .collect();
        let mut dropped = Vec::new();
        assert_eq!(
            format_baggage(&baggage, |err| dropped.push(err)),
            expected,
            "{reason}"
        );
        assert!(dropped.is_empty(), "{reason}");
    }
}

#[test]
fn formatting_leaves_out_what_breaks_the_header() {
    let mut baggage = Baggage::new();
    baggage.insert_with_metadata("k", "v", BaggageMetadata::from("a b,c"));
    let mut dropped = Vec::new();
    assert_eq!(
        format_baggage(&baggage, |err| dropped.push(err)),
        "k=v",
        "invalid metadata is left out"
    );
    assert_eq!(dropped, [BaggageError::InvalidProperty { key: "k".into() }]);

    // 2000 bytes each in memory, 6000 once percent-encoded: only one fits in 8192.
    let mut baggage = Baggage::new();
    for key in ["a", "b", "c"] {
        baggage.insert(key, "\u{e9}".repeat(1000));
    }
    let mut dropped = Vec::new();
    let header = format_baggage(&baggage, |err| dropped.push(err));
    assert!(header.len() <= BAGGAGE_MAX_BYTES && header.starts_with("a="));
    assert_eq!(dropped.len(), 2);
}

fn entry_strategy() -> impl Strategy<Value = (String, String, String)> {
    let key = "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}";
    let property = "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,6}(=[!#-+--:<-\\[\\]-~]{0,6})?";
    let metadata = prop::collection::vec(property, 0..3).prop_map(|p| p.join(";"));
    (
        key,
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        metadata,
    )
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(rows in prop::collection::vec(entry_strategy(), 0..16)) {
        let baggage: Baggage = rows
            .iter()
            .map(|(k, v, m)| opentelemetry::baggage::KeyValueMetadata::new(k.clone(), v.clone(), m.as_str()))
            .collect();
        let header = format_baggage(&baggage, |err| panic!("nothing should be dropped: {err}"));
        prop_assert_eq!(entries(&parse_baggage(&header).unwrap()), entries(&baggage));
    }

    #[test]
    fn arbitrary_input_never_panics(input in any::<String>()) {
        let _ = decode_baggage([input.as_str()], |_| {});
    }

    #[test]
    fn whatever_is_kept_reformats_and_reparses(input in "[a-z%0-9A-F=,; \t+]{0,80}") {
        let baggage = decode_baggage([input.as_str()], |_| {});
        let header = format_baggage(&baggage, |err| panic!("nothing should be dropped: {err}"));
        prop_assert_eq!(entries(&parse_baggage(&header).unwrap()), entries(&baggage));
    }
}
