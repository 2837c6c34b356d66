//! Resolving the builder and the environment into the settings that will be used.

use super::env::{EnvSource, parse_pairs};
use super::{ConfigBuilder, ConfigureError};
use crate::export::otlp::Protocol;
use crate::level::Level;
use crate::sampler::{RootSampler, Sampler};
use std::time::Duration;
use weft_context::propagation::DistributedTracing;

/// Where one OTLP exporter sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpTarget {
    /// The full URL (for HTTP, including `/v1/traces`).
    pub url: String,
    /// Headers sent with each request.
    pub headers: Vec<(String, String)>,
    /// The wire format.
    pub protocol: Protocol,
}

/// What `finish()` will use: the builder and the environment resolved.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// `service.name`.
    pub service_name: String,
    /// `service.version`.
    pub service_version: Option<String>,
    /// `deployment.environment.name`.
    pub environment: Option<String>,
    /// Other resource attributes.
    pub resource_attributes: Vec<(String, String)>,
    /// Whether the console prints.
    pub console: bool,
    /// The console's lowest level.
    pub console_min_level: Level,
    /// The OTLP exporters.
    pub targets: Vec<OtlpTarget>,
    /// The root sampling ratio (1.0 keeps all), if ratio-based.
    pub sampling_ratio: f64,
    /// Whether children follow their parent's sampled flag.
    pub parent_based: bool,
    /// The lowest level recorded.
    pub min_level: Level,
    /// The `distributed_tracing` policy.
    pub distributed_tracing: DistributedTracing,
    /// Whether pending-span records are exported.
    pub pending_spans: bool,
    /// The export queue's capacity.
    pub max_queue_size: usize,
    /// The largest batch.
    pub max_batch: usize,
    /// How often a partial batch is sent.
    pub schedule_delay: Duration,
    /// How long one export may take, retries included.
    pub export_timeout: Duration,
    /// `OTEL_SDK_DISABLED=true`: nothing is recorded or exported.
    pub disabled: bool,
    /// Whether `TRACEPARENT` in the environment parents this process's root spans.
    pub attach_from_env: bool,
    /// The lowest level of `tracing` spans and events recorded.
    pub tracing_min_level: Level,
}

impl Settings {
    pub(crate) fn sampler(&self) -> Sampler {
        let root = if self.sampling_ratio >= 1.0 {
            RootSampler::AlwaysOn
        } else if self.sampling_ratio <= 0.0 {
            RootSampler::AlwaysOff
        } else {
            RootSampler::Ratio(self.sampling_ratio)
        };
        Sampler {
            parent_based: self.parent_based,
            root,
            records: true,
        }
    }
}

const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio";
const RATIO: &str = "a number from 0.0 to 1.0";

