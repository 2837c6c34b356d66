// Helpers shared by the two pages. Plain JS, no build step.
"use strict";

const weft = {
  esc(s) {
    return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  },
  fmtNs(ns) {
    const a = Math.abs(ns);
    if (a < 1e3) return `${ns} ns`;
    if (a < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
    if (a < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
    if (a < 60e9) return `${(ns / 1e9).toFixed(2)} s`;
    const s = Math.round(a / 1e9);
    return `${ns < 0 ? "-" : ""}${Math.floor(s / 60)}m ${s % 60}s`;
  },
  fmtTime(ns) {
    const d = new Date(ns / 1e6);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  },
  // Well-separated colours (no red: red means error), assigned by a service's index in a list (the trace's services,
  // or every service on the list page), so no two services of one trace share a colour.
  palette: ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#e6ab02", "#7f7f7f"],
  color(service, services) {
    const i = services ? services.indexOf(service) : -1;
    if (i >= 0 && i < weft.palette.length) return weft.palette[i];
    // Past the palette: golden-angle hues stay apart for any count.
    if (i >= 0) return `hsl(${((i - weft.palette.length) * 137.508 + 20) % 360}, 55%, 45%)`;
    let h = 0;
    for (const c of service) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return `hsl(${h % 360}, 62%, 48%)`;
  },
  level(n) {
    if (n == null) return "";
    if (n >= 21) return "fatal";
    if (n >= 17) return "error";
    if (n >= 13) return "warn";
    if (n >= 10) return "notice";
    if (n >= 9) return "info";
    if (n >= 5) return "debug";
    return "trace";
  },
  async api(path) {
    const r = await fetch(path, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  },
  badge(b) {
    return `<span class="badge ${b.severity}" title="${weft.esc(b.summary)}">${weft.esc(b.code.replace(/_/g, " "))}${b.count > 1 ? " ×" + b.count : ""}</span>`;
  },
};
