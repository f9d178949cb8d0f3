/**
 * Archiver MB/s into S3 (child process, from READY until every partition's last archived
 * offset reached the end; MB = the topic's record value bytes, i.e. the raw stream, before
 * gzip) vs a plain loop that uploads the same bytes (the same record values, newline-joined,
 * cut into objects of the archiver's max object size) with `@aws-sdk/lib-storage` `Upload`,
 * one upload per partition in parallel. Also the child's CPU seconds per million records.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { generateStream } from "../src/generator/mod.ts";
import { createS3 } from "../src/s3/mod.ts";
import { type BenchContext, total } from "./context.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import { perMillion } from "./rss.ts";
import type { StreamStats } from "./workload.ts";

/** Archiver max object age during the measurement (default 60000). */
export const ARCHIVE_MAX_AGE_MS = 1000;

/** Result of the archive phase. */
export interface ArchiveOutcome {
  measurement: Measurement;
  rssMb: number;
}

/** Keys and sizes under `prefix`. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string) {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Deletes `keys` one by one, 8 at a time. */
export async function deleteAll(s3: S3Client, bucket: string, keys: string[]) {
  // one by one: DeleteObjects may send a checksum SeaweedFS rejects
  let i = 0;
  const worker = async () => {
    while (i < keys.length) {
      const key = keys[i++]!;
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Runs the archiver child on `topic`, then the plain upload loop. */
export async function measureArchive(
  ctx: BenchContext,
  topic: string,
  stats: StreamStats,
): Promise<ArchiveOutcome> {
  const ends = await ctx.ends(topic);
  const bucket = ctx.config.archiveBucket;
  const s3 = createS3(ctx.config);
  const child = spawnChild("archiver", {
    env: ctx.childEnv({
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_ARCHIVER_GROUP: ctx.group("arch"),
      // the tail objects close after 1 s of idleness instead of 60 s (a latency policy,
      // not throughput)
      NEXUS_ARCHIVE_MAX_AGE_MS: String(ARCHIVE_MAX_AGE_MS),
    }),
    logFile: ctx.logFile,
  });
  let ms: number, rssMb: number;
  let cpu0: number | undefined, cpu1: number | undefined;
  try {
    await child.ready(ctx.opts.client);
    const t0 = performance.now();
    cpu0 = child.cpu();
    const done = (line: string) => {
      const o = JSON.parse(line.slice("ARCHIVED ".length)) as Record<string, string>;
      for (const [p, end] of ends) if (end > 0 && Number(o[p] ?? -1) < end - 1) return false;
      return true;
    };
    for (;;) {
      const line = await child.waitFor("ARCHIVED ", 30 * 60_000);
      if (done(line)) break;
    }
    ms = performance.now() - t0;
    cpu1 = child.cpu();
    child.rss.sample();
    rssMb = child.rss.peakMb;
  } finally {
    await child.stop();
  }
  rssMb = Math.max(rssMb!, child.reportedRssMb() ?? 0);
  const cpuSeconds = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
  const records = total(ends);
  const mb = stats.valueBytes / 1e6;
  const rate = mb / (ms / 1000);
  const dataPrefix = `raw/topic=${topic}/`;
  const ledgerPrefix = `raw/_ledger/topic=${topic}/`;
  const objects = await listKeys(s3, bucket, dataPrefix);
  const storedBytes = objects.reduce((a, o) => a + o.size, 0);

  // Baseline: the same bytes, uploaded plainly in objects of archiveMaxBytes.
  const objectBytes = ctx.config.archiveMaxBytes;
  const basePrefix = `bench/${ctx.runTag}/`;
  const chunks = (function* () {
    let parts: Buffer[] = [];
    let size = 0;
    for (const r of generateStream(ctx.params, { selfCheck: false })) {
      parts.push(r.value, Buffer.from("\n"));
      size += r.value.length + 1;
      if (size >= objectBytes) {
        yield Buffer.concat(parts);
        parts = [];
        size = 0;
      }
    }
    if (size > 0) yield Buffer.concat(parts);
  })();
  let n = 0, uploaded = 0;
  const b0 = performance.now();
  const worker = async () => {
    for (;;) {
      const next = chunks.next();
      if (next.done) return;
      const key = `${basePrefix}chunk-${String(n++).padStart(5, "0")}`;
      await new Upload({
        client: s3,
        params: { Bucket: bucket, Key: key, Body: next.value },
        queueSize: 2,
        partSize: 5 * 1024 * 1024,
      }).done();
      uploaded += next.value.length;
    }
  };
  await Promise.all(Array.from({ length: ctx.opts.partitions }, worker));
  const bms = performance.now() - b0;
  const baseRate = uploaded / 1e6 / (bms / 1000);

  if (!ctx.opts.keep) {
    const keys = [
      ...objects.map((o) => o.key),
      ...(await listKeys(s3, bucket, ledgerPrefix)).map((o) => o.key),
      ...(await listKeys(s3, bucket, basePrefix)).map((o) => o.key),
    ];
    await deleteAll(s3, bucket, keys);
  }
  s3.destroy();
  const ratio = rate / baseRate;
  return {
    rssMb,
    measurement: {
      title: "archiver → S3",
      value: rate,
      unit: "MB/s (raw)",
      baseline: { what: "parallel multipart Upload loop", value: baseRate, unit: "MB/s" },
      ratio,
      target: { text: "(no target; reported)", pass: true },
      cpuSecondsPerMillion: perMillion(cpuSeconds, records),
      details: {
        records,
        client: ctx.opts.client,
        cpuSeconds,
        cpuUtilisation: cpuSeconds === undefined ? undefined : cpuSeconds / (ms / 1000),
        rawMB: mb,
        seconds: ms / 1000,
        objects: objects.length,
        storedMB: storedBytes / 1e6,
        compression: storedBytes ? stats.valueBytes / storedBytes : null,
        baselineSeconds: bms / 1000,
        baselineObjects: n,
        baselineObjectBytes: objectBytes,
        baselineConcurrency: ctx.opts.partitions,
        archiveMaxAgeMs: ARCHIVE_MAX_AGE_MS,
        archiveMaxRecords: ctx.config.archiveMaxRecords,
        archiveMaxBytes: ctx.config.archiveMaxBytes,
        note:
          "archiver: consume + gzip NDJSON + ledger entry + upload per object, exactly-once; baseline uploads the raw bytes uncompressed with no Kafka and no ledger; CPU = utime+stime of the child (/proc/<pid>/stat) from READY to archived, per million records",
      },
    },
  };
}
