//! Plain-text rendering of the list and of one trace.

use std::fmt::Write;

use crate::diagnose::fmt_ns;
use crate::view::{TraceSummary, TraceView};

/// The trace list as a table.
pub fn print_traces(list: &[TraceSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32}  {:>10}  {:>5}  {:>4}  {:<30}  {:<20}  HEALTH",
        "TRACE", "DURATION", "SPANS", "ERR", "ROOT", "SERVICES"
    );
    for t in list {
        let health: Vec<String> = t.health.iter().map(|b| b.code.clone()).collect();
        let _ = writeln!(
            out,
            "{}  {:>10}  {:>5}  {:>4}  {:<30}  {:<20}  {}",
            t.trace_id,
            fmt_ns(t.duration_ns),
            t.span_count,
            t.error_count,
            clip(&format!("{}: {}", t.root_service, t.root), 30),
            clip(&t.services.join(","), 20),
            if health.is_empty() {
                "ok".to_owned()
            } else {
                health.join(",")
            },
        );
    }
    if list.is_empty() {
        out.push_str("(no traces yet: point an OTLP exporter at http://127.0.0.1:4318 or :4317)\n");
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
    c.push('…');
    c
}

/// One trace as an indented tree, then its health notes.
pub fn print_trace(v: &TraceView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {}  {} span(s)  {}  services: {}",
        v.trace_id,
        v.span_count,
        fmt_ns(v.end_ns - v.start_ns),
        v.services.join(", ")
    );
    for n in &v.nodes {
        let mut marks = Vec::new();
        if n.open {
            marks.push("OPEN".to_owned());
        }
        if n.status_code == 2 || n.level_num.is_some_and(|l| l >= 17) {
            marks.push("ERROR".to_owned());
        }
        if n.missing_parent {
            marks.push(format!(
                "parent {} missing",
                n.parent_span_id.map(|p| p.to_string()).unwrap_or_default()
            ));
        }
        if n.critical {
            marks.push("critical".to_owned());
        }
        let dur = if n.is_log {
            "log".to_owned()
        } else {
            fmt_ns(n.end_ns - n.start_ns)
        };
        let _ = writeln!(
            out,
            "{}{}  [{}]  +{}  {}{}",
            "  ".repeat(n.depth + 1),
            n.label,
            n.service,
            fmt_ns(n.start_ns - v.start_ns),
            dur,
            if marks.is_empty() {
                String::new()
            } else {
                format!("  ({})", marks.join(", "))
            },
        );
    }
    if v.findings.is_empty() {
        out.push_str("health: ok\n");
    } else {
        out.push_str("health:\n");
        for f in &v.findings {
            let _ = writeln!(out, "  ! {}: {}", f.code, f.explain);
        }
    }
    if v.skew_corrected && !v.skew_offsets.is_empty() {
        let shifts: Vec<String> = v
            .skew_offsets
            .iter()
            .map(|(s, o)| format!("{s} {}", fmt_ns(*o)))
            .collect();
        let _ = writeln!(out, "times corrected for clock skew: {}", shifts.join(", "));
    }
    out
}
