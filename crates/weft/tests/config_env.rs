//! Environment precedence, as a table: builder beats environment beats default, and
//! invalid values are errors that name the variable and the accepted values.
#![allow(clippy::unwrap_used, missing_docs)]

use weft::export::memory::MemoryExporter;
use weft::export::otlp::Protocol;
use weft::{ConfigBuilder, DistributedTracing, Level};

fn with_env(vars: &[(&str, &str)]) -> ConfigBuilder {
    weft::configure().env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[rustfmt::skip]
#[test]
fn service_name_precedence() {
    let rows: Vec<(ConfigBuilder, &str, &str)> = vec![
        (with_env(&[]), "unknown_service:", "default names the executable"),
        (with_env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource")]), "from-resource", "resource attributes"),
        (with_env(&[("OTEL_SERVICE_NAME", "otel"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=r")]), "otel", "OTEL_SERVICE_NAME beats resource"),
        (with_env(&[("LOGFIRE_SERVICE_NAME", "lf"), ("OTEL_SERVICE_NAME", "otel")]), "lf", "LOGFIRE_ beats OTEL_"),
        (with_env(&[("LOGFIRE_SERVICE_NAME", "lf")]).service_name("builder"), "builder", "builder beats env"),
        (with_env(&[("LOGFIRE_SERVICE_NAME", "")]), "unknown_service:", "empty counts as unset"),
    ];
    for (builder, want, why) in rows {
        let got = builder.settings().unwrap().service_name;
        assert!(got.starts_with(want), "{why}: got {got}");
    }
}

/// (builder, expected targets, why)
type TargetRow = (ConfigBuilder, Vec<(&'static str, Protocol)>, &'static str);

#[rustfmt::skip]
#[test]
fn exporter_targets() {
    let rows: Vec<TargetRow> = vec![
        (with_env(&[]), vec![("http://localhost:4318/v1/traces", Protocol::HttpProtobuf)], "default: weft serve"),
        (with_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]), vec![("http://localhost:4317", Protocol::Grpc)], "grpc default port"),
        (with_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]), vec![("http://c:4318/v1/traces", Protocol::HttpProtobuf)], "base gets the signal path"),
        (with_env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c/x"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://d")]), vec![("http://c/x", Protocol::HttpProtobuf)], "signal endpoint used as is"),
        (with_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://d")]).otlp_endpoint("http://b"), vec![("http://b/v1/traces", Protocol::HttpProtobuf)], "builder beats env"),
        (with_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).otlp_protocol(Protocol::HttpProtobuf), vec![("http://localhost:4318/v1/traces", Protocol::HttpProtobuf)], "builder protocol beats env"),
        (with_env(&[("LOGFIRE_TOKEN", "pylf_v1_eu_abc")]), vec![("https://logfire-eu.pydantic.dev/v1/traces", Protocol::HttpProtobuf)], "token region eu, no local default"),
        (with_env(&[("LOGFIRE_TOKEN", "pylf_v1_us_abc"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c")]), vec![("https://logfire-us.pydantic.dev/v1/traces", Protocol::HttpProtobuf), ("http://c/v1/traces", Protocol::HttpProtobuf)], "token and endpoint: both"),
        (with_env(&[("OTEL_SDK_DISABLED", "true")]), vec![], "disabled sends nowhere"),
        (with_env(&[]).no_default_exporter(), vec![], "no default exporter"),
        (with_env(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]), vec![("http://localhost:4317", Protocol::Grpc)], "the traces protocol beats the general one"),
        (with_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]), vec![("http://localhost:4318/v1/traces", Protocol::HttpJson)], "the general protocol alone"),
        (with_env(&[("LOGFIRE_TOKEN", "pylf_v1_eu_abc"), ("LOGFIRE_BASE_URL", "http://lf.local:9/")]), vec![("http://lf.local:9/v1/traces", Protocol::HttpProtobuf)], "LOGFIRE_BASE_URL beats the token's region"),
        (with_env(&[("LOGFIRE_TOKEN", "pylf_v1_us_abc"), ("OTEL_SDK_DISABLED", "1")]), vec![], "disabled beats a token"),
        (with_env(&[("OTEL_SDK_DISABLED", "false")]), vec![("http://localhost:4318/v1/traces", Protocol::HttpProtobuf)], "OTEL_SDK_DISABLED=false changes nothing"),
    ];
    for (builder, want, why) in rows {
        let got: Vec<(String, Protocol)> = builder.settings().unwrap().targets.into_iter().map(|t| (t.url, t.protocol)).collect();
        let want: Vec<(String, Protocol)> = want.into_iter().map(|(u, p)| (u.to_owned(), p)).collect();
        assert_eq!(got, want, "{why}");
    }
}

#[test]
fn token_and_headers() {
    let s = with_env(&[
        ("LOGFIRE_TOKEN", "pylf_v1_us_secret"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=x%20y"),
    ])
    .otlp_endpoint("http://c")
    .settings()
    .unwrap();
    assert_eq!(
        s.targets[0].headers,
        vec![(
            "Authorization".to_owned(),
            "Bearer pylf_v1_us_secret".to_owned()
        )]
    );
    assert_eq!(
        s.targets[1].headers,
        vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "x y".to_owned())
        ]
    );
}

