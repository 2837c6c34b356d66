//! Parent cycles: following parent ids leads back to the start, so there is no root. The
//! tree builder cuts each cycle at its earliest span; this says where and why.

use super::{Context, Pitfall, Severity, name};
use crate::tree::Tree;

pub(super) struct Cycles;

impl Pitfall for Cycles {
    type Evidence = usize;
    const CODE: &'static str = "parent_cycle";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<usize> {
        tree.order
            .iter()
            .copied()
            .filter(|i| tree.nodes[*i].cycle_cut)
            .collect()
    }

    fn explain(&self, tree: &Tree, i: &usize) -> String {
        let n = &tree.nodes[*i];
        format!(
            "{} is its own ancestor (its parent {} leads back to it), so the cycle was cut there to draw the tree: span ids were reused or a parent was set from the wrong context; let the SDK assign ids and parents.",
            name(tree, *i),
            n.row
                .parent_span_id
                .map(|p| p.to_string())
                .unwrap_or_default(),
        )
    }

    fn spans(&self, i: &usize) -> Vec<usize> {
        vec![*i]
    }

    fn severity(&self, _ev: &usize) -> Severity {
        Severity::Error
    }

    fn summary(&self) -> &'static str {
        "parent cycle(s)"
    }
}
