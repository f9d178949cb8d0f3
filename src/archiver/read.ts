/**
 * Reading the archive back: list a topic's data objects (optionally only some days), check
 * that they tile each partition's offsets, and stream their records with original bytes.
 *
 * @module
 */
import { type ArchivedRecord, decodeObject } from "./encode.ts";
import { dayDataPrefix, parseDataKey, type ParsedDataKey, topicDataPrefix } from "./key.ts";
import type { ObjectStore } from "./store.ts";

/** A listed data object. */
export interface ArchiveObject extends ParsedDataKey {
  size: number;
}

/** Options of `listArchive`. */
export interface ListOptions {
  /** Only these partitions. */
  partitions?: number[];
  /** Only objects whose `dt` (record-time day of the first record) is in [dtFrom, dtTo]. */
  dtFrom?: string;
  dtTo?: string;
}

function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let t = Date.parse(`${from}T00:00:00Z`);
    t <= Date.parse(`${to}T00:00:00Z`);
    t += 86_400_000
  ) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** Lists a topic's data objects, sorted by partition then start offset. */
export async function listArchive(
  store: ObjectStore,
  prefix: string,
  topic: string,
  opts: ListOptions = {},
): Promise<ArchiveObject[]> {
  const prefixes = opts.dtFrom && opts.dtTo
    ? days(opts.dtFrom, opts.dtTo).map((d) => dayDataPrefix(prefix, topic, d))
    : [topicDataPrefix(prefix, topic)];
  const out: ArchiveObject[] = [];
  for (const pre of prefixes) {
    for await (const o of store.list(pre)) {
      const k = parseDataKey(o.key);
      if (!k || k.topic !== topic) continue;
      if (opts.partitions && !opts.partitions.includes(k.partition)) continue;
      out.push({ ...k, size: o.size });
    }
  }
  out.sort((a, b) =>
    a.partition - b.partition || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)
  );
  return out;
}

/** A problem in how objects cover a partition's offsets. */
export interface TilingProblem {
  partition: number;
  kind: "overlap" | "gap";
  /** The two objects involved (keys). */
  before: string;
  after: string;
}

/**
 * Checks that each partition's objects neither overlap nor leave gaps (offsets of one object
 * follow the previous object's end). Objects must be sorted as `listArchive` returns them.
 */
export function checkTiling(objects: ArchiveObject[]): TilingProblem[] {
  const problems: TilingProblem[] = [];
  for (let i = 1; i < objects.length; i++) {
    const a = objects[i - 1]!;
    const b = objects[i]!;
    if (a.partition !== b.partition) continue;
    if (b.start <= a.end) {
      problems.push({ partition: a.partition, kind: "overlap", before: a.key, after: b.key });
    } else if (b.start > a.end + 1n) {
      problems.push({ partition: a.partition, kind: "gap", before: a.key, after: b.key });
    }
  }
  return problems;
}

/** Reads and decodes one object. */
export async function readObject(store: ObjectStore, key: string): Promise<ArchivedRecord[]> {
  const body = await store.get(key);
  if (!body) throw new Error(`archive object ${key} vanished while reading`);
  return await decodeObject(body);
}

/** Streams the records of the given objects, object by object (a few objects in flight). */
export async function* readRecords(
  store: ObjectStore,
  objects: ArchiveObject[],
  concurrency = 4,
): AsyncIterable<ArchivedRecord> {
  const inflight: Promise<ArchivedRecord[]>[] = [];
  let i = 0;
  while (i < objects.length || inflight.length > 0) {
    while (i < objects.length && inflight.length < concurrency) {
      const next = readObject(store, objects[i++]!.key);
      next.catch(() => {}); // surfaced when awaited below
      inflight.push(next);
    }
    const recs = await inflight.shift()!;
    yield* recs;
  }
}
