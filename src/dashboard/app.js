// Nexus dashboard: polls /api/dashboard every 2 s and draws SVG charts. No external assets.
// The plotted points are mirrored in <script id="chart-data"> and in data-* attributes.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 2000;
const COLORS = {
  view: "#4e79a7",
  click: "#f28e2b",
  add_to_cart: "#59a14f",
  remove_from_cart: "#e15759",
  purchase: "#b07aa1",
};
const FALLBACK = ["#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hhmm(iso) {
  return iso.slice(11, 16);
}

function fmt(n) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString("en-US");
}

/** Frame: axes, grid and x labels; returns scale functions. */
function frame(svg, times, maxY, unit, band) {
  const W = svg.viewBox.baseVal.width;
  const H = svg.viewBox.baseVal.height;
  const m = { l: 60, r: 16, t: 10, b: 24 };
  const inner = W - m.l - m.r;
  // Lines: first and last point on the edges. Bars (band): each point centred in its slot.
  const x = band
    ? (i) => m.l + ((i + 0.5) * inner) / Math.max(1, times.length)
    : (i) => m.l + (times.length <= 1 ? inner / 2 : (i * inner) / (times.length - 1));
  const y = (v) => H - m.b - (v / maxY) * (H - m.t - m.b);
  for (let k = 0; k <= 4; k++) {
    const v = (maxY * k) / 4;
    el("line", { class: "grid", x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }, svg);
    const t = el("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, svg);
    t.textContent = unit === "$" ? `$${fmt(Math.round(v))}` : fmt(Math.round(v));
  }
  const step = Math.max(1, Math.ceil(times.length / 10));
  times.forEach((iso, i) => {
    if (i % step !== 0 && i !== times.length - 1) return;
    const anchor = band ? "middle" : i === 0 ? "start" : i === times.length - 1 ? "end" : "middle";
    const t = el("text", { x: x(i), y: H - 6, "text-anchor": anchor }, svg);
    t.textContent = hhmm(iso);
  });
  return { x, y, W, H, m };
}

function empty(svg, text) {
  const W = svg.viewBox.baseVal.width;
  const H = svg.viewBox.baseVal.height;
  const t = el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, svg);
  t.textContent = text;
}

function drawActions(points) {
  const svg = document.getElementById("actions-chart");
  svg.replaceChildren();
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  const times = [...new Set(points.map((p) => p.t))].sort();
  const known = Object.keys(COLORS);
  const rank = (a) => (known.includes(a) ? known.indexOf(a) : known.length);
  const actions = [...new Set(points.map((p) => p.action))]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  svg.dataset.points = String(points.length);
  if (times.length === 0) return empty(svg, "no windows in Postgres yet");
  const index = new Map(times.map((t, i) => [t, i]));
  const maxY = niceMax(Math.max(...points.map((p) => p.count)));
  const f = frame(svg, times, maxY, "");
  actions.forEach((action, ai) => {
    const color = COLORS[action] || FALLBACK[ai % FALLBACK.length];
    const mine = points.filter((p) => p.action === action);
    const g = el("g", { "data-action": action }, svg);
    el("polyline", {
      fill: "none",
      stroke: color,
      "stroke-width": 2,
      points: mine.map((p) => `${f.x(index.get(p.t))},${f.y(p.count)}`).join(" "),
    }, g);
    for (const p of mine) {
      el("circle", {
        cx: f.x(index.get(p.t)),
        cy: f.y(p.count),
        r: 2.2,
        fill: color,
        "data-t": p.t,
        "data-action": action,
        "data-count": p.count,
      }, g);
    }
    const item = document.createElement("span");
    const sw = document.createElement("i");
    sw.style.background = color;
    item.append(sw, action);
    legend.appendChild(item);
  });
}

function drawRevenue(points) {
  const svg = document.getElementById("revenue-chart");
  svg.replaceChildren();
  svg.dataset.points = String(points.length);
  if (points.length === 0) return empty(svg, "no revenue windows in Postgres yet");
  const times = points.map((p) => p.t);
  const maxY = niceMax(Math.max(...points.map((p) => Number(p.revenue))));
  const f = frame(svg, times, maxY, "$", true);
  const slot = (f.W - f.m.l - f.m.r) / points.length;
  const w = Math.max(1, slot * 0.7);
  points.forEach((p, i) => {
    const top = f.y(Number(p.revenue));
    el("rect", {
      x: f.x(i) - w / 2,
      y: top,
      width: w,
      height: Math.max(0, f.H - f.m.b - top),
      fill: p.final ? "#59a14f" : "#a9d49f",
      "data-t": p.t,
      "data-revenue": p.revenue,
      "data-purchases": p.purchases,
    }, svg);
  });
}

function fillTable(id, rows, rowClass) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren();
  rows.forEach((cells, i) => {
    const tr = document.createElement("tr");
    const cls = rowClass ? rowClass(i) : "";
    if (cls) tr.className = cls;
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
}

/** Faulted partitions of every module: a list on top, rows marked in the tables. */
function drawFaults(modules) {
  const faults = [];
  for (const m of modules) {
    for (const f of m.faults || []) faults.push({ module: m.name, ...f });
  }
  const section = document.getElementById("faults");
  const list = document.getElementById("faults-list");
  list.replaceChildren();
  for (const f of faults) {
    const li = document.createElement("li");
    li.dataset.module = f.module;
    li.dataset.partition = String(f.partition);
    const head = document.createElement("strong");
    head.textContent = `${f.module} partition ${f.partition} faulted`;
    li.append(head, ` since ${f.since.slice(11, 19)} UTC: ${f.reason}`);
    list.appendChild(li);
  }
  section.hidden = faults.length === 0;
  document.body.dataset.faults = String(faults.length);
  return new Set(faults.map((f) => `${f.module}/${f.partition}`));
}

function render(d) {
  drawActions(d.actions);
  drawRevenue(d.revenue);
  const faulted = drawFaults(d.modules);
  fillTable(
    "lag-table",
    d.lag.map((
      r,
    ) => [r.module, r.group, r.partition, fmt(r.end), fmt(r.committed ?? r.stored), fmt(r.lag)]),
    (i) => faulted.has(`${d.lag[i].module}/${d.lag[i].partition}`) ? "faulted" : "",
  );
  fillTable(
    "modules-table",
    d.modules.map((m) => [
      m.name,
      m.faults && m.faults.length
        ? `${m.state} (p${m.faults.map((f) => f.partition).join(",")})`
        : m.state,
      fmt(m.eventsIn),
      fmt(m.eventsOut),
      fmt(m.deadLettered),
      fmt(m.late),
    ]),
    (i) => d.modules[i].state === "faulted" || d.modules[i].state === "failed" ? "faulted" : "",
  );
  document.getElementById("late-total").textContent = fmt(d.late && d.late.total);
  document.getElementById("late-hour").textContent = fmt(d.late && d.late.lastHour);
  document.getElementById("dlq-records").textContent = fmt(d.deadLetterTopic);
  document.getElementById("chart-data").textContent = JSON.stringify({
    generatedAt: d.generatedAt,
    actions: d.actions,
    revenue: d.revenue,
    lag: d.lag,
  });
  document.getElementById("updated").textContent = `updated ${d.generatedAt.slice(11, 19)} UTC`;
  document.getElementById("errors").textContent = d.errors.join("; ");
  document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
}

async function refresh() {
  try {
    const r = await fetch("/api/dashboard", { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    render(await r.json());
  } catch (e) {
    document.getElementById("errors").textContent = `cannot refresh: ${e.message}`;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
