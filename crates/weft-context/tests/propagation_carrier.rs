//! `Carrier`: display, case-insensitive names, JSON, `HashMap`, `HeaderMap`,
//! environment variables, and interop with opentelemetry_sdk's own propagators.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use weft_context::propagation::{Carrier, carrier_from_context};

const TP: &str = "00-d1b9e555b056907ee20b0daebf62282c-7dcd821387246e1c-01";

fn full() -> Carrier {
    Carrier::from_iter([
        ("traceparent", TP),
        ("tracestate", "rojo=1"),
        ("baggage", "k=v"),
    ])
}

#[test]
fn displays_like_the_python_dict() {
    assert_eq!(Carrier::new().to_string(), "{}");
    assert_eq!(
        Carrier::from_iter([("traceparent", TP)]).to_string(),
        format!("{{'traceparent': '{TP}'}}")
    );
    assert_eq!(
        full().to_string(),
        format!("{{'traceparent': '{TP}', 'tracestate': 'rojo=1', 'baggage': 'k=v'}}")
    );
    // Python's repr switches quotes, and escapes what it must.
    assert_eq!(
        Carrier::from_iter([("x", "it's")]).to_string(),
        r#"{'x': "it's"}"#
    );
    assert_eq!(
        Carrier::from_iter([("x", "a'\"\\\n")]).to_string(),
        r#"{'x': 'a\'"\\\n'}"#
    );
}

#[test]
fn names_match_whatever_their_case_and_are_stored_lowercase() {
    let mut carrier = Carrier::from_iter([("Traceparent", TP)]);
    assert_eq!(carrier.get("TRACEPARENT"), Some(TP));
    assert_eq!(carrier.iter().next(), Some(("traceparent", TP)));
    carrier.insert("X-Custom", "1");
    assert_eq!(
        carrier.insert("TRACEPARENT", "new"),
        Some(TP.to_owned()),
        "replaces in place"
    );
    assert_eq!(
        carrier.iter().collect::<Vec<_>>(),
        [("traceparent", "new"), ("x-custom", "1")]
    );
    assert_eq!(carrier.remove("x-CUSTOM").as_deref(), Some("1"));
    assert_eq!(carrier.len(), 1);
}

