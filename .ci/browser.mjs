// The reports made by .ci/browser, opened in headless Chromium through playwright-core.
// Usage: node .ci/browser.mjs DIR, where DIR holds the reports and node_modules/playwright-core.
//
// For every report: no console error, no page error, no dialog, no request but the page itself;
// the charts drew one bar per data point, each bar with a count has a size, and the bars add up
// to the report's data; the table shows what the data holds and its filters narrow it as they
// should; a screenshot DIR/NAME.png. Then what each report is for: the hostile one shows the
// hostile strings as text, the empty one says there is nothing, the large one stays usable.
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dir = path.resolve(process.argv[2] || "target/browser-test");
const require = createRequire(path.join(dir, "package.json"));
const { chromium } = require("playwright-core");

const PAGE_ROWS = 1000; // rows drawn at a time (page.js)
const HOSTILE = "</script><img src=x onerror=alert(1)>";

const cases = [
  { name: "fixtures" },
  { name: "connector", timeline: true },
  { name: "combined", timeline: true },
  { name: "hostile", hostile: true },
  { name: "empty", empty: true },
  { name: "large", large: true },
];

let passed = 0;
let failed = 0;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "dlp-browser-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1360, height: 900 },
  deviceScaleFactor: 1,
});

try {
  for (const c of cases) {
    const started = Date.now();
    try {
      await run(c);
      passed++;
      console.log(`ok   ${c.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${c.name}: ${e.message}`);
    }
  }
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

async function run(c) {
  const file = path.join(dir, c.name + ".html");
  const url = pathToFileURL(file).href;
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on("request", (r) => { if (r.url() !== url) problems.push(`request: ${r.url()}`); });
  page.on("popup", (p) => problems.push(`popup: ${p.url()}`));
  try {
    const loading = Date.now();
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("body[data-rendered=true]", { timeout: 60_000 });
    const loadSeconds = (Date.now() - loading) / 1000;
    const data = await page.evaluate(() => JSON.parse(document.getElementById("report-data").textContent));
    // As it opens, before the checks filter and sort the table.
    await page.screenshot({ path: path.join(dir, c.name + ".png"), fullPage: true });

    await checkCharts(page, data);
    await checkTable(page, data);
    if (c.hostile) await checkHostile(page, data);
    if (c.empty) await checkEmpty(page, data);
    if (c.large) {
      check(data.totals.findings === 100000, `large: ${data.totals.findings} findings`);
      check(loadSeconds < 30, `large: ${loadSeconds} s to draw`);
      const query = "user7@example.com";
      const filtering = Date.now();
      await page.fill("#search", query);
      await waitMatching(page, expectedMatches(data, query));
      const filterSeconds = (Date.now() - filtering) / 1000;
      await page.click("#clear");
      await waitMatching(page, data.table.rows.length);
      // "Show more" adds the next rows.
      await page.click("#more");
      await page.waitForSelector(`#table-count[data-shown="${2 * PAGE_ROWS}"]`);
      const rows = await page.$$eval("#rows tr", (trs) => trs.length);
      check(rows === 2 * PAGE_ROWS, `${rows} rows after "Show more"`);
      // Sorting 100,000 rows by a text column.
      const sorting = Date.now();
      await page.click("#table-head th:nth-child(1)");
      await page.waitForSelector("#table-head th:nth-child(1)[aria-sort=ascending]");
      console.log(`     large: drawn in ${loadSeconds.toFixed(1)} s, filtered in ${filterSeconds.toFixed(1)} s, ` +
        `sorted in ${((Date.now() - sorting) / 1000).toFixed(1)} s`);
    }
    if (c.timeline) check(data.charts.time, `${c.name}: no timeline`);
    // Whatever happened after the checks (a late error) counts too.
    await page.waitForTimeout(100);
    check(problems.length === 0, problems.slice(0, 5).join("; "));
  } finally {
    await page.close();
  }
}

async function checkCharts(page, data) {
  const charts = data.charts;
  const series = { category: charts.category, detector: charts.detector, file_type: charts.file_type, skip_reason: charts.skip_reason };
  if (charts.time) series.time = charts.time.buckets;
  const drawn = await page.evaluate(() => [...document.querySelectorAll("svg[data-chart]")].map((svg) => {
    const box = svg.getBoundingClientRect();
    return {
      name: svg.dataset.chart, width: box.width, height: box.height,
      bars: [...svg.querySelectorAll("rect.bar")].map((r) => {
        const b = r.getBoundingClientRect();
        return { label: r.dataset.label, count: Number(r.dataset.count), width: b.width, height: b.height };
      }),
    };
  }));
  const names = drawn.map((d) => d.name).sort();
  const want = Object.entries(series).filter(([, bars]) => bars.length).map(([name]) => name).sort();
  check(JSON.stringify(names) === JSON.stringify(want), `charts drawn ${names}, want ${want}`);
  for (const chart of drawn) {
    const bars = series[chart.name];
    check(chart.width > 100 && chart.height > 10, `${chart.name}: the chart is ${chart.width}x${chart.height}`);
    check(chart.bars.length === bars.length, `${chart.name}: ${chart.bars.length} bars, want ${bars.length}`);
    chart.bars.forEach((bar, i) => {
      check(bar.label === bars[i].label && bar.count === bars[i].count,
        `${chart.name}: bar ${i} is ${bar.label}=${bar.count}, want ${bars[i].label}=${bars[i].count}`);
      if (bar.count > 0) check(bar.width > 0 && bar.height > 0, `${chart.name}: bar ${bar.label} has no size`);
    });
  }
  const sum = (bars) => bars.reduce((n, b) => n + b.count, 0);
  const findings = data.totals.findings;
  for (const name of ["category", "detector", "file_type"]) {
    check(sum(charts[name]) === findings, `${name}: the bars add up to ${sum(charts[name])}, not ${findings}`);
  }
  check(sum(charts.skip_reason) === data.totals.skipped, "skip reasons do not add up");
  // The connector's findings have timestamps (those of these inputs all do); dlp scan's none.
  if (charts.time) {
    check(sum(charts.time.buckets) + charts.without_timestamp === data.totals.connector_findings,
      "the timeline does not add up");
  }
  // The confidence bar: one part per level with findings, widths in proportion.
  const parts = await page.$$eval("#confidence .stack span", (spans) => spans.map((s) => Number(s.dataset.count)));
  check(sum(parts.map((count) => ({ count }))) === findings, "the confidence bar does not add up");
}

// Rows of the table's data whose shown cells contain every word of `query`, as a person would
// count them from the data.
function expectedMatches(data, query) {
  const t = data.table;
  const shown = t.columns.map((c, i) => ({ ...c, i })).filter((c) => c.present);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return t.rows.filter((row) => {
    const cells = shown.map((c) => c.kind === "number" ? (row[c.i] ? (c.key === "value" ? "#" : "") + row[c.i] : "") : t.strings[row[c.i]]);
    return words.every((w) => cells.some((cell) => cell.toLowerCase().includes(w)));
  }).length;
}

async function matching(page) {
  const status = await page.$("#table-count");
  return { shown: Number(await status.getAttribute("data-shown")), matching: Number(await status.getAttribute("data-matching")) };
}

async function waitMatching(page, n) {
  await page.waitForSelector(`#table-count[data-matching="${n}"]`, { timeout: 20_000 });
  const rows = await page.$$eval("#rows tr", (trs) => trs.length);
  check(rows === Math.min(n, PAGE_ROWS), `${rows} rows drawn for ${n} matching`);
}

async function checkTable(page, data) {
  const t = data.table;
  const total = t.rows.length;
  await waitMatching(page, total);
  const shownColumns = t.columns.filter((c) => c.present).length;
  const heads = await page.$$eval("#table-head th", (ths) => ths.length);
  check(heads === shownColumns, `${heads} columns, want ${shownColumns}`);
  if (total === 0) return;

  // A word from a cell: the source of the last row (a path, a file or conversation name).
  const sourceColumn = t.columns.findIndex((c) => c.key === "source");
  const last = t.rows[total - 1];
  const word = t.strings[last[sourceColumn]].split(/[\s/]+/).filter(Boolean).pop();
  const want = expectedMatches(data, word);
  check(want >= 1, "the word is in no row");
  await page.fill("#search", word);
  await waitMatching(page, want);
  const cells = await page.$$eval("#rows tr:first-child td", (tds) => tds.map((td) => td.textContent).join(" "));
  check(cells.toLowerCase().includes(word.toLowerCase()), `the first row does not show ${word}`);

  await page.fill("#search", "no-such-thing-in-any-report-7f3a");
  await waitMatching(page, 0);
  check((await page.textContent("#table-count")).includes("No finding matches"), "no 'no match' message");
  await page.click("#clear");
  await waitMatching(page, total);

  // The detector filter, against the detector chart (the whole table is in the report).
  if (t.total === total) {
    const detectorColumn = t.columns.findIndex((c) => c.key === "detector");
    const bar = data.charts.detector.find((b) => !/^other \(\d+\)$/.test(b.label));
    const option = t.strings.indexOf(bar.label);
    if (await page.isVisible("#filter-detector")) {
      await page.selectOption("#filter-detector", String(option));
      await waitMatching(page, bar.count);
      check(t.rows.filter((r) => r[detectorColumn] === option).length === bar.count, "the chart and the rows disagree");
      await page.click("#clear");
      await waitMatching(page, total);
    }
    const high = data.totals.by_confidence.find((b) => b.label === "high");
    if (high.count > 0 && await page.isVisible("#filter-confidence")) {
      await page.selectOption("#filter-confidence", String(t.strings.indexOf("high")));
      await waitMatching(page, high.count);
      await page.click("#clear");
      await waitMatching(page, total);
    }
  }

  // Sorting by line: ascending, then descending.
  const lineColumn = t.columns.find((c) => c.key === "line");
  if (lineColumn.present) {
    const lineHead = t.columns.filter((c) => c.present).findIndex((c) => c.key === "line");
    const lines = t.rows.map((r) => r[t.columns.indexOf(lineColumn)]);
    const cellOf = (n) => `#rows tr:first-child td:nth-child(${n + 1})`;
    await page.click(`#table-head th:nth-child(${lineHead + 1})`);
    const first = Number(await page.textContent(cellOf(lineHead)) || 0);
    const least = lines.reduce((a, b) => Math.min(a, b));
    const most = lines.reduce((a, b) => Math.max(a, b));
    check(first === least, `sorted ascending, the first line is ${first}, not ${least}`);
    await page.click(`#table-head th:nth-child(${lineHead + 1})`);
    const top = Number(await page.textContent(cellOf(lineHead)) || 0);
    check(top === most, `sorted descending, the first line is ${top}, not ${most}`);
  }
}

async function checkHostile(page, data) {
  const found = await page.evaluate((hostile) => ({
    images: document.querySelectorAll("img, iframe, object, embed").length,
    scripts: document.querySelectorAll("script").length,
    styles: document.querySelectorAll("style").length,
    title: document.title,
    cells: [...document.querySelectorAll("#rows td")].filter((td) => td.textContent === hostile).length,
    skipCells: [...document.querySelectorAll("#skipped-rows td")].filter((td) => td.textContent === hostile).length,
    heading: document.getElementById("title").textContent,
  }), HOSTILE);
  check(found.images === 0, `${found.images} img/iframe elements`);
  check(found.scripts === 2, `${found.scripts} script elements`);
  check(found.styles === 1, `${found.styles} style elements`);
  check(found.cells >= 1, "the hostile path is not shown as text in the table");
  check(found.skipCells >= 1, "the hostile path is not shown as text among the skipped items");
  check(found.title === data.title && found.heading === data.title, `title ${found.title}`);
  check(data.problems.not_understood >= 1, "the broken line was not counted");
  const notice = await page.textContent("#notices");
  check(notice.includes("not understood"), "no notice of the line not understood");
}

async function checkEmpty(page, data) {
  check(data.totals.findings === 0 && data.totals.skipped === 0, "the empty report has records");
  const notice = await page.textContent("#notices");
  check(notice.includes("Nothing to report"), `notices: ${notice}`);
  check((await page.textContent("#table-count")) === "No findings.", "the table does not say there are none");
  const empties = await page.$$eval("#charts .empty", (ps) => ps.length);
  check(empties === 5, `${empties} charts say they are empty, want 5`);
}
