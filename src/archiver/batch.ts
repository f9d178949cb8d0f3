/**
 * Batching and the flush policy: records of one partition accumulate in an open batch that
 * closes at `maxBytes` uncompressed bytes, `maxRecords` records, or `maxAgeMs` after it was
 * opened (wall clock, so an idle partition is still flushed). The shared buffer budget
 * (`budget.ts`) may also close the largest open batch early.
 *
 * Closing on wall-clock age (or early, for memory) is safe for exactly-once here because a
 * closed batch's boundary is written to the ledger (`ledger.ts`) before its object is uploaded:
 * after a crash the restarted archiver re-reads the boundary instead of re-deciding it.
 *
 * Memory: a batch never holds its records as JS objects or strings. Each NDJSON line is encoded
 * straight into a byte staging chunk; once a chunk is full it is fed to a streaming gzip
 * (`node:zlib`), so an open batch holds its compressed bytes, at most one staging chunk, the
 * deflate state and zlib's not-yet-consumed input: `heldBytes` accounts for all of them. A
 * batch smaller than one chunk never starts a deflate stream (idle partitions stay cheap) and
 * is gzipped in one shot when it closes.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import { createGzip, type Gzip, gzip as gzipCb } from "node:zlib";
import { lineVerdict, LineWriter, type RawRecord } from "./encode.ts";

const gzipAsync = promisify(gzipCb);

/** When an open batch closes. */
export interface FlushPolicy {
  maxBytes: number;
  maxRecords: number;
  maxAgeMs: number;
}

/** Size of a full staging chunk (the unit fed to the deflate stream). */
export const CHUNK_BYTES = 256 * 1024;
/** First staging allocation; doubles up to `CHUNK_BYTES`. */
const FIRST_STAGE_BYTES = 16 * 1024;
/**
 * Native memory of one deflate stream at level 6 (window 32 KiB × 2, hash 64 KiB × 2 with
 * memLevel 8, pending buffer, zlib's 16 KiB output chunk), rounded up: counted per open stream.
 */
export const DEFLATE_OVERHEAD_BYTES = 320 * 1024;

