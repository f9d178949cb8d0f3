/**
 * The archive's line format: gzip-compressed NDJSON, one line per Kafka record.
 *
 * Each line keeps the record byte-exact: `value_b64` (and `key_b64`) are the base64 of the
 * original bytes, so malformed and binary values survive. Convenience fields (`valid`,
 * `reason`, `event_id`, `action`, `event_time`) come from the shared validator
 * `validateRecord`, so every reader classifies records the same way.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import { gunzip as gunzipCb } from "node:zlib";
import { type MalformedKind, validateRecord } from "../events/mod.ts";

const gunzipAsync = promisify(gunzipCb);

/** A Kafka record as the archiver sees it. */
export interface RawRecord {
  partition: number;
  offset: bigint;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** One NDJSON line of the archive. */
export interface ArchiveLine {
  topic: string;
  partition: number;
  /** Decimal string: offsets can exceed 2^53. */
  offset: string;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
  /** Base64 of the key bytes; null when the record has no key. */
  key_b64: string | null;
  /** Base64 of the value bytes; null for a tombstone. */
  value_b64: string | null;
  valid: boolean;
  /** The validator's reason when `valid` is false. */
  reason?: MalformedKind;
  event_id?: string;
  action?: string;
  /** Event time (ISO) of a valid event. */
  event_time?: string;
}

/** A record read back from the archive, bytes restored. */
export interface ArchivedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  valid: boolean;
  reason?: MalformedKind;
}

const b64 = (b: Uint8Array | null) =>
  b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

/** Builds the archive line of one record (validating it with `validateRecord`). */
export function toLine(topic: string, r: RawRecord): ArchiveLine {
  const v = validateRecord(r.value);
  const line: ArchiveLine = {
    topic,
    partition: r.partition,
    offset: r.offset.toString(),
    timestamp: r.timestamp,
    key_b64: b64(r.key),
    value_b64: b64(r.value),
    valid: v.ok,
  };
  if (v.ok) {
    line.event_id = v.event.event_id;
    line.action = v.event.action;
    line.event_time = v.event.timestamp;
  } else {
    line.reason = v.reason;
  }
  return line;
}

/** Serialises a line as NDJSON text (with the trailing newline). */
export function encodeLine(line: ArchiveLine): string {
  return JSON.stringify(line) + "\n";
}

/** Parses one NDJSON line back into a record with its original bytes. */
export function parseLine(text: string): ArchivedRecord {
  const l = JSON.parse(text) as ArchiveLine;
  return {
    topic: l.topic,
    partition: l.partition,
    offset: BigInt(l.offset),
    timestamp: l.timestamp,
    key: l.key_b64 === null ? null : Buffer.from(l.key_b64, "base64"),
    value: l.value_b64 === null ? null : Buffer.from(l.value_b64, "base64"),
    valid: l.valid,
    ...(l.reason ? { reason: l.reason } : {}),
  };
}

/** Gunzips an object body and parses every line. */
export async function decodeObject(body: Uint8Array): Promise<ArchivedRecord[]> {
  const text = (await gunzipAsync(body)).toString("utf8");
  const out: ArchivedRecord[] = [];
  for (const line of text.split("\n")) {
    if (line !== "") out.push(parseLine(line));
  }
  return out;
}
