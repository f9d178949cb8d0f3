/**
 * Hot-path CPU profiles: the generator (produceStream) and the aggregator (consume → Postgres)
 * run as children under `deno run --cpu-prof` on the run's Kafka client; `summarizeProfile`
 * turns a `.cpuprofile` into self-time shares per function and per area: an npm package by
 * name (`@platformatic/kafka`, `kafkajs`, `postgres`, ...), `kafka port` (Nexus's own Kafka
 * code under src/kafka/: adapters, fetch loop, partition consumer core, partitioner), other
 * folders of src/ (`src/events`, `src/aggregator`, ...), the Deno runtime, GC.
 *
 * @module
 */
import { generateStream, type StreamParams } from "../src/generator/mod.ts";
import { validateRecord, validateRecordCore } from "../src/events/mod.ts";
import { type BenchContext, caughtUp, storedOffsets, until } from "./context.ts";
import { spawnChild } from "./proc.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** A V8 `.cpuprofile` (the parts used here). */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
}

/** Self samples of one function or area, with its share of the non-idle samples. */
export interface Hot {
  name: string;
  samples: number;
  share: number;
}

/** An npm package's name and the file inside it, from a script URL (Deno cache or node_modules). */
export function npmFile(url: string): { pkg: string; file: string } | undefined {
  const cache = /\/npm\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\/[^/]+\/(.*)$/.exec(url);
  if (cache) return { pkg: cache[1]!, file: cache[2]! };
  const i = url.lastIndexOf("/node_modules/");
  if (i < 0) return undefined;
  const m = /^((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url.slice(i + "/node_modules/".length));
  return m ? { pkg: m[1]!, file: m[2]! } : undefined;
}

/** npm packages of the Kafka client libraries (and their own helpers). */
export const CLIENT_PACKAGES = /^(kafkajs|@platformatic\/.+)$/;

/** The area a script URL belongs to. */
export function areaOf(url: string): string {
  if (url === "") return "(native/runtime)";
  const npm = npmFile(url);
  if (npm) return npm.pkg;
  if (/\/src\/kafka\/[^/]+$/.test(url)) return "kafka port";
  const src = /\/(src|bench|tests)\/([^/]+)\//.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith("ext:") || url.startsWith("node:")) return "deno runtime (ext:/node:)";
  return url.replace(/^.*\//, "");
}

/** Self-time shares per function (top `limit`) and per area, idle excluded. */
export function summarizeProfile(p: CpuProfile, limit = 10) {
  const hits = new Map<number, number>();
  if (p.samples?.length) { for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1); }
  else for (const n of p.nodes) hits.set(n.id, n.hitCount ?? 0);
  const byFn = new Map<string, number>(), byArea = new Map<string, number>();
  let busy = 0, idle = 0, client = 0;
  for (const n of p.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (!h) continue;
    const f = n.callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") {
      idle += h;
      continue;
    }
    busy += h;
    const npm = npmFile(f.url);
    const file = npm
      ? `${npm.pkg}/${npm.file}`
      : f.url.replace(/^.*\/((?:src|bench|tests)\/)/, "$1").replace(/^file:\/\//, "");
    const name = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    byFn.set(name, (byFn.get(name) ?? 0) + h);
    const area = f.functionName === "(garbage collector)" ? "(garbage collector)" : areaOf(f.url);
    byArea.set(area, (byArea.get(area) ?? 0) + h);
    if (CLIENT_PACKAGES.test(area)) client += h;
  }
  const top = (m: Map<string, number>, k: number): Hot[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, samples]) => ({
      name,
      samples,
      share: busy ? samples / busy : 0,
    }));
  return {
    busySamples: busy,
    idleSamples: idle,
    functions: top(byFn, limit),
    areas: top(byArea, 8),
    /** Self samples in the Kafka client library (kafkajs, @platformatic/*), share of busy. */
    clientLibraryShare: busy ? client / busy : 0,
    /** Self samples in Nexus's Kafka code (`kafka port`), share of busy. */
    kafkaPortShare: busy ? (byArea.get("kafka port") ?? 0) / busy : 0,
  };
}

async function readProfile(dir: string) {
  // The profile can still be being written for a moment after the child's exit status.
  for (let attempt = 1;; attempt++) {
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.name.endsWith(".cpuprofile")) {
          return summarizeProfile(JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)));
        }
      }
      throw new Error(`no .cpuprofile written in ${dir}`);
    } catch (e) {
      if (attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Profiles the generator and the aggregator on `ctx.opts.profileEvents` events. */
export async function profileHotPaths(ctx: BenchContext): Promise<Record<string, unknown>> {
  const events = ctx.opts.profileEvents;
  const topic = await ctx.topic("prof");
  const genDir = `${ctx.workDir}/prof-generator`, aggDir = `${ctx.workDir}/prof-aggregator`;
  await Deno.mkdir(genDir, { recursive: true });
  await Deno.mkdir(aggDir, { recursive: true });
  const gen = spawnChild("generator", {
    env: ctx.childEnv({
      NEXUS_CLICK_TOPIC: topic,
      BENCH_PARAMS: JSON.stringify({ ...ctx.params, events }),
    }),
    cpuProfDir: genDir,
    logFile: ctx.logFile,
  });
  await gen.waitFor("DONE ", 20 * 60_000);
  await gen.exited;
  const db = await ctx.database("prof");
  const ends = await ctx.ends(topic);
  const agg = spawnChild("aggregator", {
    env: ctx.childEnv({
      DATABASE_URL: db.url,
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_DLQ_TOPIC: `${topic}.dlq`,
      NEXUS_AGGREGATOR_GROUP: ctx.group("prof"),
    }),
    cpuProfDir: aggDir,
    logFile: ctx.logFile,
  });
  try {
    await agg.ready(ctx.opts.client);
    await until(
      "profiled aggregator catch-up",
      async () => caughtUp(await storedOffsets(db.sql, topic), ends),
      20 * 60_000,
      100,
    );
  } finally {
    await agg.stop();
  }
  return {
    events,
    client: ctx.opts.client,
    validator: validatorCost(ctx.params, Math.min(events, 100_000)),
    generator: await readProfile(genDir),
    aggregator: await readProfile(aggDir),
  };
}

/**
 * Per-record cost of the validator on the generator's values: `validateRecord` (decode +
 * JSON.parse + schema + timestamp check) vs decode + JSON.parse alone, and the hot paths'
 * `validateRecordCore` (events read from their bytes, `scanEvent`). Best of 3, µs/record.
 */
export function validatorCost(p: StreamParams, n: number) {
  const values: Uint8Array[] = [];
  for (const r of generateStream({ ...p, events: n }, { selfCheck: false })) values.push(r.value);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const time = (fn: (v: Uint8Array) => unknown) => {
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (const v of values) fn(v);
      best = Math.min(best, performance.now() - t0);
    }
    return (best * 1000) / values.length;
  };
  return {
    records: values.length,
    validateRecordUs: time(validateRecord),
    validateRecordCoreUs: time(validateRecordCore),
    parseOnlyUs: time((v) => {
      try {
        return JSON.parse(decoder.decode(v));
      } catch {
        return undefined; // the stream's deliberately malformed records
      }
    }),
  };
}
