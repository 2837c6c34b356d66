//! OTLP request messages to store rows, with per-record validation so that one bad span
//! is rejected (and counted in `partial_success`) instead of failing the whole request.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

use crate::ids::{SpanId, TraceId, to_hex};
use crate::store::record::{Batch, ResourceRow, Signal, SpanRow};

/// A batch plus what had to be left out of it.
#[derive(Debug, Default)]
pub struct Converted {
    /// The records to store.
    pub batch: Batch,
    /// How many records were rejected.
    pub rejected: i64,
    /// The first reasons, for `partial_success.error_message`.
    pub reasons: Vec<String>,
}

impl Converted {
    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        // A few reasons say enough; a batch of 10 000 bad spans need not echo them all.
        if self.reasons.len() < 3 {
            self.reasons.push(reason);
        }
    }

    /// The `partial_success.error_message` text ("" when nothing was rejected).
    pub fn message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        format!(
            "{} record(s) rejected: {}",
            self.rejected,
            self.reasons.join("; ")
        )
    }
}

/// The OTLP `AnyValue` as plain JSON (ints and doubles keep their JSON number kind, bytes become hex).
pub fn any_to_json(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Some(any_value::Value::BytesValue(b)) => Value::String(to_hex(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attrs_map(&kv.values)),
        Some(any_value::Value::StringValueStrindex(i)) => Value::from(*i),
    }
}

fn attrs_map(attrs: &[KeyValue]) -> Map<String, Value> {
    attrs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or(Value::Null, any_to_json),
            )
        })
        .collect()
}

/// Serialises attributes straight to JSON text, without building a `serde_json::Value`
/// (this is the hot path of ingest: every span's attributes go through it).
struct AttrsJson<'a>(&'a [KeyValue]);
struct AnyJson<'a>(&'a AnyValue);

impl serde::Serialize for AttrsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for kv in self.0 {
            match &kv.value {
                Some(v) => m.serialize_entry(&kv.key, &AnyJson(v))?,
                None => m.serialize_entry(&kv.key, &())?,
            }
        }
        m.end()
    }
}

impl serde::Serialize for AnyJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            Some(any_value::Value::StringValue(v)) => s.serialize_str(v),
            Some(any_value::Value::BoolValue(b)) => s.serialize_bool(*b),
            Some(any_value::Value::IntValue(i)) => s.serialize_i64(*i),
            Some(any_value::Value::DoubleValue(d)) if d.is_finite() => s.serialize_f64(*d),
            Some(any_value::Value::ArrayValue(a)) => s.collect_seq(a.values.iter().map(AnyJson)),
            Some(any_value::Value::KvlistValue(kv)) => AttrsJson(&kv.values).serialize(s),
            _ => any_to_json(self.0).serialize(s),
        }
    }
}

fn attrs_json(attrs: &[KeyValue]) -> String {
    // Serialising to a String cannot fail: keys are strings and values are plain JSON.
    serde_json::to_string(&AttrsJson(attrs)).unwrap_or_else(|_| "{}".to_owned())
}

fn str_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn int_attr(attrs: &[KeyValue], key: &str) -> Option<i64> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::IntValue(i) => Some(*i),
            any_value::Value::DoubleValue(d) => Some(*d as i64),
            any_value::Value::StringValue(s) => s.parse().ok(),
            _ => None,
        }
    })
}

fn resource_row(resource: Option<&Resource>, schema_url: &str) -> ResourceRow {
    let attrs = resource
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    ResourceRow {
        service: str_attr(attrs, "service.name")
            .unwrap_or("unknown_service")
            .to_owned(),
        attributes: attrs_json(attrs),
        schema_url: schema_url.to_owned(),
    }
}

/// Nanoseconds since the epoch as SQLite's signed integer (saturating past year 2262).
fn ns(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn parent_id(raw: &[u8]) -> Result<Option<SpanId>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    match SpanId::from_slice(raw) {
        Some(id) if id.is_zero() => Ok(None),
        Some(id) => Ok(Some(id)),
        None => Err(format!(
            "parent_span_id has {} bytes, expected 8",
            raw.len()
        )),
    }
}

