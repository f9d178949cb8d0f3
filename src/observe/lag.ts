/**
 * Consumer progress per group and partition: Kafka's committed offset, the end offset (high
 * watermark) and the lag; for the aggregator also the offset and watermark it stores in
 * Postgres (`consumer_checkpoints`), for the archiver the last archived offset.
 *
 * Lag = end offset − the furthest known position, where the position is the largest of the
 * committed offset, the aggregator's stored `next_offset` and the archiver's last archived
 * offset + 1; with no position at all it is end − low (nothing consumed yet).
 *
 * @module
 */
import type { Admin } from "../kafka/mod.ts";
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Config, ModuleName } from "../config/mod.ts";
import type { Sql } from "../postgres/mod.ts";
import { DEFAULT_PREFIX, parseDataKey, topicDataPrefix } from "../archiver/key.ts";

/** A consumer whose lag is reported. */
export interface LagTarget {
  module: "aggregator" | "archiver";
  group: string;
  topic: string;
}

/** Progress of one consumer group on one partition. */
export interface PartitionLag {
  module: "aggregator" | "archiver";
  group: string;
  topic: string;
  partition: number;
  /** First offset still in the log. */
  low: number;
  /** End offset (next offset to be written). */
  end: number;
  /** Kafka committed offset of the group, null when none. */
  committed: number | null;
  /** Aggregator: `next_offset` stored in Postgres, null when none. */
  stored: number | null;
  /** Aggregator: watermark stored in Postgres (ISO), null when none. */
  watermark: string | null;
  /** Archiver: last archived offset (inclusive), null when none. */
  archived: number | null;
  /** Records not yet processed. */
  lag: number;
}

/** The consumers of `modules` (aggregator, archiver) with their groups from `config`. */
export function lagTargets(config: Config, modules?: readonly ModuleName[]): LagTarget[] {
  const all: LagTarget[] = [
    { module: "aggregator", group: config.aggregatorGroup, topic: config.clickTopic },
    { module: "archiver", group: config.archiverGroup, topic: config.clickTopic },
  ];
  if (!modules) return all;
  const chosen = all.filter((t) => modules.includes(t.module));
  return chosen.length ? chosen : all;
}

/** Computes lag from the pieces (pure). */
export function computeLag(
  p: {
    low: number;
    end: number;
    committed: number | null;
    stored: number | null;
    archived: number | null;
  },
): number {
  const positions = [p.committed, p.stored, p.archived === null ? null : p.archived + 1]
    .filter((x): x is number => x !== null && x >= 0);
  const pos = positions.length ? Math.max(...positions) : p.low;
  return Math.max(0, p.end - pos);
}

/** End and low offsets of each partition of `topic`. */
export async function topicOffsets(
  admin: Admin,
  topic: string,
): Promise<Map<number, { low: number; end: number }>> {
  const offs = await admin.offsets(topic);
  return new Map([...offs].map(([p, o]) => [p, { low: Number(o.low), end: Number(o.high) }]));
}

/** Committed offsets of `group` on `topic`; partitions with none are absent. */
export async function committedOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, number>> {
  const res = await admin.committedOffsets(group, topic);
  return new Map([...res].map(([p, o]) => [p, Number(o)]));
}

/** The aggregator's Postgres checkpoints of `topic`: next offset and watermark. */
export async function storedCheckpoints(
  sql: Sql,
  topic: string,
  processor = "aggregator",
): Promise<Map<number, { next: number; watermark: string | null }>> {
  const rows = await sql<{ partition: number; next_offset: string; watermark: Date | null }[]>`
    select partition, next_offset::text as next_offset, watermark
    from consumer_checkpoints where processor = ${processor} and topic = ${topic}`;
  return new Map(rows.map((r) => [
    r.partition,
    { next: Number(r.next_offset), watermark: r.watermark ? r.watermark.toISOString() : null },
  ]));
}

/**
 * Last archived offset (inclusive) per partition, from the archive object keys under
 * `<prefix>/topic=<topic>/` (key format of src/archiver/key.ts).
 */
export async function archivedOffsets(
  s3: S3Client,
  bucket: string,
  topic: string,
  prefix = DEFAULT_PREFIX,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: topicDataPrefix(prefix, topic),
        ContinuationToken: token,
      }),
      { abortSignal: AbortSignal.timeout(15000) },
    );
    for (const o of page.Contents ?? []) {
      const k = o.Key ? parseDataKey(o.Key) : undefined;
      if (!k || k.topic !== topic) continue;
      const end = Number(k.end);
      if (end > (out.get(k.partition) ?? -1)) out.set(k.partition, end);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Where the extra per-module figures come from. */
export interface LagSources {
  admin: Admin;
  /** Aggregator checkpoints; omitted or failing = not shown. */
  sql?: Sql;
  /** Archiver's last archived offsets per partition (from its status or from S3). */
  archived?: (topic: string) => Promise<Map<number, number>>;
}

/** Lag of each target on each partition of its topic. */
export async function collectLag(targets: LagTarget[], src: LagSources): Promise<PartitionLag[]> {
  const out: PartitionLag[] = [];
  const ends = new Map<string, Map<number, { low: number; end: number }>>();
  for (const t of targets) {
    let offs = ends.get(t.topic);
    if (!offs) ends.set(t.topic, offs = await topicOffsets(src.admin, t.topic));
    const committed = await committedOffsets(src.admin, t.group, t.topic);
    const stored = t.module === "aggregator" && src.sql
      ? await storedCheckpoints(src.sql, t.topic).catch(() => undefined)
      : undefined;
    const archived = t.module === "archiver" && src.archived
      ? await src.archived(t.topic).catch(() => undefined)
      : undefined;
    for (const [partition, { low, end }] of [...offs].sort((a, b) => a[0] - b[0])) {
      const row = {
        module: t.module,
        group: t.group,
        topic: t.topic,
        partition,
        low,
        end,
        committed: committed.get(partition) ?? null,
        stored: stored?.get(partition)?.next ?? null,
        watermark: stored?.get(partition)?.watermark ?? null,
        archived: archived?.get(partition) ?? null,
      };
      out.push({ ...row, lag: computeLag(row) });
    }
  }
  return out;
}
