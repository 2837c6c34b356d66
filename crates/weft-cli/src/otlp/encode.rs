//! Stored rows back to OTLP request messages, for `weft trace --json` and `weft export`
//! (OTLP JSON lines, the collector's file-exporter format: one request per line).
//!
//! Attribute values round-trip through plain JSON, so bytes come back as hex strings and a
//! double with an integral value (`1.0`) stays a double only if serde_json kept the `.0`.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::Value;

use crate::ids::{SpanId, TraceId};
use crate::store::record::{ResourceRow, Signal, SpanRow};

fn json_to_any(v: &Value) -> AnyValue {
    let value = match v {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(any_value::Value::IntValue(i)),
            None => Some(any_value::Value::DoubleValue(
                n.as_f64().unwrap_or(f64::NAN),
            )),
        },
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(a) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: a.iter().map(json_to_any).collect(),
        })),
        Value::Object(o) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: kvs(o),
        })),
    };
    AnyValue { value }
}

fn kvs(o: &serde_json::Map<String, Value>) -> Vec<KeyValue> {
    o.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(json_to_any(v)),
            ..KeyValue::default()
        })
        .collect()
}

fn attrs(json: &str) -> Vec<KeyValue> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(o)) => kvs(&o),
        _ => Vec::new(),
    }
}

fn u(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

fn id_bytes<T: std::str::FromStr>(v: &Value, f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    v.as_str()
        .and_then(|s| s.parse::<T>().ok())
        .map(f)
        .unwrap_or_default()
}

fn to_span(row: &SpanRow) -> Span {
    let events: Vec<Value> = serde_json::from_str(&row.events).unwrap_or_default();
    let links: Vec<Value> = serde_json::from_str(&row.links).unwrap_or_default();
    let obj_attrs = |v: &Value| {
        v.get("attributes")
            .and_then(Value::as_object)
            .map(kvs)
            .unwrap_or_default()
    };
    Span {
        trace_id: row.trace_id.0.to_vec(),
        span_id: row.span_id.0.to_vec(),
        trace_state: row.trace_state.clone(),
        parent_span_id: row.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: row.flags,
        name: row.name.clone(),
        kind: row.kind,
        start_time_unix_nano: u(row.start_ns),
        end_time_unix_nano: u(row.end_ns),
        attributes: attrs(&row.attributes),
        dropped_attributes_count: row.dropped[0],
        events: events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: u(e.get("time_ns").and_then(Value::as_i64).unwrap_or(0)),
                name: e
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                attributes: obj_attrs(e),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: row.dropped[1],
        links: links
            .iter()
            .map(|l| span::Link {
                trace_id: id_bytes(&l["trace_id"], |t: TraceId| t.0.to_vec()),
                span_id: id_bytes(&l["span_id"], |s: SpanId| s.0.to_vec()),
                trace_state: l
                    .get("trace_state")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                attributes: obj_attrs(l),
                dropped_attributes_count: 0,
                flags: l
                    .get("flags")
                    .and_then(Value::as_u64)
                    .and_then(|f| u32::try_from(f).ok())
                    .unwrap_or(0),
            })
            .collect(),
        dropped_links_count: row.dropped[2],
        status: (row.status_code != 0 || !row.status_message.is_empty()).then(|| Status {
            message: row.status_message.clone(),
            code: row.status_code,
        }),
    }
}

fn to_log(row: &SpanRow) -> LogRecord {
    LogRecord {
        time_unix_nano: u(row.start_ns),
        observed_time_unix_nano: u(row.start_ns),
        severity_number: row
            .level_num
            .and_then(|l| i32::try_from(l).ok())
            .unwrap_or(0),
        severity_text: row.severity_text.clone(),
        body: row.msg.as_ref().map(|m| AnyValue {
            value: Some(any_value::Value::StringValue(m.clone())),
        }),
        attributes: attrs(&row.attributes),
        dropped_attributes_count: row.dropped[0],
        flags: row.flags,
        trace_id: if row.trace_id.is_zero() {
            Vec::new()
        } else {
            row.trace_id.0.to_vec()
        },
        span_id: if row.span_id.is_zero() {
            Vec::new()
        } else {
            row.span_id.0.to_vec()
        },
        // The stored name is the event name, else the severity text, else "log" (see
        // convert::logs); only a real event name goes back (one spelled exactly like the
        // severity text cannot be told apart and is dropped).
        event_name: if row.name == "log" || row.name == row.severity_text {
            String::new()
        } else {
            row.name.clone()
        },
    }
}

fn resource(resources: &BTreeMap<i64, ResourceRow>, id: i64) -> (Option<Resource>, String) {
    match resources.get(&id) {
        Some(r) => (
            Some(Resource {
                attributes: attrs(&r.attributes),
                ..Resource::default()
            }),
            r.schema_url.clone(),
        ),
        None => (None, String::new()),
    }
}

type Groups<'a> = BTreeMap<i64, BTreeMap<(&'a str, &'a str), Vec<&'a SpanRow>>>;

fn group<'a>(rows: impl Iterator<Item = &'a SpanRow>) -> Groups<'a> {
    let mut g: Groups<'a> = BTreeMap::new();
    for r in rows {
        g.entry(r.resource_id)
            .or_default()
            .entry((&r.scope_name, &r.scope_version))
            .or_default()
            .push(r);
    }
    g
}

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..InstrumentationScope::default()
    })
}

/// The spans among `rows` as one trace export request.
pub fn trace_request(
    rows: &[SpanRow],
    resources: &BTreeMap<i64, ResourceRow>,
) -> ExportTraceServiceRequest {
    let groups = group(rows.iter().filter(|r| r.signal == Signal::Span));
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|(rid, scopes)| {
                let (resource, schema_url) = resource(resources, rid);
                ResourceSpans {
                    resource,
                    schema_url,
                    scope_spans: scopes
                        .into_iter()
                        .map(|((n, v), spans)| ScopeSpans {
                            scope: scope(n, v),
                            spans: spans.into_iter().map(to_span).collect(),
                            schema_url: String::new(),
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

/// The log records among `rows` as one logs export request (`None` if there are none).
pub fn logs_request(
    rows: &[SpanRow],
    resources: &BTreeMap<i64, ResourceRow>,
) -> Option<ExportLogsServiceRequest> {
    let groups = group(rows.iter().filter(|r| r.signal == Signal::Log));
    if groups.is_empty() {
        return None;
    }
    Some(ExportLogsServiceRequest {
        resource_logs: groups
            .into_iter()
            .map(|(rid, scopes)| {
                let (resource, schema_url) = resource(resources, rid);
                ResourceLogs {
                    resource,
                    schema_url,
                    scope_logs: scopes
                        .into_iter()
                        .map(|((n, v), logs)| ScopeLogs {
                            scope: scope(n, v),
                            log_records: logs.into_iter().map(to_log).collect(),
                            schema_url: String::new(),
                        })
                        .collect(),
                }
            })
            .collect(),
    })
}