#[test]
fn traces_headers_beat_the_general_ones() {
    let headers = |vars: &[(&str, &str)]| {
        with_env(vars).settings().unwrap().targets[0]
            .headers
            .clone()
    };
    let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    assert_eq!(
        headers(&[
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "t=1"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "g=2")
        ]),
        pair("t", "1")
    );
    assert_eq!(
        headers(&[("OTEL_EXPORTER_OTLP_HEADERS", "g=2")]),
        pair("g", "2")
    );
    assert_eq!(
        with_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "g=2")])
            .otlp_headers([("b", "3")])
            .settings()
            .unwrap()
            .targets[0]
            .headers,
        pair("b", "3"),
        "builder beats env"
    );
}

/// (env, builder service version, builder environment, want version, want environment, why)
type ResourceRow = (
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[rustfmt::skip]
#[test]
fn service_version_and_environment_precedence() {
    let rows: Vec<ResourceRow> = vec![
        (&[], None, None, None, None, "default: neither"),
        (&[("LOGFIRE_SERVICE_VERSION", "1.2"), ("LOGFIRE_ENVIRONMENT", "prod")], None, None, Some("1.2"), Some("prod"), "LOGFIRE_ variables"),
        (&[("OTEL_RESOURCE_ATTRIBUTES", "service.version=0.9,deployment.environment.name=dev")], None, None, Some("0.9"), Some("dev"), "resource attributes"),
        (&[("LOGFIRE_SERVICE_VERSION", "1.2"), ("LOGFIRE_ENVIRONMENT", "prod"), ("OTEL_RESOURCE_ATTRIBUTES", "service.version=0.9,deployment.environment.name=dev")], None, None, Some("1.2"), Some("prod"), "LOGFIRE_ beats the resource"),
        (&[("LOGFIRE_SERVICE_VERSION", "1.2"), ("LOGFIRE_ENVIRONMENT", "prod")], Some("2.0"), Some("staging"), Some("2.0"), Some("staging"), "builder beats env"),
        (&[("LOGFIRE_SERVICE_VERSION", " "), ("LOGFIRE_ENVIRONMENT", "")], None, None, None, None, "empty counts as unset"),
    ];
    for (env, version, environment, want_version, want_environment, why) in rows {
        let mut builder = with_env(env);
        if let Some(v) = version {
            builder = builder.service_version(v);
        }
        if let Some(e) = environment {
            builder = builder.environment(e);
        }
        let s = builder.settings().unwrap();
        assert_eq!(s.service_version.as_deref(), want_version, "{why}: version");
        assert_eq!(s.environment.as_deref(), want_environment, "{why}: environment");
    }
}

/// (env, builder ratio, want (ratio, parent-based), why)
type SamplingRow = (
    &'static [(&'static str, &'static str)],
    Option<f64>,
    (f64, bool),
    &'static str,
);

#[rustfmt::skip]
#[test]
fn head_sampling_rate_follows_logfire() {
    let rows: Vec<SamplingRow> = vec![
        (&[], None, (1.0, true), "default keeps all, parent-based"),
        (&[("OTEL_TRACES_SAMPLER_ARG", "0.3")], None, (0.3, true), "the argument alone is the head rate"),
        (&[("LOGFIRE_TRACE_SAMPLE_RATE", "0.5"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")], None, (0.5, true), "Logfire's variable first"),
        (&[("OTEL_TRACES_SAMPLER", "always_off"), ("OTEL_TRACES_SAMPLER_ARG", "0.4")], None, (0.4, true), "a head rate below 1 beats the named sampler"),
        (&[("OTEL_TRACES_SAMPLER", "always_off")], None, (0.0, false), "no head rate: the named sampler"),
        (&[("OTEL_TRACES_SAMPLER", "always_off"), ("LOGFIRE_TRACE_SAMPLE_RATE", "1")], None, (0.0, false), "a head rate of 1 leaves the choice to the sampler"),
        (&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1"), ("LOGFIRE_TRACE_SAMPLE_RATE", "1")], None, (1.0, false), "traceidratio at 1 is not parent-based"),
        (&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")], None, (0.0, true), "parent-based off"),
        (&[("LOGFIRE_TRACE_SAMPLE_RATE", "0.5")], Some(0.2), (0.2, true), "builder beats env"),
        (&[("OTEL_TRACES_SAMPLER_ARG", "0.5")], Some(1.0), (1.0, true), "builder beats the argument too"),
    ];
    for (env, ratio, want, why) in rows {
        let mut builder = with_env(env);
        if let Some(r) = ratio {
            builder = builder.sampling_ratio(r);
        }
        let s = builder.settings().unwrap();
        assert_eq!((s.sampling_ratio, s.parent_based), want, "{why}");
    }
}

#[test]
fn the_head_rate_from_the_argument_alone_samples_roots() {
    let memory = MemoryExporter::default();
    let weft = with_env(&[("OTEL_TRACES_SAMPLER_ARG", "0")])
        .local()
        .console(false)
        .no_default_exporter()
        .exporter(memory.clone())
        .finish()
        .unwrap();
    weft.in_scope(|| {
        let root = weft::span!("root").entered();
        assert!(
            !root.is_recording(),
            "OTEL_TRACES_SAMPLER_ARG=0 drops new roots"
        );
    });
    assert!(weft.force_flush());
    assert!(memory.records().is_empty());
}

#[test]
fn sdk_disabled_records_and_exports_nothing() {
    let memory = MemoryExporter::default();
    let weft = with_env(&[("OTEL_SDK_DISABLED", "true")])
        .local()
        .console(false)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    assert!(weft.settings().disabled);
    assert!(weft.settings().targets.is_empty());
    weft.in_scope(|| {
        let span = weft::span!("disabled").entered();
        assert!(!span.is_recording());
        weft::info!("nothing");
    });
    assert!(weft.force_flush());
    assert!(
        memory.records().is_empty(),
        "even a user's exporter gets nothing"
    );
}

#[rustfmt::skip]
#[test]
fn sampling_levels_console_and_policy() {
    let s = |vars: &[(&str, &str)]| with_env(vars).settings().unwrap();
    assert_eq!((s(&[]).sampling_ratio, s(&[]).parent_based), (1.0, true), "default keeps all, parent-based");
    assert_eq!(s(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")]).sampling_ratio, 0.25);
    assert!(!s(&[("OTEL_TRACES_SAMPLER", "traceidratio")]).parent_based);
    assert_eq!(s(&[("LOGFIRE_TRACE_SAMPLE_RATE", "0.5"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")]).sampling_ratio, 0.5, "Logfire's variable first");
    assert_eq!(with_env(&[("LOGFIRE_TRACE_SAMPLE_RATE", "0.5")]).sampling_ratio(0.2).settings().unwrap().sampling_ratio, 0.2);
    assert_eq!(s(&[("LOGFIRE_MIN_LEVEL", "warning")]).min_level, Level::Warn);
    assert!(!s(&[("LOGFIRE_CONSOLE", "F")]).console);
    assert!(with_env(&[("LOGFIRE_CONSOLE", "false")]).console(true).settings().unwrap().console);
    assert_eq!(s(&[]).distributed_tracing, DistributedTracing::Warn);
    assert_eq!(s(&[("LOGFIRE_DISTRIBUTED_TRACING", "true")]).distributed_tracing, DistributedTracing::Allow);
    assert_eq!(s(&[("LOGFIRE_DISTRIBUTED_TRACING", "0")]).distributed_tracing, DistributedTracing::Deny);
    assert_eq!(with_env(&[("LOGFIRE_DISTRIBUTED_TRACING", "false")]).distributed_tracing(DistributedTracing::Allow).settings().unwrap().distributed_tracing, DistributedTracing::Allow);
    assert!(!s(&[("LOGFIRE_PENDING_SPANS", "false")]).pending_spans);
    assert_eq!(s(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100")]).max_queue_size, 100);
}

#[rustfmt::skip]
#[test]
fn invalid_values_name_the_variable_and_the_choices() {
    let rows: Vec<(&str, &str, &[&str])> = vec![
        ("LOGFIRE_DISTRIBUTED_TRACING", "yes", &["LOGFIRE_DISTRIBUTED_TRACING", "true", "false"]),
        ("LOGFIRE_CONSOLE", "maybe", &["LOGFIRE_CONSOLE", "true or false"]),
        ("OTEL_TRACES_SAMPLER", "sometimes", &["OTEL_TRACES_SAMPLER", "parentbased_traceidratio"]),
        ("OTEL_TRACES_SAMPLER_ARG", "2", &["OTEL_TRACES_SAMPLER_ARG", "0.0 to 1.0"]),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "udp", &["OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "grpc"]),
        ("LOGFIRE_MIN_LEVEL", "loud", &["LOGFIRE_MIN_LEVEL", "warn"]),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue", &["OTEL_EXPORTER_OTLP_HEADERS", "key=value"]),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp", &["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", "grpc"]),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "novalue", &["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "key=value"]),
        ("LOGFIRE_TRACE_SAMPLE_RATE", "half", &["LOGFIRE_TRACE_SAMPLE_RATE", "0.0 to 1.0"]),
        ("OTEL_SDK_DISABLED", "nope", &["OTEL_SDK_DISABLED", "true or false"]),
        ("LOGFIRE_PENDING_SPANS", "sometimes", &["LOGFIRE_PENDING_SPANS", "true or false"]),
        ("OTEL_EXPORTER_OTLP_HEADERS", "bad name=1", &["OTEL_EXPORTER_OTLP_HEADERS", "bad name", "header names"]),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-key=line%0Abreak", &["OTEL_EXPORTER_OTLP_HEADERS", "x-key", "control characters"]),
    ];
    for (var, value, words) in rows {
        let err = with_env(&[(var, value)]).settings().unwrap_err().to_string();
        for w in words {
            assert!(err.contains(w), "{var}={value}: {err:?} should mention {w:?}");
        }
    }
}
