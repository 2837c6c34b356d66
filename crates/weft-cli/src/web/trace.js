// One trace: tree + waterfall across services, details, diagnoses, deep links (#span-<key>).
"use strict";

const traceId = decodeURIComponent(location.pathname.split("/").pop());
const treeEl = document.getElementById("tree");
const detailsEl = document.getElementById("details");
const skewBox = document.getElementById("correct-skew");
const collapsed = new Set();
let view = null;
let selected = null;

document.getElementById("trace-id").textContent = traceId;
document.title = `weft · ${traceId.slice(0, 8)}`;

function kv(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return `<p class="muted">none</p>`;
  return `<table class="kv">${entries
    .map(([k, v]) => `<tr><th>${weft.esc(k)}</th><td>${weft.esc(typeof v === "string" ? v : JSON.stringify(v))}</td></tr>`)
    .join("")}</table>`;
}

function hasChildren(i) {
  const n = view.nodes[i];
  const next = view.nodes[i + 1];
  return next && next.depth > n.depth;
}

function renderHealth() {
  const el = document.getElementById("health");
  if (!view.findings.length) {
    el.innerHTML = `<p class="ok">Healthy: every span has its parent, one root, consistent clocks.</p>`;
    return;
  }
  el.innerHTML = `<ul>${view.findings
    .map((f, i) => `<li class="finding ${f.severity}" data-i="${i}"><span class="badge ${f.severity}">${weft.esc(f.code.replace(/_/g, " "))}</span> ${weft.esc(f.explain)}</li>`)
    .join("")}</ul>`;
  el.querySelectorAll("li").forEach((li) =>
    li.addEventListener("click", () => {
      const f = view.findings[Number(li.dataset.i)];
      if (f.spans.length) select(f.spans[0], true);
    }),
  );
}

