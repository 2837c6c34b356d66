//! `weft::configure()`: one builder for the whole SDK.
//!
//! Precedence is the same for every setting: a builder call beats the environment,
//! which beats the default. [`ConfigBuilder::settings`] shows what would be used
//! without starting anything.

mod env;
mod error;
mod finish;
mod settings;

pub use error::ConfigureError;
pub use settings::{OtlpTarget, Settings};

use crate::export::SpanExporter;
use crate::export::otlp::Protocol;
use crate::level::Level;
use env::EnvSource;
use std::collections::HashMap;
use weft_context::propagation::DistributedTracing;

/// Starts configuring weft. Finish with [`ConfigBuilder::finish`].
///
/// ```no_run
/// fn main() -> Result<(), weft::ConfigureError> {
///     let _weft = weft::configure().service_name("checkout").finish()?;
///     weft::info!("started");
///     Ok(())
/// }
/// ```
pub fn configure() -> ConfigBuilder {
    ConfigBuilder::default()
}

/// The builder returned by [`configure`].
#[must_use = "nothing is configured until .finish() is called"]
#[derive(Default)]
pub struct ConfigBuilder {
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) console: Option<bool>,
    pub(crate) console_min_level: Option<Level>,
    pub(crate) token: Option<String>,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) otlp_headers: Option<Vec<(String, String)>>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) sampling_ratio: Option<f64>,
    pub(crate) min_level: Option<Level>,
    pub(crate) distributed_tracing: Option<DistributedTracing>,
    pub(crate) exporters: Vec<Box<dyn SpanExporter>>,
    pub(crate) processors: Vec<Box<dyn crate::export::SpanProcessor>>,
    pub(crate) no_default_exporter: bool,
    pub(crate) pending_spans: Option<bool>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) local: bool,
    pub(crate) deterministic: bool,
    pub(crate) env: EnvSource,
    pub(crate) install_tracing_subscriber: Option<bool>,
    pub(crate) attach_from_env: Option<bool>,
    pub(crate) tracing_min_level: Option<Level>,
}

impl ConfigBuilder {
    /// `service.name` (env `LOGFIRE_SERVICE_NAME`, then `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version` (env `LOGFIRE_SERVICE_VERSION`).
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name` (env `LOGFIRE_ENVIRONMENT`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// An extra resource attribute (env `OTEL_RESOURCE_ATTRIBUTES` adds more).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Print spans and logs on stderr (env `LOGFIRE_CONSOLE`; default on).
    pub fn console(mut self, on: bool) -> Self {
        self.console = Some(on);
        self
    }

    /// The lowest level the console prints (env `LOGFIRE_CONSOLE_MIN_LOG_LEVEL`; default info).
    pub fn console_min_level(mut self, level: Level) -> Self {
        self.console_min_level = Some(level);
        self
    }

    /// A Logfire write token (env `LOGFIRE_TOKEN`): spans also go to Logfire, to the
    /// region the token names, with `Authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The OTLP endpoint base, e.g. `http://collector:4318` (env
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; `…_TRACES_ENDPOINT` is used as a full URL).
    /// Default: `http://localhost:4318`, where `weft serve` listens.
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(url.into());
        self
    }

    /// Headers sent with every OTLP request (env `OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn otlp_headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.otlp_headers = Some(
            headers
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The OTLP protocol (env `OTEL_EXPORTER_OTLP_PROTOCOL`; default `http/protobuf`).
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The share of new traces kept, 0.0 to 1.0; children follow their parent. As in
    /// the Logfire SDK, the environment's head rate is `LOGFIRE_TRACE_SAMPLE_RATE`, then
    /// `OTEL_TRACES_SAMPLER_ARG` (alone, too); below 1 it wins, otherwise
    /// `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG` as its ratio) chooses.
    pub fn sampling_ratio(mut self, ratio: f64) -> Self {
        self.sampling_ratio = Some(ratio);
        self
    }

    /// The lowest level recorded at all (env `LOGFIRE_MIN_LEVEL`; default trace).
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Whether third-party context (server middleware, the OpenTelemetry global
    /// propagator) is trusted (env `LOGFIRE_DISTRIBUTED_TRACING`; default warn).
    ///
    /// The policy is process-wide, like the propagator it governs: on a
    /// [`local`](Self::local) instance, setting it here sets it for the process.
    pub fn distributed_tracing(mut self, policy: DistributedTracing) -> Self {
        self.distributed_tracing = Some(policy);
        self
    }

    /// Adds a processor that sees, and may change, every record on the export thread
    /// before the exporters do (after the processors added before it).
    pub fn span_processor(mut self, processor: impl crate::export::SpanProcessor) -> Self {
        self.processors.push(Box::new(processor));
        self
    }

    /// Adds an exporter beside the OTLP and console ones.
    pub fn exporter(mut self, exporter: impl SpanExporter) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }

    /// Sends nowhere by default: only to the OTLP endpoint, token or exporters you set.
    pub fn no_default_exporter(mut self) -> Self {
        self.no_default_exporter = true;
        self
    }

    /// Export a `pending_span` record when a span starts (env `LOGFIRE_PENDING_SPANS`;
    /// default on), so viewers draw spans that are still open.
    pub fn pending_spans(mut self, on: bool) -> Self {
        self.pending_spans = Some(on);
        self
    }

    /// How many records each recording thread may have waiting for export before its
    /// new ones are dropped (env `OTEL_BSP_MAX_QUEUE_SIZE`; default 2048, as in
    /// OpenTelemetry). Each thread has its own queue, 112 bytes a record: it starts at
    /// 256 records on the thread's first one and doubles when full, up to this size
    /// (224 KiB a thread by default; the smaller queues it outgrew are freed once the
    /// export thread has emptied them).
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = Some(size);
        self
    }

    /// Make a non-global instance: nothing process-wide is installed, and spans record
    /// into it only inside [`crate::Weft::in_scope`] or [`crate::Weft::set_default`]
    /// (and wherever that context is carried). For tests.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Ids 1, 2, 3… and a clock that ticks one second per reading, for snapshot tests.
    pub fn deterministic(mut self) -> Self {
        self.deterministic = true;
        self
    }

    /// Read configuration from this map instead of the process environment (tests).
    pub fn env<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env = EnvSource::Map(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect::<HashMap<_, _>>(),
        );
        self
    }

    /// Install weft's layer as the global `tracing` subscriber (default on for the
    /// global instance). Turn off to add [`crate::tracing_layer`] to your own.
    pub fn install_tracing_subscriber(mut self, on: bool) -> Self {
        self.install_tracing_subscriber = Some(on);
        self
    }

    /// The lowest level of `tracing` spans and events recorded (env
    /// `WEFT_TRACING_MIN_LEVEL`; default info, because libraries such as hyper emit
    /// many debug events per request). Process-wide. weft's own macros follow
    /// [`ConfigBuilder::min_level`] only.
    pub fn tracing_min_level(mut self, level: Level) -> Self {
        self.tracing_min_level = Some(level);
        self
    }

    /// In a child process started with [`crate::process::CommandExt`], make the
    /// parent's context (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`) this process's base
    /// context: attached on the configuring thread, the parent of root spans
    /// elsewhere, and passed on to grandchildren (default on). `false` ignores the
    /// variables.
    pub fn attach_from_env(mut self, on: bool) -> Self {
        self.attach_from_env = Some(on);
        self
    }
}
