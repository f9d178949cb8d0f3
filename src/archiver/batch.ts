/**
 * Batching and the flush policy: records of one partition accumulate in an open batch that
 * closes at `maxBytes` uncompressed bytes, `maxRecords` records, or `maxAgeMs` after it was
 * opened (wall clock, so an idle partition is still flushed).
 *
 * Closing on wall-clock age is safe for exactly-once here because a closed batch's boundary is
 * written to the ledger (`ledger.ts`) before its object is uploaded: after a crash the
 * restarted archiver re-reads the boundary instead of re-deciding it.
 *
 * @module
 */
import { encodeLine, type RawRecord, toLine } from "./encode.ts";

/** When an open batch closes. */
export interface FlushPolicy {
  maxBytes: number;
  maxRecords: number;
  maxAgeMs: number;
}

/** Records of one partition on their way to one object. */
export class Batch {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record. */
  readonly start: bigint;
  /** Kafka timestamp of the first record (decides the object's dt/hr). */
  readonly firstTimestamp: number;
  /** Wall-clock ms when the batch was opened. */
  readonly openedAt: number;
  /** Offset of the last record. */
  end: bigint;
  /** Uncompressed NDJSON bytes. */
  bytes = 0;
  readonly lines: string[] = [];

  constructor(topic: string, first: RawRecord, now: number) {
    this.topic = topic;
    this.partition = first.partition;
    this.start = first.offset;
    this.end = first.offset;
    this.firstTimestamp = first.timestamp;
    this.openedAt = now;
    this.pushLine(first);
  }

  /** Number of records. */
  get count(): number {
    return this.lines.length;
  }

  private pushLine(r: RawRecord): void {
    const line = encodeLine(toLine(this.topic, r));
    this.lines.push(line);
    this.bytes += byteLength(line);
    this.end = r.offset;
  }

  /**
   * Appends a record unless it would push the batch past `maxBytes` or `maxRecords`; returns
   * false (record not taken) when the batch must close first. A single record larger than
   * `maxBytes` is taken when the batch is otherwise empty.
   */
  tryAdd(r: RawRecord, policy: FlushPolicy): boolean {
    if (r.offset <= this.end) {
      throw new Error(`offset ${r.offset} after ${this.end}: not increasing`);
    }
    if (this.count >= policy.maxRecords) return false;
    const line = encodeLine(toLine(this.topic, r));
    const n = byteLength(line);
    if (this.bytes + n > policy.maxBytes) return false;
    this.lines.push(line);
    this.bytes += n;
    this.end = r.offset;
    return true;
  }

  /** True when the batch is full by count or bytes. */
  isFull(policy: FlushPolicy): boolean {
    return this.count >= policy.maxRecords || this.bytes >= policy.maxBytes;
  }

  /** True when the batch has been open for `maxAgeMs` or longer. */
  isExpired(policy: FlushPolicy, now: number): boolean {
    return now - this.openedAt >= policy.maxAgeMs;
  }
}

const enc = new TextEncoder();
function byteLength(s: string): number {
  // Lines are JSON: ASCII except inside event ids/actions, which the validator bounds.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : enc.encode(s).byteLength;
}
