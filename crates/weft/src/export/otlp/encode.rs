//! Records → `ExportTraceServiceRequest`, with the Logfire attributes derived here, on
//! the export thread, rather than on the application's threads.

use crate::record::{Attribute, SpanRecord, Status};
use crate::value::{JsonKind, Value};
use opentelemetry::trace::SpanKind;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status as ProtoStatus, span, status,
};
use std::collections::BTreeMap;

/// The resource every span of this process carries (`service.name` and friends).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    /// Attributes, in order; the first occurrence of a key wins.
    pub attributes: Vec<(String, Value)>,
}

impl Resource {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// OTLP span flags: the low byte is the W3C trace flags; these two bits say whether the
/// parent was remote (<https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto>, `SpanFlags`).
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// Encodes a batch into one OTLP request, grouping spans by instrumentation scope.
pub fn encode_request(resource: &Resource, batch: &[SpanRecord]) -> ExportTraceServiceRequest {
    let mut scopes: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for record in batch {
        scopes
            .entry(&record.scope)
            .or_default()
            .push(encode_span(record));
    }
    let scope_spans = scopes
        .into_iter()
        .map(|(name, spans)| ScopeSpans {
            scope: Some(InstrumentationScope {
                name: name.to_owned(),
                ..Default::default()
            }),
            spans,
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(ProtoResource {
                attributes: resource.attributes.iter().map(|(k, v)| kv(k, v)).collect(),
                ..Default::default()
            }),
            scope_spans,
            schema_url: String::new(),
        }],
    }
}

fn encode_span(r: &SpanRecord) -> Span {
    let sc = &r.span_context;
    let mut attributes = Vec::with_capacity(r.attributes.len() + 10);
    if let Some(code) = &r.code {
        attributes.push(kv("code.filepath", &Value::Str(code.filepath.into())));
        if let Some(f) = code.function {
            attributes.push(kv("code.function", &Value::Str(f.into())));
        }
        attributes.push(kv("code.lineno", &Value::I64(code.lineno.into())));
        attributes.push(kv("code.namespace", &Value::Str(code.namespace.into())));
    }
    let mut user = last_wins(&r.attributes);
    // A user attribute named like one weft derives (`logfire.msg`, `thread.id`…) would
    // make the key appear twice; the derived value is the one backends rely on.
    user.retain(|(k, _)| !derived_here(r, k));
    attributes.extend(user.iter().map(|(k, v)| kv(k, v)));
    if let Some(template) = &r.template {
        attributes.push(kv("logfire.msg_template", &Value::Str(template.clone())));
    }
    attributes.push(kv("logfire.msg", &Value::Str(r.message().into())));
    attributes.push(kv(
        "logfire.span_type",
        &Value::Str(r.span_type.as_str().into()),
    ));
    if let Some(level) = r.level {
        attributes.push(kv("logfire.level_num", &Value::I64(level.number().into())));
    }
    if let Some(schema) = json_schema(&user) {
        attributes.push(kv("logfire.json_schema", &Value::Str(schema.into())));
    }
    attributes.push(kv(
        "thread.id",
        &Value::I64(i64::try_from(r.thread.id).unwrap_or(i64::MAX)),
    ));
    if let Some(name) = &r.thread.name {
        attributes.push(kv("thread.name", &Value::Str(name.to_string().into())));
    }
    let mut flags = u32::from(sc.trace_flags().to_u8());
    if r.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        flags |= HAS_IS_REMOTE;
        if r.parent_is_remote {
            flags |= IS_REMOTE;
        }
    }
    Span {
        trace_id: sc.trace_id().to_bytes().to_vec(),
        span_id: sc.span_id().to_bytes().to_vec(),
        trace_state: sc.trace_state().header(),
        parent_span_id: if r.parent_span_id == opentelemetry::trace::SpanId::INVALID {
            Vec::new()
        } else {
            r.parent_span_id.to_bytes().to_vec()
        },
        flags,
        name: r.name.to_string(),
        kind: kind(&r.kind) as i32,
        start_time_unix_nano: r.start_ns,
        end_time_unix_nano: r.end_ns,
        attributes,
        dropped_attributes_count: 0,
        events: r
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_ns,
                name: e.name.to_string(),
                attributes: last_wins(&e.attributes)
                    .iter()
                    .map(|(k, v)| kv(k, v))
                    .collect(),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: r
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.span_context.trace_id().to_bytes().to_vec(),
                span_id: l.span_context.span_id().to_bytes().to_vec(),
                trace_state: l.span_context.trace_state().header(),
                attributes: last_wins(&l.attributes)
                    .iter()
                    .map(|(k, v)| kv(k, v))
                    .collect(),
                dropped_attributes_count: 0,
                flags: u32::from(l.span_context.trace_flags().to_u8())
                    | HAS_IS_REMOTE
                    | if l.span_context.is_remote() {
                        IS_REMOTE
                    } else {
                        0
                    },
            })
            .collect(),
        dropped_links_count: 0,
        status: match &r.status {
            Status::Unset => None,
            Status::Ok => Some(ProtoStatus {
                message: String::new(),
                code: status::StatusCode::Ok as i32,
            }),
            Status::Error(m) => Some(ProtoStatus {
                message: m.clone(),
                code: status::StatusCode::Error as i32,
            }),
        },
    }
}

