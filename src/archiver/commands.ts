/**
 * The archiver's commands: `verify` (archive vs aggregates), `backfill` (re-publish archived
 * records to a topic) and `archive-ls` (objects and their offset tiling).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createKafkaClient, type OutRecord } from "../kafka/mod.ts";
import { createSql, postgresError } from "../postgres/mod.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { createS3 } from "../s3/mod.ts";
import { validateRecord } from "../events/mod.ts";
import { DEFAULT_PREFIX } from "./key.ts";
import { checkTiling, listArchive, type ListOptions, readRecords } from "./read.ts";
import { S3Store } from "./store.ts";
import { archiveTruth, compareTruth, formatMismatches, postgresCounts } from "./verify.ts";

/** A usage error (one line naming the flag); commands print it and exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

function parse<T extends Record<string, { type: "string" | "boolean" }>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]!);
  }
}

function time(flag: string, raw: string | undefined, required = true): Date | undefined {
  if (raw === undefined) {
    if (required) {
      throw new UsageError(`--${flag} is required (an ISO time, e.g. 2026-01-01T00:00:00Z)`);
    }
    return undefined;
  }
  const t = Date.parse(raw);
  if (!Number.isFinite(t)) {
    throw new UsageError(`--${flag} is ${JSON.stringify(raw)}: not an ISO time`);
  }
  return new Date(t);
}

function day(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    throw new UsageError(`--${flag} is ${JSON.stringify(raw)}: expected YYYY-MM-DD`);
  }
  return raw;
}

async function usageGuard(name: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`nexus ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

const SCAN_FLAGS = `  --topic NAME          archived topic [NEXUS_CLICK_TOPIC]
  --prefix P            key prefix in the archive bucket [${DEFAULT_PREFIX}]
  --scan-dt-from DAY    only read objects whose dt (record-time day) >= DAY (YYYY-MM-DD)
  --scan-dt-to DAY      ... and <= DAY (both needed; default: the whole topic)`;

function scanOptions(v: { "scan-dt-from"?: string; "scan-dt-to"?: string }): ListOptions {
  const dtFrom = day("scan-dt-from", v["scan-dt-from"]);
  const dtTo = day("scan-dt-to", v["scan-dt-to"]);
  if ((dtFrom === undefined) !== (dtTo === undefined)) {
    throw new UsageError(`--scan-dt-from and --scan-dt-to go together`);
  }
  return dtFrom && dtTo ? { dtFrom, dtTo } : {};
}

const SCAN_OPTS = {
  topic: { type: "string" },
  prefix: { type: "string" },
  "scan-dt-from": { type: "string" },
  "scan-dt-to": { type: "string" },
} as const;

/** Runs `verify`; exported for tests. Resolves to the exit code. */
export async function runVerify(args: string[], { config, log }: ModuleContext): Promise<number> {
  const v = parse(args, { ...SCAN_OPTS, from: { type: "string" }, to: { type: "string" } });
  const from = time("from", v.from)!;
  const to = time("to", v.to)!;
  if (to <= from) throw new UsageError(`--to must be after --from`);
  const topic = v.topic ?? config.clickTopic;
  const prefix = v.prefix ?? DEFAULT_PREFIX;
  const scan = scanOptions(v);
  const s3 = createS3(config, { maxAttempts: 3 });
  const sql = createSql(config, { max: 2 });
  try {
    const store = new S3Store(s3, config.archiveBucket);
    const objects = await listArchive(store, prefix, topic, scan);
    const tiling = checkTiling(objects);
    for (const t of tiling) log.warn("archive tiling problem", { ...t });
    const { truth, stats } = await archiveTruth(
      readRecords(store, objects),
      from.getTime(),
      to.getTime(),
      config.maxFutureMs,
    );
    let pg;
    try {
      pg = await postgresCounts(sql, topic, from, to);
    } catch (e) {
      if ((e as { code?: string }).code === "42P01") {
        console.error(
          `nexus verify: ${
            (e as Error).message
          }. Fix: run the aggregator migrations (nexus migrate) against DATABASE_URL.`,
        );
        return 1;
      }
      if ((e as { code?: string }).code) throw e;
      throw postgresError(e, config);
    }
    const mismatches = compareTruth(truth, pg);
    console.log(
      `verify ${topic} [${from.toISOString()}, ${to.toISOString()}): ${objects.length} objects, ${stats.records} records (${stats.valid} valid, ${stats.duplicates} duplicates, ${stats.malformed} malformed), ${stats.inRange} events in range over ${truth.size} windows; ${mismatches.length} mismatches`,
    );
    if (mismatches.length > 0) {
      for (const line of formatMismatches(mismatches)) console.log(line);
      return 1;
    }
    return tiling.length > 0 ? 1 : 0;
  } finally {
    s3.destroy();
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** Runs `backfill`; exported for tests. */
export async function runBackfill(args: string[], { config, log }: ModuleContext): Promise<number> {
  const v = parse(args, {
    ...SCAN_OPTS,
    from: { type: "string" },
    to: { type: "string" },
    "to-topic": { type: "string" },
    "include-malformed": { type: "boolean" },
    "dry-run": { type: "boolean" },
  });
  const from = time("from", v.from)!;
  const to = time("to", v.to)!;
  if (to <= from) throw new UsageError(`--to must be after --from`);
  const target = v["to-topic"];
  if (!target) throw new UsageError(`--to-topic is required (the topic the aggregator will read)`);
  const topic = v.topic ?? config.clickTopic;
  if (target === topic) {
    throw new UsageError(
      `--to-topic must differ from the archived topic "${topic}" (it would re-archive)`,
    );
  }
  const prefix = v.prefix ?? DEFAULT_PREFIX;
  const scan = scanOptions(v);
  const s3 = createS3(config, { maxAttempts: 3 });
  const store = new S3Store(s3, config.archiveBucket);
  const kafka = createKafkaClient(config, { clientSuffix: "backfill" });
  const producer = kafka.producer();
  let selected = 0;
  let sent = 0;
  try {
    const objects = await listArchive(store, prefix, topic, scan);
    if (!v["dry-run"]) {
      const admin = kafka.admin();
      await admin.ensureTopic(target, config.partitions).finally(() => admin.close());
    }
    let batch: OutRecord[] = [];
    const flush = async () => {
      if (batch.length === 0 || v["dry-run"]) return void (batch = []);
      await producer.send(target, batch);
      sent += batch.length;
      batch = [];
    };
    for await (const r of readRecords(store, objects)) {
      const val = validateRecord(r.value);
      const t = val.ok ? val.time : r.timestamp;
      if (!val.ok && !v["include-malformed"]) continue;
      if (t < from.getTime() || t >= to.getTime()) continue;
      selected++;
      batch.push({ key: r.key ?? null, value: r.value ?? null, timestamp: r.timestamp });
      if (batch.length >= 4000) await flush();
    }
    await flush();
    console.log(
      `backfill ${topic} -> ${target} [${from.toISOString()}, ${to.toISOString()}): ${objects.length} objects read, ${selected} records selected, ${sent} sent${
        v["dry-run"] ? " (dry run)" : ""
      }`,
    );
    log.info("backfill done", { selected, sent });
    return 0;
  } finally {
    await producer.close();
    s3.destroy();
  }
}

/** Runs `archive-ls`; exported for tests. */
export async function runArchiveLs(args: string[], { config }: ModuleContext): Promise<number> {
  const v = parse(args, {
    ...SCAN_OPTS,
    partition: { type: "string" },
    objects: { type: "boolean" },
  });
  const topic = v.topic ?? config.clickTopic;
  const prefix = v.prefix ?? DEFAULT_PREFIX;
  let partitions: number[] | undefined;
  if (v.partition !== undefined) {
    if (!/^\d+$/.test(v.partition)) {
      throw new UsageError(`--partition is ${JSON.stringify(v.partition)}: expected an integer`);
    }
    partitions = [Number(v.partition)];
  }
  const s3 = createS3(config, { maxAttempts: 3 });
  try {
    const store = new S3Store(s3, config.archiveBucket);
    const objects = await listArchive(store, prefix, topic, { ...scanOptions(v), partitions });
    const byPartition = new Map<
      number,
      { n: number; first: bigint; last: bigint; bytes: number }
    >();
    for (const o of objects) {
      if (v.objects) console.log(`${o.key}\t${o.size}`);
      const p = byPartition.get(o.partition);
      if (!p) byPartition.set(o.partition, { n: 1, first: o.start, last: o.end, bytes: o.size });
      else {
        p.n++;
        p.last = o.end;
        p.bytes += o.size;
      }
    }
    for (const [p, s] of [...byPartition].sort((a, b) => a[0] - b[0])) {
      console.log(
        `partition ${p}: ${s.n} objects, offsets ${s.first}..${s.last}, ${s.bytes} bytes gzip`,
      );
    }
    const problems = checkTiling(objects);
    for (const t of problems) {
      console.log(`${t.kind} in partition ${t.partition}: ${t.before} / ${t.after}`);
    }
    console.log(
      `${objects.length} objects; ${
        problems.length === 0 ? "no overlaps, no gaps" : `${problems.length} tiling problems`
      }`,
    );
    return problems.length === 0 ? 0 : 1;
  } finally {
    s3.destroy();
  }
}

/** `verify`, `backfill` and `archive-ls`. */
export const archiverCommands: Command[] = [
  {
    name: "verify",
    summary: "Recompute per-minute counts from the archive and compare with PostgreSQL",
    usage: `nexus verify --from ISO --to ISO [flags] [settings]

Recomputes per-minute counts (validateRecord, one count per event_id, window = event minute)
from the raw archive and compares them with action_counts_minute + revenue_minute + late_events.
Prints every differing window (window, metric, archive, postgres); exits 1 on any mismatch.

  --from ISO            first window start included
  --to ISO              windows starting before this
${SCAN_FLAGS}`,
    run: (args, ctx) => usageGuard("verify", () => runVerify(args, ctx)),
  },
  {
    name: "backfill",
    summary: "Re-publish archived records of an event-time range to a topic",
    usage: `nexus backfill --from ISO --to ISO --to-topic NAME [flags] [settings]

Reads the archive and re-publishes, byte-exact with their keys and timestamps, the valid
records whose event time is in [from, to) (duplicates included: the aggregator de-duplicates)
to --to-topic, e.g. for an aggregator started with NEXUS_CLICK_TOPIC=NAME after Kafka's
retention dropped the originals.

  --from ISO            event time from (inclusive)
  --to ISO              event time to (exclusive)
  --to-topic NAME       destination topic (created when missing; must differ from --topic)
  --include-malformed   also re-publish malformed records whose record time is in range
  --dry-run             count only
${SCAN_FLAGS}`,
    run: (args, ctx) => usageGuard("backfill", () => runBackfill(args, ctx)),
  },
  {
    name: "archive-ls",
    summary: "List archived objects per partition and check they tile the offsets",
    usage: `nexus archive-ls [flags] [settings]

  --partition N         only this partition
  --objects             print every object key and size
${SCAN_FLAGS}`,
    run: (args, ctx) => usageGuard("archive-ls", () => runArchiveLs(args, ctx)),
  },
];
