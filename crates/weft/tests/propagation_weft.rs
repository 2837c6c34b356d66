//! Propagation through weft's global instance: the `distributed_tracing` setting
//! reaches the process's policy, weft's own warning lands in the trace, a context kept
//! out by Deny becomes a span link whichever way it was extracted, and the seed's
//! manual example runs as documented.
#![allow(clippy::unwrap_used, missing_docs)]

use opentelemetry::baggage::BaggageExt as _;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;
use weft::propagation::{LINK_REASON_ATTRIBUTE, LINK_REASON_DENIED, WARNING_MESSAGE};
use weft::{AttachOptions, Carrier, DistributedTracing, Value};

const TID: &str = "0af7651916cd43dd8448eb211c80319c";
const SID: &str = "b7ad6b7169203331";

fn stranger() -> Carrier {
    Carrier::from_iter([
        ("traceparent", format!("00-{TID}-{SID}-01")),
        ("baggage", "user=mallory".to_owned()),
    ])
}

fn global_extract() -> opentelemetry::Context {
    let headers: std::collections::HashMap<String, String> = stranger().into();
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&headers))
}

fn find<'a>(records: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    records
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no record {name:?} in {records:#?}"))
}

fn denied_links(r: &SpanRecord) -> Vec<String> {
    r.links
        .iter()
        .filter(|l| {
            l.attributes.iter().any(|(k, v)| {
                k == LINK_REASON_ATTRIBUTE && *v == Value::Str(LINK_REASON_DENIED.into())
            })
        })
        .map(|l| format!("{}-{}", l.span_context.trace_id(), l.span_context.span_id()))
        .collect()
}

/// One global instance per process, so one test walks every setting in order.
#[test]
fn the_setting_reaches_the_policy_and_every_extraction_obeys_it() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_DISTRIBUTED_TRACING", "false")])
        .exporter(memory.clone())
        .finish()
        .unwrap();
    assert_eq!(
        weft::propagation::policy(),
        DistributedTracing::Deny,
        "the env value is applied"
    );

    // Deny through OpenTelemetry's global propagator, inside a local span.
    {
        let _outer = weft::span!("outer").entered();
        let cx = global_extract();
        assert!(cx.baggage().is_empty(), "Deny extracts no baggage");
        let _attached = cx.attach();
        let _handler = weft::span!("handler").entered();
        let _nested = weft::span!("nested").entered();
    }
    // Deny through a third-party attach, with no span around: a new root.
    {
        let _attached = weft::attach_context_with(&stranger(), AttachOptions::third_party());
        let _job = weft::span!("job").entered();
    }
    assert!(weft.force_flush());
    let records = memory.spans();
    let (outer, handler, nested, job) = (
        find(&records, "outer"),
        find(&records, "handler"),
        find(&records, "nested"),
        find(&records, "job"),
    );
    assert_eq!(handler.parent_span_id, outer.span_context.span_id());
    assert_eq!(denied_links(handler), [format!("{TID}-{SID}")]);
    assert!(
        denied_links(nested).is_empty(),
        "only the first span under the extraction links"
    );
    assert!(denied_links(outer).is_empty());
    assert_eq!(
        job.parent_span_id.to_string(),
        "0000000000000000",
        "a new root"
    );
    assert_ne!(job.span_context.trace_id().to_string(), TID);
    assert_eq!(denied_links(job), [format!("{TID}-{SID}")]);
    assert!(handler.attribute("user").is_none());

    // Warn: the remote parent is used and weft's sink logs the warning once, in the trace.
    memory.clear();
    weft::propagation::set_policy(DistributedTracing::Warn);
    for name in ["warned 1", "warned 2"] {
        let _attached = global_extract().attach();
        let _span = weft::span!("{name}", name).entered();
    }
    assert!(weft.force_flush());
    let records = memory.spans();
    for r in records.iter().filter(|r| r.message().starts_with("warned")) {
        assert_eq!(
            (
                r.span_context.trace_id().to_string(),
                r.parent_span_id.to_string()
            ),
            (TID.to_owned(), SID.to_owned())
        );
        assert!(r.parent_is_remote);
    }
    let warnings: Vec<&SpanRecord> = records
        .iter()
        .filter(|r| r.name == WARNING_MESSAGE)
        .collect();
    assert_eq!(warnings.len(), 1, "once: {records:#?}");
    assert_eq!(warnings[0].level, Some(weft::Level::Warn));

    // Allow: silent.
    memory.clear();
    weft::propagation::set_policy(DistributedTracing::Allow);
    {
        let _attached = global_extract().attach();
        let _span = weft::span!("allowed").entered();
    }
    assert!(weft.force_flush());
    let records = memory.spans();
    assert_eq!(find(&records, "allowed").parent_span_id.to_string(), SID);
    assert!(records.iter().all(|r| r.name != WARNING_MESSAGE));
}

