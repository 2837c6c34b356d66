//! A trace rooted outside: a public service extracted a `traceparent` it did not create
//! (a browser, a proxy, a cloud load balancer, another company's client). Either the entry
//! span's remote parent never arrives, or one trace id collects several unrelated requests:
//! entry spans with remote parents, far apart in time. Logfire's advice applies to any SDK:
//! stop extracting on the public edge.

use super::missing_parent::{Place, place_of};
use super::{Context, Pitfall, Severity, fmt_ns, is_entry_kind, name};
use crate::store::record::Signal;
use crate::tree::Tree;

/// Entry spans this far apart are separate requests, not one fan-out.
pub(super) const APART_NS: i64 = 10_000_000_000;

pub(super) enum Evidence {
    /// The only top entry span continues a remote parent that never arrived.
    RootedOutside { entry: usize },
    /// Several entry spans with remote parents, `gap_ns` apart at most.
    Grouped { entries: Vec<usize>, gap_ns: i64 },
}

pub(super) struct ExternalRoot;

const FIX: &str = "set distributed_tracing=false (LOGFIRE_DISTRIBUTED_TRACING=false) on the public service, or strip traceparent at your edge, so each request starts its own trace";

impl Pitfall for ExternalRoot {
    type Evidence = Evidence;
    const CODE: &'static str = "external_root";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<Evidence> {
        // Entry spans whose (remote) parent is not in the trace.
        let mut entries: Vec<usize> = tree
            .roots
            .iter()
            .copied()
            .filter(|i| {
                let n = &tree.nodes[*i];
                n.row.signal == Signal::Span
                    && n.missing_parent
                    && is_entry_kind(n.row.kind)
                    && matches!(place_of(tree, *i), Place::Remote { .. })
            })
            .collect();
        entries.sort_by_key(|i| tree.nodes[*i].row.start_ns);
        let has_true_root = tree.nodes.iter().any(|n| {
            n.row.signal == Signal::Span && n.parent.is_none() && !n.missing_parent && !n.cycle_cut
        });
        let gap_ns = entries
            .windows(2)
            .map(|w| tree.nodes[w[1]].row.start_ns - tree.effective_end(w[0]))
            .max()
            .unwrap_or(0);
        if entries.len() >= 2 && gap_ns >= APART_NS {
            return vec![Evidence::Grouped { entries, gap_ns }];
        }
        if !has_true_root {
            if let Some(&first) = entries.first() {
                if tree.roots.first() == Some(&first)
                    || tree
                        .roots
                        .iter()
                        .all(|r| tree.nodes[*r].row.start_ns >= tree.nodes[first].row.start_ns)
                {
                    return vec![Evidence::RootedOutside { entry: first }];
                }
            }
        }
        Vec::new()
    }

    fn explain(&self, tree: &Tree, ev: &Evidence) -> String {
        match ev {
            Evidence::RootedOutside { entry } => format!(
                "The trace was started outside: entry span {} continues remote parent {} that no service here exported, so the trace id came from the caller; if that caller is not yours, {FIX}.",
                name(tree, *entry),
                tree.nodes[*entry]
                    .row
                    .parent_span_id
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            ),
            Evidence::Grouped { entries, gap_ns } => format!(
                "{} unrelated requests share this trace id: entry spans {} and {} continue remote parents from outside and are up to {} apart, so a client or proxy reuses one traceparent; {FIX}.",
                entries.len(),
                name(tree, entries[0]),
                name(tree, entries[entries.len() - 1]),
                fmt_ns(*gap_ns),
            ),
        }
    }

    fn spans(&self, ev: &Evidence) -> Vec<usize> {
        match ev {
            Evidence::RootedOutside { entry } => vec![*entry],
            Evidence::Grouped { entries, .. } => entries.clone(),
        }
    }

    fn severity(&self, _ev: &Evidence) -> Severity {
        Severity::Warning
    }

    fn summary(&self) -> &'static str {
        "sign(s) the trace was rooted outside"
    }
}
