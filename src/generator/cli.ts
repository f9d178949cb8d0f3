/**
 * The `generate` command: CSVs to S3 (and a local dir), the click stream to Kafka, and the
 * ground-truth manifest to a file and S3.
 *
 * @module
 */
import { defineCommand, parseOptions, UsageError, type Values } from "../cli/options.ts";
import { generateSpec } from "../cli/specs.ts";
import { checkKafka } from "../kafka/mod.ts";
import { checkS3, createS3 } from "../s3/mod.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { computeManifest, type Manifest, manifestJson } from "./manifest.ts";
import { csvParamsOf, runPrefix, uploadCsvFiles, uploadManifest, writeCsvFiles } from "./output.ts";
import { checkStreamParams, defaultStreamParams, type StreamParams } from "./params.ts";
import { produceStream } from "./produce.ts";
import { Progress } from "./progress.ts";

/** Parsed `generate` options. */
export interface GenerateOptions {
  params: StreamParams;
  orders: number;
  /** Send cap in records/s: the `--rate` setting (NEXUS_GENERATOR_RATE); unset: unlimited. */
  rate?: number;
  live: boolean;
  /** Live mode without --events: until interrupted. */
  endless: boolean;
  topic?: string;
  batchSize: number;
  manifest?: string;
  dryRun: boolean;
  csv: boolean;
  stream: boolean;
  out?: string;
}

/** The settings `generate` reads besides its flags. */
export interface GenerateSettings {
  /** `generatorRate` (`--rate`, NEXUS_GENERATOR_RATE). */
  rate?: number;
}

/** The flags of `generate`, as its option table parses them. */
export type GenerateFlags = Values<typeof generateSpec.options>;

/**
 * Turns parsed `generate` flags (and the settings it reads) into options.
 *
 * @throws {UsageError} when flags exclude each other or the stream parameters are invalid.
 */
export function generateOptions(
  v: GenerateFlags,
  settings: GenerateSettings = {},
): GenerateOptions {
  if (v.events !== undefined && v.duration !== undefined) {
    throw new UsageError("--events and --duration exclude each other", "give one of them");
  }
  if (v["csv-only"] && v["no-csv"]) {
    throw new UsageError("--csv-only and --no-csv exclude each other", "give one of them");
  }
  if (v.live && v["dry-run"]) {
    throw new UsageError("--live and --dry-run exclude each other", "give one of them");
  }
  const rate = settings.rate;
  const o: Partial<StreamParams> = {
    seed: v.seed,
    start: v.start,
    eventsPerSecond: v["events-per-second"],
    users: v.users,
    products: v.products,
    lateFraction: v["late-fraction"],
    maxLatenessMs: v["max-lateness-ms"],
    duplicateFraction: v["duplicate-fraction"],
    malformedFraction: v["malformed-fraction"],
    events: v.events,
  };
  if (v.live) {
    // live: event-time density follows the send rate; start is now
    o.start = new Date().toISOString();
    o.eventsPerSecond = rate ?? o.eventsPerSecond;
    if (v.seed === undefined) o.seed = Math.floor(Date.now() / 1000) >>> 0;
  }
  const endless = v.live && v.events === undefined && v.duration === undefined;
  let params: StreamParams;
  try {
    params = defaultStreamParams(o);
    if (v.duration !== undefined) params.events = Math.round(v.duration * params.eventsPerSecond);
    if (endless) params.events = Number.MAX_SAFE_INTEGER;
    checkStreamParams(params);
  } catch (e) {
    throw new UsageError(
      `the stream parameters are invalid: ${(e as Error).message}`,
      "fix that flag",
    );
  }
  return {
    params,
    orders: v.orders ?? params.users * 3,
    rate,
    live: v.live,
    endless,
    topic: v.topic,
    batchSize: v["batch-size"],
    manifest: v.manifest,
    dryRun: v["dry-run"],
    csv: !v["no-csv"],
    stream: !v["csv-only"],
    out: v.out,
  };
}

/**
 * Parses the `generate` arguments (its flags only: settings such as `--rate` are the
 * configuration's, passed in `settings`). @throws {UsageError}
 */
export function parseGenerateArgs(
  args: string[],
  settings: GenerateSettings = {},
): GenerateOptions {
  return generateOptions(parseOptions(generateSpec, args), settings);
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
          rate: o.rate,
          batchSize: o.batchSize,
          partitions: config.partitions,
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

/** Approximate record total for the progress ETA (valid + expected extras). */
function streamTotalHint(p: StreamParams): number {
  return Math.round(p.events * (1 + p.duplicateFraction + p.malformedFraction));
}

/** `generate`: flags from its option table, the send cap from the `--rate` setting. */
export const generateCommand: Command = defineCommand(generateSpec, async (flags, ctx) => {
  const o = generateOptions(flags, { rate: ctx.config.generatorRate });
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
      rate: o.dryRun ? undefined : o.rate,
      seconds: Number(r.seconds.toFixed(2)),
      records_per_second: m ? Math.round(m.records / r.seconds) : undefined,
    }));
    return 0;
  } finally {
    if (listen) Deno.removeSignalListener("SIGINT", onSignal);
  }
});

/** Commands of the generator module. */
export const generatorCommands: Command[] = [generateCommand];

/** For direct use: `deno run -A src/generator/cli.ts generate ...`, the same as `nexus generate`. */
if (import.meta.main) {
  if (Deno.args[0] !== "generate") {
    console.error("usage: deno run -A src/generator/cli.ts generate [flags] [settings]");
    Deno.exit(2);
  }
  const { main } = await import("../../main.ts");
  Deno.exit(await main(Deno.args));
}
