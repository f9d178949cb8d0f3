/**
 * `deno task bench`: a standard workload on the local stack (brought up by `ensureStack()`
 * unless KAFKA_BROKERS, DATABASE_URL and S3_ENDPOINT point elsewhere), each figure measured
 * against Kafka's own perf tools (or a plain baseline) in the same run. Writes
 * `<out-dir>/<date>-<name>.json` and, for the default out dir, the table in bench/README.md.
 * See bench/README.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ensureStack } from "../stack/mod.ts";
import { measureArchive } from "./archive.ts";
import { compareClients } from "./clients.ts";
import { measureCapped } from "./capped.ts";
import { measureConsume } from "./consume.ts";
import { BenchContext, type BenchOptions, MEASUREMENTS } from "./context.ts";
import { clientLibrary, parseClientName } from "./kafka.ts";
import { measureLatency } from "./latency.ts";
import { machineInfo, versions } from "./machine.ts";
import type { ConsumerPerfResult } from "./perf_tools.ts";
import { measureProduce } from "./produce.ts";
import { profileHotPaths } from "./profile.ts";
import { measureRebuild } from "./rebuild.ts";
import {
  type BenchResult,
  type Measurement,
  renderSection,
  renderTable,
  resultsFileName,
  updateReadme,
} from "./report.ts";
import { streamStats } from "./workload.ts";

const HERE = new URL(".", import.meta.url).pathname;
const DEFAULT_OUT = `${HERE}results`;
const SKIPPABLE = ["consume", "latency", "rebuild", "archive", "capped", "clients", "profile"];

/** Usage text. */
export const USAGE = `deno task bench [flags]
  --events N            distinct valid events of the workload (default 1000000)
  --partitions N        partitions of the bench topics (default 6)
  --name NAME           run name, in the results file name (default "default")
  --seed N              generator seed (default 42)
  --skip LIST           comma-separated: ${SKIPPABLE.join(", ")}
  --latency-rate N      events/s of the latency run (default 10000)
  --latency-seconds N   measured seconds of the latency run (default 20)
  --latency-flush-ms N  aggregator flush interval during the latency run (default 100)
  --client NAME         Kafka client of every measurement but the comparison: platformatic
                        (@platformatic/kafka, the default) or kafkajs; sets NEXUS_KAFKA_CLIENT
                        of every child
  --client-records N    records of the comparison of both clients (default min(200000, events))
  --profile-events N    events of the --cpu-prof runs (default 200000 when events >= 100000, else 0)
  --out-dir DIR         where the JSON goes (default bench/results; elsewhere README is untouched)
  --keep                keep the topics, databases and S3 objects of the run
  --render FILE         only re-render bench/README.md from a results JSON`;

/** Parses the command line; throws one line naming the bad flag. */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      events: { type: "string" },
      partitions: { type: "string" },
      name: { type: "string" },
      seed: { type: "string" },
      skip: { type: "string", multiple: true },
      "latency-rate": { type: "string" },
      "latency-seconds": { type: "string" },
      "latency-flush-ms": { type: "string" },
      client: { type: "string" },
      "client-records": { type: "string" },
      "profile-events": { type: "string" },
      "out-dir": { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const int = (flag: string, raw: string | undefined, dflt: number, min: number) => {
    if (raw === undefined) return dflt;
    const n = Number(raw.replace(/_/g, ""));
    if (!Number.isSafeInteger(n) || n < min) {
      throw new Error(`--${flag} is "${raw}": expected an integer >= ${min}`);
    }
    return n;
  };
  const events = int("events", values.events, 1_000_000, 100);
  const skip = new Set((values.skip ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()));
  for (const s of skip) {
    if (s !== "" && !SKIPPABLE.includes(s)) {
      throw new Error(`--skip "${s}": expected any of ${SKIPPABLE.join(", ")}`);
    }
  }
  const name = values.name ?? "default";
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(name)) {
    throw new Error(`--name "${name}": expected 1-40 letters, digits, '.', '_' or '-'`);
  }
  const outDir = values["out-dir"] ?? DEFAULT_OUT;
  return {
    events,
    partitions: int("partitions", values.partitions, 6, 1),
    name,
    seed: int("seed", values.seed, 42, 0),
    skip,
    latencyRate: int("latency-rate", values["latency-rate"], 10_000, 1),
    latencySeconds: int("latency-seconds", values["latency-seconds"], 20, 1),
    latencyFlushMs: int("latency-flush-ms", values["latency-flush-ms"], 100, 10),
    client: parseClientName(values.client ?? "platformatic"),
    clientRecords: int("client-records", values["client-records"], Math.min(200_000, events), 0),
    profileEvents: int(
      "profile-events",
      values["profile-events"],
      events >= 100_000 ? 200_000 : 0,
      0,
    ),
    outDir,
    readme: outDir === DEFAULT_OUT ? `${HERE}README.md` : undefined,
    keep: values.keep ?? false,
  };
}

