import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type BenchResult,
  fmt,
  MARKERS,
  missingFigures,
  renderSection,
  renderTable,
  resultsFileName,
  updateReadme,
} from "./report.ts";

const result = (): BenchResult => ({
  format: "nexus-bench/1",
  name: "t",
  date: "2026-11-24T16:00:00.000Z",
  durationSeconds: 12,
  machine: { cpuModel: "CPU", cores: 2, memoryGb: 24, os: "linux", loadAvg: [1, 2, 3] },
  versions: { Deno: "2.9.6" },
  workload: { events: 100 },
  measurements: {
    produce: {
      title: "generator produce",
      value: 50000,
      unit: "events/s",
      baseline: { what: "ProducerPerformance", value: 100000, unit: "records/s" },
      ratio: 0.5,
      target: { text: "≥ 0.5 × producer tool", pass: true },
      details: {},
    },
  },
  notes: ["noisy"],
  errors: { archive: "S3 | down" },
});

Deno.test("fmt rounds to a readable precision", () => {
  assertEquals([fmt(123456.7), fmt(123.4), fmt(12.34), fmt(1.234), fmt(0.01234)], [
    "123,457",
    "123",
    "12.3",
    "1.23",
    "0.012",
  ]);
});

Deno.test("renderTable has one row per measurement and per error", () => {
  const t = renderTable(result()).split("\n");
  assertEquals(t.length, 4);
  assert(t[2]!.includes("50,000 events/s") && t[2]!.includes("ProducerPerformance: 100,000"));
  assert(t[2]!.endsWith("| PASS |"));
  assert(t[3]!.includes("S3 / down") && t[3]!.endsWith("| FAIL |"));
});

Deno.test("updateReadme replaces only the marked section, or appends it", () => {
  const [a, b] = MARKERS;
  const readme = `# Bench\n\nintro\n\n${a}\nold\n${b}\n\nafter\n`;
  const out = updateReadme(readme, "new");
  assertEquals(out, `# Bench\n\nintro\n\n${a}\nnew\n${b}\n\nafter\n`);
  assertEquals(updateReadme(out, "newer").includes("new\n"), false);
  assert(updateReadme("# Bench\n", "x").endsWith(`${a}\nx\n${b}\n`));
  assert(renderSection(result(), "bench/results/x.json").includes("- noisy"));
});

Deno.test("resultsFileName and missingFigures", () => {
  assertEquals(
    resultsFileName(new Date("2026-11-24T10:00:00Z"), "ci smoke"),
    "2026-11-24-ci_smoke.json",
  );
  const r = result();
  assertEquals(missingFigures(r, ["produce"]), []);
  r.measurements.produce!.ratio = NaN;
  assertEquals(missingFigures(r, ["produce", "rss"]), ["produce.ratio: NaN", "rss: missing"]);
});