fn kind(k: &SpanKind) -> span::SpanKind {
    match k {
        SpanKind::Client => span::SpanKind::Client,
        SpanKind::Server => span::SpanKind::Server,
        SpanKind::Producer => span::SpanKind::Producer,
        SpanKind::Consumer => span::SpanKind::Consumer,
        SpanKind::Internal => span::SpanKind::Internal,
    }
}

/// Whether the encoder writes `key` itself for this record.
fn derived_here(r: &SpanRecord, key: &str) -> bool {
    match key {
        "code.filepath" | "code.lineno" | "code.namespace" => r.code.is_some(),
        "code.function" => r.code.is_some_and(|c| c.function.is_some()),
        "logfire.msg_template" => r.template.is_some(),
        "logfire.level_num" => r.level.is_some(),
        "logfire.msg" | "logfire.span_type" | "logfire.json_schema" | "thread.id" => true,
        "thread.name" => r.thread.name.is_some(),
        _ => false,
    }
}

/// Above this many attributes, duplicates are found with a hash set rather than by
/// scanning what was already kept.
const LINEAR_DEDUP_MAX: usize = 32;

/// The attributes with each key once, holding its last value, at the place it was
/// last set: OTLP requires unique keys, and a key set twice (a `span!` field, then
/// `set_attribute`) means the later value replaced the earlier one.
fn last_wins(attrs: &[Attribute]) -> Vec<&Attribute> {
    let mut kept: Vec<&Attribute> = Vec::with_capacity(attrs.len());
    if attrs.len() <= LINEAR_DEDUP_MAX {
        for a in attrs.iter().rev() {
            if !kept.iter().any(|k| k.0 == a.0) {
                kept.push(a);
            }
        }
    } else {
        let mut seen = std::collections::HashSet::with_capacity(attrs.len());
        for a in attrs.iter().rev() {
            if seen.insert(a.0.as_ref()) {
                kept.push(a);
            }
        }
    }
    kept.reverse();
    kept
}

/// `logfire.json_schema`: which attributes hold JSON, so the Logfire UI parses them.
/// Scalars get `{}`, JSON values their type, and internal keys are left out. Keys are
/// unique ([`last_wins`]) by the time they get here.
fn json_schema(attrs: &[&Attribute]) -> Option<String> {
    let mut out = String::from(r#"{"type":"object","properties":{"#);
    let mut any = false;
    for (k, v) in attrs
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("logfire."))
    {
        if any {
            out.push(',');
        }
        any = true;
        // serde_json escapes the key exactly as JSON needs.
        out.push_str(&serde_json::to_string(k.as_ref()).unwrap_or_else(|_| "\"?\"".into()));
        out.push(':');
        out.push_str(match v {
            Value::Json(_, JsonKind::Array) => r#"{"type":"array"}"#,
            Value::Json(_, JsonKind::Object) => r#"{"type":"object"}"#,
            Value::Json(_, JsonKind::Null) => r#"{"type":"null"}"#,
            _ => "{}",
        });
    }
    out.push_str("}}");
    any.then_some(out)
}

pub(crate) fn kv(key: &str, value: &Value) -> KeyValue {
    let v = match value {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::I64(i) => any_value::Value::IntValue(*i),
        Value::F64(f) => any_value::Value::DoubleValue(*f),
        Value::Str(s) => any_value::Value::StringValue(s.to_string()),
        Value::Json(s, _) => any_value::Value::StringValue(s.clone()),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
