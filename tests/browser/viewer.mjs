// Drives Debian's Chromium (headless) through the weft viewer; exits non-zero with the reason
// on the first failed expectation. Run by crates/weft-cli/tests/browser.rs:
//   node viewer.mjs <ui url> <otlp http url> <trace id> <span key> <screenshot.png>
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [ui, otlp, traceId, spanKey, shot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "weft-chromium-"));

function expect(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}

// As root in a sandbox with no network: these flags are required (see .library/env/machines/rust.md).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A wait that fails says which page errors happened meanwhile.
  const waitFor = (sel, timeout = 10000) =>
    page.waitForSelector(sel, { timeout }).catch((e) => { throw new Error(`${sel}: ${e.message}; page errors: ${errors.join("; ") || "none"}`); });

  // 1. The list shows the trace, then a new one pushed over SSE without reloading.
  await page.goto(`${ui}/`);
  await waitFor(`tr[data-id="${traceId}"]`, 10000);
  await waitFor("#live.on", 10000);
  const pushed = "feedfacefeedfacefeedfacefeedface";
  const now = BigInt(Date.now()) * 1000000n;
  const body = { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "browser-push" } }] },
    scopeSpans: [{ spans: [{ traceId: pushed, spanId: "0102030405060708", name: "pushed live", kind: 1,
      startTimeUnixNano: String(now), endTimeUnixNano: String(now + 5000000n) }] }] }] };
  const r = await fetch(`${otlp}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(r.status === 200, `OTLP/JSON export accepted, got ${r.status}`);
  await waitFor(`tr[data-id="${pushed}"]`, 10000);

  // 2. The trace page: tree, waterfall bars in service colours, diagnoses.
  await page.click(`tr[data-id="${traceId}"] a`);
  await waitFor("#tree .row", 10000);
  const rows = await page.$$eval("#tree .row .label", (els) => els.map((e) => e.textContent));
  expect(rows.length >= 4, `at least 4 rows in the tree, got ${JSON.stringify(rows)}`);
  const colors = await page.$$eval("#tree .bar", (els) => [...new Set(els.map((e) => getComputedStyle(e).backgroundColor || e.style.getPropertyValue("--c")))]);
  const barCount = await page.$$eval("#tree .bar", (els) => els.length);
  expect(barCount >= 3, `waterfall bars, got ${barCount}`);
  const services = await page.$$eval("#legend .svc", (els) => els.map((e) => e.textContent));
  expect(services.length >= 2, `a legend with the services, got ${JSON.stringify(services)}`);
  const critical = await page.$$eval("#tree .bar.critical", (els) => els.length);
  expect(critical >= 1, "a critical path");
  const health = await page.textContent("#health");

  // 3. Collapse and expand the root.
  const before = await page.$$eval("#tree .row", (els) => els.length);
  await page.click("#tree .row .toggle");
  const folded = await page.$$eval("#tree .row", (els) => els.length);
  expect(folded < before && (await page.textContent("#tree .row .label")) === rows[0], `collapsing the first root hides its subtree, ${before} -> ${folded} rows`);
  await page.click("#expand-all");
  expect((await page.$$eval("#tree .row", (els) => els.length)) === before, "expand all restores every row");

  // 4. Click a span: its attributes show, and the address deep-links to it.
  await page.click(`#span-${spanKey}`);
  await waitFor("#details table.kv", 5000);
  const details = await page.textContent("#details");
  expect(details.includes("db.system") && details.includes("sqlite"), `attributes in the details, got ${details.slice(0, 300)}`);
  expect(page.url().endsWith(`#span-${spanKey}`), `a deep link, got ${page.url()}`);

  // 5. Opening the deep link selects the span.
  await page.goto(`${ui}/trace/${traceId}#span-${spanKey}`);
  await waitFor(`#span-${spanKey}.selected`, 10000);
  await page.screenshot({ path: shot, fullPage: false });
  expect(errors.length === 0, `no page errors, got ${errors.join("; ")}`);
  console.log(JSON.stringify({ rows, services, colors: colors.length, health }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
