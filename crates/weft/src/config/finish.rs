//! `finish()`: start the export thread and, for the global instance, install weft
//! everywhere context is read: the pipeline, the `tracing` subscriber, the
//! OpenTelemetry global tracer provider and propagator, and the policy.

use super::{ConfigBuilder, ConfigureError, Settings};
use crate::clock::Clock;
use crate::export::SpanExporter;
use crate::export::console::ConsoleExporter;
use crate::export::otlp::{Protocol, Resource};
use crate::export::worker::{self, WorkerSettings};
use crate::ids::IdSource;
use crate::instance::Weft;
use crate::pipeline::{Pipeline, Shared, thread_buffer};
use crate::value::Value;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

impl ConfigBuilder {
    /// Starts weft and returns the guard that flushes and shuts it down when dropped.
    ///
    /// Fails with a message naming the option or variable when a value is invalid, and
    /// when weft is already configured globally in this process.
    pub fn finish(mut self) -> Result<Weft, ConfigureError> {
        let settings = self.settings()?;
        if !self.local && Pipeline::global().is_some() {
            return Err(ConfigureError::AlreadyConfigured);
        }
        if let (true, Some(policy)) = (self.local, self.distributed_tracing) {
            // The policy governs the process's propagator and every integration, so
            // a local instance that asks for one sets it for the process rather than
            // have it silently ignored.
            weft_context::propagation::set_policy(policy);
        }
        let resource = resource(&settings);
        let mut exporters: Vec<(String, Box<dyn SpanExporter>)> = Vec::new();
        if settings.console {
            exporters.push((
                "the console".into(),
                Box::new(ConsoleExporter::new(settings.console_min_level)),
            ));
        }
        for target in &settings.targets {
            exporters.push((
                target.url.clone(),
                otlp_exporter(target, &settings, &resource)?,
            ));
        }
        for (i, e) in std::mem::take(&mut self.exporters).into_iter().enumerate() {
            exporters.push((format!("exporter #{}", i + 1), e));
        }
        if settings.disabled {
            exporters.clear();
        }

        // A span is two records (start and end): a thread wakes the export thread
        // when it has queued about half a batch of spans.
        let (buffers, sweeper) =
            thread_buffer::buffers(settings.max_queue_size, settings.max_batch);
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let dropped = Arc::new(AtomicU64::new(0));
        let handle = worker::spawn(
            sweeper,
            control_rx,
            WorkerSettings {
                exporters,
                processors: std::mem::take(&mut self.processors),
                pending_spans: settings.pending_spans,
                max_batch: settings.max_batch,
                interval: settings.schedule_delay,
                max_open_spans: 100_000,
                dropped: dropped.clone(),
            },
        )
        .map_err(ConfigureError::Thread)?;

        // The context a parent process passed (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`).
        let env_parent = if settings.attach_from_env {
            self.env.carrier_vars()
        } else {
            Vec::new()
        };
        let default_parent = parent_from_env(&env_parent);
        let pipeline = Pipeline(Arc::new(Shared {
            ids: if self.deterministic {
                IdSource::sequential()
            } else {
                IdSource::Random
            },
            clock: if self.deterministic {
                Clock::Ticking(AtomicU64::new(1_000_000_000))
            } else {
                Clock::System
            },
            sampler: if settings.disabled {
                crate::sampler::Sampler::disabled()
            } else {
                settings.sampler()
            },
            min_level: settings.min_level,
            buffers,
            control: control_tx,
            dropped,
            warned_full: AtomicBool::new(false),
            worker_thread: handle.thread().clone(),
            worker: Mutex::new(Some(handle)),
            shut_down: AtomicBool::new(false),
            default_parent,
        }));
        crate::level::lower_floor(settings.min_level);
        crate::tracing_layer::set_tracing_floor(settings.tracing_min_level);
        // A local instance rides in the Context: an attach that starts a new root must keep it.
        weft_context::propagation::preserve_on_new_root::<crate::pipeline::ScopedPipeline>();
        if !self.local {
            install_global(
                &pipeline,
                &settings,
                self.install_tracing_subscriber.unwrap_or(true),
            )?;
            // The parent's context becomes the process's: current on this thread (so
            // `get_context()` and spans here are under it, with its baggage) and passed
            // on to grandchildren by `with_current_context()` from context-less code.
            weft_context::follow::process::install_base_context(
                weft_context::Carrier::from_env_vars(env_parent),
            );
        }
        Ok(Weft::new(pipeline, !self.local, settings))
    }
}

