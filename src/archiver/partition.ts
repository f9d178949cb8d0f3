/**
 * One partition's archiving state machine, independent of Kafka: takes records in offset
 * order, cuts them into batches by the flush policy, and uploads closed batches one at a time
 * following the ledger protocol (reserve boundary → PutObject → commit). See `ledger.ts` for
 * the exactly-once argument.
 *
 * Faults: S3 outages are retried forever (`s3_retry.ts`). A failure retrying cannot fix (a
 * refusal such as 403 AccessDenied or 404 NoSuchBucket, an unreadable ledger: `s3_errors.ts`)
 * in recovery or in the upload loop sets `failure`, drops the writer's buffered batches (the
 * ledger makes that safe: a later owner re-reads them), calls `onFailure` once, and from then
 * on `offer` answers "failed": the partition takes no more records.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { Batch, type FlushPolicy } from "./batch.ts";
import type { RawRecord } from "./encode.ts";
import type { BudgetMember, BufferBudget } from "./budget.ts";
import { dataKey } from "./key.ts";
import { type LedgerEntry, recover, type Recovery, reserve, writeHead } from "./ledger.ts";
import type { ObjectStore } from "./store.ts";
import {
  type BackoffPolicy,
  describeFailure,
  GaveUp,
  isRetriable,
  retry,
  RetryAborted,
} from "./s3_retry.ts";
import { recordFlush } from "../observe/metrics.ts";

/** Outcome of offering a record. */
export type Offer =
  /** Archived (in the open batch). */
  | "taken"
  /** Already archived or queued: ignore it. */
  | "skip"
  /** Backlog full (S3 slow or down): pause the partition and offer it again later. */
  | "full"
  /** The record is past the expected next offset: seek to `expected()` (or accept the gap). */
  | "gap"
  /** The writer must recover from S3 first (`init`). */
  | "uninitialised"
  /** The writer stopped for good (`failure`): take no more records of this partition. */
  | "failed";

/** A closed batch and, for a re-upload of a recorded boundary, that entry. */
interface Closed {
  batch: Batch;
  entry?: LedgerEntry;
}

/** Dependencies of a partition writer. */
export interface PartitionDeps {
  store: ObjectStore;
  prefix: string;
  topic: string;
  partition: number;
  policy: FlushPolicy;
  backoff?: BackoffPolicy;
  log: Logger;
  /** Closed batches (in flight included) above which `offer` answers "full". Default 2. */
  maxQueued?: number;
  /**
   * The archiver-wide memory budget shared by all partitions: over it, the largest open batch
   * is closed early and `offer` answers "full" while closed batches still fill it.
   */
  budget?: BufferBudget;
  /** Called after an object is durable, in order; commits the Kafka offset `end + 1`. */
  onDurable?: (entry: LedgerEntry, bodyBytes: number) => Promise<void>;
  /** Called when the backlog drops below the limit (resume fetching). */
  onDrained?: () => void;
  /** Called when the ledger holds another writer's boundary: re-`init` and seek. */
  onConflict?: (existing: LedgerEntry) => void;
  /**
   * Called once when the writer stops for good (`failure`: a refusal or an unreadable ledger,
   * in `init` or in the upload loop); the partition should be reported faulted.
   */
  onFailure?: (error: unknown) => void;
}

/** Records taken between two budget checks (bounds the overshoot: ~64 lines per partition). */
const BUDGET_CHECK_EVERY = 64;
/** Growth of the open batch's held bytes that triggers a budget check sooner. */
const BUDGET_CHECK_GROWTH = 64 * 1024;

/** Archives one partition. */
export class PartitionWriter implements BudgetMember {
  readonly deps: PartitionDeps;
  #ready = false;
  /** Next offset the writer expects. */
  #next = 0n;
  /** A recorded boundary whose object is missing: the next batch must end exactly here. */
  #pending?: LedgerEntry;
  #open?: Batch;
  readonly #queue: Closed[] = [];
  #uploading?: Promise<void>;
  readonly #abort = new AbortController();
  /** Last offset whose object is durable. */
  lastArchived?: bigint;
  /** Wall-clock ms of the last durable upload. */
  lastFlushAt?: number;
  bytesUploaded = 0;
  objectsUploaded = 0;
  /**
   * Error that stopped the writer for good (not an outage: those are retried), a `GaveUp`
   * from `init` or the upload loop.
   */
  failure?: unknown;

