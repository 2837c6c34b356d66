// The trace list: filters → GET /api/traces; new data arrives as server-sent events.
"use strict";

const rows = document.getElementById("rows");
const form = document.getElementById("filters");
const live = document.getElementById("live");
const known = new Map(); // trace_id -> summary
// Every service seen, in first-seen order: colours are picked by index in it, so they stay
// put while the list updates (GET /api/services fills it, new services are appended).
const allServices = [];
function colorOf(s) {
  if (!allServices.includes(s)) allServices.push(s);
  return weft.color(s, allServices);
}

function params() {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (String(v).trim() !== "") p.set(k, String(v).trim());
  return p;
}

function filtered() {
  return [...params().keys()].length > 0;
}

function row(t) {
  const services = t.services.map((s) => `<span class="svc" style="--c:${colorOf(s)}">${weft.esc(s)}</span>`).join(" ");
  const health = t.health.length ? t.health.map(weft.badge).join(" ") : `<span class="ok">ok</span>`;
  return `<tr data-id="${t.trace_id}" class="${t.error_count > 0 ? "has-error" : ""}">
    <td class="mono">${weft.fmtTime(t.start_ns)}</td>
    <td><a href="/trace/${t.trace_id}"><span class="svc-dot" style="--c:${colorOf(t.root_service)}"></span>${weft.esc(t.root || "(root not arrived)")}</a></td>
    <td>${services}</td>
    <td class="num">${t.span_count}</td>
    <td class="num">${t.error_count || ""}</td>
    <td class="num">${weft.fmtNs(t.duration_ns)}</td>
    <td>${health}</td></tr>`;
}

function render() {
  const list = [...known.values()].sort((a, b) => b.start_ns - a.start_ns).slice(0, 200);
  rows.innerHTML = list.map(row).join("");
  document.getElementById("empty").hidden = list.length > 0;
}

async function load() {
  const p = params();
  p.set("limit", "200");
  const list = await weft.api(`/api/traces?${p}`);
  known.clear();
  for (const t of list) known.set(t.trace_id, t);
  render();
}

async function loadServices() {
  const sel = form.elements.service;
  const current = sel.value;
  const services = await weft.api("/api/services");
  sel.innerHTML = `<option value="">any</option>` + services.map((s) => `<option>${weft.esc(s)}</option>`).join("");
  sel.value = current;
}

let timer = null;
function reloadSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => load().catch(console.error), 250);
}

form.addEventListener("input", reloadSoon);
form.addEventListener("reset", () => setTimeout(reloadSoon, 0));
form.addEventListener("submit", (e) => e.preventDefault());

const events = new EventSource("/api/events");
events.addEventListener("open", () => { live.textContent = "live"; live.classList.add("on"); });
events.addEventListener("error", () => { live.textContent = "reconnecting…"; live.classList.remove("on"); });
events.addEventListener("traces", (e) => {
  const changed = JSON.parse(e.data);
  if (filtered()) return reloadSoon(); // the server applies the filters
  for (const t of changed) known.set(t.trace_id, t);
  render();
  if (changed.some((t) => t.services.some((s) => ![...form.elements.service.options].some((o) => o.value === s)))) loadServices();
});
events.addEventListener("reset", reloadSoon);

loadServices().catch(console.error);
load().catch((e) => { rows.innerHTML = `<tr><td colspan="7" class="error">${weft.esc(e.message)}</td></tr>`; });
