//! The `distributed_tracing` policy through weft's API and through OpenTelemetry's
//! global propagator (docs reference §3). The policy, the warning sink and the global
//! propagator are process-wide, so every test here holds `SERIAL`.
#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap has failed")]

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use weft_context::propagation::{
    AttachOptions, Carrier, DistributedTracing, PolicyError, WARNING_MESSAGE, WeftPropagator,
    attach_context, attach_context_with, extract_third_party, extracted_link, get_context,
    parse_env_value, policy, set_policy, set_warning_sink,
};

const TID: &str = "0af7651916cd43dd8448eb211c80319c";
const SID: &str = "b7ad6b7169203331";
const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const LOGFIRE_TEXT: &str = "Found propagated trace context. See https://logfire.pydantic.dev/docs/how-to-guides/distributed-tracing/#unintentional-distributed-tracing.";

static SERIAL: Mutex<()> = Mutex::new(());
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the process-wide state for one test: `policy`, a capturing sink, no warnings yet.
fn setup(mode: DistributedTracing) -> MutexGuard<'static, ()> {
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    set_warning_sink(|message: &str| {
        WARNINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.to_owned())
    });
    WARNINGS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    set_policy(mode);
    serial
}

fn warnings() -> usize {
    WARNINGS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .len()
}

fn remote() -> Carrier {
    Carrier::from_iter([("traceparent", TP), ("baggage", "k=v")])
}

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
        self.provider.tracer("policy-test")
    }

    fn span(&self, name: &str) -> SpanData {
        let spans = self.exporter.get_finished_spans().unwrap();
        spans
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }
}

#[rustfmt::skip]
#[test]
fn env_values_parse_like_logfire() {
    let rows: [(&str, Option<DistributedTracing>); 12] = [
        ("1", Some(DistributedTracing::Allow)), ("true", Some(DistributedTracing::Allow)),
        ("t", Some(DistributedTracing::Allow)), ("TRUE", Some(DistributedTracing::Allow)),
        ("T", Some(DistributedTracing::Allow)), ("0", Some(DistributedTracing::Deny)),
        ("false", Some(DistributedTracing::Deny)), ("f", Some(DistributedTracing::Deny)),
        ("False", Some(DistributedTracing::Deny)), ("F", Some(DistributedTracing::Deny)),
        ("", None), ("fAlSe", Some(DistributedTracing::Deny)),
    ];
    for (value, expected) in rows {
        assert_eq!(parse_env_value(value), Ok(expected), "{value:?}");
    }
    for value in ["yes", " true", "2", "none", "warn"] {
        let err = parse_env_value(value).unwrap_err();
        assert_eq!(err, PolicyError::InvalidValue { value: value.to_owned() });
        let message = err.to_string();
        for needle in ["LOGFIRE_DISTRIBUTED_TRACING", ".distributed_tracing(", "`true`", "`false`", "`1`", "`0`"] {
            assert!(message.contains(needle), "{message} lacks {needle}");
        }
    }
    assert_eq!(DistributedTracing::default(), DistributedTracing::Warn);
}

#[test]
fn the_warning_starts_with_logfire_text_and_says_how_to_silence_it() {
    assert!(WARNING_MESSAGE.starts_with(LOGFIRE_TEXT));
    for needle in [
        "DistributedTracing::Allow",
        "LOGFIRE_DISTRIBUTED_TRACING=true",
        "DistributedTracing::Deny",
        "LOGFIRE_DISTRIBUTED_TRACING=false",
    ] {
        assert!(WARNING_MESSAGE.contains(needle), "{needle}");
    }
}

#[test]
fn warn_continues_the_remote_trace_and_warns_once_per_set_policy() {
    let _serial = setup(DistributedTracing::Warn);
    assert_eq!(policy(), DistributedTracing::Warn);
    let sdk = Sdk::new();
    {
        let _guard = attach_context_with(&remote(), AttachOptions::third_party());
        sdk.tracer().in_span("first", |_| {});
    }
    let first = sdk.span("first");
    assert_eq!(
        (
            first.parent_span_id.to_string().as_str(),
            first.parent_span_is_remote
        ),
        (SID, true)
    );
    assert_eq!(WARNINGS.lock().unwrap().as_slice(), [WARNING_MESSAGE]);

    let again = extract_third_party(&remote());
    assert_eq!(
        again.context.span().span_context().trace_id().to_string(),
        TID
    );
    assert_eq!(warnings(), 1, "only once");

    set_policy(DistributedTracing::Warn);
    let _ = extract_third_party(&remote());
    assert_eq!(
        warnings(),
        2,
        "set_policy re-arms the warning, like Logfire's configure()"
    );
}

#[test]
fn warn_is_silent_when_nothing_valid_was_extracted() {
    let _serial = setup(DistributedTracing::Warn);
    let sdk = Sdk::new();
    sdk.tracer().in_span("outer", |_| {
        for carrier in [
            Carrier::new(),
            Carrier::from_iter([("traceparent", "garbage")]),
            Carrier::from_iter([("baggage", "k=v")]),
        ] {
            let extraction = extract_third_party(&carrier);
            assert!(
                !extraction.context.span().span_context().is_valid(),
                "{carrier}: a new root"
            );
        }
    });
    assert_eq!(
        warnings(),
        0,
        "a deliberate difference from Logfire, which warns here"
    );
}

