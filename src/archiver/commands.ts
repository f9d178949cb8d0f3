/**
 * The archiver's commands: `verify` (archive vs aggregates), `backfill` (re-publish archived
 * records to a topic) and `archive-ls` (objects and their offset tiling).
 *
 * @module
 */
import { defineCommand, UsageError, type Values } from "../cli/options.ts";
import { archiveLsSpec, backfillSpec, verifySpec } from "../cli/specs.ts";
import { createKafkaClient, type OutRecord } from "../kafka/mod.ts";
import { createSql, postgresError } from "../postgres/mod.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { createS3 } from "../s3/mod.ts";
import { validateRecord } from "../events/mod.ts";
import { checkTiling, listArchive, type ListOptions, readRecords } from "./read.ts";
import { S3Store } from "./store.ts";
import { archiveTruth, compareTruth, formatMismatches, postgresCounts } from "./verify.ts";

function scanOptions(v: { "scan-dt-from"?: string; "scan-dt-to"?: string }): ListOptions {
  const { "scan-dt-from": dtFrom, "scan-dt-to": dtTo } = v;
  if ((dtFrom === undefined) !== (dtTo === undefined)) {
    throw new UsageError(
      "--scan-dt-from and --scan-dt-to go together",
      "give both days or neither",
    );
  }
  return dtFrom && dtTo ? { dtFrom, dtTo } : {};
}

function timeRange(v: { from: Date; to: Date }): { from: Date; to: Date } {
  if (v.to <= v.from) {
    throw new UsageError(
      `--to (${v.to.toISOString()}) is not after --from (${v.from.toISOString()})`,
      "give a --to later than --from",
    );
  }
  return v;
}

async function verify(
  v: Values<typeof verifySpec.options>,
  { config, log }: ModuleContext,
): Promise<number> {
  const { from, to } = timeRange(v);
  const topic = v.topic ?? config.clickTopic;
  const prefix = v.prefix;
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

async function backfill(
  v: Values<typeof backfillSpec.options>,
  { config, log }: ModuleContext,
): Promise<number> {
  const { from, to } = timeRange(v);
  const target = v["to-topic"];
  const topic = v.topic ?? config.clickTopic;
  if (target === topic) {
    throw new UsageError(
      `--to-topic is "${target}", the archived topic (it would re-archive)`,
      "give another topic, e.g. the one a backfill aggregator reads",
    );
  }
  const prefix = v.prefix;
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

async function archiveLs(
  v: Values<typeof archiveLsSpec.options>,
  { config }: ModuleContext,
): Promise<number> {
  const topic = v.topic ?? config.clickTopic;
  const prefix = v.prefix;
  const partitions = v.partition === undefined ? undefined : [v.partition];
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

/** `verify`: the archive's per-minute counts against PostgreSQL. */
export const verifyCommand: Command = defineCommand(verifySpec, verify);
/** `backfill`: archived records of a time range to another topic. */
export const backfillCommand: Command = defineCommand(backfillSpec, backfill);
/** `archive-ls`: the archive's objects and their offset tiling. */
export const archiveLsCommand: Command = defineCommand(archiveLsSpec, archiveLs);

/** Runs `verify` with its arguments; resolves to the exit code (2 on a usage error). */
export const runVerify = verifyCommand.run;
/** Runs `backfill` with its arguments; resolves to the exit code (2 on a usage error). */
export const runBackfill = backfillCommand.run;
/** Runs `archive-ls` with its arguments; resolves to the exit code (2 on a usage error). */
export const runArchiveLs = archiveLsCommand.run;

/** `verify`, `backfill` and `archive-ls`. */
export const archiverCommands: Command[] = [verifyCommand, backfillCommand, archiveLsCommand];
