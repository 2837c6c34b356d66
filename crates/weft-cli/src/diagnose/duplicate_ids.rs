//! Duplicate span ids: two different spans in one trace with the same id. Children then
//! hang under whichever came first. Usually a non-random id generator (a fixed seed, a fork
//! without reseeding) or hand-made ids.

use std::collections::BTreeMap;

use super::{Context, Pitfall, Severity, name};
use crate::ids::SpanId;
use crate::store::record::Signal;
use crate::tree::Tree;

pub(super) struct DuplicateIds;

impl Pitfall for DuplicateIds {
    type Evidence = (SpanId, Vec<usize>);
    const CODE: &'static str = "duplicate_span_id";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<(SpanId, Vec<usize>)> {
        let mut groups: BTreeMap<SpanId, Vec<usize>> = BTreeMap::new();
        for (i, n) in tree.nodes.iter().enumerate() {
            if n.duplicate_id && n.row.signal == Signal::Span && !n.open {
                groups.entry(n.row.span_id).or_default().push(i);
            }
        }
        groups.into_iter().filter(|(_, v)| v.len() > 1).collect()
    }

    fn explain(&self, tree: &Tree, (id, nodes): &(SpanId, Vec<usize>)) -> String {
        format!(
            "{} different spans share span id {id} ({} and {}): children cannot tell them apart and hang under the first; the id generator is not random per process (fixed seed, fork without reseeding) or ids are made by hand, so use the SDK's random ids.",
            nodes.len(),
            name(tree, nodes[0]),
            name(tree, nodes[1]),
        )
    }

    fn spans(&self, (_, nodes): &(SpanId, Vec<usize>)) -> Vec<usize> {
        nodes.clone()
    }

    fn severity(&self, _ev: &(SpanId, Vec<usize>)) -> Severity {
        Severity::Error
    }

    fn summary(&self) -> &'static str {
        "span id(s) used by more than one span"
    }
}
