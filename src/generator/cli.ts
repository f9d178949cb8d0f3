/**
 * The `generate` command: CSVs to S3 (and a local dir), the click stream to Kafka, and the
 * ground-truth manifest to a file and S3.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Config } from "../config/mod.ts";
import { checkKafka } from "../kafka/mod.ts";
import { checkS3, createS3 } from "../s3/mod.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { computeManifest, type Manifest, manifestJson } from "./manifest.ts";
import { csvParamsOf, runPrefix, uploadCsvFiles, uploadManifest, writeCsvFiles } from "./output.ts";
import { checkStreamParams, defaultStreamParams, type StreamParams } from "./params.ts";
import { produceStream } from "./produce.ts";
import { Progress } from "./progress.ts";

const USAGE = `nexus generate [flags] [settings]

Generates users/products/orders CSVs (to S3 raw-data under runs/<seed>-<hash>/, and --out DIR)
and a click stream to Kafka, deterministic from --seed, and writes the ground-truth manifest.

  --seed N                 seed of every random draw [1]
  --events N               distinct valid events [10000]
  --duration S             instead of --events: S seconds of simulated event time
  --start ISO              start of simulated event time [2026-01-01T00:00:00.000Z]
  --events-per-second N    simulated event-time density [1000]
  --rate N                 cap on records sent per second [unlimited]
  --live                   event time = now (demo); without --events, runs until Ctrl-C
  --users N                users [1000]
  --products N             products [200]
  --orders N               orders in orders.csv [3 x users]
  --late-fraction F        share of valid events emitted late [0.01]
  --max-lateness-ms N      lateness is uniform on [1, N] ms [30000]
  --duplicate-fraction F   extra re-sent copies per valid event [0.01]
  --malformed-fraction F   extra malformed records per valid event [0.005]
  --topic NAME             target topic [NEXUS_CLICK_TOPIC]
  --partitions N           partitions if the topic is created [NEXUS_PARTITIONS]
  --batch-size N           messages per send [4000]
  --manifest PATH          also write the manifest to PATH
  --dry-run                compute the manifest only: no Kafka, no S3
  --csv-only               only the CSVs (no stream)
  --no-csv                 only the stream (no CSVs)
  --out DIR                also write the CSVs into DIR`;

/** Parsed `generate` options. */
export interface GenerateOptions {
  params: StreamParams;
  orders: number;
  rate?: number;
  live: boolean;
  /** Live mode without --events: until interrupted. */
  endless: boolean;
  topic?: string;
  partitions?: number;
  batchSize: number;
  manifest?: string;
  dryRun: boolean;
  csv: boolean;
  stream: boolean;
  out?: string;
}

/** A usage error: one line naming the flag. */
export class UsageError extends Error {
  override name = "UsageError";
}

function num(flag: string, raw: string | undefined, kind: "int" | "float", min: number): number {
  const v = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isFinite(v)) {
    throw new UsageError(`--${flag} is ${JSON.stringify(raw)}: expected a number`);
  }
  if (kind === "int" && !Number.isSafeInteger(v)) {
    throw new UsageError(`--${flag} is ${JSON.stringify(raw)}: expected an integer`);
  }
  if (v < min) throw new UsageError(`--${flag} is ${raw}: expected at least ${min}`);
  return v;
}

function frac(flag: string, raw: string): number {
  const v = num(flag, raw, "float", 0);
  if (v > 1) throw new UsageError(`--${flag} is ${raw}: expected a fraction 0..1`);
  return v;
}

