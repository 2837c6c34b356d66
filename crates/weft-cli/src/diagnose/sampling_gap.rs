//! Gaps left by sampling: a service decided not to sample a trace (its spans are never
//! exported) while a downstream service records anyway, so its spans hang off a parent
//! nobody will ever send. The evidence is the W3C `sampled` bit (low byte of the OTLP span
//! flags) being 0 on spans that did arrive, visible only when the SDK fills the flags
//! (bit 0x100 set), or a `sampling.priority` of 0.

use super::{Context, Pitfall, Severity, TRACE_FLAGS_SAMPLED, name};
use crate::tree::Tree;

pub(super) struct Evidence {
    /// Spans that arrived with sampled = 0.
    unsampled: Vec<usize>,
    /// Of those, the ones whose parent is missing (the gap itself).
    orphans: usize,
}

pub(super) struct SamplingGap;

/// Whether the flags carry a trace-flags byte at all (SDKs that set the remote bits do).
fn flags_known(flags: u32) -> bool {
    flags & super::SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK != 0 || flags & 0xff != 0
}

fn unsampled_hint(tree: &Tree, i: usize) -> bool {
    let row = &tree.nodes[i].row;
    (flags_known(row.flags) && row.flags & TRACE_FLAGS_SAMPLED == 0)
        || row.attributes.contains("\"sampling.priority\":0")
}

impl Pitfall for SamplingGap {
    type Evidence = Evidence;
    const CODE: &'static str = "sampling_gap";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<Evidence> {
        let unsampled: Vec<usize> = tree
            .order
            .iter()
            .copied()
            .filter(|i| {
                tree.nodes[*i].row.signal == crate::store::record::Signal::Span
                    && unsampled_hint(tree, *i)
            })
            .collect();
        let orphans = unsampled
            .iter()
            .filter(|i| tree.nodes[**i].missing_parent)
            .count();
        if orphans == 0 {
            return Vec::new();
        }
        vec![Evidence { unsampled, orphans }]
    }

    fn explain(&self, tree: &Tree, ev: &Evidence) -> String {
        let first = ev
            .unsampled
            .iter()
            .copied()
            .find(|i| tree.nodes[*i].missing_parent)
            .unwrap_or(ev.unsampled[0]);
        format!(
            "{} span(s) arrived with trace flags sampled=0 ({} of them missing their parent, e.g. {}): the upstream service sampled this trace out and exported nothing while this service recorded anyway; use a parent-based sampler everywhere (ParentBased, the OTel default) or sample once at the edge.",
            ev.unsampled.len(),
            ev.orphans,
            name(tree, first),
        )
    }

    fn spans(&self, ev: &Evidence) -> Vec<usize> {
        ev.unsampled.clone()
    }

    fn severity(&self, _ev: &Evidence) -> Severity {
        Severity::Warning
    }

    fn summary(&self) -> &'static str {
        "gap(s) left by sampling"
    }
}
