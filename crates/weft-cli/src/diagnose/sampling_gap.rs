//! Gaps left by sampling: a service dropped a trace (exported none of its spans) while a
//! service downstream recorded anyway, so the downstream spans hang off a parent nobody will
//! ever send.
//!
//! What an OTLP export can show, strongest first:
//! - a `sampling.priority` attribute of 0 (the OpenTracing/Datadog convention) on an arrived
//!   span: it says outright that the trace was dropped;
//! - the W3C `sampled` bit (low byte of the OTLP span flags) at 0 on an arrived span. Many
//!   SDKs (OpenTelemetry Python and Go) never fill that byte and send only the is-remote bits,
//!   so a 0 there means nothing unless the same service's exporter is seen filling it (another
//!   of its spans in the trace has a non-zero byte);
//! - a W3C `tracestate` `ot=th:` (OTEP 235) or `ot=p:` entry: the trace went through
//!   probability sampling, so a service with a lower probability may have dropped it;
//! - a hole in the middle: the trace has its root here (the upstream exports to weft), yet a
//!   span continues a *remote* parent that never arrived. The service in between created that
//!   span and did not export it. The usual cause is a sampler that is not parent-based (a bare
//!   `TraceIdRatioBased`) dropping a trace its caller kept: it then propagates sampled=0 and a
//!   downstream service whose sampler also ignores the parent records anyway. Exporting to
//!   another backend looks the same, and the sentence says so.
//!
//! The parent's own sampled bit is never in OTLP (the span flags carry only the child's
//! flags and the is-remote bits), so without one of these signs weft does not claim sampling.

use std::collections::BTreeSet;

use super::missing_parent::{Place, place_of};
use super::{Context, Pitfall, Severity, TRACE_FLAGS_SAMPLED, name};
use crate::store::record::Signal;
use crate::tree::Tree;

pub(super) struct Evidence {
    /// Arrived spans whose parent is missing and that the signs below concern.
    orphans: Vec<usize>,
    /// Spans with sampled = 0 from an exporter seen filling the trace-flags byte.
    unsampled: Vec<usize>,
    /// Spans with `sampling.priority` = 0.
    priority_zero: Vec<usize>,
    /// A span whose tracestate records probability sampling, its probability and the entry.
    probability: Option<(usize, f64, String)>,
    /// The trace has a true root, so the missing parents are a hole in the middle.
    middle: bool,
}

pub(super) struct SamplingGap;

