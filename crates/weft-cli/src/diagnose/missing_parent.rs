//! A parent that never arrived, told apart by where it lived: a *remote* parent belongs to
//! an upstream service that did not export it (not instrumented, exporting elsewhere, or
//! sampled out); a *local* one was in the same process and never ended (crash, leaked span,
//! exit without flush). The OTLP span flags say which (bits 0x100 and 0x200); when an SDK
//! leaves them unset, the span kind and the other services in the trace decide, and the
//! sentence says it is a guess.
//!
//! Also here: a span whose Logfire pending record arrived but whose end never did.

use super::{Context, Pitfall, Severity, flags_remote, fmt_ns, is_entry_kind, name};
use crate::ids::SpanId;
use crate::tree::Tree;

/// Code of [`MissingParent`].
pub(super) const CODE: &str = "missing_parent";
/// Code of [`Unfinished`].
pub(super) const UNFINISHED_CODE: &str = "unfinished_span";

/// Where the missing parent lived, and how we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Remote { certain: bool },
    Local { certain: bool },
}

pub(super) struct Evidence {
    parent: SpanId,
    children: Vec<usize>,
    place: Place,
}

pub(super) struct MissingParent;

/// Decides remote or local for a child whose parent is missing.
pub(super) fn place_of(tree: &Tree, child: usize) -> Place {
    let n = &tree.nodes[child];
    if let Some(remote) = flags_remote(n.row.flags) {
        return if remote {
            Place::Remote { certain: true }
        } else {
            Place::Local { certain: true }
        };
    }
    // No flags: entry spans continue a caller; so does a span whose service is alone among others.
    let other_services = tree.nodes.iter().any(|o| o.row.service != n.row.service);
    if is_entry_kind(n.row.kind)
        || (other_services
            && n.depth == 0
            && !tree
                .nodes
                .iter()
                .any(|o| o.row.service == n.row.service && o.row.parent_span_id.is_none()))
    {
        Place::Remote { certain: false }
    } else {
        Place::Local { certain: false }
    }
}

impl Pitfall for MissingParent {
    type Evidence = Evidence;
    const CODE: &'static str = CODE;

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<Evidence> {
        let mut out: Vec<Evidence> = Vec::new();
        for &i in &tree.order {
            let n = &tree.nodes[i];
            if !n.missing_parent {
                continue;
            }
            let parent = match n.row.signal {
                crate::store::record::Signal::Log => n.row.span_id,
                crate::store::record::Signal::Span => match n.row.parent_span_id {
                    Some(p) => p,
                    None => continue,
                },
            };
            if let Some(ev) = out.iter_mut().find(|e| e.parent == parent) {
                ev.children.push(i);
            } else {
                out.push(Evidence {
                    parent,
                    children: vec![i],
                    place: place_of(tree, i),
                });
            }
        }
        out
    }

    fn explain(&self, tree: &Tree, ev: &Evidence) -> String {
        let first = name(tree, ev.children[0]);
        let more = match ev.children.len() {
            1 => String::new(),
            n => format!(" (and {} other span(s))", n - 1),
        };
        match ev.place {
            Place::Remote { certain } => format!(
                "{first}{more} continues parent span {} from another process that no exporter sent here{}: the upstream service is not instrumented, exports to another backend, or sampled this trace out; instrument it and point its OTLP exporter at weft, or if the caller is not yours set distributed_tracing=false (LOGFIRE_DISTRIBUTED_TRACING=false) on this service.",
                ev.parent,
                if certain {
                    " (span flags: parent is remote)"
                } else {
                    " (guessed: the span flags do not say; the span is an entry point or its service's only top span)"
                },
            ),
            Place::Local { certain } => format!(
                "{first}{more} has parent span {} in the same process{}, but that span never arrived: it never ended (crash, leaked span) or the process exited before flushing; end spans on every path and call force_flush/shutdown before exit.",
                ev.parent,
                if certain {
                    " (span flags: parent is local)"
                } else {
                    " (guessed: the span flags do not say)"
                },
            ),
        }
    }

    fn spans(&self, ev: &Evidence) -> Vec<usize> {
        ev.children.clone()
    }

    fn severity(&self, _ev: &Evidence) -> Severity {
        Severity::Warning
    }

    fn summary(&self) -> &'static str {
        "span(s) missing their parent"
    }
}

/// A span that started (its pending record arrived) but never ended.
pub(super) struct Unfinished;

/// After this long without an end, an open span is reported as never ended, not running.
const RUNNING_GRACE_NS: i64 = 60_000_000_000;

impl Pitfall for Unfinished {
    type Evidence = (usize, i64);
    const CODE: &'static str = UNFINISHED_CODE;

    fn check(&self, tree: &Tree, cx: &Context) -> Vec<(usize, i64)> {
        tree.order
            .iter()
            .filter(|i| tree.nodes[**i].open)
            .map(|i| (*i, cx.now_ns.saturating_sub(tree.nodes[*i].row.start_ns)))
            .collect()
    }

    fn explain(&self, tree: &Tree, (i, age): &(usize, i64)) -> String {
        if *age < RUNNING_GRACE_NS {
            format!(
                "{} started {} ago and has not ended yet; it is drawn as an open bar until its end arrives.",
                name(tree, *i),
                fmt_ns(*age)
            )
        } else {
            format!(
                "{} started {} ago (its pending record arrived) but its end never did: the process crashed, the span leaked, or the exporter was not flushed at exit; end spans on every path and call force_flush/shutdown before exit.",
                name(tree, *i),
                fmt_ns(*age)
            )
        }
    }

    fn spans(&self, (i, _): &(usize, i64)) -> Vec<usize> {
        vec![*i]
    }

    fn severity(&self, (_, age): &(usize, i64)) -> Severity {
        if *age < RUNNING_GRACE_NS {
            Severity::Info
        } else {
            Severity::Warning
        }
    }

    fn summary(&self) -> &'static str {
        "span(s) started but not ended"
    }
}
