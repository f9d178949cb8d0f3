/**
 * Object key naming of the raw archive.
 *
 * Data objects (query-friendly, Hive-style partitions):
 *
 *     <prefix>/topic=<topic>/dt=YYYY-MM-DD/hr=HH/<topic>-p<partition>-o<start20>-<end20>.ndjson.gz
 *
 * `dt`/`hr` come from the Kafka record timestamp of the FIRST record of the object (UTC), never
 * from the wall clock, so the key of an offset range is a pure function of the topic's content.
 * Offsets are zero-padded to 20 digits so lexical order is numeric order.
 *
 * The per-partition boundary ledger (see `ledger.ts`) lives beside the data:
 *
 *     <prefix>/_ledger/topic=<topic>/p=<partition>/o<start20>.json   one per object, by start
 *     <prefix>/_ledger/topic=<topic>/p=<partition>/head.json          hint: a durable start
 *
 * @module
 */

/** Default key prefix of the archive inside the archive bucket. */
export const DEFAULT_PREFIX = "raw";

/** Width of zero-padded offsets in keys. */
export const OFFSET_WIDTH = 20;

/** Identity of one archived object: which offsets of which partition it holds. */
export interface ObjectRange {
  topic: string;
  partition: number;
  /** First offset in the object (inclusive). */
  start: bigint;
  /** Last offset in the object (inclusive). */
  end: bigint;
}

/** Zero-pads an offset to `OFFSET_WIDTH` digits. */
export function padOffset(offset: bigint): string {
  if (offset < 0n) throw new RangeError(`negative offset ${offset}`);
  return offset.toString().padStart(OFFSET_WIDTH, "0");
}

/** `YYYY-MM-DD` and `HH` (UTC) of an epoch-ms timestamp. */
export function timePartition(timestampMs: number): { dt: string; hr: string } {
  const iso = new Date(Number.isFinite(timestampMs) ? timestampMs : 0).toISOString();
  return { dt: iso.slice(0, 10), hr: iso.slice(11, 13) };
}

function trimPrefix(prefix: string): string {
  return prefix.replace(/\/+$/, "");
}

/** Key of a data object. `firstTimestampMs` is the Kafka timestamp of its first record. */
export function dataKey(prefix: string, r: ObjectRange, firstTimestampMs: number): string {
  const { dt, hr } = timePartition(firstTimestampMs);
  return `${trimPrefix(prefix)}/topic=${r.topic}/dt=${dt}/hr=${hr}/${r.topic}-p${r.partition}-o${
    padOffset(r.start)
  }-${padOffset(r.end)}.ndjson.gz`;
}

/** Prefix under which all data objects of a topic live. */
export function topicDataPrefix(prefix: string, topic: string): string {
  return `${trimPrefix(prefix)}/topic=${topic}/`;
}

/** Prefix of the data objects of one `dt` (day) of a topic. */
export function dayDataPrefix(prefix: string, topic: string, dt: string): string {
  return `${topicDataPrefix(prefix, topic)}dt=${dt}/`;
}

const DATA_RE =
  /(?:^|\/)topic=([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/([^/]+)-p(\d+)-o(\d{20})-(\d{20})\.ndjson\.gz$/;

/** A parsed data-object key. */
export interface ParsedDataKey extends ObjectRange {
  key: string;
  dt: string;
  hr: string;
}

/** Parses a data-object key; `undefined` when the key is not one. */
export function parseDataKey(key: string): ParsedDataKey | undefined {
  const m = DATA_RE.exec(key);
  if (!m || m[1] !== m[4]) return undefined;
  return {
    key,
    topic: m[1]!,
    dt: m[2]!,
    hr: m[3]!,
    partition: Number(m[5]),
    start: BigInt(m[6]!),
    end: BigInt(m[7]!),
  };
}

/** Folder of one partition's boundary ledger. */
export function ledgerDir(prefix: string, topic: string, partition: number): string {
  return `${trimPrefix(prefix)}/_ledger/topic=${topic}/p=${partition}/`;
}

/** Key of the ledger entry of the object starting at `start`. */
export function ledgerKey(prefix: string, topic: string, partition: number, start: bigint): string {
  return `${ledgerDir(prefix, topic, partition)}o${padOffset(start)}.json`;
}

/** Key of a partition's head hint. */
export function headKey(prefix: string, topic: string, partition: number): string {
  return `${ledgerDir(prefix, topic, partition)}head.json`;
}

/** Start offset of a ledger entry key, or `undefined`. */
export function parseLedgerKey(key: string): bigint | undefined {
  const m = /\/o(\d{20})\.json$/.exec(key);
  return m ? BigInt(m[1]!) : undefined;
}