/** Parses the `generate` arguments. @throws {UsageError} */
export function parseGenerateArgs(args: string[]): GenerateOptions {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        events: { type: "string" },
        duration: { type: "string" },
        start: { type: "string" },
        "events-per-second": { type: "string" },
        rate: { type: "string" },
        live: { type: "boolean" },
        users: { type: "string" },
        products: { type: "string" },
        orders: { type: "string" },
        "late-fraction": { type: "string" },
        "max-lateness-ms": { type: "string" },
        "duplicate-fraction": { type: "string" },
        "malformed-fraction": { type: "string" },
        topic: { type: "string" },
        partitions: { type: "string" },
        "batch-size": { type: "string" },
        manifest: { type: "string" },
        "dry-run": { type: "boolean" },
        "csv-only": { type: "boolean" },
        "no-csv": { type: "boolean" },
        out: { type: "string" },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`Cannot parse generate arguments: ${(e as Error).message.split("\n")[0]}`);
  }
  if (v.events !== undefined && v.duration !== undefined) {
    throw new UsageError("--events and --duration exclude each other: give one");
  }
  if (v["csv-only"] && v["no-csv"]) {
    throw new UsageError("--csv-only and --no-csv exclude each other");
  }
  if (v.live && v["dry-run"]) throw new UsageError("--live and --dry-run exclude each other");
  const o: Partial<StreamParams> = {};
  if (v.seed !== undefined) o.seed = num("seed", v.seed, "int", 0);
  if (v.start !== undefined) o.start = v.start;
  if (v["events-per-second"] !== undefined) {
    o.eventsPerSecond = num("events-per-second", v["events-per-second"], "float", 0.001);
  }
  if (v.users !== undefined) o.users = num("users", v.users, "int", 1);
  if (v.products !== undefined) o.products = num("products", v.products, "int", 1);
  if (v["late-fraction"] !== undefined) o.lateFraction = frac("late-fraction", v["late-fraction"]);
  if (v["max-lateness-ms"] !== undefined) {
    o.maxLatenessMs = num("max-lateness-ms", v["max-lateness-ms"], "int", 1);
  }
  if (v["duplicate-fraction"] !== undefined) {
    o.duplicateFraction = frac("duplicate-fraction", v["duplicate-fraction"]);
  }
  if (v["malformed-fraction"] !== undefined) {
    o.malformedFraction = frac("malformed-fraction", v["malformed-fraction"]);
  }
  const rate = v.rate !== undefined ? num("rate", v.rate, "float", 0.001) : undefined;
  const live = v.live ?? false;
  if (live) {
    // live: event-time density follows the send rate; start is now
    o.start = new Date().toISOString();
    o.eventsPerSecond = rate ?? o.eventsPerSecond ?? 1000;
    if (v.seed === undefined) o.seed = Math.floor(Date.now() / 1000) >>> 0;
  }
  if (v.events !== undefined) o.events = num("events", v.events, "int", 0);
  let params: StreamParams;
  try {
    params = defaultStreamParams(o);
    if (v.duration !== undefined) {
      params.events = Math.round(num("duration", v.duration, "float", 0) * params.eventsPerSecond);
    }
    const endless = live && v.events === undefined && v.duration === undefined;
    if (endless) params.events = Number.MAX_SAFE_INTEGER;
    checkStreamParams(params);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`Cannot generate: ${(e as Error).message}`);
  }
  return {
    params,
    orders: v.orders !== undefined ? num("orders", v.orders, "int", 0) : params.users * 3,
    rate,
    live,
    endless: live && v.events === undefined && v.duration === undefined,
    topic: v.topic,
    partitions: v.partitions !== undefined ? num("partitions", v.partitions, "int", 1) : undefined,
    batchSize: v["batch-size"] !== undefined ? num("batch-size", v["batch-size"], "int", 1) : 4000,
    manifest: v.manifest,
    dryRun: v["dry-run"] ?? false,
    csv: !(v["no-csv"] ?? false),
    stream: !(v["csv-only"] ?? false),
    out: v.out,
  };
}

/** What a `generate` run did. */
export interface GenerateResult {
  prefix: string;
  manifest?: Manifest;
  csvKeys: string[];
  localFiles: string[];
  seconds: number;
}