impl ConfigBuilder {
    /// The settings `finish()` would use, without starting anything.
    pub fn settings(&self) -> Result<Settings, ConfigureError> {
        let env = &self.env;
        let resource_env = env
            .get("OTEL_RESOURCE_ATTRIBUTES")
            .map(|t| parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &t))
            .transpose()?
            .unwrap_or_default();
        let from_resource = |key: &str| {
            resource_env
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let service_name = self
            .service_name
            .clone()
            .or_else(|| env.get("LOGFIRE_SERVICE_NAME"))
            .or_else(|| env.get("OTEL_SERVICE_NAME"))
            .or_else(|| from_resource("service.name"))
            .unwrap_or_else(default_service_name);
        let service_version = self
            .service_version
            .clone()
            .or_else(|| env.get("LOGFIRE_SERVICE_VERSION"))
            .or_else(|| from_resource("service.version"));
        let environment = self
            .environment
            .clone()
            .or_else(|| env.get("LOGFIRE_ENVIRONMENT"))
            .or_else(|| from_resource("deployment.environment.name"));
        let mut resource_attributes = self.resource_attributes.clone();
        resource_attributes.extend(resource_env.iter().cloned());

        let (sampling_ratio, parent_based) = self.sampling(env)?;
        let level = |name: &'static str| {
            env.get(name)
                .map(|v| {
                    v.parse::<Level>()
                        .map_err(|_| ConfigureError::InvalidValue {
                            name,
                            value: v,
                            expected: "trace, debug, info, notice, warn, error or fatal",
                        })
                })
                .transpose()
        };
        let distributed_tracing = match self.distributed_tracing {
            Some(p) => p,
            None => match env.get("LOGFIRE_DISTRIBUTED_TRACING") {
                Some(v) => weft_context::propagation::parse_env_value(&v)?.unwrap_or_default(),
                None => DistributedTracing::default(),
            },
        };
        let ms = |name: &'static str, default: u64| -> Result<Duration, ConfigureError> {
            Ok(Duration::from_millis(
                env.usize(name)?.map_or(default, |n| n as u64),
            ))
        };
        let disabled = env.bool("OTEL_SDK_DISABLED")?.unwrap_or(false);
        Ok(Settings {
            service_name,
            service_version,
            environment,
            resource_attributes,
            console: match self.console {
                Some(c) => c,
                None => env.bool("LOGFIRE_CONSOLE")?.unwrap_or(true),
            },
            console_min_level: match self.console_min_level {
                Some(l) => l,
                None => level("LOGFIRE_CONSOLE_MIN_LOG_LEVEL")?.unwrap_or(Level::Info),
            },
            targets: if disabled {
                Vec::new()
            } else {
                self.targets(env)?
            },
            sampling_ratio,
            parent_based,
            min_level: match self.min_level {
                Some(l) => l,
                None => level("LOGFIRE_MIN_LEVEL")?.unwrap_or(Level::Trace),
            },
            distributed_tracing,
            pending_spans: match self.pending_spans {
                Some(p) => p,
                None => env.bool("LOGFIRE_PENDING_SPANS")?.unwrap_or(true),
            },
            max_queue_size: match self.max_queue_size {
                Some(n) => n.max(1),
                None => env.usize("OTEL_BSP_MAX_QUEUE_SIZE")?.unwrap_or(2048),
            },
            max_batch: env.usize("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")?.unwrap_or(512),
            schedule_delay: ms("OTEL_BSP_SCHEDULE_DELAY", 500)?,
            export_timeout: ms("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)?,
            disabled,
            attach_from_env: self.attach_from_env.unwrap_or(true),
            tracing_min_level: match self.tracing_min_level {
                Some(l) => l,
                None => level("WEFT_TRACING_MIN_LEVEL")?.unwrap_or(Level::Info),
            },
        })
    }

    /// (root ratio, parent-based), as the Logfire SDK chooses: the builder's ratio, else
    /// the head rate `LOGFIRE_TRACE_SAMPLE_RATE`, then `OTEL_TRACES_SAMPLER_ARG`. A head
    /// rate below 1 is a parent-based ratio sampler whatever `OTEL_TRACES_SAMPLER` says;
    /// at 1 (or unset) `OTEL_TRACES_SAMPLER` chooses, with `OTEL_TRACES_SAMPLER_ARG` as
    /// its ratio, as the OpenTelemetry SDK Logfire falls back to does.
    fn sampling(&self, env: &EnvSource) -> Result<(f64, bool), ConfigureError> {
        if let Some(r) = self.sampling_ratio {
            if !(0.0..=1.0).contains(&r) {
                return Err(ConfigureError::InvalidValue {
                    name: "sampling_ratio",
                    value: r.to_string(),
                    expected: RATIO,
                });
            }
            return Ok((r, true));
        }
        let arg = env.f64("OTEL_TRACES_SAMPLER_ARG", RATIO)?;
        let head = env.f64("LOGFIRE_TRACE_SAMPLE_RATE", RATIO)?.or(arg);
        let ratio = arg.unwrap_or(1.0);
        // The sampler name is checked even when the head rate wins, so a typo is
        // reported rather than silently ignored.
        let named = match env.get("OTEL_TRACES_SAMPLER").as_deref().map(str::trim) {
            None | Some("parentbased_always_on") => (1.0, true),
            Some("always_on") => (1.0, false),
            Some("always_off") => (0.0, false),
            Some("parentbased_always_off") => (0.0, true),
            Some("traceidratio") => (ratio, false),
            Some("parentbased_traceidratio") => (ratio, true),
            Some(other) => {
                return Err(ConfigureError::InvalidValue {
                    name: "OTEL_TRACES_SAMPLER",
                    value: other.to_owned(),
                    expected: SAMPLERS,
                });
            }
        };
        match head {
            // Logfire: a head rate below 1 is a parent-based ratio sampler, even when
            // only `OTEL_TRACES_SAMPLER_ARG` is set and no sampler is named.
            Some(h) if h < 1.0 => Ok((h, true)),
            _ => Ok(named),
        }
    }

    fn targets(&self, env: &EnvSource) -> Result<Vec<OtlpTarget>, ConfigureError> {
        let protocol = match self.protocol {
            Some(p) => p,
            None => match env.first(&[
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ]) {
                Some((name, v)) => Protocol::parse(&v).ok_or(ConfigureError::InvalidValue {
                    name,
                    value: v,
                    expected: "http/protobuf, http/json or grpc",
                })?,
                None => Protocol::HttpProtobuf,
            },
        };
        let (headers_from, headers) = match &self.otlp_headers {
            Some(h) => ("otlp_headers", h.clone()),
            None => match env.first(&[
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "OTEL_EXPORTER_OTLP_HEADERS",
            ]) {
                Some((name, text)) => (name, parse_pairs(name, &text)?),
                None => ("OTEL_EXPORTER_OTLP_HEADERS", Vec::new()),
            },
        };
        check_headers(headers_from, &headers, protocol)?;
        let mut targets = Vec::new();
        let token = self.token.clone().or_else(|| env.get("LOGFIRE_TOKEN"));
        if let Some(token) = &token {
            let base = env
                .get("LOGFIRE_BASE_URL")
                .unwrap_or_else(|| logfire_base_url(token).to_owned());
            targets.push(OtlpTarget {
                url: format!("{}/v1/traces", base.trim_end_matches('/')),
                headers: vec![("Authorization".to_owned(), format!("Bearer {token}"))],
                protocol: Protocol::HttpProtobuf,
            });
        }
        let signal_url = if self.otlp_endpoint.is_some() {
            None
        } else {
            env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        };
        let base = self
            .otlp_endpoint
            .clone()
            .or_else(|| env.get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let url = match (signal_url, base) {
            (Some(url), _) => Some(url),
            (None, Some(base)) => Some(signal_path(&base, protocol)),
            (None, None) if token.is_none() && !self.no_default_exporter => {
                let base = if protocol == Protocol::Grpc {
                    "http://localhost:4317"
                } else {
                    "http://localhost:4318"
                };
                Some(signal_path(base, protocol))
            }
            (None, None) => None,
        };
        if let Some(url) = url {
            targets.push(OtlpTarget {
                url,
                headers,
                protocol,
            });
        }
        Ok(targets)
    }
}

