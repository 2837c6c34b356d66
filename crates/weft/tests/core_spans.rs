//! Spans, logs and attributes through a real pipeline into the in-memory exporter,
//! with deterministic ids and clock so whole records can be compared.
#![allow(clippy::unwrap_used, missing_docs)]

use weft::export::memory::MemoryExporter;
use weft::export::{SpanRecord, SpanType};
use weft::{Level, Value};

fn local() -> (weft::Weft, MemoryExporter) {
    weft::testing::deterministic().unwrap()
}

fn summary(r: &SpanRecord) -> String {
    format!(
        "{} {} span={} parent={} remote={} msg={:?} attrs={:?} level={:?}",
        r.span_type.as_str(),
        r.name,
        r.span_context.span_id(),
        r.parent_span_id,
        r.parent_is_remote,
        r.message(),
        r.attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        r.level.map(|l| l.number()),
    )
}

#[test]
fn nested_spans_logs_and_attributes() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let user = "ada";
        let outer = weft::span!("Handling {user}", user).entered();
        {
            let _inner = weft::span!(level: Level::Debug, "Doubling {x}", x = 2).entered();
            weft::info!("doubled {x} to {y}", x = 2, y = 4);
        }
        outer.set_attribute("results", vec![0, 2, 4]);
        weft::warn!("big number {n}", n = u64::MAX);
    });
    assert!(weft.force_flush());
    let got: Vec<String> = memory.spans().iter().map(summary).collect();
    insta::assert_snapshot!(got.join("\n"), @r#"
    log doubled {x} to {y} span=0000000000000003 parent=0000000000000002 remote=false msg="doubled 2 to 4" attrs=["x=2", "y=4"] level=Some(9)
    span Doubling {x} span=0000000000000002 parent=0000000000000001 remote=false msg="Doubling 2" attrs=["x=2"] level=Some(5)
    log big number {n} span=0000000000000004 parent=0000000000000001 remote=false msg="big number 18446744073709551615" attrs=["n=18446744073709551615"] level=Some(13)
    span Handling {user} span=0000000000000001 parent=0000000000000000 remote=false msg="Handling ada" attrs=["user=ada", "results=[0,2,4]"] level=None
    "#);
    let outer = memory
        .spans()
        .into_iter()
        .find(|r| r.name == "Handling {user}")
        .unwrap();
    assert_eq!(
        outer.attribute("results"),
        Some(&Value::Json("[0,2,4]".into(), weft::JsonKind::Array))
    );
    assert!(outer.end_ns > outer.start_ns, "a span has a duration");
}

#[test]
fn pending_span_records_point_at_the_real_span() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let _outer = weft::span!("outer").entered();
        assert!(weft.force_flush());
        let pending: Vec<SpanRecord> = memory
            .records()
            .into_iter()
            .filter(|r| r.span_type == SpanType::PendingSpan)
            .collect();
        assert_eq!(pending.len(), 1, "one pending record for the open span");
        assert_eq!(pending[0].parent_span_id.to_string(), "0000000000000001");
        assert_eq!(
            pending[0].attribute("logfire.pending_parent_id"),
            Some(&Value::Str("0000000000000000".into()))
        );
    });
    assert!(weft.force_flush());
    assert_eq!(memory.spans().len(), 1);
}

#[test]
fn filtered_levels_record_nothing() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .min_level(Level::Info)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    weft.in_scope(|| {
        weft::debug!("hidden {x}", x = 1);
        let _s = weft::span!(level: Level::Trace, "hidden span").entered();
        weft::info!("shown");
    });
    assert!(weft.force_flush());
    let names: Vec<_> = memory.spans().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(names, ["shown"]);
}

#[test]
fn unsampled_spans_propagate_but_export_nothing() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .sampling_ratio(0.0)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    weft.in_scope(|| {
        let span = weft::span!("root").entered();
        assert!(!span.is_recording());
        let carrier = weft::get_context();
        let tp = carrier.get("traceparent").unwrap();
        assert!(
            tp.ends_with("-02"),
            "unsampled, random trace id flag kept: {tp}"
        );
        weft::info!("under an unsampled span");
    });
    assert!(weft.force_flush());
    assert!(memory.records().is_empty());
}

#[test]
fn exceptions_mark_the_span_failed() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let span = weft::span!("parse").entered();
        let err = "x".parse::<i32>().unwrap_err();
        span.record_exception(&err);
    });
    assert!(weft.force_flush());
    let r = &memory.spans()[0];
    assert_eq!(r.events[0].name, "exception");
    assert!(matches!(&r.status, weft::export::Status::Error(d) if d.contains("ParseIntError")));
    assert_eq!(r.level, Some(Level::Error));
}

#[test]
fn an_empty_carrier_starts_a_new_root_in_the_same_local_instance() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let _outer = weft::span!("outer").entered();
        let _attached = weft::attach_context(&weft::Carrier::new());
        weft::info!("new root");
    });
    assert!(weft.force_flush());
    let log = memory
        .spans()
        .into_iter()
        .find(|r| r.name == "new root")
        .expect("the log reached this instance");
    assert_eq!(log.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}

/// How many pending-span records an instance built by `configure` exports for a span
/// still open at a flush (and that the real span arrives either way).
fn pending_for_open_span(
    configure: impl FnOnce(weft::ConfigBuilder) -> weft::ConfigBuilder,
) -> usize {
    let memory = MemoryExporter::default();
    let builder = weft::configure()
        .local()
        .deterministic()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone());
    let weft = configure(builder).finish().unwrap();
    weft.in_scope(|| {
        let _open = weft::span!("still open").entered();
        weft::info!("inside");
        assert!(weft.force_flush());
    });
    assert!(weft.force_flush());
    assert_eq!(memory.spans().len(), 2, "the log and the span itself");
    memory
        .records()
        .iter()
        .filter(|r| r.span_type == SpanType::PendingSpan)
        .count()
}

#[test]
fn pending_spans_default_on_and_off_by_option_or_environment() {
    let no_env = std::iter::empty::<(String, String)>();
    assert_eq!(
        pending_for_open_span(|b| b.env(no_env.clone())),
        1,
        "on by default"
    );
    assert_eq!(
        pending_for_open_span(|b| b.env(no_env.clone()).pending_spans(false)),
        0,
        ".pending_spans(false)"
    );
    assert_eq!(
        pending_for_open_span(|b| b.env([("LOGFIRE_PENDING_SPANS", "false")])),
        0,
        "LOGFIRE_PENDING_SPANS=false"
    );
    assert_eq!(
        pending_for_open_span(|b| b
            .env([("LOGFIRE_PENDING_SPANS", "false")])
            .pending_spans(true)),
        1,
        "the builder beats the environment"
    );
}
