//! Rebuilding a trace's tree from parent links, the way a person expects to read it:
//! Logfire pending spans fold into their real span (or stand in, open, until it arrives),
//! log records hang under their span, and whatever cannot be linked (a parent that never
//! arrived, a duplicate id, a cycle) is kept and marked, never dropped.

use std::collections::HashMap;

use crate::ids::{SpanId, TraceId};
use crate::store::record::{Signal, SpanRow};

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// The record (for an open span: its pending record, re-keyed to the real span).
    pub row: SpanRow,
    /// Unique key within the trace: the span id, `log-<row>` for log records,
    /// `<span id>~<n>` for the n-th duplicate of an id.
    pub key: String,
    /// Parent node, if linked.
    pub parent: Option<usize>,
    /// Children, in start order.
    pub children: Vec<usize>,
    /// Depth below its root.
    pub depth: usize,
    /// A span that started (its pending record arrived) but whose end has not arrived.
    pub open: bool,
    /// Its parent id is set but no such span is in the trace.
    pub missing_parent: bool,
    /// It was in a parent cycle that was cut here to make it a root.
    pub cycle_cut: bool,
    /// Another span in the trace has the same span id.
    pub duplicate_id: bool,
    /// On the critical path.
    pub critical: bool,
}

/// A trace rebuilt as a forest.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// The trace.
    pub trace_id: TraceId,
    /// All nodes.
    pub nodes: Vec<Node>,
    /// Top-level nodes (true roots and nodes whose parent is missing), in start order.
    pub roots: Vec<usize>,
    /// Depth-first order of all nodes.
    pub order: Vec<usize>,
    /// Pending records folded into a real span that had arrived.
    pub folded_pending: usize,
}

impl Tree {
    /// Builds the tree; `rows` may be in any order.
    pub fn build(trace_id: TraceId, rows: Vec<SpanRow>) -> Self {
        let mut tree = Tree {
            trace_id,
            ..Tree::default()
        };
        let mut by_id: HashMap<SpanId, usize> = HashMap::new();
        let (mut pending, mut logs) = (Vec::new(), Vec::new());
        let mut dup_count: HashMap<SpanId, usize> = HashMap::new();
        for row in rows {
            if row.is_pending() {
                pending.push(row);
            } else if row.signal == Signal::Log {
                logs.push(row);
            } else {
                let idx = tree.nodes.len();
                let key = match by_id.get(&row.span_id) {
                    Some(&first) => {
                        tree.nodes[first].duplicate_id = true;
                        let n = dup_count.entry(row.span_id).or_insert(0);
                        *n += 1;
                        format!("{}~{n}", row.span_id)
                    }
                    None => {
                        by_id.insert(row.span_id, idx);
                        row.span_id.to_string()
                    }
                };
                let duplicate = key.contains('~');
                tree.nodes.push(Node::new(row, key, duplicate));
            }
        }
        // A pending record's parent is its real span; without one, it stands in, open.
        for p in pending {
            let Some(real) = p.parent_span_id else {
                continue;
            };
            if by_id.contains_key(&real) {
                tree.folded_pending += 1;
                continue;
            }
            let mut row = p;
            row.span_id = real;
            row.parent_span_id = row.pending_parent_id;
            let idx = tree.nodes.len();
            by_id.insert(real, idx);
            let mut node = Node::new(row, real.to_string(), false);
            node.open = true;
            tree.nodes.push(node);
        }
        for row in logs {
            let key = format!("log-{}", row.row_id);
            tree.nodes.push(Node::new(row, key, false));
        }
        tree.link(&by_id);
        tree.cut_cycles();
        tree.order_and_depth();
        tree.mark_critical_path();
        tree
    }

    fn link(&mut self, by_id: &HashMap<SpanId, usize>) {
        for idx in 0..self.nodes.len() {
            let node = &self.nodes[idx];
            let wanted = match node.row.signal {
                Signal::Log => Some(node.row.span_id).filter(|s| !s.is_zero()),
                Signal::Span => node.row.parent_span_id,
            };
            let Some(parent_id) = wanted else { continue };
            match by_id.get(&parent_id) {
                Some(&p) if p != idx => {
                    self.nodes[idx].parent = Some(p);
                    self.nodes[p].children.push(idx);
                }
                Some(_) => self.nodes[idx].cycle_cut = true, // its own parent
                None => self.nodes[idx].missing_parent = true,
            }
        }
    }

