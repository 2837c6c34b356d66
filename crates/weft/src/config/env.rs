//! Reading the environment the way the Logfire SDKs and OpenTelemetry read it. The
//! source is injectable, so tests pass a map instead of mutating the process
//! environment.

use super::ConfigureError;
use std::collections::HashMap;

/// Where environment variables are read from.
#[derive(Debug, Clone, Default)]
pub(crate) enum EnvSource {
    /// The process environment.
    #[default]
    Process,
    /// Only this map (for tests).
    Map(HashMap<String, String>),
}

impl EnvSource {
    /// The variable's value; an empty value counts as unset, as in the Logfire SDK.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let v = match self {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Map(m) => m.get(name).cloned(),
        };
        v.filter(|v| !v.trim().is_empty())
    }

    /// The first of `names` that is set, with the name it was read from, so an error
    /// about its value names the variable the user actually set.
    pub(crate) fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names.iter().find_map(|n| self.get(n).map(|v| (*n, v)))
    }

    /// A boolean in Logfire's spelling: `1/true/t` or `0/false/f`, any case.
    pub(crate) fn bool(&self, name: &'static str) -> Result<Option<bool>, ConfigureError> {
        self.get(name).map(|v| parse_bool(name, &v)).transpose()
    }

    pub(crate) fn f64(
        &self,
        name: &'static str,
        expected: &'static str,
    ) -> Result<Option<f64>, ConfigureError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| (0.0..=1.0).contains(f))
                    .ok_or(ConfigureError::InvalidValue {
                        name,
                        value: v,
                        expected,
                    })
            })
            .transpose()
    }

    pub(crate) fn usize(&self, name: &'static str) -> Result<Option<usize>, ConfigureError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or(
                    ConfigureError::InvalidValue {
                        name,
                        value: v,
                        expected: "a positive whole number",
                    },
                )
            })
            .transpose()
    }

    /// Every variable, for the child-process carrier (`TRACEPARENT`…).
    pub(crate) fn carrier_vars(&self) -> Vec<(String, String)> {
        ["TRACEPARENT", "TRACESTATE", "BAGGAGE"]
            .into_iter()
            .filter_map(|k| self.get(k).map(|v| (k.to_owned(), v)))
            .collect()
    }
}

pub(crate) fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigureError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" => Ok(true),
        "0" | "false" | "f" => Ok(false),
        _ => Err(ConfigureError::InvalidValue {
            name,
            value: value.to_owned(),
            expected: "true or false (also 1/0, t/f)",
        }),
    }
}

/// `k1=v1,k2=v2` with percent-encoded values, as `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES` are written.
pub(crate) fn parse_pairs(
    name: &'static str,
    text: &str,
) -> Result<Vec<(String, String)>, ConfigureError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ConfigureError::InvalidValue {
                    name,
                    value: text.to_owned(),
                    expected: "comma-separated key=value pairs, e.g. k1=v1,k2=v2",
                })?;
            let v = percent_encoding::percent_decode_str(v.trim())
                .decode_utf8_lossy()
                .into_owned();
            Ok((k.trim().to_owned(), v))
        })
        .collect()
}