  #sinceBudgetCheck = 0;
  #heldAtBudgetCheck = 0;

  constructor(deps: PartitionDeps) {
    this.deps = deps;
    deps.budget?.add(this);
  }

  /** Bytes held by the open batch. */
  get openBytes(): number {
    return this.#open?.heldBytes ?? 0;
  }

  /** Bytes held by closed batches not yet durable. */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.#queue) n += c.batch.heldBytes;
    return n;
  }

  /** The open batch may be cut now: not a recorded range, and the queue has room. */
  get canCutEarly(): boolean {
    return this.#open !== undefined && this.#pending === undefined && !this.aborted &&
      this.failure === undefined && this.#queue.length < (this.deps.maxQueued ?? 2);
  }

  /** Closes the open batch early (memory budget). */
  cutEarly(): void {
    if (this.canCutEarly) this.#close();
  }

  #dropBatches(): void {
    this.#open?.discard();
    this.#open = undefined;
    // the batch in flight (queue[0]) is still referenced by the upload loop, which stops
    for (const c of this.#queue) c.batch.discard();
    this.#queue.length = 0;
  }

  /** Counts a taken record; every few records, applies the shared budget. */
  #taken(): "taken" {
    const budget = this.deps.budget;
    if (!budget) return "taken";
    const held = this.openBytes;
    if (
      ++this.#sinceBudgetCheck >= BUDGET_CHECK_EVERY ||
      held - this.#heldAtBudgetCheck >= BUDGET_CHECK_GROWTH
    ) {
      budget.enforce();
      this.#sinceBudgetCheck = 0;
      this.#heldAtBudgetCheck = this.openBytes;
    }
    return "taken";
  }

  /** True once `init` has run. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The offset the next offered record should have. */
  expected(): bigint {
    return this.#next;
  }

  /** Closed batches not yet durable (the in-flight one included). */
  get backlog(): number {
    return this.#queue.length;
  }

  /** True when the writer holds records not yet durable. */
  get dirty(): boolean {
    return this.#open !== undefined || this.#queue.length > 0;
  }

  /** Aborted writers stop retrying and drop their state (partition revoked or stopping hard). */
  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /**
   * Recovers the position from the ledger, retrying through S3 outages; gives up with
   * `RetryAborted` after `maxWaitMs` (the caller retries later) or when the writer is aborted,
   * and with `GaveUp` on a refusal or an unreadable ledger (then `failure` is set and
   * `onFailure` called: retrying later cannot help).
   */
  async init(floor = 0n, maxWaitMs?: number): Promise<Recovery> {
    const { store, prefix, topic, partition, log } = this.deps;
    if (this.failure !== undefined) throw this.failure;
    let r: Recovery;
    try {
      r = await retry(
        `recover ${topic}/${partition} from the ledger`,
        () => recover(store, prefix, topic, partition, floor),
        {
          ...this.deps.backoff,
          signal: maxWaitMs === undefined
            ? this.#abort.signal
            : AbortSignal.any([this.#abort.signal, AbortSignal.timeout(maxWaitMs)]),
          onRetry: (e, n, d) =>
            log.warn(
              isRetriable(e)
                ? "S3 unavailable while recovering; retrying"
                : "S3 refused while recovering; trying again before giving up",
              {
                partition,
                attempt: n,
                delayMs: d,
                error: describeFailure(e),
              },
            ),
        },
      );
    } catch (e) {
      if (e instanceof GaveUp && !this.aborted) this.#fail(e);
      throw e;
    }
    this.#next = r.next < floor && !r.last && !r.pending ? floor : r.next;
    this.#pending = r.pending;
    this.#dropBatches();
    if (r.last) this.lastArchived = BigInt(r.last.end);
    this.#ready = true;
    // a re-upload of a recorded range is worth a line; a plain recovery is routine
    (r.pending ? log.info : log.debug)("partition recovered from the archive ledger", {
      partition,
      next: this.#next.toString(),
      pendingRewrite: r.pending ? `${r.pending.start}..${r.pending.end}` : undefined,
      walked: r.walked,
    });
    return r;
  }

  /** Drops all in-memory state; the next `offer` answers "uninitialised". */
  reset(): void {
    this.#ready = false;
    this.#dropBatches();
    this.#pending = undefined;
  }

  /** Offers the next record of the partition. */
  offer(r: RawRecord, now: number): Offer {
    if (this.failure !== undefined) return "failed";
    if (!this.#ready) return "uninitialised";
    if (r.offset < this.#next) return "skip";
    if (r.offset > this.#next && !this.#open) return "gap";
    // Over the shared memory budget with nothing left to cut: wait for uploads (pause).
    if (this.deps.budget?.blocked) return "full";
    // r.offset >= next here; with an open batch a larger offset is a compaction/txn gap.
    let pending = this.#pending;
    if (pending && !this.#open && r.offset > BigInt(pending.end)) {
      // The recorded range is gone from Kafka (retention): nothing left to rewrite.
      this.deps.log.warn("recorded range no longer in Kafka; its object cannot be rewritten", {
        partition: this.deps.partition,
        range: `${pending.start}..${pending.end}`,
      });
      this.#pending = pending = undefined;
    }
    if (pending) {
      const end = BigInt(pending.end);
      if (this.#open && r.offset > end) {
        // The recorded range is complete (its tail offsets were not records): close it.
        if (!this.#close(pending)) return "full";
      } else {
        if (!this.#open) {
          this.#open = new Batch(this.deps.topic, r, now);
        } else {
          this.#open.tryAdd(r, { maxBytes: Infinity, maxRecords: Infinity, maxAgeMs: Infinity });
        }
        this.#next = r.offset + 1n;
        if (r.offset === end) this.#close(pending);
        return this.#taken();
      }
    }
    if (!this.#open) {
      if (this.#queue.length >= (this.deps.maxQueued ?? 2)) return "full";
      this.#open = new Batch(this.deps.topic, r, now);
      this.#next = r.offset + 1n;
      if (this.#open.isFull(this.deps.policy)) this.#close();
      return this.#taken();
    }
    if (!this.#open.tryAdd(r, this.deps.policy)) {
      if (this.#queue.length >= (this.deps.maxQueued ?? 2)) return "full";
      this.#close();
      return this.offer(r, now);
    }
    this.#next = r.offset + 1n;
    if (this.#open.isFull(this.deps.policy)) this.#close();
    return this.#taken();
  }

  /** Accepts a real gap (offsets absent from the log): continue from `offset`. */
  acceptGap(offset: bigint): void {
    if (offset > this.#next) {
      this.deps.log.warn("offsets missing from the log (retention or compaction); continuing", {
        partition: this.deps.partition,
        from: this.#next.toString(),
        to: offset.toString(),
      });
      this.#next = offset;
    }
  }

  /** Closes the open batch when it is older than `maxAgeMs` (idle partitions flush too). */
  tick(now: number): void {
    if (this.failure !== undefined) return;
    if (this.#open && !this.#pending && this.#open.isExpired(this.deps.policy, now)) {
      this.#close();
    }
  }

  /** Closes the open batch regardless of its age (graceful stop). */
  flushOpen(): void {
    if (this.#open && !this.#pending) this.#close();
  }

  /**
   * Stops the writer for good: records the failure, drops what it buffers (nothing of it is
   * durable; the ledger makes a later owner re-read it) and notifies once.
   */
  #fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.#dropBatches();
    this.deps.budget?.remove(this);
    this.deps.log.error(
      "archiving stopped for this partition: S3 refused or the ledger is unreadable",
      {
        partition: this.deps.partition,
        error: describeFailure(e),
      },
    );
    this.deps.onFailure?.(e);
  }

  #close(entry?: LedgerEntry): boolean {
    const batch = this.#open;
    if (!batch) return true;
    this.#open = undefined;
    if (entry) this.#pending = undefined;
    this.#queue.push({ batch, entry });
    // compress the tail now, while earlier batches upload; the body replaces the staging memory
    batch.finish().catch(() => {});
    this.#pump();
    return true;
  }

  #pump(): void {
    if (this.#uploading || this.#queue.length === 0 || this.aborted) return;
    this.#uploading = this.#uploadAll().finally(() => {
      this.#uploading = undefined;
      if (this.#queue.length > 0 && !this.aborted && this.failure === undefined) this.#pump();
    });
  }

  async #uploadAll(): Promise<void> {
    const { store, prefix, topic, partition, log } = this.deps;
    while (this.#queue.length > 0 && !this.aborted) {
      const item = this.#queue[0]!;
      const b = item.batch;
      const entry: LedgerEntry = item.entry ?? {
        start: b.start.toString(),
        end: b.end.toString(),
        key: dataKey(prefix, { topic, partition, start: b.start, end: b.end }, b.firstTimestamp),
        records: b.count,
        bytes: b.bytes,
        firstTimestamp: b.firstTimestamp,
      };
      const opts = {
        ...this.deps.backoff,
        signal: this.#abort.signal,
        onRetry: (e: unknown, n: number, d: number) =>
          log.warn(
            isRetriable(e)
              ? "S3 unavailable; upload retrying (fetching paused)"
              : "S3 refused the upload; trying again before giving up",
            {
              partition,
              range: `${entry.start}..${entry.end}`,
              attempt: n,
              delayMs: d,
              error: describeFailure(e),
            },
          ),
        onRecovered: (n: number) => log.info("S3 reachable again", { partition, attempts: n }),
      };
      try {
        if (!item.entry) {
          const res = await retry(
            `reserve ledger entry ${topic}/${partition} o${entry.start}`,
            () => reserve(store, prefix, { ...entry, topic, partition }),
            opts,
          );
          if (!res.ok) {
            log.warn("ledger already holds another boundary for this start; re-syncing", {
              partition,
              start: entry.start,
              ours: entry.end,
              theirs: res.existing.end,
            });
            this.reset();
            this.deps.onConflict?.(res.existing);
            return;
          }
        }
        const body = await b.finish();
        const putStarted = performance.now();
        await retry(
          `upload ${entry.key}`,
          () => store.put(entry.key, body, { contentType: "application/gzip" }),
          opts,
        );
        // reset/abort while the put was in flight: the queue is no longer ours to advance
        if (this.#queue[0] !== item) return;
        this.#queue.shift();
        this.lastArchived = BigInt(entry.end);
        this.lastFlushAt = Date.now();
        this.bytesUploaded += body.byteLength;
        this.objectsUploaded++;
        recordFlush("archiver", (performance.now() - putStarted) / 1000);
        log.debug("object archived", { key: entry.key, records: entry.records });
        this.deps.budget?.enforce();
        if (this.#queue.length < (this.deps.maxQueued ?? 2) && !this.deps.budget?.blocked) {
          this.deps.onDrained?.();
        }
        await this.deps.onDurable?.(entry, body.byteLength).catch((e) =>
          log.warn("commit after upload failed (the ledger stays authoritative)", {
            partition,
            error: describeFailure(e),
          })
        );
        await writeHead(store, prefix, topic, partition, BigInt(entry.start)).catch(() => {});
      } catch (e) {
        if (e instanceof RetryAborted || this.aborted || this.#queue[0] !== item) return;
        // GaveUp (refused, unreadable), or a bug: either way this loop cannot go on
        this.#fail(e);
        return;
      }
    }
  }

  /** Resolves when every closed batch is durable (or the writer is aborted/failed). */
  async drain(): Promise<void> {
    while (this.#uploading) await this.#uploading;
  }

  /** Stops retrying; pending uploads are abandoned (the ledger makes that safe). */
  abort(): void {
    this.#abort.abort();
    this.deps.budget?.remove(this);
    this.#dropBatches();
  }
}
