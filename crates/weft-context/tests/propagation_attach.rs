//! `get_context` / `attach_context` against real opentelemetry_sdk spans, matching
//! Python Logfire's observed behaviour (docs reference §1–2) where weft does not
//! deliberately differ. First-party only: policy tests live in `propagation_policy.rs`.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanId, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use weft_context::propagation::{
    Carrier, attach_context, carrier_from_context, get_context, preserve_on_new_root,
};

const TID: &str = "0af7651916cd43dd8448eb211c80319c";
const SID: &str = "b7ad6b7169203331";
const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// A real SDK pipeline per test, so tests running in parallel never share spans.
struct Sdk {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Sdk {
    fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        Sdk { provider, exporter }
    }

    fn tracer(&self) -> SdkTracer {
        self.provider.tracer("propagation-test")
    }

    /// The finished span called `name`.
    fn span(&self, name: &str) -> SpanData {
        let spans = self.exporter.get_finished_spans().unwrap();
        spans
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }
}

fn carrier(pairs: &[(&'static str, &str)]) -> Carrier {
    pairs.iter().map(|(k, v)| (*k, *v)).collect()
}

#[test]
fn get_context_is_empty_outside_any_span() {
    assert_eq!(get_context().to_string(), "{}");
}

#[test]
fn get_context_inside_a_span_is_its_traceparent() {
    let sdk = Sdk::new();
    let carrier = sdk.tracer().in_span("outer", |cx| {
        let sc = cx.span().span_context().clone();
        let carrier = get_context();
        assert_eq!(
            carrier.get("traceparent").unwrap(),
            format!("00-{}-{}-01", sc.trace_id(), sc.span_id())
        );
        assert_eq!(
            carrier.len(),
            1,
            "nothing else without tracestate or baggage"
        );
        carrier
    });
    assert_eq!(carrier, carrier_from_context(&carrier_context(&carrier)));
}

fn carrier_context(carrier: &Carrier) -> Context {
    let _guard = attach_context(carrier);
    Context::current()
}

#[test]
fn an_attached_carrier_is_the_remote_parent() {
    let sdk = Sdk::new();
    {
        let _guard = attach_context(&carrier(&[("traceparent", TP)]));
        assert_eq!(
            get_context(),
            carrier(&[("traceparent", TP)]),
            "no span yet: the same carrier"
        );
        sdk.tracer().in_span("child", |_| {});
    }
    let child = sdk.span("child");
    assert_eq!(child.span_context.trace_id().to_string(), TID);
    assert_eq!(child.parent_span_id.to_string(), SID);
    assert!(child.parent_span_is_remote);
    assert!(child.span_context.is_sampled());
}

#[test]
fn a_span_started_under_an_attached_carrier_round_trips_through_get_context() {
    let sdk = Sdk::new();
    let _guard = attach_context(&carrier(&[("traceparent", TP), ("tracestate", "rojo=1")]));
    sdk.tracer().in_span("child", |cx| {
        let tp = get_context();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            tp.get("traceparent").unwrap(),
            format!("00-{TID}-{}-01", sc.span_id())
        );
        assert_eq!(
            tp.get("tracestate"),
            Some("rojo=1"),
            "children inherit tracestate"
        );
    });
}

#[test]
fn nested_guards_restore_in_order() {
    let other = "00-11111111111111111111111111111111-2222222222222222-01";
    let outer = attach_context(&carrier(&[("traceparent", TP)]));
    {
        let _inner = attach_context(&carrier(&[("traceparent", other)]));
        assert_eq!(get_context().get("traceparent"), Some(other));
        {
            let _empty = attach_context(&Carrier::new());
            assert!(get_context().is_empty());
        }
        assert_eq!(get_context().get("traceparent"), Some(other));
    }
    assert_eq!(get_context().get("traceparent"), Some(TP));
    drop(outer);
    assert!(get_context().is_empty());
}

#[rustfmt::skip]
fn not_a_parent() -> Vec<(Carrier, &'static str)> {
    vec![
        (Carrier::new(), "empty carrier"),
        (carrier(&[("traceparent", "garbage")]), "garbage"),
        (carrier(&[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331")]), "3 fields"),
        (carrier(&[("traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01")]), "all-zero trace-id"),
        (carrier(&[("traceparent", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]), "version ff"),
        (carrier(&[("traceparent", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01")]), "upper case"),
        (carrier(&[("tracestate", "rojo=1")]), "tracestate without traceparent"),
    ]
}

#[test]
fn empty_or_invalid_carriers_make_a_new_root_inside_a_span() {
    for (carrier, reason) in not_a_parent() {
        let sdk = Sdk::new();
        let outer_trace = sdk.tracer().in_span("outer", |cx| {
            {
                let _guard = attach_context(&carrier);
                assert!(get_context().is_empty(), "{reason}");
                sdk.tracer().in_span("child", |_| {});
            }
            assert!(
                get_context().get("traceparent").is_some(),
                "{reason}: outer is current again"
            );
            cx.span().span_context().trace_id()
        });
        let child = sdk.span("child");
        assert_eq!(child.parent_span_id, SpanId::INVALID, "{reason}");
        assert_ne!(child.span_context.trace_id(), outer_trace, "{reason}");
    }
}

#[test]
fn a_future_version_is_accepted_and_reinjected_as_00() {
    let _guard = attach_context(&carrier(&[(
        "traceparent",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    )]));
    assert_eq!(get_context().get("traceparent"), Some(TP));
}

#[test]
fn a_baggage_only_carrier_is_a_new_root_with_that_baggage() {
    let sdk = Sdk::new();
    sdk.tracer().in_span("outer", |_| {
        let _guard = attach_context(&carrier(&[("baggage", "k=v")]));
        assert_eq!(get_context().to_string(), "{'baggage': 'k=v'}");
        assert_eq!(
            Context::current().baggage().get("k").map(|v| v.as_str()),
            Some("v")
        );
        sdk.tracer().in_span("child", |_| {});
    });
    assert_eq!(sdk.span("child").parent_span_id, SpanId::INVALID);
}

#[test]
fn a_carrier_without_baggage_clears_the_current_baggage() {
    let _outer = Context::current_with_baggage([KeyValue::new("k", "v")]).attach();
    assert_eq!(get_context().get("baggage"), Some("k=v"));
    let _guard = attach_context(&carrier(&[("traceparent", TP)]));
    assert!(Context::current().baggage().is_empty());
    assert_eq!(get_context().get("baggage"), None);
}

#[test]
fn keys_match_whatever_their_case() {
    // A deliberate difference: Logfire's dict lookup is case-sensitive.
    let _guard = attach_context(&carrier(&[("TraceParent", TP), ("BAGGAGE", "k=v")]));
    assert_eq!(
        get_context(),
        carrier(&[("traceparent", TP), ("baggage", "k=v")])
    );
}

#[test]
fn an_unsampled_parent_stays_unsampled_and_its_children_are_not_exported() {
    let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let sdk = Sdk::new();
    let _guard = attach_context(&carrier(&[("traceparent", unsampled)]));
    assert_eq!(
        get_context().get("traceparent"),
        Some(unsampled),
        "-00 stays -00"
    );
    sdk.tracer().in_span("child", |cx| {
        let tp = get_context();
        let tp = tp.get("traceparent").unwrap();
        assert!(
            tp.starts_with(&format!("00-{TID}-")) && tp.ends_with("-00"),
            "{tp}"
        );
        assert_ne!(
            cx.span().span_context().span_id().to_string(),
            SID,
            "a new span id"
        );
    });
    assert!(sdk.exporter.get_finished_spans().unwrap().is_empty());
}

#[test]
fn other_context_values_survive_an_attach() {
    #[derive(Debug, Clone, PartialEq)]
    struct WeftValue(u32);

    let _outer = Context::current_with_value(WeftValue(7)).attach();
    for carrier in [carrier(&[("traceparent", TP)]), Carrier::new()] {
        let _guard = attach_context(&carrier);
        assert_eq!(Context::current().get::<WeftValue>(), Some(&WeftValue(7)));
    }
}

#[test]
fn registered_values_survive_a_new_root_inside_a_span() {
    #[derive(Debug, Clone, PartialEq)]
    struct Registered(u32);
    #[derive(Debug, Clone, PartialEq)]
    struct Unregistered(u32);

    preserve_on_new_root::<Registered>();
    let sdk = Sdk::new();
    let _outer = Context::current_with_value(Registered(1))
        .with_value(Unregistered(2))
        .attach();
    sdk.tracer().in_span("outer", |_| {
        let _guard = attach_context(&Carrier::new());
        assert_eq!(Context::current().get::<Registered>(), Some(&Registered(1)));
        // OpenTelemetry cannot drop a span and keep values it cannot name.
        assert_eq!(Context::current().get::<Unregistered>(), None);
        sdk.tracer().in_span("child", |_| {});
    });
    assert_eq!(sdk.span("child").parent_span_id, SpanId::INVALID);
}

#[test]
fn the_guard_is_not_needed_for_carrier_from_context() {
    let cx = carrier_context(&carrier(&[("traceparent", TP), ("baggage", "a=1")]));
    assert!(get_context().is_empty(), "the guard already dropped");
    assert_eq!(
        carrier_from_context(&cx).to_string(),
        format!("{{'traceparent': '{TP}', 'baggage': 'a=1'}}")
    );
}
