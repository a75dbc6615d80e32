// dlp report: draws the report from the JSON document in #report-data. Every figure was computed
// by `dlp report`; this script only lays them out, draws the charts (inline SVG) and filters the
// table. Strings from the records are put in the page as text (textContent, attribute values),
// never as markup, and are never used as object keys (Map only) or class names.
(function () {
  "use strict";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PAGE_ROWS = 1000;
  const CATEGORY_COLORS = new Map([
    ["pii", "#4e79a7"], ["financial", "#f28e2b"], ["health", "#e15759"],
    ["secret", "#b07aa1"], ["custom", "#59a14f"],
  ]);
  const CONFIDENCE_COLORS = new Map([["high", "#c0392b"], ["medium", "#e67e22"], ["low", "#f1c232"]]);
  const OTHER_COLOR = "#9aa3ad";
  const BAR_COLOR = "#4e79a7";

  const data = JSON.parse(document.getElementById("report-data").textContent);
  const number = (n) => Number(n).toLocaleString("en-US");
  const plural = (n, one, many) => number(n) + " " + (n === 1 ? one : many);

  // An element with attributes and children (strings become text nodes).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function byId(id) { return document.getElementById(id); }

  function shorten(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  // ---- Header, notices, totals -------------------------------------------------------------

  function header() {
    byId("title").textContent = data.title;
    document.title = data.title;
    byId("meta").textContent = "Generated " + data.generated_at.replace("T", " ").replace("Z", " UTC") +
      " by dlp " + data.version + ". Values appear as the records' masked previews.";
    const inputs = data.inputs.map((i) => {
      const parts = [plural(i.findings, "finding", "findings")];
      if (i.skipped) parts.push(number(i.skipped) + " skipped");
      if (i.summaries) parts.push(plural(i.summaries, "scan summary", "scan summaries"));
      if (i.not_understood) parts.push(number(i.not_understood) + " not understood");
      return (i.name === "-" ? "standard input" : i.name) + " (" + parts.join(", ") + ")";
    });
    byId("inputs").textContent = (data.inputs.length === 1 ? "Input: " : "Inputs: ") + inputs.join("; ");
  }

  function notice(kind, text, items) {
    const box = el("div", { class: "notice " + kind, role: "note" }, text);
    if (items && items.length) box.append(el("ul", null, ...items.map((t) => el("li", null, t))));
    byId("notices").append(box);
  }

  function notices() {
    const t = data.totals;
    const p = data.problems;
    if (t.findings === 0 && t.skipped === 0) {
      const lines = data.inputs.reduce((n, i) => n + i.lines, 0);
      notice("info", lines === 0
        ? "Nothing to report: the input is empty (no records)."
        : "Nothing to report: the input holds no findings and no skipped items.");
    }
    if (p.not_understood > 0) {
      notice("warn", plural(p.not_understood, "line", "lines") + " not understood (not dlp records), left out" +
        (p.examples.length ? "; the first:" : "."), p.examples);
    }
    const unknown = Object.entries(p.unknown_records);
    if (unknown.length) {
      const n = unknown.reduce((s, [, c]) => s + c, 0);
      notice("info", plural(n, "record", "records") + " of a type this report does not use, ignored:",
        unknown.map(([name, c]) => name + ": " + number(c)));
    }
    if (data.table.rows.length < data.table.total) {
      notice("info", "The table holds the first " + number(data.table.rows.length) + " of " +
        number(data.table.total) + " findings (dlp report --max-rows); the totals, charts and top lists count them all.");
    }
    const s = data.scan_summary;
    if (s) {
      const skips = Object.entries(s.items_skipped).reduce((n, [, c]) => n + c, 0);
      if (skips > 0 && t.skipped === 0) {
        notice("info", "The scan summary counts " + plural(skips, "skipped item", "skipped items") +
          " that the input does not list: run dlp scan with --report-skipped to see them here.");
      }
    }
  }

  function tile(label, value, sub) {
    return el("div", { class: "tile" },
      el("div", { class: "label" }, label),
      el("div", { class: "value" }, value),
      sub ? el("div", { class: "sub" }, sub) : null);
  }

  function tiles() {
    const t = data.totals;
    const box = byId("tiles");
    let origin = null;
    if (t.scan_findings && t.connector_findings) {
      origin = number(t.scan_findings) + " from dlp scan, " + number(t.connector_findings) + " from the connector";
    } else if (t.connector_findings) {
      origin = "from the ChatGPT connector";
    } else if (t.scan_findings) {
      origin = "from dlp scan";
    }
    box.append(tile("Findings", number(t.findings), origin));
    box.append(tile(t.connector_findings && !t.scan_findings ? "Items with findings" : "Files with findings",
      number(t.sources_with_findings), t.connector_findings ? "files, conversations and items" : "distinct paths"));
    box.append(tile("Distinct values", number(t.distinct_values), "by fingerprint"));
    box.append(tile("Skipped items", number(t.skipped), "not (fully) inspected"));
    const s = data.scan_summary;
    if (s) {
      box.append(tile("Scanned", number(s.items_scanned) + " items",
        number(s.files) + " files, " + (s.bytes / 1e6).toFixed(1) + " MB; the summary counts " +
        plural(s.findings_total, "finding", "findings")));
    }
    // Confidence: one stacked bar.
    const conf = el("div", { class: "tile", id: "confidence" }, el("div", { class: "label" }, "Confidence"));
    const stack = el("div", { class: "stack", role: "img", "aria-label": "Findings by confidence" });
    const legend = el("div", { class: "legend" });
    for (const bar of t.by_confidence) {
      const color = CONFIDENCE_COLORS.get(bar.label) || OTHER_COLOR;
      if (bar.count > 0 && t.findings > 0) {
        const part = el("span", { title: bar.label + ": " + number(bar.count), "data-count": bar.count });
        part.style.width = (100 * bar.count / t.findings) + "%";
        part.style.background = color;
        stack.append(part);
      }
      const swatch = el("i");
      swatch.style.background = color;
      legend.append(el("span", null, swatch, bar.label + " " + number(bar.count)));
    }
    conf.append(stack, legend);
    box.append(conf);
  }

  // ---- Charts --------------------------------------------------------------------------------

  function card(title, note, full) {
    const box = el("section", { class: "card" + (full ? " full" : "") });
    const head = el("div", { class: "card-head" }, el("h2", null, title));
    if (note) head.append(el("span", { class: "muted" }, note));
    box.append(head);
    return box;
  }

  // The width a chart has in its card, so that the SVG is drawn at its size (text at 12px).
  function innerWidth(box, min) {
    return Math.max(min, Math.floor(box.clientWidth - 36));
  }

  // Horizontal bars, one per label, largest first as given.
  function barChart(name, bars, colorOf, width) {
    const rowH = 26, countW = 64, top = 4;
    const labelW = Math.min(230, Math.round(width * 0.36));
    const barW = width - labelW - countW;
    const max = Math.max(1, ...bars.map((b) => b.count));
    const height = top * 2 + rowH * bars.length;
    const chart = svgEl("svg", {
      class: "chart", "data-chart": name, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": name,
    });
    bars.forEach((b, i) => {
      const y = top + i * rowH;
      const w = b.count > 0 ? Math.max(2, (b.count / max) * barW) : 0;
      const label = svgEl("text", { x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end" },
        shorten(b.label, Math.floor(labelW / 7.2)));
      label.append(svgEl("title", {}, b.label));
      const rect = svgEl("rect", {
        class: "bar", x: labelW, y: y + 4, width: w.toFixed(2), height: rowH - 8, rx: 3,
        fill: colorOf ? colorOf(b.label) : BAR_COLOR, "data-label": b.label, "data-count": b.count,
      });
      rect.append(svgEl("title", {}, b.label + ": " + number(b.count)));
      chart.append(label, rect,
        svgEl("text", { class: "count", x: labelW + w + 6, y: y + rowH / 2 + 4 }, number(b.count)));
    });
    return chart;
  }

  // Columns over time, every bucket from the first finding to the last.
  function timeChart(timeline, width) {
    const height = 240, left = 48, right = 12, top = 12, bottom = 34;
    const buckets = timeline.buckets;
    const plotW = width - left - right, plotH = height - top - bottom;
    const max = buckets.reduce((m, b) => Math.max(m, b.count), 1);
    const step = plotW / buckets.length;
    const gap = step > 6 ? Math.min(4, step * 0.2) : 0;
    const chart = svgEl("svg", {
      class: "chart", "data-chart": "time", viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": "findings over time",
    });
    // Grid lines at 0, the middle (a whole number) and the largest count.
    const ticks = max >= 2 ? [0, Math.round(max / 2), max] : [0, max];
    for (const tick of ticks) {
      const y = top + plotH - (tick / max) * plotH;
      chart.append(svgEl("line", { class: "grid-line", x1: left, x2: width - right, y1: y, y2: y }));
      chart.append(svgEl("text", { class: "axis", x: left - 6, y: y + 4, "text-anchor": "end" }, number(tick)));
    }
    const labelEvery = Math.max(1, Math.ceil(buckets.length / Math.max(2, Math.floor(plotW / 110))));
    buckets.forEach((b, i) => {
      const h = (b.count / max) * plotH;
      const x = left + i * step + gap / 2;
      const rect = svgEl("rect", {
        class: "bar", x: x.toFixed(2), y: (top + plotH - h).toFixed(2),
        width: Math.max(1, step - gap).toFixed(2), height: h.toFixed(2),
        fill: BAR_COLOR, "data-label": b.label, "data-count": b.count,
      });
      rect.append(svgEl("title", {}, b.label + ": " + plural(b.count, "finding", "findings")));
      chart.append(rect);
      if (i % labelEvery === 0) {
        chart.append(svgEl("text", {
          class: "axis", x: (left + i * step + step / 2).toFixed(2), y: height - bottom + 16, "text-anchor": "middle",
        }, b.label));
      }
    });
    return chart;
  }

  function chartCard(parent, title, note, name, bars, colorOf, emptyText) {
    const box = card(title, note);
    parent.append(box);
    if (bars.length) box.append(barChart(name, bars, colorOf, innerWidth(box, 300)));
    else box.append(el("p", { class: "empty" }, emptyText));
  }

  function charts() {
    const c = data.charts;
    const t = data.totals;
    const box = byId("charts");
    const none = "No findings.";
    chartCard(box, "Findings by category", null, "category", c.category,
      (label) => CATEGORY_COLORS.get(label) || OTHER_COLOR, none);
    const other = c.detector.find((b) => /^other \(\d+\)$/.test(b.label));
    chartCard(box, "Findings by detector", other ? "the largest, then the other detectors together" : null,
      "detector", c.detector, null, none);
    const kindTitle = t.connector_findings && t.scan_findings ? "Findings by file type or item kind"
      : t.connector_findings ? "Findings by item kind" : "Findings by file type";
    chartCard(box, kindTitle, t.scan_findings ? "by file name (the member's, in archives)" : null,
      "file_type", c.file_type, null, none);
    chartCard(box, "Skipped items by reason", null, "skip_reason",
      c.skip_reason, () => "#9c755f", "No skipped items in the input.");
    const time = card("Findings over time", c.time ? "UTC, per " + c.time.unit : null, true);
    box.append(time);
    if (c.time) {
      time.append(timeChart(c.time, innerWidth(time, 400)));
      if (c.without_timestamp) {
        time.append(el("p", { class: "muted small" }, plural(c.without_timestamp, "finding", "findings") +
          " without a timestamp (the connector's GPT knowledge files have none) or with one that is not RFC 3339 " +
          (c.without_timestamp === 1 ? "is" : "are") + " not in this chart."));
      }
    } else {
      time.append(el("p", { class: "empty" }, t.findings
        ? "No finding has a timestamp: dlp scan's records carry none; the ChatGPT connector's carry the event's time."
        : none));
    }
    time.id = "time-card";
  }

  // ---- Top lists -----------------------------------------------------------------------------

  function topCard(title, note, name, entries, render) {
    const box = card(title, note);
    if (!entries.length) {
      box.append(el("p", { class: "empty" }, "None."));
      return box;
    }
    const max = Math.max(1, ...entries.map((e) => e.count));
    const list = el("ol", { class: "top", "data-top": name });
    for (const e of entries) {
      const meter = el("span");
      meter.style.width = (100 * e.count / max) + "%";
      list.append(el("li", null, render(e), el("span", { class: "num" }, number(e.count)),
        el("div", { class: "meter" }, meter)));
    }
    box.append(list);
    return box;
  }

  function tops() {
    const t = data.top;
    const box = byId("tops");
    const named = (e) => el("span", { class: "name", title: e.label }, e.label);
    const sourceTitle = data.totals.connector_findings ? "Top files and items" : "Top files";
    box.append(topCard(sourceTitle, "by findings", "sources", t.sources, named));
    if (t.users.length) box.append(topCard("Top users", "by findings", "users", t.users, named));
    if (t.gpts.length) box.append(topCard("Top custom GPTs", "by findings", "gpts", t.gpts, named));
    if (t.connectors.length > 1) box.append(topCard("Connectors", "by findings", "connectors", t.connectors, named));
    box.append(topCard("Values found most often", "by fingerprint", "values", t.values, (v) =>
      el("span", { class: "name", title: v.detector + " " + v.masked }, "#" + v.value + " ",
        el("code", null, v.masked), el("span", { class: "muted" }, " " + v.detector))));
  }

  // ---- Findings table ------------------------------------------------------------------------

  const table = data.table;
  const strings = table.strings;
  const columns = table.columns.map((c, i) => Object.assign({ index: i }, c));
  const shown = columns.filter((c) => c.present);
  const col = new Map(columns.map((c) => [c.key, c.index]));
  let order = table.rows.map((_, i) => i); // row indices in the current sort order
  let sort = { index: -1, ascending: true };
  let haystacks = null;

  function cellText(row, c) {
    const v = row[c.index];
    if (c.kind === "number") {
      if (!v) return "";
      return c.key === "value" ? "#" + v : String(v);
    }
    return strings[v];
  }

  function fillSelect(id, key, label) {
    const select = byId(id);
    const index = col.get(key);
    const counts = new Map();
    for (const row of table.rows) counts.set(row[index], (counts.get(row[index]) || 0) + 1);
    const options = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    select.append(el("option", { value: "" }, "All " + label));
    for (const [v, n] of options) {
      select.append(el("option", { value: v }, (strings[v] || "(none)") + " (" + number(n) + ")"));
    }
    select.hidden = options.length < 2;
  }

  function buildHaystacks() {
    haystacks = table.rows.map((row) => shown.map((c) => cellText(row, c)).join("\u0001").toLowerCase());
  }

  function matches() {
    const query = byId("search").value.trim().toLowerCase();
    const wanted = [["category", "filter-category"], ["detector", "filter-detector"],
      ["confidence", "filter-confidence"], ["kind", "filter-kind"]]
      .map(([key, id]) => [col.get(key), byId(id).value])
      .filter(([, v]) => v !== "")
      .map(([index, v]) => [index, Number(v)]);
    if (query && !haystacks) buildHaystacks();
    const terms = query ? query.split(/\s+/) : [];
    return order.filter((i) => {
      const row = table.rows[i];
      for (const [index, v] of wanted) if (row[index] !== v) return false;
      for (const term of terms) if (!haystacks[i].includes(term)) return false;
      return true;
    });
  }

  function cell(row, c) {
    const text = cellText(row, c);
    const td = el("td");
    switch (c.key) {
      case "line":
        td.className = "num";
        td.textContent = text;
        break;
      case "masked":
        td.className = "mono";
        td.textContent = text;
        break;
      case "value": {
        td.className = "num";
        const count = table.value_counts[row[c.index]] || 0;
        td.textContent = text;
        if (count > 1) {
          td.append(el("span", { class: "times" }, "\u00d7" + number(count)));
          td.title = "this value was found " + number(count) + " times";
        }
        break;
      }
      case "confidence":
      case "category": {
        const colors = c.key === "confidence" ? CONFIDENCE_COLORS : CATEGORY_COLORS;
        const pill = el("span", { class: "pill" }, text);
        if (colors.has(text)) {
          pill.className = "pill colored";
          pill.style.background = colors.get(text);
          if (text === "low") pill.style.color = "#3b3000";
        }
        td.append(pill);
        break;
      }
      case "source":
        td.className = "source";
        td.textContent = text;
        td.title = text;
        break;
      default:
        td.textContent = text;
    }
    return td;
  }

  // The rows that match, in the current order; drawn PAGE_ROWS at a time ("Show more").
  let matching = [];
  let drawn = 0;

  function drawMore() {
    const body = byId("rows");
    const fragment = document.createDocumentFragment();
    const end = Math.min(matching.length, drawn + PAGE_ROWS);
    for (let k = drawn; k < end; k++) {
      const row = table.rows[matching[k]];
      const tr = document.createElement("tr");
      for (const c of shown) tr.append(cell(row, c));
      fragment.append(tr);
    }
    body.append(fragment);
    drawn = end;
    const status = byId("table-count");
    status.dataset.shown = drawn;
    status.dataset.matching = matching.length;
    const filtered = matching.length !== table.rows.length;
    if (table.rows.length === 0) {
      status.textContent = table.total ? "The table holds none of them (dlp report --max-rows)." : "No findings.";
    } else if (matching.length === 0) {
      status.textContent = "No finding matches the filter.";
    } else if (drawn < matching.length) {
      status.textContent = "Showing " + number(drawn) + " of " + number(matching.length) +
        (filtered ? " matching findings" : " findings") + ".";
    } else {
      status.textContent = filtered
        ? number(matching.length) + " of " + plural(table.rows.length, "finding", "findings") + " match."
        : plural(matching.length, "finding", "findings") + ".";
    }
    const more = byId("more");
    const next = Math.min(PAGE_ROWS, matching.length - drawn);
    more.hidden = next === 0;
    more.textContent = "Show " + number(next) + " more (" + number(matching.length - drawn) + " not shown)";
  }

  function renderTable() {
    matching = matches();
    drawn = 0;
    byId("rows").replaceChildren();
    drawMore();
  }

  // Text columns sort by each string's rank among all strings, computed once: comparing numbers
  // is much faster than comparing strings, with 100,000 rows.
  let ranks = null;

  function sortBy(c) {
    sort = { index: c.index, ascending: sort.index === c.index ? !sort.ascending : true };
    const dir = sort.ascending ? 1 : -1;
    if (c.kind !== "number" && !ranks) {
      ranks = new Uint32Array(strings.length);
      strings.map((_, i) => i)
        .sort((a, b) => (strings[a] < strings[b] ? -1 : strings[a] > strings[b] ? 1 : 0))
        .forEach((id, rank) => { ranks[id] = rank; });
    }
    const rows = table.rows;
    const index = c.index;
    const key = c.kind === "number" ? (i) => rows[i][index] : (i) => ranks[rows[i][index]];
    order = rows.map((_, i) => i).sort((a, b) => (key(a) - key(b) || a - b) * dir);
    for (const th of byId("table-head").children) th.removeAttribute("aria-sort");
    byId("table-head").children[shown.indexOf(c)].setAttribute("aria-sort", sort.ascending ? "ascending" : "descending");
    renderTable();
  }

  function findingsTable() {
    if (table.rows.length === 0) {
      for (const id of ["search", "filter-category", "filter-detector", "filter-confidence", "filter-kind", "clear"]) {
        byId(id).hidden = true;
      }
      byId("table").hidden = true;
      renderTable();
      return;
    }
    const head = byId("table-head");
    for (const c of shown) {
      const th = el("th", { scope: "col", title: "Sort by " + c.label.toLowerCase(),
        class: c.kind === "number" ? "num" : null }, c.label);
      th.addEventListener("click", () => sortBy(c));
      head.append(th);
    }
    fillSelect("filter-category", "category", "categories");
    fillSelect("filter-detector", "detector", "detectors");
    fillSelect("filter-confidence", "confidence", "confidence levels");
    fillSelect("filter-kind", "kind", "types");
    let timer = 0;
    byId("search").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(renderTable, table.rows.length > 20000 ? 200 : 60);
    });
    for (const id of ["filter-category", "filter-detector", "filter-confidence", "filter-kind"]) {
      byId(id).addEventListener("change", renderTable);
    }
    byId("clear").addEventListener("click", () => {
      byId("search").value = "";
      for (const id of ["filter-category", "filter-detector", "filter-confidence", "filter-kind"]) byId(id).value = "";
      renderTable();
    });
    byId("more").addEventListener("click", drawMore);
    byId("table-note").textContent = "Rows are drawn " + number(PAGE_ROWS) + " at a time; the filter and sorting work on all " +
      plural(table.rows.length, "finding", "findings") + " in this report. Words are matched anywhere, in any column " +
      "(all words must match). Value # numbers a value by its fingerprint: the same number is the same value.";
    renderTable();
  }

  function skippedTable() {
    const total = data.totals.skipped;
    if (!total) return;
    byId("skipped").hidden = false;
    const body = byId("skipped-rows");
    for (const s of data.skipped) {
      body.append(el("tr", null, el("td", { class: "source", title: s.source }, s.source), el("td", null, s.member),
        el("td", null, s.kind), el("td", null, el("span", { class: "pill" }, s.reason)), el("td", { class: "detail" }, s.detail)));
    }
    byId("skipped-count").textContent = data.skipped.length < total
      ? "the first " + number(data.skipped.length) + " of " + number(total)
      : plural(total, "item", "items");
  }

  function footer() {
    byId("footer").textContent = "Made by dlp report. This page makes no network requests (its " +
      "Content-Security-Policy forbids them) and holds masked previews and keyed fingerprints, never a " +
      "whole value; the paths, users and titles in it are still sensitive: share it as you would the findings.";
  }

  header();
  notices();
  tiles();
  charts();
  tops();
  findingsTable();
  skippedTable();
  footer();
  document.body.dataset.rendered = "true";
})();