/** Runs `generate` with parsed options. */
export async function runGenerate(
  o: GenerateOptions,
  ctx: ModuleContext,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const { config, log } = ctx;
  const t0 = performance.now();
  const prefix = runPrefix(o.params, o.orders);
  const csvParams = csvParamsOf(o.params, o.orders);
  const result: GenerateResult = { prefix, csvKeys: [], localFiles: [], seconds: 0 };
  if (o.csv && o.out) result.localFiles = await writeCsvFiles(o.out, csvParams);
  if (o.dryRun) {
    if (o.stream) result.manifest = computeManifest(o.params);
  } else {
    // one clear line (setting + fix) when a service is missing, before any work
    if (o.stream) await checkKafka(config);
    await checkS3(config, [config.rawBucket]);
    const s3 = createS3(config);
    try {
      if (o.csv && s3) {
        result.csvKeys = await uploadCsvFiles(s3, config.rawBucket, prefix, csvParams);
        log.info("CSV files uploaded", { bucket: config.rawBucket, prefix });
      }
      if (o.stream) {
        const topic = o.topic ?? config.clickTopic;
        const progress = new Progress(o.endless ? undefined : streamTotalHint(o.params));
        result.manifest = await produceStream(config, topic, o.params, {
          rate: o.rate ?? configRate(config),
          batchSize: o.batchSize,
          partitions: o.partitions ?? config.partitions,
          signal,
          stream: o.live ? { clock: () => Date.now() } : undefined,
          onProgress: (sent) => progress.update(sent),
        }).catch((e) => {
          if (signal?.aborted && o.endless) return undefined;
          throw e;
        });
        if (result.manifest) progress.done(result.manifest.records);
        if (result.manifest && s3 && !o.live) {
          await uploadManifest(s3, config.rawBucket, prefix, result.manifest);
        }
      }
    } finally {
      s3?.destroy();
    }
  }
  if (o.manifest && result.manifest) {
    await Deno.writeTextFile(o.manifest, manifestJson(result.manifest));
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

/** The `generatorRate` setting (`--rate` is a setting flag, so it arrives through the config). */
function configRate(config: Config): number | undefined {
  return config.generatorRate;
}

/** Approximate record total for the progress ETA (valid + expected extras). */
function streamTotalHint(p: StreamParams): number {
  return Math.round(p.events * (1 + p.duplicateFraction + p.malformedFraction));
}

/** `generate`. */
export const generateCommand: Command = {
  name: "generate",
  summary: "Generate CSVs (S3) and a deterministic click stream (Kafka) with its manifest",
  usage: USAGE,
  async run(args: string[], ctx: ModuleContext): Promise<number> {
    let o: GenerateOptions;
    try {
      o = parseGenerateArgs(args);
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`nexus generate: ${e.message}`);
        return 2;
      }
      throw e;
    }
    const ac = new AbortController();
    const onSignal = () => ac.abort();
    const listen = o.live && !o.dryRun;
    if (listen) Deno.addSignalListener("SIGINT", onSignal);
    try {
      const r = await runGenerate(o, ctx, ac.signal);
      const m = r.manifest;
      console.log(JSON.stringify({
        prefix: r.prefix,
        bucket: o.dryRun ? undefined : ctx.config.rawBucket,
        csv: r.csvKeys.length ? r.csvKeys : undefined,
        out: r.localFiles.length ? r.localFiles : undefined,
        records: m?.records,
        valid: m?.valid,
        duplicates: m?.duplicates,
        malformed: m ? Object.values(m.malformed).reduce((a, b) => a + b, 0) : undefined,
        seconds: Number(r.seconds.toFixed(2)),
        records_per_second: m ? Math.round(m.records / r.seconds) : undefined,
      }));
      return 0;
    } finally {
      if (listen) Deno.removeSignalListener("SIGINT", onSignal);
    }
  },
};

/** Commands of the generator module. */
export const generatorCommands: Command[] = [generateCommand];

/** For direct use: `deno run -A src/generator/cli.ts generate ...` (settings from env). */
if (import.meta.main) {
  const { resolveConfig } = await import("../config/mod.ts");
  const { createLogger } = await import("../log/logger.ts");
  const [cmd, ...rest] = Deno.args;
  if (cmd !== "generate") {
    console.error("usage: deno run -A src/generator/cli.ts generate [flags]");
    Deno.exit(2);
  }
  const config: Config = resolveConfig();
  Deno.exit(await generateCommand.run(rest, { config, log: createLogger("generator") }));
}