/** Formats the regenerated README like `deno fmt` would (best effort). */
async function fmtReadme(path: string): Promise<void> {
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "-q", path],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => {});
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/** Runs the benchmark; returns the results and where they were written. */
export async function runBench(opts: BenchOptions): Promise<{ result: BenchResult; path: string }> {
  const started = Date.now();
  const log = (msg: string) =>
    console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
  log(`stack: ensuring it is up`);
  const env = await ensureStack();
  const ctx = new BenchContext({ ...Deno.env.toObject(), ...env }, opts);
  const client = { name: opts.client, library: clientLibrary(ctx.config, opts.client) };
  log(`kafka client: ${client.library} (--client ${client.name})`);
  const machine = machineInfo();
  const measurements: Record<string, Measurement> = {};
  const errors: Record<string, string> = {};
  const notes: string[] = [];
  let clients: Record<string, unknown> | undefined;
  let profile: Record<string, unknown> | undefined;
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (opts.skip.has(name)) return undefined;
    log(`${name}: start`);
    try {
      const r = await fn();
      log(`${name}: done`);
      return r;
    } catch (e) {
      errors[name] = reason(e);
      log(`${name}: FAILED ${reason(e)} (child logs: ${ctx.logFile})`);
      return undefined;
    }
  };
  try {
    const ver = await versions(ctx.config);
    log(`workload: counting the stream of ${opts.events} events`);
    const stats = streamStats(ctx.params);
    const produced = await phase("produce", () => measureProduce(ctx, stats));
    if (!produced) throw new Error(`produce failed: ${errors.produce}`);
    measurements.produce = produced.measurement;
    const consumed = await phase("consume", () => measureConsume(ctx, produced.topic));
    if (consumed) measurements.consume = consumed.measurement;
    const lat = await phase("latency", () => measureLatency(ctx, consumed?.dbUrl ?? ""));
    if (lat) measurements.latency = lat;
    const tool: ConsumerPerfResult | undefined = consumed?.tool;
    const rb = await phase("rebuild", () => measureRebuild(ctx, produced.topic, tool));
    if (rb) measurements.rebuild = rb;
    const arch = await phase("archive", () => measureArchive(ctx, produced.topic, stats));
    if (arch) measurements.archive = arch.measurement;
    // peak RSS of each module, from the children above
    const rss: Record<string, number> = { generator: produced.rssMb };
    if (consumed) rss.aggregator = consumed.rssMb;
    if (arch) rss.archiver = arch.rssMb;
    const peak = Math.max(...Object.values(rss));
    const jvm = Number(produced.measurement.details.toolPeakRssMb);
    measurements.rss = {
      title: "peak RSS per module (max)",
      value: peak,
      unit: "MB",
      baseline: { what: "ProducerPerformance JVM (-Xmx512m)", value: jvm, unit: "MB" },
      ratio: peak / jvm,
      target: {
        text: "≤ 256 MB each",
        pass: Object.values(rss).every((x) => x <= 256) && Object.keys(rss).length === 3,
      },
      details: {
        ...rss,
        client: opts.client,
        source: "VmHWM of each child process (/proc/<pid>/status), sampled every 200 ms",
      },
    };
    const capped = await phase("capped", () => measureCapped(ctx));
    if (capped) measurements.rss.details.heapCapped = capped;
    if (opts.clientRecords > 0) clients = await phase("clients", () => compareClients(ctx));
    if (opts.profileEvents > 0) profile = await phase("profile", () => profileHotPaths(ctx));
    const date = new Date();
    const result: BenchResult = {
      format: "nexus-bench/1",
      name: opts.name,
      date: date.toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine,
      versions: ver,
      client,
      workload: {
        events: opts.events,
        records: stats.records,
        partitions: opts.partitions,
        seed: opts.seed,
        avgValueBytes: Math.round(stats.avgValueBytes * 10) / 10,
        valueMB: Math.round(stats.valueBytes / 1e5) / 10,
        lateFraction: ctx.params.lateFraction,
        duplicateFraction: ctx.params.duplicateFraction,
        malformedFraction: ctx.params.malformedFraction,
        latencyRate: opts.latencyRate,
        latencySeconds: opts.latencySeconds,
      },
      measurements,
      clients,
      profile,
      notes,
      errors,
    };
    const loadEnd = Deno.loadavg();
    notes.push(
      `Load average at the end ${
        loadEnd.map((x) => x.toFixed(2)).join(" / ")
      } on ${machine.cores} cores shared with Kafka, PostgreSQL, SeaweedFS and other work: absolute figures are noisy, the same-run ratios are the point.`,
    );
    await Deno.mkdir(opts.outDir, { recursive: true });
    const path = `${opts.outDir}/${resultsFileName(date, opts.name)}`;
    await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
    if (opts.readme) {
      const readme = await Deno.readTextFile(opts.readme).catch(() => "# Benchmarks\n");
      const rel = `bench/results/${resultsFileName(date, opts.name)}`;
      await Deno.writeTextFile(opts.readme, updateReadme(readme, renderSection(result, rel)));
      await fmtReadme(opts.readme);
    }
    console.log(renderTable(result));
    log(`results: ${path}`);
    return { result, path };
  } finally {
    log("cleanup");
    const failed = Object.keys(errors).length > 0;
    if (failed) log(`child logs and profiles kept in ${ctx.workDir}`);
    await ctx.cleanup(failed).catch((e) => log(`cleanup failed: ${reason(e)}`));
  }
}

if (import.meta.main && Deno.args[0] === "--render") {
  // re-renders bench/README.md from a results file: deno run -A bench/run.ts --render FILE
  const file = Deno.args[1];
  if (!file) {
    console.error("bench: --render needs a results JSON file");
    Deno.exit(2);
  }
  const result = JSON.parse(await Deno.readTextFile(file)) as BenchResult;
  const readme = `${HERE}README.md`;
  const rel = `bench/results/${file.replace(/^.*\//, "")}`;
  await Deno.writeTextFile(
    readme,
    updateReadme(await Deno.readTextFile(readme), renderSection(result, rel)),
  );
  await fmtReadme(readme);
  Deno.exit(0);
}

if (import.meta.main) {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(Deno.args);
  } catch (e) {
    console.error(`bench: ${reason(e)}`);
    Deno.exit(2);
  }
  const { result } = await runBench(opts);
  const missing = MEASUREMENTS.filter((m) => !result.measurements[m] && !opts.skip.has(m));
  Deno.exit(Object.keys(result.errors).length || missing.length ? 1 : 0);
}
