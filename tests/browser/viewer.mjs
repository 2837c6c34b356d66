// Drives Debian's Chromium (headless) through the weft viewer; exits non-zero with the reason
// on the first failed expectation. Run by crates/weft-cli/tests/browser.rs:
//   node viewer.mjs <ui url> <otlp http url> <trace id> <span key> <screenshot.png> <linked trace id> <linked span key>
// The trace (see browser.rs): <span key> has attributes and a link to the linked trace;
// span 3 has a log under it; span 7 is pending (started, not ended); inventory's clock is skewed.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [ui, otlp, traceId, spanKey, shot, linkedTrace, linkedKey] = process.argv.slice(2);
const key = (n) => n.toString(16).padStart(16, "0");
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
  // Exported from the page itself: the UI origin is not the OTLP origin, so this is the
  // cross-origin export a browser SDK makes (a custom header forces a preflight), and the
  // page can read the status only if the answer carries Access-Control-Allow-Origin.
  const status = await page.evaluate(async ([url, json]) => {
    try {
      const r = await fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-weft-test": "1" }, body: json });
      return r.status;
    } catch (e) { return String(e); }
  }, [otlp, JSON.stringify(body)]);
  expect(status === 200, `a cross-origin OTLP/JSON export from the page accepted, got ${status}`);
  await waitFor(`tr[data-id="${pushed}"]`, 10000);

  // 2. The trace page: tree, waterfall bars in service colours, diagnoses.
  await page.click(`tr[data-id="${traceId}"] a`);
  await waitFor("#tree .row", 10000);
  const rows = await page.$$eval("#tree .row .label", (els) => els.map((e) => e.textContent));
  expect(rows.length >= 4, `at least 4 rows in the tree, got ${JSON.stringify(rows)}`);
  const barColors = await page.$$eval("#tree .bar", (els) => [...new Set(els.map((e) => e.style.getPropertyValue("--c")))]);
  const barCount = await page.$$eval("#tree .bar", (els) => els.length);
  expect(barCount >= 3, `waterfall bars, got ${barCount}`);
  const services = await page.$$eval("#legend .svc", (els) => els.map((e) => e.textContent));
  expect(services.length >= 2, `a legend with the services, got ${JSON.stringify(services)}`);
  const legendColors = await page.$$eval("#legend .svc", (els) => [...new Set(els.map((e) => e.style.getPropertyValue("--c")))]);
  expect(legendColors.length === services.length, `one colour per service, got ${JSON.stringify(legendColors)} for ${JSON.stringify(services)}`);
  expect(barColors.length === services.length, `bars in ${services.length} colours, got ${JSON.stringify(barColors)}`);
  const critical = await page.$$eval("#tree .row", (els) => els.filter((r) => r.querySelector(".bar.critical")).map((r) => r.querySelector(".label").textContent));
  const open = await page.$$eval(`#span-${key(7)} .bar.open`, (els) => els.length);
  expect(open === 1, "the pending span drawn as an open bar");
  const openWidth = await page.$eval(`#span-${key(7)} .bar.open`, (e) => parseFloat(e.style.width));
  expect(openWidth > 1, `the open bar runs on to the latest time the trace holds, got ${openWidth}%`);
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

  // 5. A span's logs are listed in its details.
  await page.click(`#span-${key(3)}`);
  await page.waitForFunction(() => document.querySelector("#details h2")?.textContent.includes("POST /cart"), null, { timeout: 5000 });
  const logs = await page.$$eval("#details p.log", (els) => els.map((e) => e.textContent));
  expect(logs.length === 1 && logs[0].includes("cache miss"), `the log inline in the details, got ${JSON.stringify(logs)}`);

  // 6. Clock skew: shown uncorrected, shifted when the box is ticked.
  await page.click(`#span-${key(8)}`);
  expect(!(await page.isHidden("#skew-toggle")), "the correct-skew toggle shows for a skewed trace");
  const leftBefore = await page.$eval(`#span-${key(8)} .bar`, (e) => e.style.left);
  expect(!(await page.textContent("#details")).includes("for clock skew"), "uncorrected until asked");
  await page.check("#correct-skew");
  await page.waitForFunction(() => document.querySelector("#details")?.textContent.includes("for clock skew"), null, { timeout: 5000 })
    .catch(() => { throw new Error("ticking correct-skew shifts the skewed span"); });
  const leftAfter = await page.$eval(`#span-${key(8)} .bar`, (e) => e.style.left);
  expect(leftAfter !== leftBefore, `the bar moved, ${leftBefore} -> ${leftAfter}`);

  // 7. Opening the deep link selects the span.
  await page.goto(`${ui}/trace/${traceId}#span-${spanKey}`);
  await waitFor(`#span-${spanKey}.selected`, 10000);
  await page.screenshot({ path: shot, fullPage: false });

  // 8. Its link jumps to the linked trace, with the linked span selected.
  await waitFor(`#details a[href="/trace/${linkedTrace}#span-${linkedKey}"]`, 5000);
  await page.click(`#details a[href="/trace/${linkedTrace}#span-${linkedKey}"]`);
  await waitFor(`#span-${linkedKey}.selected`, 10000);
  expect(page.url().includes(`/trace/${linkedTrace}`), `on the linked trace, got ${page.url()}`);
  expect(errors.length === 0, `no page errors, got ${errors.join("; ")}`);
  console.log(JSON.stringify({ rows, services, colors: legendColors.length, critical, health }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
