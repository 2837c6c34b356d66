//! Shared by the benches: realistic spans (Logfire-style attributes) in protobuf batches.
#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

/// A batch of `n` spans in trace `seed`: one root, the rest its children, 6 attributes each.
pub fn batch(seed: u64, n: usize, t0_ns: u64) -> ExportTraceServiceRequest {
    let trace_id = [seed.to_be_bytes(), 0x5eed_u64.to_be_bytes()].concat();
    let spans = (0..n)
        .map(|i| {
            let id = (i as u64 + 1).to_be_bytes().to_vec();
            Span {
                trace_id: trace_id.clone(),
                span_id: id,
                parent_span_id: if i == 0 {
                    Vec::new()
                } else {
                    1u64.to_be_bytes().to_vec()
                },
                flags: 0x101,
                name: "handle {item}".into(),
                kind: 1,
                start_time_unix_nano: t0_ns + i as u64 * 1000,
                end_time_unix_nano: t0_ns + i as u64 * 1000 + 800,
                attributes: vec![
                    kv(
                        "logfire.msg_template",
                        any_value::Value::StringValue("handle {item}".into()),
                    ),
                    kv(
                        "logfire.msg",
                        any_value::Value::StringValue(format!("handle item-{i}")),
                    ),
                    kv(
                        "logfire.span_type",
                        any_value::Value::StringValue("span".into()),
                    ),
                    kv(
                        "code.filepath",
                        any_value::Value::StringValue("src/worker.rs".into()),
                    ),
                    kv("code.lineno", any_value::Value::IntValue(42)),
                    kv("item", any_value::Value::IntValue(i as i64)),
                ],
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("bench".into()),
                )],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "weft".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Resident memory of this process, from /proc (kB).
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