function renderHeader() {
  const total = view.end_ns - view.start_ns;
  document.getElementById("summary").textContent = `${view.span_count} spans · ${weft.fmtNs(total)} · ${view.services.length} service(s)`;
  document.getElementById("legend").innerHTML = view.services
    .map((s) => `<span class="svc" style="--c:${weft.color(s, view.services)}">${weft.esc(s)}</span>`)
    .join(" ") + `<span class="legend-note"><span class="crit-sample"></span> critical path</span>`;
  document.getElementById("axis").innerHTML = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<span style="left:${f * 100}%">${weft.fmtNs(Math.round(total * f))}</span>`)
    .join("");
  const toggle = document.getElementById("skew-toggle");
  toggle.hidden = Object.keys(view.skew_offsets).length === 0;
  skewBox.checked = view.skew_corrected;
}

function renderTree() {
  const total = Math.max(1, view.end_ns - view.start_ns);
  const out = [];
  let hideBelow = Infinity;
  view.nodes.forEach((n, i) => {
    if (n.depth > hideBelow) return;
    hideBelow = collapsed.has(n.key) ? n.depth : Infinity;
    const left = ((n.start_ns - view.start_ns) / total) * 100;
    // An open span has lasted at least until the latest thing the trace holds: draw it
    // to there (dashed), so it reads as still running rather than as instant.
    const end = n.open ? Math.max(n.end_ns, view.end_ns) : n.end_ns;
    const width = Math.max(((end - n.start_ns) / total) * 100, 0.15);
    const color = weft.color(n.service, view.services);
    const toggle = hasChildren(i) ? `<button class="toggle" data-key="${n.key}" aria-label="collapse">${collapsed.has(n.key) ? "▸" : "▾"}</button>` : `<span class="toggle-pad"></span>`;
    const marks = [
      n.open ? `<span class="tag open" title="started, end not arrived yet">open</span>` : "",
      n.missing_parent ? `<span class="tag warn" title="parent ${n.parent_span_id} never arrived">⚠ parent missing</span>` : "",
      (n.findings || []).filter((c) => c !== "missing_parent").map((c) => `<span class="tag warn">${weft.esc(c.replace(/_/g, " "))}</span>`).join(""),
      n.status_code === 2 || (n.level_num ?? 0) >= 17 ? `<span class="tag err">error</span>` : "",
    ].join("");
    const bar = n.is_log
      ? `<span class="log-mark lvl-${weft.level(n.level_num)}" style="left:${left}%; --c:${color}" title="log"></span>`
      : `<span class="bar${n.open ? " open" : ""}${n.critical ? " critical" : ""}" style="left:${left}%; width:${width}%; --c:${color}"></span>
         <span class="dur${left + width > 85 ? " inside" : ""}" style="${left + width > 85 ? `right:${Math.max(0, 100 - left - width)}%` : `left:${left + width}%`}">${n.open ? "≥ " : ""}${weft.fmtNs(end - n.start_ns)}</span>`;
    out.push(`<div class="row${n.is_log ? " is-log" : ""}${n.key === selected ? " selected" : ""}" id="span-${n.key}" data-key="${n.key}" role="treeitem" aria-level="${n.depth + 1}">
      <span class="col-name" style="padding-left:${n.depth * 16 + 4}px">${toggle}<span class="svc-dot" style="--c:${color}"></span><span class="label">${weft.esc(n.label)}</span>${marks}</span>
      <span class="col-bar">${bar}</span></div>`);
  });
  treeEl.innerHTML = out.join("");
}

function renderDetails() {
  const n = view.nodes.find((x) => x.key === selected);
  if (!n) {
    detailsEl.innerHTML = `<p class="empty">Click a span to see its attributes, resource, events, links and logs.</p>`;
    return;
  }
  const idx = view.nodes.indexOf(n);
  const logs = view.nodes.slice(idx + 1).filter((x, j, arr) => x.parent_key === n.key && x.is_log);
  const events = JSON.parse(JSON.stringify(n.events));
  const links = n.links;
  const findings = view.findings.filter((f) => f.spans.includes(n.key));
  detailsEl.innerHTML = `
    <h2><span class="svc-dot" style="--c:${weft.color(n.service, view.services)}"></span>${weft.esc(n.label)}</h2>
    ${findings.map((f) => `<p class="finding ${f.severity}">${weft.esc(f.explain)}</p>`).join("")}
    <table class="kv facts">
      <tr><th>name</th><td>${weft.esc(n.name)}</td></tr>
      <tr><th>service</th><td>${weft.esc(n.service)}</td></tr>
      <tr><th>kind</th><td>${n.kind}${n.span_type ? ` · ${weft.esc(n.span_type)}` : ""}${n.level_num != null ? ` · level ${weft.level(n.level_num)}` : ""}</td></tr>
      <tr><th>span id</th><td class="mono">${n.span_id}</td></tr>
      <tr><th>parent</th><td class="mono">${n.parent_key ? `<a href="#span-${n.parent_key}">${n.parent_span_id}</a>` : n.parent_span_id ? `${n.parent_span_id} (never arrived)` : "none (root)"}</td></tr>
      <tr><th>start</th><td>${weft.fmtTime(n.start_ns)} (+${weft.fmtNs(n.start_ns - view.start_ns)})${n.skew_ns ? ` · shifted ${weft.fmtNs(n.skew_ns)} for clock skew` : ""}</td></tr>
      <tr><th>duration</th><td>${n.is_log ? "log" : (n.open ? "≥ " : "") + weft.fmtNs(n.end_ns - n.start_ns)}${n.open ? " (not ended yet)" : ""}</td></tr>
      <tr><th>status</th><td>${["unset", "ok", "error"][n.status_code] ?? n.status_code}${n.status_message ? `: ${weft.esc(n.status_message)}` : ""}</td></tr>
      <tr><th>flags</th><td class="mono">0x${n.flags.toString(16).padStart(3, "0")}${n.flags & 0x100 ? (n.flags & 0x200 ? " · remote parent" : " · local parent") : ""}${n.flags & 0x100 || n.flags & 0xff ? (n.flags & 1 ? " · sampled" : " · not sampled") : ""}</td></tr>
      <tr><th>scope</th><td>${weft.esc(n.scope)}</td></tr>
    </table>
    <h3>Attributes</h3>${kv(n.attributes)}
    <h3>Resource</h3>${kv(view.resources[n.resource_id])}
    <h3>Events</h3>${events.length ? events.map((e) => `<div class="event"><b>${weft.esc(e.name)}</b> +${weft.fmtNs(e.time_ns - view.start_ns)}${kv(e.attributes)}</div>`).join("") : `<p class="muted">none</p>`}
    <h3>Links</h3>${links.length ? links.map((l) => `<p><a class="mono" href="/trace/${l.trace_id}#span-${l.span_id}">${l.trace_id} / ${l.span_id}</a></p>`).join("") : `<p class="muted">none</p>`}
    <h3>Logs</h3>${logs.length ? logs.map((l) => `<p class="log lvl-${weft.level(l.level_num)}">${weft.fmtTime(l.start_ns)} <b>${weft.level(l.level_num) || "log"}</b> ${weft.esc(l.label)}</p>`).join("") : `<p class="muted">none</p>`}`;
}

function select(key, scroll) {
  // Reveal a span hidden under a collapsed ancestor.
  let n = view.nodes.find((x) => x.key === key);
  if (!n) return;
  for (let p = n; p && p.parent_key; p = view.nodes.find((x) => x.key === p.parent_key)) collapsed.delete(p.parent_key);
  selected = key;
  history.replaceState(null, "", `#span-${key}`);
  renderTree();
  renderDetails();
  if (scroll) document.getElementById(`span-${key}`)?.scrollIntoView({ block: "nearest" });
}

treeEl.addEventListener("click", (e) => {
  const t = e.target.closest(".toggle");
  if (t) {
    const k = t.dataset.key;
    collapsed.has(k) ? collapsed.delete(k) : collapsed.add(k);
    renderTree();
    return;
  }
  const row = e.target.closest(".row");
  if (row) select(row.dataset.key, false);
});
document.getElementById("expand-all").addEventListener("click", () => { collapsed.clear(); renderTree(); });
document.getElementById("collapse-all").addEventListener("click", () => {
  view.nodes.forEach((n, i) => { if (hasChildren(i)) collapsed.add(n.key); });
  renderTree();
});
skewBox.addEventListener("change", () => load());
window.addEventListener("hashchange", () => {
  const key = location.hash.replace(/^#span-/, "");
  if (view && key && key !== selected) select(key, true);
});

async function load() {
  const q = skewBox.checked ? "?correct_skew=1" : "";
  try {
    view = await weft.api(`/api/traces/${traceId}${q}`);
  } catch (e) {
    document.getElementById("health").innerHTML = `<p class="error">${weft.esc(e.message)}</p>`;
    return;
  }
  renderHeader();
  renderHealth();
  const fromHash = location.hash.startsWith("#span-") ? location.hash.slice(6) : null;
  if (fromHash && !selected) select(fromHash, true);
  else { renderTree(); renderDetails(); }
}

// Spans of this trace still arriving: redraw when the server says it changed.
let timer = null;
new EventSource("/api/events").addEventListener("traces", (e) => {
  if (JSON.parse(e.data).some((t) => t.trace_id === traceId)) {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  }
});

load();