/// Headers that cannot be sent are a configuration error, not a request that fails on
/// every export (HTTP) or a header silently left out (gRPC metadata).
fn check_headers(
    name: &'static str,
    headers: &[(String, String)],
    protocol: Protocol,
) -> Result<(), ConfigureError> {
    for (k, v) in headers {
        let bad_name = http::HeaderName::from_bytes(k.as_bytes()).is_err()
            // gRPC keeps `-bin` keys for binary values; these headers are text.
            || (protocol == Protocol::Grpc && k.to_ascii_lowercase().ends_with("-bin"));
        if bad_name {
            return Err(ConfigureError::InvalidValue {
                name,
                value: k.clone(),
                expected: if protocol == Protocol::Grpc {
                    "header names of ASCII letters, digits and !#$%&'*+-.^_`|~ (gRPC metadata: not ending in -bin)"
                } else {
                    "header names of ASCII letters, digits and !#$%&'*+-.^_`|~"
                },
            });
        }
        let bad_value = http::HeaderValue::from_str(v).is_err()
            // gRPC metadata values are visible ASCII (and spaces) only.
            || (protocol == Protocol::Grpc && !v.bytes().all(|b| b == b' ' || b.is_ascii_graphic()));
        if bad_value {
            return Err(ConfigureError::InvalidValue {
                name,
                value: format!("{k}=<{} bytes>", v.len()),
                expected: "header values without control characters (for gRPC: printable ASCII)",
            });
        }
    }
    Ok(())
}

/// OTLP/HTTP appends `/v1/traces` to a base endpoint; gRPC uses it as it is.
fn signal_path(base: &str, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => base.to_owned(),
        _ => format!("{}/v1/traces", base.trim_end_matches('/')),
    }
}

/// Logfire write tokens name their region: `pylf_v1_<region>_…`. Tokens without one
/// are from before regions and belong to the US region.
fn logfire_base_url(token: &str) -> &'static str {
    let mut parts = token.split('_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("pylf"), Some(v), Some("eu")) if v.starts_with('v') => {
            "https://logfire-eu.pydantic.dev"
        }
        _ => "https://logfire-us.pydantic.dev",
    }
}

fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    format!("unknown_service:{}", exe.as_deref().unwrap_or("rust"))
}
