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
import {
  type MalformedKind,
  MAX_EVENT_BYTES,
  scanEvent,
  type ScannedEvent,
  validateRecord,
  type Validation,
} from "../events/mod.ts";

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

const utf8 = new TextEncoder();
const B64 = utf8.encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const bytesOf = (s: string) => utf8.encode(s);
const F_PARTITION = bytesOf(',"partition":');
const F_OFFSET = bytesOf(',"offset":"');
const F_TIMESTAMP = bytesOf('","timestamp":');
const F_KEY = bytesOf(',"key_b64":');
const F_VALUE = bytesOf(',"value_b64":');
const F_VALID = bytesOf(',"valid":true,"event_id":');
const F_INVALID = bytesOf(',"valid":false,"reason":');
const F_ACTION = bytesOf(',"action":');
const F_TIME = bytesOf(',"event_time":');
const NULL = bytesOf("null");

/**
 * Writes archive lines as bytes: exactly `encodeLine(toLine(topic, r))` in UTF-8, without the
 * intermediate line object, base64 strings and JSON text (most of what the archiver allocated
 * per record). `lineBytesBound` tells how much room one line may need.
 */
export class LineWriter {
  readonly #head: Uint8Array;

  /** A writer of lines of `topic`. */
  constructor(topic: string) {
    this.#head = bytesOf(`{"topic":${JSON.stringify(topic)}`);
  }

  /**
   * The most bytes the line of `r` (validated as `v`) can take: a JSON string of n UTF-16 units
   * is at most 6n + 2 bytes (`\uXXXX` escapes; UTF-8 needs at most 3 bytes per unit).
   */
  lineBytesBound(r: RawRecord, v: LineVerdict): number {
    const b64 = (b: Uint8Array | null) => b === null ? 4 : 4 * Math.ceil(b.byteLength / 3) + 2;
    const fields = !("ok" in v)
      ? v.idEnd - v.idStart + v.action.length + 24 + 6
      : v.ok
      ? 6 * (v.event.event_id.length + v.event.action.length + v.event.timestamp.length) + 6
      : 6 * v.reason.length + 2;
    return this.#head.byteLength + 160 + b64(r.key) + b64(r.value) + fields;
  }

  /**
   * Writes the line of `r` (validated as `v`: `lineVerdict(r.value)`) into `out` from `at`,
   * which must leave `lineBytesBound(r, v)` bytes; returns where the line ends.
   */
  write(r: RawRecord, v: LineVerdict, out: Uint8Array, at: number): number {
    let p = put(out, at, this.#head);
    p = put(out, p, F_PARTITION);
    p = putNumber(out, p, r.partition);
    p = put(out, p, F_OFFSET);
    p = putAscii(out, p, r.offset.toString());
    p = put(out, p, F_TIMESTAMP);
    p = putNumber(out, p, r.timestamp);
    p = put(out, p, F_KEY);
    p = putBase64(out, p, r.key);
    p = put(out, p, F_VALUE);
    p = putBase64(out, p, r.value);
    if (!("ok" in v)) {
      // scanned: the id and the timestamp are plain ASCII in the value, as JSON writes them
      const value = r.value!;
      p = put(out, p, F_VALID);
      out[p++] = 0x22;
      p = put(out, p, value.subarray(v.idStart, v.idEnd));
      out[p++] = 0x22;
      p = put(out, p, F_ACTION);
      p = putJsonString(out, p, v.action);
      p = put(out, p, F_TIME);
      out[p++] = 0x22;
      p = put(out, p, value.subarray(v.timestampAt, v.timestampAt + 24));
      out[p++] = 0x22;
    } else if (v.ok) {
      p = put(out, p, F_VALID);
      p = putJsonString(out, p, v.event.event_id);
      p = put(out, p, F_ACTION);
      p = putJsonString(out, p, v.event.action);
      p = put(out, p, F_TIME);
      p = putJsonString(out, p, v.event.timestamp);
    } else {
      p = put(out, p, F_INVALID);
      p = putJsonString(out, p, v.reason);
    }
    out[p++] = 0x7d; // }
    out[p++] = 0x0a; // \n
    return p;
  }
}

/**
 * How a line tells a record's validity: a valid event read straight from its bytes
 * (`scanEvent`), or `validateRecord`'s verdict.
 */
export type LineVerdict = ScannedEvent | Validation;

/** The verdict of a record's value for its archive line: the same as `validateRecord`'s. */
export function lineVerdict(value: Uint8Array | null): LineVerdict {
  return (value && value.byteLength <= MAX_EVENT_BYTES && scanEvent(value)) ||
    validateRecord(value);
}

function put(out: Uint8Array, p: number, bytes: Uint8Array): number {
  out.set(bytes, p);
  return p + bytes.byteLength;
}

/** ASCII text (digits, signs) as bytes. */
function putAscii(out: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[p++] = s.charCodeAt(i);
  return p;
}

/** A number as `JSON.stringify` writes it. */
function putNumber(out: Uint8Array, p: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return putAscii(out, p, JSON.stringify(n));
  if (n === 0) {
    out[p] = 0x30;
    return p + 1;
  }
  let digits = 0;
  for (let m = n; m > 0; m = Math.floor(m / 10)) digits++;
  for (let i = p + digits - 1, m = n; i >= p; i--, m = Math.floor(m / 10)) out[i] = 0x30 + m % 10;
  return p + digits;
}

/** `"<base64>"` of `b` (standard alphabet, padded, as `Buffer#toString("base64")`), or `null`. */
function putBase64(out: Uint8Array, p: number, b: Uint8Array | null): number {
  if (b === null) return put(out, p, NULL);
  out[p++] = 0x22;
  const n = b.byteLength;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const x = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[p++] = B64[x >>> 18]!;
    out[p++] = B64[(x >>> 12) & 63]!;
    out[p++] = B64[(x >>> 6) & 63]!;
    out[p++] = B64[x & 63]!;
  }
  if (i < n) {
    const x = (b[i]! << 16) | (i + 1 < n ? b[i + 1]! << 8 : 0);
    out[p++] = B64[x >>> 18]!;
    out[p++] = B64[(x >>> 12) & 63]!;
    out[p++] = i + 1 < n ? B64[(x >>> 6) & 63]! : 0x3d;
    out[p++] = 0x3d;
  }
  out[p++] = 0x22;
  return p;
}

/** `s` as `JSON.stringify(s)` writes it, in UTF-8. */
function putJsonString(out: Uint8Array, p: number, s: string): number {
  const start = p;
  out[p++] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      // escapes or non-ASCII: the engine's own serialisation, encoded
      return start + utf8.encodeInto(JSON.stringify(s), out.subarray(start)).written;
    }
    out[p++] = c;
  }
  out[p++] = 0x22;
  return p;
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
