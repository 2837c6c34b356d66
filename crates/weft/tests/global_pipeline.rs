//! The global instance: one test binary, one `configure()`. Checks that weft spans,
//! `tracing` spans and spans made through `opentelemetry::global` share one tree,
//! that the seed's manual propagation example links child to parent, and that a
//! second `configure()` is a clear error.
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry::trace::{Tracer, TracerProvider as _};
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;

fn parent_name<'a>(spans: &'a [SpanRecord], child: &SpanRecord) -> Option<&'a str> {
    spans
        .iter()
        .find(|s| s.span_context.span_id() == child.parent_span_id)
        .map(|s| s.name.as_ref())
}

#[test]
fn one_tree_for_weft_tracing_and_opentelemetry() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .pending_spans(false)
        .exporter(memory.clone())
        .finish()
        .unwrap();

    // The seed's manual propagation example.
    let ctx = {
        let _parent = weft::span!("parent").entered();
        weft::get_context()
    };
    let shown = ctx.to_string();
    assert!(
        shown.starts_with("{'traceparent': '00-") && shown.ends_with("-03'}"),
        "{shown}"
    );
    {
        let _attached = weft::attach_context(&ctx);
        weft::info!("child");
    }

    // weft → tracing → opentelemetry → weft, and a tracing event at the bottom.
    {
        let _w = weft::span!("weft outer").entered();
        let t = tracing::info_span!("tracing middle", step = 2);
        let _t = t.enter();
        let tracer = opentelemetry::global::tracer_provider().tracer("some-crate");
        tracer.in_span("otel inner", |_cx| {
            let _w2 = weft::span!("weft innermost").entered();
            tracing::warn!(code = 7, "tracing event");
        });
    }

    // Through opentelemetry::global, the caller's start and end times are kept.
    {
        use opentelemetry::trace::Span as _;
        let start = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let tracer = opentelemetry::global::tracer("timed");
        let mut span = tracer
            .span_builder("global timed")
            .with_start_time(start)
            .start(&tracer);
        span.end_with_timestamp(start + std::time::Duration::from_millis(1_500));
    }

    assert!(weft.force_flush());
    let spans = memory.spans();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let child = find("child");
    assert_eq!(
        parent_name(&spans, child),
        Some("parent"),
        "the attached log is a child of `parent`"
    );
    assert!(child.parent_is_remote, "it came through a carrier");
    assert_eq!(
        parent_name(&spans, find("tracing middle")),
        Some("weft outer")
    );
    assert_eq!(
        parent_name(&spans, find("otel inner")),
        Some("tracing middle")
    );
    assert_eq!(
        parent_name(&spans, find("weft innermost")),
        Some("otel inner")
    );
    let event = find("tracing event");
    assert_eq!(parent_name(&spans, event), Some("weft innermost"));
    assert_eq!(event.level, Some(weft::Level::Warn));
    assert_eq!(event.attribute("code"), Some(&weft::Value::I64(7)));
    assert_eq!(
        find("tracing middle").attribute("step"),
        Some(&weft::Value::I64(2))
    );

    let timed = find("global timed");
    assert_eq!(
        (timed.start_ns, timed.end_ns),
        (1_000_000_000_000, 1_001_500_000_000)
    );

    let again = weft::configure().finish().unwrap_err().to_string();
    assert!(
        again.contains("already configured") && again.contains("local()"),
        "{again}"
    );
}
