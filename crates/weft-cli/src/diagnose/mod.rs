//! Health checks: each pitfall of distributed tracing that makes a trace look wrong has
//! its own file with `check` (find it), `explain` (one sentence: what happened, why, the
//! evidence measured, the fix) and `summary` (a fragment after a count), like tokio-console's
//! `warnings.rs`. The viewer shows them beside the tree instead of a silently odd picture.

mod clock_skew;
mod cycles;
mod duplicate_ids;
mod external_root;
mod missing_parent;
mod sampling_gap;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tree::Tree;

pub use clock_skew::skew_offsets;

/// OTLP span flags: bit 8 says whether bit 9 (parent is remote) is known.
/// <https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto> (`SpanFlags`).
pub const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: u32 = 0x100;
/// OTLP span flags: the parent span context was remote (only meaningful with bit 8).
pub const SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK: u32 = 0x200;
/// W3C trace flags `sampled` bit, carried in the low byte of the OTLP span flags.
pub const TRACE_FLAGS_SAMPLED: u32 = 0x01;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing (a span still running).
    Info,
    /// The tree is incomplete or misleading.
    Warning,
    /// The data is inconsistent (duplicate ids, cycles).
    Error,
}

/// One diagnosis about one trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Which pitfall (`missing_parent`, `external_root`, `sampling_gap`, `clock_skew`,
    /// `duplicate_span_id`, `parent_cycle`, `unfinished_span`).
    pub code: String,
    /// How bad.
    pub severity: Severity,
    /// Keys of the spans concerned (see [`crate::tree::Node::key`]).
    pub spans: Vec<String>,
    /// One sentence: cause, evidence and fix.
    pub explain: String,
}

/// A count of findings of one kind, for badges ("2 spans are missing their parent").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Badge {
    /// The pitfall.
    pub code: String,
    /// Worst severity among its findings.
    pub severity: Severity,
    /// How many findings.
    pub count: usize,
    /// Count plus summary fragment.
    pub summary: String,
}

/// Facts the checks need beside the tree.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Wall clock now, to tell a running span from one that never ended.
    pub now_ns: i64,
}

/// One pitfall.
pub(crate) trait Pitfall {
    /// What `check` found for one occurrence.
    type Evidence;
    /// Stable code used in the API and the UI.
    const CODE: &'static str;
    /// Finds every occurrence in the tree.
    fn check(&self, tree: &Tree, cx: &Context) -> Vec<Self::Evidence>;
    /// One sentence naming cause, evidence and fix.
    fn explain(&self, tree: &Tree, ev: &Self::Evidence) -> String;
    /// Node indices concerned.
    fn spans(&self, ev: &Self::Evidence) -> Vec<usize>;
    /// How bad this occurrence is.
    fn severity(&self, ev: &Self::Evidence) -> Severity;
    /// The fragment after a count: "span(s) are missing their parent".
    fn summary(&self) -> &'static str;
}

fn run<P: Pitfall>(p: &P, tree: &Tree, cx: &Context, out: &mut Vec<Finding>) {
    for ev in p.check(tree, cx) {
        out.push(Finding {
            code: P::CODE.to_owned(),
            severity: p.severity(&ev),
            spans: p
                .spans(&ev)
                .into_iter()
                .map(|i| tree.nodes[i].key.clone())
                .collect(),
            explain: p.explain(tree, &ev),
        });
    }
}

fn summary_of(code: &str) -> &'static str {
    match code {
        missing_parent::CODE => missing_parent::MissingParent.summary(),
        missing_parent::UNFINISHED_CODE => missing_parent::Unfinished.summary(),
        external_root::ExternalRoot::CODE => external_root::ExternalRoot.summary(),
        sampling_gap::SamplingGap::CODE => sampling_gap::SamplingGap.summary(),
        clock_skew::ClockSkew::CODE => clock_skew::ClockSkew.summary(),
        duplicate_ids::DuplicateIds::CODE => duplicate_ids::DuplicateIds.summary(),
        _ => cycles::Cycles.summary(),
    }
}

/// Runs every check on the tree.
pub fn diagnose(tree: &Tree, cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    run(&missing_parent::MissingParent, tree, cx, &mut out);
    run(&missing_parent::Unfinished, tree, cx, &mut out);
    run(&external_root::ExternalRoot, tree, cx, &mut out);
    run(&sampling_gap::SamplingGap, tree, cx, &mut out);
    run(&clock_skew::ClockSkew, tree, cx, &mut out);
    run(&duplicate_ids::DuplicateIds, tree, cx, &mut out);
    run(&cycles::Cycles, tree, cx, &mut out);
    out
}

/// Groups findings into badges, worst first.
pub fn badges(findings: &[Finding]) -> Vec<Badge> {
    let mut by_code: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for f in findings {
        let e = by_code.entry(&f.code).or_insert((f.severity, 0));
        e.0 = e.0.max(f.severity);
        e.1 += 1;
    }
    let mut out: Vec<Badge> = by_code
        .into_iter()
        .map(|(code, (severity, count))| Badge {
            code: code.to_owned(),
            severity,
            count,
            summary: format!("{count} {}", summary_of(code)),
        })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
    out
}

/// A duration for people: `850 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`, `3m 12s`.
pub fn fmt_ns(ns: i64) -> String {
    let a = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    if a < 1e3 {
        format!("{sign}{a} ns")
    } else if a < 1e6 {
        format!("{sign}{:.1} µs", a / 1e3)
    } else if a < 1e9 {
        format!("{sign}{:.2} ms", a / 1e6)
    } else if a < 60e9 {
        format!("{sign}{:.2} s", a / 1e9)
    } else {
        let s = (a / 1e9) as u64;
        format!("{sign}{}m {}s", s / 60, s % 60)
    }
}

/// `'label' (service)`, how findings name a span.
pub(crate) fn name(tree: &Tree, i: usize) -> String {
    let n = &tree.nodes[i];
    format!("'{}' ({})", n.label(), n.row.service)
}

/// OTLP `SpanKind` SERVER or CONSUMER: spans that start work on behalf of a caller.
pub(crate) fn is_entry_kind(kind: i32) -> bool {
    kind == 2 || kind == 5
}

/// What the span flags say about the parent: `Some(true)` remote, `Some(false)` local,
/// `None` when the exporter did not fill the bits (older SDKs).
pub(crate) fn flags_remote(flags: u32) -> Option<bool> {
    (flags & SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK != 0)
        .then_some(flags & SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK != 0)
}
