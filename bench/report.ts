/**
 * The results file (`nexus-bench/1` JSON) and its Markdown rendering: one table row per
 * measurement with our figure, the baseline measured in the same run, the ratio and the
 * target's pass/fail; plus machine, versions and workload. `updateReadme` replaces the
 * generated section of bench/README.md between its markers.
 *
 * @module
 */

/** One measurement: our figure against a baseline from the same run. */
export interface Measurement {
  title: string;
  /** Our figure. */
  value: number;
  unit: string;
  /** What we compare with, measured in the same run. */
  baseline: { what: string; value: number; unit: string };
  /** value / baseline.value. */
  ratio: number;
  /** The target and whether this run met it. */
  target: { text: string; pass: boolean };
  /**
   * CPU seconds (user + system, `/proc/<pid>/stat`) of the module's child process over the
   * measured interval, per million records; absent when not measured (rss) or unreadable.
   */
  cpuSecondsPerMillion?: number;
  /** Everything else worth keeping (raw tool output figures, timings). */
  details: Record<string, unknown>;
}

/** A whole run. */
export interface BenchResult {
  format: "nexus-bench/1";
  name: string;
  date: string;
  durationSeconds: number;
  machine: { cpuModel: string; cores: number; memoryGb: number; os: string; loadAvg: number[] };
  versions: Record<string, string>;
  workload: Record<string, unknown>;
  /** The Kafka adapter of the main measurements (`--client`) and its library. */
  client?: { name: string; library: string };
  measurements: Record<string, Measurement>;
  /** Both Kafka adapters side by side (`bench/clients.ts`). */
  clients?: Record<string, unknown>;
  /** Hot-path CPU profiles. */
  profile?: Record<string, unknown>;
  notes: string[];
  errors: Record<string, string>;
}

/** Formats a number for the table: 3 significant digits, thousands separated. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

/** A CPU-seconds-per-million cell: two decimals, `—` when not measured. */
export function fmtCpu(x: number | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "—";
}

/** The Markdown table of the measurements. */
export function renderTable(r: BenchResult): string {
  const rows = [
    "| measurement | Nexus | CPU s / M records | baseline (same run) | ratio | target | pass |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [key, m] of Object.entries(r.measurements)) {
    rows.push(
      `| ${m.title} (\`${key}\`) | ${fmt(m.value)} ${m.unit} | ${
        fmtCpu(m.cpuSecondsPerMillion)
      } | ${m.baseline.what}: ${fmt(m.baseline.value)} ${m.baseline.unit} | ${
        fmt(m.ratio)
      } | ${m.target.text} | ${
        m.target.text.startsWith("(no target") ? "—" : m.target.pass ? "PASS" : "FAIL"
      } |`,
    );
  }
  for (const [key, e] of Object.entries(r.errors)) {
    rows.push(`| \`${key}\` | error: ${e.replace(/\|/g, "/").slice(0, 160)} | | | | | FAIL |`);
  }
  return rows.join("\n");
}

/** The whole generated Markdown section. */
export function renderSection(r: BenchResult, resultsPath: string): string {
  const v = Object.entries(r.versions).map(([k, x]) => `${k} ${x}`).join(", ");
  const w = Object.entries(r.workload).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(", ");
  const parts = [
    `Run \`${r.name}\` on ${r.date} (${fmt(r.durationSeconds)} s), results: \`${resultsPath}\`.`,
    "",
    `- Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${
      fmt(r.machine.memoryGb)
    } GB RAM, ${r.machine.os}; load average at start ${
      r.machine.loadAvg.map((x) => x.toFixed(2)).join(" / ")
    }`,
    `- Versions: ${v}`,
    ...(r.client
      ? [`- Kafka client of the measurements: ${r.client.library} (\`--client ${r.client.name}\`)`]
      : []),
    `- Workload: ${w}`,
    "",
    renderTable(r),
  ];
  const rss = r.measurements.rss?.details as Record<string, unknown> | undefined;
  if (rss) {
    const mods = ["generator", "aggregator", "archiver"].filter((k) => typeof rss[k] === "number");
    let line = `Peak RSS (VmHWM): ${
      mods.map((k) => `${k} ${fmt(rss[k] as number)} MB`).join(", ")
    }.`;
    const cap = rss.heapCapped as Record<string, { ok: boolean; peakRssMb: number }> | undefined;
    if (cap) {
      line += ` Rerun with \`--v8-flags=--max-old-space-size=${cap.heapCapMb}\`: ${
        mods.map((k) =>
          cap[k]
            ? `${k} ${cap[k].ok ? `${fmt(cap[k].peakRssMb)} MB` : "crashed (out of memory)"}`
            : ""
        ).join(", ")
      }.`;
    }
    parts.push("", line);
  }
  if (r.clients) parts.push("", renderClients(r.clients));
  if (r.notes.length) parts.push("", ...r.notes.map((n) => `- ${n}`));
  return parts.join("\n");
}

/** A figure of the client comparison: a rate, or (format of older runs) a bare number. */
type ClientCell = number | { recordsPerSec: number; cpuSecondsPerMillion?: number } | undefined;

function clientCell(x: ClientCell): string {
  if (x === undefined) return "";
  if (typeof x === "number") return fmt(x);
  return `${fmt(x.recordsPerSec)} (${fmtCpu(x.cpuSecondsPerMillion)})`;
}

/** The client comparison table (`clients` of the results). */
export function renderClients(c: Record<string, unknown>): string {
  const rounds = typeof c.rounds === "number" ? c.rounds : 2;
  const rows = [
    `Client comparison (${
      fmt(Number(c.records))
    } records, same records for each client, best of ${rounds} rounds; records/s, in brackets CPU seconds per million records):`,
    "",
    "| client | raw produce | raw consume | generator stream + produce | aggregator consume |",
    "| --- | --- | --- | --- | --- |",
  ];
  const list = (c.results ?? []) as {
    client: string;
    library?: string;
    produce: ClientCell;
    consume: ClientCell;
    generator?: ClientCell;
    aggregator?: ClientCell;
  }[];
  for (const x of list) {
    rows.push(
      `| ${x.library ?? x.client} | ${clientCell(x.produce)} | ${clientCell(x.consume)} | ${
        clientCell(x.generator)
      } | ${clientCell(x.aggregator)} |`,
    );
  }
  return rows.join("\n");
}

/** Start and end markers of the generated section in bench/README.md. */
export const MARKERS = ["<!-- bench:results:start -->", "<!-- bench:results:end -->"] as const;

/** Replaces the text between the markers (appends a marked section when missing). */
export function updateReadme(readme: string, section: string): string {
  const [a, b] = MARKERS;
  const i = readme.indexOf(a), j = readme.indexOf(b);
  const block = `${a}\n${section}\n${b}`;
  if (i < 0 || j < i) return `${readme.trimEnd()}\n\n${block}\n`;
  return readme.slice(0, i) + block + readme.slice(j + b.length);
}

/** `YYYY-MM-DD-<name>.json`. */
export function resultsFileName(date: Date, name: string): string {
  return `${date.toISOString().slice(0, 10)}-${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`;
}

/** Checks that a results object has every named measurement with finite numbers. */
export function missingFigures(r: BenchResult, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const m = r.measurements[n];
    if (!m) {
      out.push(`${n}: missing`);
      continue;
    }
    for (
      const [k, v] of [["value", m.value], ["baseline", m.baseline?.value], ["ratio", m.ratio]]
    ) {
      if (typeof v !== "number" || !Number.isFinite(v)) out.push(`${n}.${k}: ${v}`);
    }
  }
  return out;
}