#[test]
fn allow_continues_silently() {
    let _serial = setup(DistributedTracing::Allow);
    let sdk = Sdk::new();
    {
        let _guard = attach_context_with(&remote(), AttachOptions::third_party());
        assert_eq!(
            Context::current().baggage().get("k").map(|v| v.as_str()),
            Some("v")
        );
        sdk.tracer().in_span("child", |_| {});
    }
    assert_eq!(sdk.span("child").parent_span_id.to_string(), SID);
    assert_eq!(warnings(), 0);
}

#[test]
fn deny_keeps_the_local_parent_and_baggage_and_returns_a_link() {
    let _serial = setup(DistributedTracing::Deny);
    let sdk = Sdk::new();
    let local_baggage = Context::current().with_baggage([KeyValue::new("mine", "1")]);
    let _local = local_baggage.attach();
    let outer_id = sdk.tracer().in_span("outer", |cx| {
        let guard = attach_context_with(&remote(), AttachOptions::third_party());
        let link = guard.link().unwrap();
        assert_eq!(
            (
                link.trace_id().to_string().as_str(),
                link.span_id().to_string().as_str()
            ),
            (TID, SID)
        );
        let current = Context::current();
        let baggage = current.baggage();
        assert_eq!(
            (
                baggage.get("k").map(|v| v.as_str()),
                baggage.get("mine").map(|v| v.as_str())
            ),
            (None, Some("1")),
            "the stranger's baggage is not extracted (Logfire's False keeps it); the local baggage stays"
        );
        sdk.tracer().in_span("child", |_| {});
        cx.span().span_context().span_id()
    });
    let child = sdk.span("child");
    assert_eq!(
        (child.parent_span_id, child.parent_span_is_remote),
        (outer_id, false)
    );

    // With no span around, the request is a new root: the remote parent is only a link.
    let extraction = extract_third_party(&remote());
    assert!(!extraction.context.span().span_context().is_valid());
    assert_eq!(extraction.link.as_ref().unwrap().span_id().to_string(), SID);
    {
        let _guard = extraction.attach();
        sdk.tracer().in_span("root", |_| {});
    }
    assert_eq!(sdk.span("root").parent_span_id, SpanId::INVALID);
    assert_eq!(warnings(), 0);
}

#[test]
fn first_party_attach_ignores_the_policy_and_never_warns() {
    for mode in [DistributedTracing::Warn, DistributedTracing::Deny] {
        let _serial = setup(mode);
        let sdk = Sdk::new();
        sdk.tracer().in_span("outer", |_| {
            let guard = attach_context(&remote());
            assert!(guard.link().is_none());
            sdk.tracer().in_span("child", |_| {});
        });
        assert_eq!(
            sdk.span("child").parent_span_id.to_string(),
            SID,
            "{mode:?}"
        );
        assert_eq!(warnings(), 0, "{mode:?}");
    }
}

fn headers() -> HashMap<String, String> {
    remote().into()
}

fn global_extract(base: &Context) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract_with_context(base, &headers()))
}

#[test]
fn the_global_propagator_obeys_every_setting() {
    let _serial = setup(DistributedTracing::Warn);
    global::set_text_map_propagator(WeftPropagator::new());
    let sdk = Sdk::new();

    let cx = global::get_text_map_propagator(|propagator| propagator.extract(&headers()));
    assert_eq!(cx.span().span_context().span_id().to_string(), SID);
    assert!(cx.span().span_context().is_remote());
    let _ = global_extract(&Context::new());
    assert_eq!(warnings(), 1, "Warn: once");

    set_policy(DistributedTracing::Allow);
    assert_eq!(
        global_extract(&Context::new())
            .span()
            .span_context()
            .span_id()
            .to_string(),
        SID
    );
    assert_eq!(warnings(), 1, "Allow: silent");

    set_policy(DistributedTracing::Deny);
    sdk.tracer().in_span("outer", |outer| {
        let cx = global_extract(&outer);
        assert_eq!(
            cx.span().span_context(),
            outer.span().span_context(),
            "Deny: the passed context's span stays"
        );
        assert_eq!(
            cx.baggage().get("k"),
            None,
            "Deny: no baggage from the caller"
        );
        assert_eq!(extracted_link(&cx).unwrap().span_id().to_string(), SID);
    });
    assert_eq!(warnings(), 1);
}

#[test]
fn the_global_propagator_keeps_what_a_carrier_lacks_and_injects_all_three_headers() {
    let _serial = setup(DistributedTracing::Allow);
    let propagator = WeftPropagator::new();
    let base = {
        let _guard = attach_context(&remote());
        Context::current()
    };
    let cx = propagator.extract_with_context(&base, &HashMap::<String, String>::new());
    assert_eq!(
        cx.span().span_context(),
        base.span().span_context(),
        "OpenTelemetry convention: nothing found, nothing changed"
    );
    assert_eq!(cx.baggage().len(), 1);

    let mut injected = HashMap::new();
    propagator.inject_context(&base, &mut injected);
    assert_eq!(Carrier::from(injected), remote());
    let _guard = base.attach();
    assert_eq!(get_context(), remote());
}
