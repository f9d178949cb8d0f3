import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type BenchResult,
  fmt,
  fmtCpu,
  MARKERS,
  missingFigures,
  renderClients,
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
      target: { text: "≥ 0.3 × producer tool", pass: true },
      cpuSecondsPerMillion: 12.345,
      details: {},
    },
  },
  client: { name: "platformatic", library: "@platformatic/kafka 2.12.1" },
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
  assert(t[2]!.includes("| 12.35 |"), t[2]);
  assert(t[2]!.endsWith("| PASS |"));
  assert(t[3]!.includes("S3 / down") && t[3]!.endsWith("| FAIL |"));
  // every row has the header's columns
  const cols = (row: string) => row.split("|").length;
  for (const row of t) assertEquals(cols(row), cols(t[0]!));
  assertEquals([fmtCpu(undefined), fmtCpu(NaN), fmtCpu(3)], ["—", "—", "3.00"]);
});

Deno.test("renderSection names the Kafka client; renderClients shows rate and CPU per client", () => {
  const s = renderSection(result(), "bench/results/x.json");
  assert(s.includes("Kafka client of the measurements: @platformatic/kafka 2.12.1"));
  const rate = (r: number, c?: number) => ({ recordsPerSec: r, cpuSecondsPerMillion: c });
  const t = renderClients({
    records: 200000,
    rounds: 2,
    results: [
      {
        client: "platformatic",
        library: "@platformatic/kafka 2.12.1",
        produce: rate(256393, 3.1),
        consume: rate(821962, 1.2),
        generator: rate(124937, 9.87),
        aggregator: rate(150000),
      },
      // a results file of an older run: bare rates, no aggregator
      { client: "kafkajs 2.2.4", produce: 110272, consume: 641585, generator: 65543 },
    ],
  }).split("\n");
  assert(t[0]!.includes("200,000 records") && t[0]!.includes("best of 2 rounds"));
  assertEquals(
    t[4],
    "| @platformatic/kafka 2.12.1 | 256,393 (3.10) | 821,962 (1.20) | 124,937 (9.87) | 150,000 (—) |",
  );
  assertEquals(t[5], "| kafkajs 2.2.4 | 110,272 | 641,585 | 65,543 |  |");
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
