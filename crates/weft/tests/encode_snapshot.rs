//! The whole OTLP request weft encodes for a deterministic tree, as JSON: every
//! Logfire attribute (`logfire.span_type`, `logfire.level_num`, `logfire.msg_template`,
//! `logfire.msg`, `logfire.json_schema`), `code.*`, `thread.*`, flags and status, for a
//! span with attributes, a log, a pending-span record, a failed span with an exception
//! event and a span with a link. And duplicate keys: OTLP needs each key once.
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use weft::Value;
use weft::export::SpanRecord;
use weft::export::otlp::{Resource, encode_request};

/// A resource without `process.pid`, so the snapshot is stable.
fn resource() -> Resource {
    Resource {
        attributes: vec![
            ("service.name".into(), Value::from("snapshot")),
            ("service.version".into(), Value::from("1.0.0")),
        ],
    }
}

/// Records the tree on a thread named `snapshot-worker` (so `thread.name` is known)
/// and returns everything the instance exported, pending records included.
fn record_tree() -> Vec<SpanRecord> {
    let (weft, memory) = weft::testing::deterministic().unwrap();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("snapshot-worker".into())
            .spawn_scoped(scope, || {
                weft.in_scope(|| {
                    let user = "ada";
                    let outer = weft::span!("Handling {user}", user, attempt = 1).entered();
                    // Flushing while `outer` is open exports its pending-span record.
                    assert!(weft.force_flush());
                    weft::info!("cart has {items} items", items = 3);
                    {
                        let failed = weft::span!(level: weft::Level::Warn, "parse").entered();
                        failed.record_exception(&"x".parse::<i32>().unwrap_err());
                    }
                    {
                        let linked = weft::span!("linked").entered();
                        let other = SpanContext::new(
                            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
                            SpanId::from_hex("b7ad6b7169203331").unwrap(),
                            TraceFlags::SAMPLED,
                            true,
                            TraceState::default(),
                        );
                        linked.add_link(other, vec![("reason".into(), Value::from("retry"))]);
                    }
                    outer.set_attribute("results", vec![0, 2, 4]);
                    outer.set_attribute("attempt", 2);
                });
            })
            .unwrap();
    });
    assert!(weft.force_flush());
    memory.records()
}

/// `thread.id` depends on how many threads this process numbered before: replaced by
/// a marker once checked to be a positive integer.
fn stable(mut json: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("key").and_then(|k| k.as_str()) == Some("thread.id") {
                    let id = map["value"]["intValue"]
                        .as_str()
                        .map(|s| s.parse::<i64>().unwrap())
                        .or_else(|| map["value"]["intValue"].as_i64())
                        .unwrap();
                    assert!(id > 0, "thread.id is a positive number");
                    map["value"] = serde_json::json!({"intValue": "[thread.id]"});
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut json);
    json
}

#[test]
fn the_encoded_request_of_a_whole_tree() {
    let records = record_tree();
    let request = encode_request(&resource(), &records);
    let json = stable(serde_json::to_value(&request).unwrap());
    insta::assert_json_snapshot!(json);
}

fn attr<'a>(span: &'a Span, key: &str) -> Vec<&'a AnyValue> {
    span.attributes
        .iter()
        .filter(|kv| kv.key == key)
        .filter_map(|kv| kv.value.as_ref()?.value.as_ref())
        .collect()
}

#[test]
fn a_key_set_twice_is_encoded_once_with_the_last_value() {
    let (weft, memory) = weft::testing::deterministic().unwrap();
    weft.in_scope(|| {
        let span = weft::span!("dup {n}", n = 1, items = vec![1]).entered();
        span.set_attribute("n", 2);
        span.set_attribute("items", "now a string");
        // Named like attributes weft derives: the derived value is kept, once.
        span.set_attribute("logfire.msg", "spoofed");
        span.set_attribute("thread.id", "spoofed");
    });
    assert!(weft.force_flush());
    let records = memory.spans();
    assert_eq!(
        records[0].attributes.len(),
        6,
        "the record itself keeps every set"
    );
    let request = encode_request(&resource(), &records);
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    let all = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), all, "every key once: {keys:?}");
    assert_eq!(attr(span, "n"), [&AnyValue::IntValue(2)]);
    assert_eq!(
        attr(span, "items"),
        [&AnyValue::StringValue("now a string".into())]
    );
    assert_eq!(
        attr(span, "logfire.msg"),
        [&AnyValue::StringValue("dup 2".into())]
    );
    assert!(matches!(
        attr(span, "thread.id")[..],
        [AnyValue::IntValue(_)]
    ));
    assert_eq!(
        attr(span, "logfire.json_schema"),
        [&AnyValue::StringValue(
            r#"{"type":"object","properties":{"n":{},"items":{}}}"#.into()
        )],
        "the schema lists each key once, with its last kind (a string now, not an array)"
    );
}

#[test]
fn many_duplicate_keys_are_encoded_once_too() {
    // Beyond the small-list path: the hash-set path must agree.
    let (weft, memory) = weft::testing::deterministic().unwrap();
    weft.in_scope(|| {
        let span = weft::span!("many").entered();
        for round in 0..3 {
            for i in 0..40 {
                span.set_attribute(format!("k{i}"), round);
            }
        }
    });
    assert!(weft.force_flush());
    let request = encode_request(&resource(), &memory.spans());
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    for i in 0..40 {
        assert_eq!(
            attr(span, &format!("k{i}")),
            [&AnyValue::IntValue(2)],
            "k{i}"
        );
    }
}
