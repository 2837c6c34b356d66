//! Span processors see every record on the export thread before the exporters, in
//! the order they were added, and what they change is what gets exported.
#![allow(clippy::unwrap_used, missing_docs)]

use std::borrow::Cow;
use weft::Value;
use weft::export::{SpanProcessor, SpanRecord, SpanType};

/// Hides passwords at the end and tags every record at the start.
struct Redact;

impl SpanProcessor for Redact {
    fn on_start(&mut self, record: &mut SpanRecord) {
        record
            .attributes
            .push((Cow::Borrowed("processed"), Value::Bool(true)));
    }
    fn on_end(&mut self, record: &mut SpanRecord) {
        for (key, value) in &mut record.attributes {
            if key == "password" {
                *value = Value::Str("[redacted]".into());
            }
        }
    }
}

/// Runs after `Redact`: sees its work.
struct Second;

impl SpanProcessor for Second {
    fn on_end(&mut self, record: &mut SpanRecord) {
        let saw = record.attribute("password").map(ToString::to_string);
        record.attributes.push((
            Cow::Borrowed("second.saw"),
            Value::Str(saw.unwrap_or_default().into()),
        ));
    }
}

#[test]
fn processors_change_what_is_exported_in_order() {
    let (builder, memory) = weft::testing::builder();
    let weft = builder
        .span_processor(Redact)
        .span_processor(Second)
        .finish()
        .unwrap();
    weft.in_scope(|| {
        let span = weft::span!("login {user}", user = "ada", password = "hunter2").entered();
        assert!(
            weft.force_flush(),
            "a flush while the span is open: a pending record"
        );
        span.set_attribute("password", "set later");
        weft::info!("log {password}", password = "in a log");
    });
    assert!(weft.force_flush());
    let records = memory.records();
    let text = |r: &SpanRecord, key: &str| r.attribute(key).map(ToString::to_string);
    let pending = records
        .iter()
        .find(|r| r.span_type == SpanType::PendingSpan)
        .unwrap();
    assert_eq!(
        text(pending, "processed").as_deref(),
        Some("true"),
        "on_start changes show at start"
    );
    let span = records
        .iter()
        .find(|r| r.name == "login {user}" && r.span_type == SpanType::Span)
        .unwrap();
    let log = records
        .iter()
        .find(|r| r.span_type == SpanType::Log)
        .unwrap();
    for r in [span, log] {
        assert_eq!(text(r, "processed").as_deref(), Some("true"));
        assert!(
            r.attributes
                .iter()
                .filter(|(k, _)| k == "password")
                .all(|(_, v)| v.to_string() == "[redacted]"),
            "{:?}",
            r.attributes
        );
        assert_eq!(
            text(r, "second.saw").as_deref(),
            Some("[redacted]"),
            "the second runs after the first"
        );
    }
}