#[test]
fn json_is_an_object_in_order() {
    let json = serde_json::to_string(&full()).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"traceparent":"{TP}","tracestate":"rojo=1","baggage":"k=v"}}"#)
    );
    assert_eq!(serde_json::from_str::<Carrier>(&json).unwrap(), full());
    let upper: Carrier = serde_json::from_str(&format!(r#"{{"TraceParent":"{TP}"}}"#)).unwrap();
    assert_eq!(upper.get("traceparent"), Some(TP));
    assert_eq!(
        serde_json::from_str::<Carrier>("{}").unwrap(),
        Carrier::new()
    );
    assert!(serde_json::from_str::<Carrier>(r#"{"traceparent":1}"#).is_err());
    assert!(serde_json::from_str::<Carrier>("[]").is_err());
}

#[test]
fn hash_maps_convert_both_ways_in_canonical_order() {
    let map: HashMap<String, String> = [
        ("zz", "1"),
        ("baggage", "k=v"),
        ("traceparent", TP),
        ("aa", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let carrier = Carrier::from(map.clone());
    let names: Vec<&str> = carrier.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["traceparent", "baggage", "aa", "zz"]);
    assert_eq!(HashMap::from(carrier), map);
}

#[test]
fn header_maps_carry_only_the_propagation_fields() {
    let headers = full().to_header_map();
    assert_eq!(headers.get("traceparent").unwrap(), TP);
    assert_eq!(Carrier::from_header_map(&headers), full());

    let mut headers = HeaderMap::new();
    headers.append("TraceState", HeaderValue::from_static("rojo=1"));
    headers.append("tracestate", HeaderValue::from_static("congo=2"));
    headers.append("content-type", HeaderValue::from_static("text/plain"));
    headers.append("baggage", HeaderValue::from_bytes(b"k=\xff").unwrap());
    let carrier = Carrier::from(&headers);
    assert_eq!(
        carrier.iter().collect::<Vec<_>>(),
        [("tracestate", "rojo=1,congo=2")],
        "joined; others and non-ASCII ignored"
    );

    // Two traceparents join into one invalid value: an ambiguous parent is never guessed.
    let mut twice = HeaderMap::new();
    twice.append("traceparent", HeaderValue::from_static(TP));
    twice.append("traceparent", HeaderValue::from_static(TP));
    let _guard = weft_context::propagation::attach_context(&Carrier::from_header_map(&twice));
    assert!(weft_context::propagation::get_context().is_empty());

    let odd = Carrier::from_iter([("bad name", "v"), ("ok", "line\nbreak"), ("fine", "yes")]);
    assert_eq!(
        odd.to_header_map().len(),
        1,
        "invalid names and values are left out"
    );
}

#[test]
fn environment_variables_per_the_otel_env_carrier_spec() {
    let vars = full().to_env_vars();
    let expected: Vec<(String, String)> = [
        ("TRACEPARENT", TP),
        ("TRACESTATE", "rojo=1"),
        ("BAGGAGE", "k=v"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(vars, expected);
    assert_eq!(Carrier::from_env_vars(vars), full());

    let env = [
        ("PATH", "/bin"),
        ("BAGGAGE", "k=v"),
        ("traceparent", TP),
        ("HOME", "/root"),
    ];
    assert_eq!(
        Carrier::from_env_vars(env).iter().collect::<Vec<_>>(),
        [("traceparent", TP), ("baggage", "k=v")],
        "other variables ignored, fields in canonical order"
    );
    let other = Carrier::from_iter([("x-b3.id", "1"), ("nul", "a\0b")]);
    assert_eq!(
        other.to_env_vars(),
        [("X_B3_ID".to_owned(), "1".to_owned())]
    );
}

#[test]
fn opentelemetry_propagators_read_what_weft_writes() {
    let sc = SpanContext::new(
        TraceId::from(0xd1b9e555b056907ee20b0daebf62282c),
        SpanId::from(0x7dcd821387246e1c),
        TraceFlags::SAMPLED,
        false,
        "rojo=1".parse::<TraceState>().unwrap(),
    );
    let cx = Context::new()
        .with_remote_span_context(sc)
        .with_baggage([opentelemetry::KeyValue::new("tenant", "a b,c")]);
    let carrier = carrier_from_context(&cx);
    assert_eq!(carrier.get("baggage"), Some("tenant=a%20b%2Cc"));

    let extracted = TraceContextPropagator::new().extract(&carrier);
    assert_eq!(
        extracted.span().span_context().trace_id(),
        TraceId::from(0xd1b9e555b056907ee20b0daebf62282c)
    );
    assert_eq!(
        extracted.span().span_context().trace_state().get("rojo"),
        Some("1")
    );
    let extracted = BaggagePropagator::new().extract(&carrier);
    assert_eq!(
        extracted.baggage().get("tenant").map(|v| v.as_str()),
        Some("a b,c")
    );
}

#[test]
fn weft_reads_what_opentelemetry_propagators_write() {
    let sc = SpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let cx = Context::new()
        .with_remote_span_context(sc)
        .with_baggage([opentelemetry::KeyValue::new("k", "a+b c")]);
    let mut carrier = Carrier::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    BaggagePropagator::new().inject_context(&cx, &mut carrier);
    assert_eq!(
        carrier.get("traceparent"),
        Some("00-00000000000000000000000000000007-0000000000000009-01")
    );
    let _attached = weft_context::propagation::attach_context(&carrier);
    assert_eq!(
        Context::current().baggage().get("k").map(|v| v.as_str()),
        Some("a+b c"),
        "a literal + stays"
    );
}