/// A local instance with a ratio that samples no root: the carried flags decide.
#[test]
fn sampling_rides_in_the_carried_flags() {
    let (builder, memory) = weft::testing::builder();
    let weft = builder.sampling_ratio(0.0).finish().unwrap();
    let carried =
        |flags: &str| Carrier::from_iter([("traceparent", format!("00-{TID}-{SID}-{flags}"))]);
    let inside = weft.in_scope(|| {
        let _root = weft::span!("root at ratio 0").entered();
        let mut seen = Vec::new();
        for flags in ["00", "01", "ff"] {
            let _attached = weft::attach_context(&carried(flags));
            let _span = weft::span!("child of {flags}", flags).entered();
            weft::info!("log under {flags}", flags);
            seen.push(weft::get_context().to_string());
        }
        seen
    });
    assert!(weft.force_flush());
    let names: Vec<String> = memory.spans().iter().map(|r| r.message()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("00") || n.contains("ratio 0")),
        "unsampled: nothing exported, logs included: {names:?}"
    );
    assert!(
        names.contains(&"child of 01".to_owned()),
        "a sampled parent wins over the ratio: {names:?}"
    );
    // Ids still propagate, with the flags the parent gave; unknown bits are zeroed.
    assert!(
        inside[0].contains(&format!("00-{TID}-")) && inside[0].ends_with("-00'}"),
        "{}",
        inside[0]
    );
    assert!(!inside[0].contains(SID), "a new span id: {}", inside[0]);
    assert!(inside[1].ends_with("-01'}"), "{}", inside[1]);
    assert!(
        inside[2].ends_with("-03'}"),
        "sampled + random kept, reserved bits zeroed: {}",
        inside[2]
    );
    let ff = memory
        .spans()
        .into_iter()
        .find(|r| r.message() == "child of ff")
        .unwrap();
    assert_eq!(ff.span_context.trace_flags().to_u8(), 0x03);
}

/// `examples/manual_propagation.rs`, run as built by `cargo test`: it prints the carrier,
/// and its exported tree has the child log under `parent`.
#[test]
fn the_manual_propagation_example_prints_the_carrier_and_the_tree() {
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join(format!(
            "manual_propagation{}",
            std::env::consts::EXE_SUFFIX
        ));
    let output = std::process::Command::new(&example)
        .env("LOGFIRE_CONSOLE", "false")
        // Nothing listens there: the OTLP export fails fast and the example must not care.
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", example.display()));
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let carrier = lines.next().unwrap();
    let prefix = "{'traceparent': '00-";
    assert!(
        carrier.starts_with(prefix) && carrier.ends_with("-03'}"),
        "{carrier}"
    );
    let ids = &carrier[prefix.len()..carrier.len() - "-03'}".len()];
    let (trace_id, span_id) = ids.split_once('-').unwrap();
    assert_eq!((trace_id.len(), span_id.len()), (32, 16), "{carrier}");
    let tree: Vec<&str> = lines
        .skip_while(|l| !l.starts_with("exported tree"))
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(tree.len(), 2, "{stdout}");
    assert!(tree[0].starts_with("parent"), "{stdout}");
    assert!(
        tree[1].trim_start().ends_with("child") && tree[1].starts_with("  "),
        "the log is indented under parent: {stdout}"
    );
}

/// `OTEL_SDK_DISABLED=true`: nothing is recorded, but the sampled bit passes through,
/// so a disabled service does not unsample the services it calls.
#[test]
fn a_disabled_sdk_records_nothing_and_keeps_the_sampled_bit() {
    let (builder, memory) = weft::testing::builder();
    let weft = builder
        .env([("OTEL_SDK_DISABLED", "true")])
        .finish()
        .unwrap();
    let carriers = weft.in_scope(|| {
        let attached = weft::attach_context(&Carrier::from_iter([(
            "traceparent",
            format!("00-{TID}-{SID}-01"),
        )]));
        let under_parent = {
            let _span = weft::span!("disabled child").entered();
            weft::info!("disabled log");
            weft::get_context().to_string()
        };
        drop(attached);
        let _root = weft::span!("disabled root").entered();
        (under_parent, weft::get_context().to_string())
    });
    assert!(weft.force_flush());
    assert!(memory.records().is_empty(), "{:#?}", memory.records());
    let (under_parent, root) = carriers;
    assert!(
        under_parent.contains(TID)
            && !under_parent.contains(SID)
            && under_parent.ends_with("-01'}"),
        "{under_parent}"
    );
    assert!(root.ends_with("-01'}") || root.ends_with("-03'}"), "{root}");
}
