//! Clock skew between services: a child in another service that starts before its parent
//! or (under a CLIENT call) ends after it. Within one process that cannot happen; across hosts it means their
//! clocks disagree. The offset is estimated per service (the smallest shift that puts its
//! spans inside their parents), shown, and applied only when asked (`?correct_skew=1`).

use std::collections::BTreeMap;

use super::{Context, Pitfall, Severity, fmt_ns, name};
use crate::store::record::Signal;
use crate::tree::Tree;

/// Below this, a child poking out of its parent is rounding, not skew.
const TOLERANCE_NS: i64 = 100_000;

pub(super) struct Evidence {
    service: String,
    parent_service: String,
    /// Add this to the service's timestamps to fix it.
    offset_ns: i64,
    example: usize,
}

pub(super) struct ClockSkew;

/// The shift that puts `child` inside `parent`, if it pokes out by more than the tolerance.
fn needed_shift(tree: &Tree, parent: usize, child: usize, parent_offset: i64) -> Option<i64> {
    let p = &tree.nodes[parent];
    let c = &tree.nodes[child];
    let (ps, pe) = (
        p.row.start_ns + parent_offset,
        tree.effective_end(parent) + parent_offset,
    );
    // Nothing starts before its cause; but only a synchronous call (a CLIENT parent) must
    // also outlive its child: a PRODUCER's consumer may well finish later.
    let early = ps - c.row.start_ns;
    let late = if p.open || p.row.kind != 3 {
        0
    } else {
        c.row.end_ns - pe
    };
    match (early > TOLERANCE_NS, late > TOLERANCE_NS) {
        (true, true) => Some((early - late) / 2),
        (true, false) => Some(early),
        (false, true) => Some(-late),
        (false, false) => None,
    }
}

/// Per-service evidence, parents' services resolved before their children's.
fn estimate(tree: &Tree) -> Vec<Evidence> {
    let mut found: BTreeMap<String, Evidence> = BTreeMap::new();
    for &i in &tree.order {
        let c = &tree.nodes[i];
        let Some(p) = c.parent else { continue };
        let parent = &tree.nodes[p];
        if c.row.signal != Signal::Span || c.open || parent.row.service == c.row.service {
            continue;
        }
        let parent_offset = found.get(&parent.row.service).map_or(0, |e| e.offset_ns);
        let Some(shift) = needed_shift(tree, p, i, parent_offset) else {
            continue;
        };
        let better = found
            .get(&c.row.service)
            .is_none_or(|e| shift.abs() > e.offset_ns.abs());
        if better {
            found.insert(
                c.row.service.clone(),
                Evidence {
                    service: c.row.service.clone(),
                    parent_service: parent.row.service.clone(),
                    offset_ns: shift,
                    example: i,
                },
            );
        }
    }
    found.into_values().collect()
}

/// Service → nanoseconds to add to its timestamps (only services that need it).
pub fn skew_offsets(tree: &Tree) -> BTreeMap<String, i64> {
    estimate(tree)
        .into_iter()
        .map(|e| (e.service, e.offset_ns))
        .collect()
}

impl Pitfall for ClockSkew {
    type Evidence = Evidence;
    const CODE: &'static str = "clock_skew";

    fn check(&self, tree: &Tree, _cx: &Context) -> Vec<Evidence> {
        estimate(tree)
    }

    fn explain(&self, tree: &Tree, ev: &Evidence) -> String {
        let c = &tree.nodes[ev.example];
        let p = c.parent.map(|p| name(tree, p)).unwrap_or_default();
        let direction = if ev.offset_ns > 0 {
            "behind"
        } else {
            "ahead of"
        };
        format!(
            "The clock of '{}' looks {} {} '{}': its span {} lies outside its parent {} by that much, which one clock cannot do; sync the hosts' clocks (NTP/chrony), or view with ?correct_skew=1 to shift '{}' by {}.",
            ev.service,
            fmt_ns(ev.offset_ns.abs()),
            direction,
            ev.parent_service,
            name(tree, ev.example),
            p,
            ev.service,
            fmt_ns(ev.offset_ns),
        )
    }

    fn spans(&self, ev: &Evidence) -> Vec<usize> {
        vec![ev.example]
    }

    fn severity(&self, _ev: &Evidence) -> Severity {
        Severity::Warning
    }

    fn summary(&self) -> &'static str {
        "service clock(s) skewed"
    }
}