/// Converts a trace export; spans with invalid ids are rejected and counted.
pub fn traces(request: &ExportTraceServiceRequest) -> Converted {
    let mut out = Converted::default();
    for rs in &request.resource_spans {
        let resource = resource_row(rs.resource.as_ref(), &rs.schema_url);
        let service = resource.service.clone();
        let resource_index = i64::try_from(out.batch.resources.len()).unwrap_or(i64::MAX);
        out.batch.resources.push(resource);
        for ss in &rs.scope_spans {
            let (scope_name, scope_version) = ss
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            for span in &ss.spans {
                let Some(trace_id) = TraceId::from_slice(&span.trace_id).filter(|t| !t.is_zero())
                else {
                    out.reject(format!(
                        "span {:?}: trace_id must be 16 non-zero bytes, got {} bytes",
                        span.name,
                        span.trace_id.len()
                    ));
                    continue;
                };
                let Some(span_id) = SpanId::from_slice(&span.span_id).filter(|s| !s.is_zero())
                else {
                    out.reject(format!(
                        "span {:?}: span_id must be 8 non-zero bytes, got {} bytes",
                        span.name,
                        span.span_id.len()
                    ));
                    continue;
                };
                let parent = match parent_id(&span.parent_span_id) {
                    Ok(p) => p,
                    Err(e) => {
                        out.reject(format!("span {:?}: {e}", span.name));
                        continue;
                    }
                };
                let a = &span.attributes;
                let events: Vec<Value> = span
                    .events
                    .iter()
                    .map(|e| serde_json::json!({"time_ns": ns(e.time_unix_nano), "name": e.name, "attributes": attrs_map(&e.attributes)}))
                    .collect();
                let links: Vec<Value> = span
                    .links
                    .iter()
                    .map(|l| serde_json::json!({"trace_id": to_hex(&l.trace_id), "span_id": to_hex(&l.span_id), "trace_state": l.trace_state, "flags": l.flags, "attributes": attrs_map(&l.attributes)}))
                    .collect();
                let status = span.status.as_ref();
                out.batch.rows.push(SpanRow {
                    row_id: 0,
                    trace_id,
                    span_id,
                    parent_span_id: parent,
                    signal: Signal::Span,
                    name: span.name.clone(),
                    msg: str_attr(a, "logfire.msg").map(str::to_owned),
                    span_type: str_attr(a, "logfire.span_type").map(str::to_owned),
                    level_num: int_attr(a, "logfire.level_num"),
                    pending_parent_id: str_attr(a, "logfire.pending_parent_id")
                        .and_then(|s| s.parse::<SpanId>().ok())
                        .filter(|s| !s.is_zero()),
                    kind: span.kind,
                    start_ns: ns(span.start_time_unix_nano),
                    end_ns: ns(span.end_time_unix_nano.max(span.start_time_unix_nano)),
                    status_code: status.map_or(0, |s| s.code),
                    status_message: status.map(|s| s.message.clone()).unwrap_or_default(),
                    flags: span.flags,
                    trace_state: span.trace_state.clone(),
                    service: service.clone(),
                    resource_id: resource_index,
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    attributes: attrs_json(a),
                    events: if events.is_empty() {
                        "[]".to_owned()
                    } else {
                        Value::Array(events).to_string()
                    },
                    links: if links.is_empty() {
                        "[]".to_owned()
                    } else {
                        Value::Array(links).to_string()
                    },
                    dropped: [
                        span.dropped_attributes_count,
                        span.dropped_events_count,
                        span.dropped_links_count,
                    ],
                    severity_text: String::new(),
                });
            }
        }
    }
    out
}

/// Converts a logs export: each record becomes a zero-duration row on its span.
pub fn logs(request: &ExportLogsServiceRequest) -> Converted {
    let mut out = Converted::default();
    for rl in &request.resource_logs {
        let resource = resource_row(rl.resource.as_ref(), &rl.schema_url);
        let service = resource.service.clone();
        let resource_index = i64::try_from(out.batch.resources.len()).unwrap_or(i64::MAX);
        out.batch.resources.push(resource);
        for sl in &rl.scope_logs {
            let (scope_name, scope_version) = sl
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            for log in &sl.log_records {
                // Logs may lack trace context; they are kept under the all-zero trace id.
                let trace_id = match log.trace_id.len() {
                    0 => TraceId::default(),
                    _ => match TraceId::from_slice(&log.trace_id) {
                        Some(t) => t,
                        None => {
                            out.reject(format!(
                                "log record: trace_id has {} bytes, expected 16",
                                log.trace_id.len()
                            ));
                            continue;
                        }
                    },
                };
                let span_id = match log.span_id.len() {
                    0 => SpanId::default(),
                    _ => match SpanId::from_slice(&log.span_id) {
                        Some(s) => s,
                        None => {
                            out.reject(format!(
                                "log record: span_id has {} bytes, expected 8",
                                log.span_id.len()
                            ));
                            continue;
                        }
                    },
                };
                let time = if log.time_unix_nano != 0 {
                    log.time_unix_nano
                } else {
                    log.observed_time_unix_nano
                };
                let body = log.body.as_ref().map(|b| match any_to_json(b) {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
                let name = if !log.event_name.is_empty() {
                    log.event_name.clone()
                } else if !log.severity_text.is_empty() {
                    log.severity_text.clone()
                } else {
                    "log".to_owned()
                };
                out.batch.rows.push(SpanRow {
                    row_id: 0,
                    trace_id,
                    span_id,
                    parent_span_id: None,
                    signal: Signal::Log,
                    name,
                    msg: body,
                    span_type: Some("log".to_owned()),
                    // OTLP severity numbers use the same scale as logfire.level_num.
                    level_num: (log.severity_number > 0).then_some(i64::from(log.severity_number)),
                    pending_parent_id: None,
                    kind: 0,
                    start_ns: ns(time),
                    end_ns: ns(time),
                    status_code: 0,
                    status_message: String::new(),
                    flags: log.flags,
                    trace_state: String::new(),
                    service: service.clone(),
                    resource_id: resource_index,
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    attributes: attrs_json(&log.attributes),
                    events: "[]".to_owned(),
                    links: "[]".to_owned(),
                    dropped: [log.dropped_attributes_count, 0, 0],
                    severity_text: log.severity_text.clone(),
                });
            }
        }
    }
    out
}