const GZIP_LEVEL = 6;

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
  /** Number of records. */
  count = 0;
  #stage: Uint8Array = new Uint8Array(FIRST_STAGE_BYTES);
  #used = 0;
  #gz?: Gzip;
  #out: Buffer[] = [];
  #outBytes = 0;
  #gzError?: unknown;
  readonly #lines: LineWriter;
  #body?: Promise<Uint8Array>;
  #bodyBytes?: number;

  constructor(topic: string, first: RawRecord, now: number) {
    this.topic = topic;
    this.partition = first.partition;
    this.start = first.offset;
    this.end = first.offset;
    this.firstTimestamp = first.timestamp;
    this.openedAt = now;
    this.#lines = new LineWriter(topic);
    this.#add(first, Infinity);
    this.end = first.offset;
  }

  /** True once `finish` was called: no more records can be added. */
  get closed(): boolean {
    return this.#body !== undefined;
  }

  /**
   * Bytes of memory this batch holds now: the staging chunk, the compressed output so far,
   * zlib's queued input and the deflate state; after `finish`, the body.
   */
  get heldBytes(): number {
    if (this.#bodyBytes !== undefined) return this.#bodyBytes;
    let n = this.#stage.byteLength + this.#outBytes;
    if (this.#gz) n += this.#gz.writableLength + DEFLATE_OVERHEAD_BYTES;
    return n;
  }

  /**
   * Encodes `r`'s line straight into the staging chunk (`LineWriter`) unless it would take the
   * batch past `maxBytes` uncompressed bytes; returns whether it was added.
   */
  #add(r: RawRecord, maxBytes: number): boolean {
    const v = lineVerdict(r.value);
    const bound = this.#lines.lineBytesBound(r, v);
    if (bound > CHUNK_BYTES) {
      // an oversized line goes to the deflate stream on its own
      const own = new Uint8Array(bound);
      const n = this.#lines.write(r, v, own, 0);
      if (this.bytes + n > maxBytes) return false;
      this.#flushStage();
      this.#write(own.subarray(0, n));
      this.bytes += n;
      this.count++;
      return true;
    }
    if (this.#used + bound > this.#stage.byteLength) {
      if (this.#stage.byteLength < CHUNK_BYTES && this.#used + bound <= CHUNK_BYTES) {
        let size = this.#stage.byteLength * 2;
        while (size < this.#used + bound) size *= 2;
        const grown = new Uint8Array(Math.min(CHUNK_BYTES, size));
        grown.set(this.#stage.subarray(0, this.#used));
        this.#stage = grown;
      } else {
        this.#flushStage();
      }
    }
    // written past `#used`: only kept (by advancing `#used`) when the batch takes it
    const end = this.#lines.write(r, v, this.#stage, this.#used);
    const n = end - this.#used;
    if (this.bytes + n > maxBytes) return false;
    this.#used = end;
    this.bytes += n;
    this.count++;
    return true;
  }

  /** Hands the staging chunk to the deflate stream and starts a new one. */
  #flushStage(): void {
    if (this.#used === 0) return;
    this.#write(this.#stage.subarray(0, this.#used));
    this.#stage = new Uint8Array(CHUNK_BYTES);
    this.#used = 0;
  }

  #write(chunk: Uint8Array): void {
    if (!this.#gz) {
      const gz = createGzip({ level: GZIP_LEVEL });
      gz.on("data", (d: Buffer) => {
        this.#out.push(d);
        this.#outBytes += d.byteLength;
      });
      gz.on("error", (e) => this.#gzError = e);
      this.#gz = gz;
    }
    this.#gz.write(chunk);
  }

  /**
   * Appends a record unless it would push the batch past `maxBytes` or `maxRecords`; returns
   * false (record not taken) when the batch must close first. A single record larger than
   * `maxBytes` is taken when the batch is otherwise empty.
   */
  tryAdd(r: RawRecord, policy: FlushPolicy): boolean {
    if (this.closed) throw new Error("batch already closed");
    if (r.offset <= this.end) {
      throw new Error(`offset ${r.offset} after ${this.end}: not increasing`);
    }
    if (this.count >= policy.maxRecords) return false;
    if (!this.#add(r, policy.maxBytes)) return false;
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

  /**
   * Closes the batch and resolves with the gzip body (one gzip member: the NDJSON lines in
   * order). Idempotent. The staging memory is released as soon as it is compressed.
   */
  finish(): Promise<Uint8Array> {
    this.#body ??= this.#finish().then((body) => {
      this.#bodyBytes = body.byteLength;
      return body;
    });
    return this.#body;
  }

  async #finish(): Promise<Uint8Array> {
    const gz = this.#gz;
    if (!gz) {
      const body = await gzipAsync(this.#stage.subarray(0, this.#used), { level: GZIP_LEVEL });
      this.#stage = new Uint8Array(0);
      this.#used = 0;
      return body;
    }
    const ended = new Promise<void>((resolve, reject) => {
      gz.once("end", resolve);
      gz.once("error", reject);
    });
    if (this.#used > 0) gz.end(this.#stage.subarray(0, this.#used));
    else gz.end();
    this.#stage = new Uint8Array(0);
    this.#used = 0;
    if (this.#gzError) throw this.#gzError;
    await ended;
    const body = Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    this.#gz = undefined;
    return body;
  }

  /** Drops the batch's memory (partition revoked or writer reset): it is never uploaded. */
  discard(): void {
    this.#gz?.destroy();
    this.#gz = undefined;
    this.#out = [];
    this.#outBytes = 0;
    this.#stage = new Uint8Array(0);
    this.#used = 0;
    this.#bodyBytes = 0;
    this.#body ??= Promise.reject(new Error("batch discarded"));
    this.#body.catch(() => {});
  }
}