fn install_global(
    pipeline: &Pipeline,
    settings: &Settings,
    tracing_subscriber: bool,
) -> Result<(), ConfigureError> {
    pipeline
        .clone()
        .install_global()
        .map_err(|_| ConfigureError::AlreadyConfigured)?;
    weft_context::propagation::set_policy(settings.distributed_tracing);
    weft_context::propagation::set_warning_sink(Box::new(|message: &str| {
        crate::log::internal_warning(message);
        crate::diagnostics::policy_warning(message);
    }));
    opentelemetry::global::set_text_map_propagator(weft_context::propagation::WeftPropagator::new());
    opentelemetry::global::set_tracer_provider(crate::otel_bridge::WeftTracerProvider::new());
    if tracing_subscriber {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber =
            tracing_subscriber::registry().with(crate::tracing_layer::sole_tracing_layer());
        tracing::subscriber::set_global_default(subscriber)
            .map_err(|_| ConfigureError::TracingSubscriberTaken)?;
    }
    Ok(())
}

fn otlp_exporter(
    target: &super::OtlpTarget,
    settings: &Settings,
    resource: &Resource,
) -> Result<Box<dyn SpanExporter>, ConfigureError> {
    let wrap = |source| ConfigureError::Exporter {
        target: target.url.clone(),
        source,
    };
    match target.protocol {
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            #[cfg(feature = "otlp-http")]
            {
                let e = crate::export::otlp::http::HttpExporter::new(
                    target.url.clone(),
                    target.headers.clone(),
                    target.protocol,
                    settings.export_timeout,
                    resource.clone(),
                )
                .map_err(wrap)?;
                Ok(Box::new(e))
            }
            #[cfg(not(feature = "otlp-http"))]
            {
                let _ = (settings, resource, wrap);
                Err(ConfigureError::FeatureRequired {
                    feature: "otlp-http",
                    what: "OTLP over HTTP",
                })
            }
        }
        Protocol::Grpc => {
            #[cfg(feature = "otlp-grpc")]
            {
                let e = crate::export::otlp::grpc::GrpcExporter::new(
                    target.url.clone(),
                    target.headers.clone(),
                    settings.export_timeout,
                    resource.clone(),
                )
                .map_err(wrap)?;
                Ok(Box::new(e))
            }
            #[cfg(not(feature = "otlp-grpc"))]
            {
                let _ = (settings, resource, wrap);
                Err(ConfigureError::FeatureRequired {
                    feature: "otlp-grpc",
                    what: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                })
            }
        }
    }
}

fn resource(settings: &Settings) -> Resource {
    let mut attributes: Vec<(String, Value)> = vec![(
        "service.name".into(),
        Value::from(settings.service_name.clone()),
    )];
    if let Some(v) = &settings.service_version {
        attributes.push(("service.version".into(), Value::from(v.clone())));
    }
    if let Some(e) = &settings.environment {
        attributes.push(("deployment.environment.name".into(), Value::from(e.clone())));
    }
    for (k, v) in &settings.resource_attributes {
        if !attributes.iter().any(|(key, _)| key == k) {
            attributes.push((k.clone(), Value::from(v.clone())));
        }
    }
    attributes.extend([
        ("telemetry.sdk.name".into(), Value::from("weft")),
        ("telemetry.sdk.language".into(), Value::from("rust")),
        (
            "telemetry.sdk.version".into(),
            Value::from(env!("CARGO_PKG_VERSION")),
        ),
        ("process.pid".into(), Value::from(std::process::id())),
    ]);
    Resource { attributes }
}

/// The span a parent process passed in `TRACEPARENT` (and `TRACESTATE`), as a remote
/// parent: the parent of weft's root spans on threads that inherited no context.
fn parent_from_env(vars: &[(String, String)]) -> Option<opentelemetry::trace::SpanContext> {
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let parsed = weft_context::propagation::parse_traceparent(get("TRACEPARENT")?).ok()?;
    let state = get("TRACESTATE")
        .and_then(|t| weft_context::propagation::parse_tracestate(t).ok())
        .unwrap_or_default();
    Some(opentelemetry::trace::SpanContext::new(
        parsed.trace_id(),
        parsed.span_id(),
        parsed.trace_flags(),
        true,
        state,
    ))
}