    /// Nodes not reachable from a root sit on a parent cycle: cut each cycle at its earliest span.
    fn cut_cycles(&mut self) {
        loop {
            let reached = self.reachable();
            let Some(start) = (0..self.nodes.len()).find(|i| !reached[*i]) else {
                return;
            };
            // Walk up from `start` until a node repeats: that node is on the cycle.
            let mut seen = vec![false; self.nodes.len()];
            let mut cur = start;
            while !seen[cur] {
                seen[cur] = true;
                match self.nodes[cur].parent {
                    Some(p) => cur = p,
                    None => break,
                }
            }
            let mut cycle = vec![cur];
            let mut next = self.nodes[cur].parent;
            while let Some(n) = next.filter(|n| *n != cur) {
                cycle.push(n);
                next = self.nodes[n].parent;
            }
            let cut = cycle
                .iter()
                .copied()
                .min_by_key(|i| (self.nodes[*i].row.start_ns, *i))
                .unwrap_or(cur);
            if let Some(p) = self.nodes[cut].parent.take() {
                self.nodes[p].children.retain(|c| *c != cut);
            }
            self.nodes[cut].cycle_cut = true;
        }
    }

    fn reachable(&self) -> Vec<bool> {
        let mut reached = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].parent.is_none())
            .collect();
        while let Some(i) = stack.pop() {
            if !reached[i] {
                reached[i] = true;
                stack.extend(self.nodes[i].children.iter().copied());
            }
        }
        reached
    }

    fn order_and_depth(&mut self) {
        let key = |n: &Node| (n.row.start_ns, n.row.signal == Signal::Log, n.row.row_id);
        for i in 0..self.nodes.len() {
            let mut children = std::mem::take(&mut self.nodes[i].children);
            children.sort_by_key(|c| key(&self.nodes[*c]));
            self.nodes[i].children = children;
        }
        let mut roots: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].parent.is_none())
            .collect();
        roots.sort_by_key(|r| key(&self.nodes[*r]));
        self.roots = roots;
        let mut stack: Vec<(usize, usize)> = self.roots.iter().rev().map(|r| (*r, 0)).collect();
        while let Some((i, depth)) = stack.pop() {
            self.nodes[i].depth = depth;
            self.order.push(i);
            stack.extend(self.nodes[i].children.iter().rev().map(|c| (*c, depth + 1)));
        }
    }

    /// The span's end, or for an open span the latest end seen below it.
    pub fn effective_end(&self, i: usize) -> i64 {
        let n = &self.nodes[i];
        if !n.open {
            return n.row.end_ns;
        }
        n.children
            .iter()
            .map(|c| self.effective_end(*c))
            .fold(n.row.start_ns, i64::max)
    }

    /// Critical path: from the longest root, repeatedly the child that finished last
    /// among those ending before the cursor (the work the parent waited on).
    fn mark_critical_path(&mut self) {
        let Some(&root) = self
            .roots
            .iter()
            .max_by_key(|r| self.effective_end(**r) - self.nodes[**r].row.start_ns)
        else {
            return;
        };
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            self.nodes[i].critical = true;
            let mut children: Vec<usize> = self.nodes[i]
                .children
                .iter()
                .copied()
                // Logs (OTLP logs, and Logfire-style logs: zero-length spans) are
                // moments, not work anyone waited on.
                .filter(|c| !self.nodes[*c].row.is_log())
                .collect();
            children.sort_by_key(|c| std::cmp::Reverse(self.effective_end(*c)));
            let mut cursor = self.effective_end(i);
            for c in children {
                if self.effective_end(c) <= cursor {
                    stack.push(c);
                    cursor = self.nodes[c].row.start_ns;
                }
            }
        }
    }

    /// Index of the node with this span id (the first, if duplicated).
    pub fn find(&self, id: SpanId) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.row.signal == Signal::Span && n.row.span_id == id)
    }

    /// An indented outline (`service name` per line): what tests compare, and `weft trace` prints.
    pub fn outline(&self) -> String {
        let mut out = String::new();
        for &i in &self.order {
            let n = &self.nodes[i];
            let label = n.row.msg.as_deref().unwrap_or(&n.row.name);
            out.push_str(&format!(
                "{}{} {}\n",
                "  ".repeat(n.depth),
                n.row.service,
                label
            ));
        }
        out
    }
}

impl Node {
    fn new(row: SpanRow, key: String, duplicate_id: bool) -> Self {
        Node {
            row,
            key,
            parent: None,
            children: Vec::new(),
            depth: 0,
            open: false,
            missing_parent: false,
            cycle_cut: false,
            duplicate_id,
            critical: false,
        }
    }

    /// The text to show: `logfire.msg` when present, else the span name.
    pub fn label(&self) -> &str {
        self.row.msg.as_deref().unwrap_or(&self.row.name)
    }
}