/// `sampling.priority` is 0 (as a number or a string), not merely starting with 0.
fn priority_zero(attributes: &str) -> bool {
    if !attributes.contains("\"sampling.priority\"") {
        return false;
    }
    let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(attributes)
    else {
        return false;
    };
    match map.get("sampling.priority") {
        Some(serde_json::Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok() == Some(0.0),
        _ => false,
    }
}

/// The sampling probability in a tracestate's `ot` entry, with the sub-entry it came from:
/// `th:T` (OTEP 235: keep when the 56-bit randomness ≥ T) or `p:P` (OTEP 168: 2^-P).
/// `None` without such an entry or when it says 100 %.
pub(super) fn tracestate_probability(trace_state: &str) -> Option<(f64, String)> {
    let ot = trace_state
        .split(',')
        .find_map(|e| e.trim().strip_prefix("ot="))?;
    for part in ot.split(';') {
        if let Some(th) = part.strip_prefix("th:") {
            if th.is_empty() || th.len() > 14 {
                continue;
            }
            // Trailing zeros are omitted: "c" is 0xc0000000000000.
            let padded = format!("{th:0<14}");
            let t = u64::from_str_radix(&padded, 16).ok()?;
            let p = 1.0 - t as f64 / (1u64 << 56) as f64;
            return (p < 1.0).then(|| (p, format!("ot=th:{th}")));
        }
        if let Some(pv) = part.strip_prefix("p:") {
            let v: u32 = pv.parse().ok()?;
            let p = if v >= 63 { 0.0 } else { 0.5f64.powi(v as i32) };
            return (p < 1.0).then(|| (p, format!("ot=p:{pv}")));
        }
    }
    None
}

impl Pitfall for SamplingGap {
    type Evidence = Evidence;
    const CODE: &'static str = "sampling_gap";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<Evidence> {
        let spans = || {
            tree.order
                .iter()
                .copied()
                .filter(|i| tree.nodes[*i].row.signal == Signal::Span)
        };
        // Services whose exporter fills the trace-flags byte (it is never 0 for them otherwise).
        let fills_flags: BTreeSet<&str> = spans()
            .filter(|i| tree.nodes[*i].row.flags & 0xff != 0)
            .map(|i| tree.nodes[i].row.service.as_str())
            .collect();
        let unsampled: Vec<usize> = spans()
            .filter(|i| {
                let row = &tree.nodes[*i].row;
                fills_flags.contains(row.service.as_str()) && row.flags & TRACE_FLAGS_SAMPLED == 0
            })
            .collect();
        let priority: Vec<usize> = spans()
            .filter(|i| priority_zero(&tree.nodes[*i].row.attributes))
            .collect();
        let probability = spans().find_map(|i| {
            tracestate_probability(&tree.nodes[i].row.trace_state).map(|(p, e)| (i, p, e))
        });
        let middle = tree.nodes.iter().any(|n| {
            n.row.signal == Signal::Span && n.parent.is_none() && !n.missing_parent && !n.cycle_cut
        });
        let explicit = |i: &usize| unsampled.contains(i) || priority.contains(i);
        let orphans: Vec<usize> = spans()
            .filter(|i| tree.nodes[*i].missing_parent)
            .filter(|i| {
                explicit(i)
                    || ((probability.is_some() || middle)
                        && matches!(place_of(tree, *i), Place::Remote { .. }))
            })
            .collect();
        if orphans.is_empty() {
            return Vec::new();
        }
        vec![Evidence {
            orphans,
            unsampled,
            priority_zero: priority,
            probability,
            middle,
        }]
    }

    fn explain(&self, tree: &Tree, ev: &Evidence) -> String {
        const FIX: &str = "use a parent-based sampler in every service (ParentBased, the OpenTelemetry default) or sample once at the edge";
        let first = name(tree, ev.orphans[0]);
        let count = ev.orphans.len();
        let parent = tree.nodes[ev.orphans[0]]
            .row
            .parent_span_id
            .map(|p| p.to_string())
            .unwrap_or_default();
        if !ev.priority_zero.is_empty() || !ev.unsampled.is_empty() {
            let mut signs = Vec::new();
            if !ev.priority_zero.is_empty() {
                signs.push(format!(
                    "{} span(s) with sampling.priority=0",
                    ev.priority_zero.len()
                ));
            }
            if !ev.unsampled.is_empty() {
                signs.push(format!(
                    "{} span(s) with trace flags sampled=0 from an exporter that fills them",
                    ev.unsampled.len()
                ));
            }
            return format!(
                "Spans arrived marked as sampled out ({}), and {count} span(s) miss their parent, e.g. {first} (parent {parent}): a service upstream dropped this trace and exported nothing while this one recorded anyway; {FIX}.",
                signs.join(", "),
            );
        }
        let why = match (&ev.probability, ev.middle) {
            (Some((i, p, entry)), _) => format!(
                "this trace went through probability sampling ({entry} on {}: kept with probability {:.3}), so a service with a lower probability likely dropped it",
                name(tree, *i),
                p
            ),
            _ => "the trace's root arrived, so its upstream exports here; the service in between created the parent span and did not export it, most often because its sampler is not parent-based (a bare TraceIdRatioBased dropped the trace its caller kept, then sent sampled=0 on, and this service's sampler ignored it), otherwise because that service exports to another backend".to_owned(),
        };
        format!(
            "A gap inside the trace: {count} span(s) continue a remote parent that never arrived, e.g. {first} (parent {parent}); {why}; {FIX}.",
        )
    }

    fn spans(&self, ev: &Evidence) -> Vec<usize> {
        ev.orphans.clone()
    }

    fn severity(&self, _ev: &Evidence) -> Severity {
        Severity::Warning
    }

    fn summary(&self) -> &'static str {
        "gap(s) left by sampling"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{priority_zero, tracestate_probability};

    #[test]
    fn sampling_priority_zero_is_exactly_zero() {
        assert!(priority_zero(r#"{"sampling.priority":0}"#));
        assert!(priority_zero(r#"{"sampling.priority":"0"}"#));
        assert!(priority_zero(r#"{"a":1,"sampling.priority":0.0}"#));
        assert!(!priority_zero(r#"{"sampling.priority":0.5}"#));
        assert!(!priority_zero(r#"{"sampling.priority":1}"#));
        assert!(!priority_zero(r#"{"other":"sampling.priority"}"#));
    }

    #[test]
    fn tracestate_thresholds_and_p_values() {
        let (p, e) = tracestate_probability("vendor=x,ot=th:c;rv:abc").unwrap();
        assert!((p - 0.25).abs() < 1e-9, "{p}");
        assert_eq!(e, "ot=th:c");
        let (p, _) = tracestate_probability("ot=p:3").unwrap();
        assert!((p - 0.125).abs() < 1e-9);
        assert!(
            tracestate_probability("ot=th:0").is_none(),
            "th:0 keeps all"
        );
        assert!(tracestate_probability("ot=p:0").is_none());
        assert!(tracestate_probability("vendor=th:c").is_none());
        assert!(tracestate_probability("").is_none());
    }
}
