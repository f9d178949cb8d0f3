/**
 * The archiver's partition handler: what the partition consumer core (`src/kafka/`) runs for
 * one partition. It recovers the partition's position from the S3 ledger (never from Kafka's
 * committed offset), hands records to its `PartitionWriter`, which cuts and uploads objects
 * in order, and answers back-pressure when the writer's upload queue or the archiver-wide
 * memory budget is full. Offsets are committed to Kafka only after an object is durable, for
 * lag monitoring.
 *
 * Start position: with no ledger entry that is the earliest retained offset, whatever the
 * group committed; a committed offset ahead of the ledger is reported (those records would
 * otherwise be a silent gap) and ignored.
 *
 * Faults: when the writer stops for good (S3 refused: 403 AccessDenied, 404 NoSuchBucket, ...;
 * or the ledger is unreadable), in recovery or in its upload loop, the handler calls
 * `ctx.fault`: the partition shows as failed at once (status, `/readyz`, `/metrics`, the
 * dashboard) and, unless it is revoked first, the consumer fails after `NEXUS_FAULT_EXIT_MS`,
 * so `run` exits non-zero. A faulted partition takes no records (`take` answers 0, `ready`
 * false: its fetching stays paused). A fault in `open` (recovery) does not throw — the core
 * would retry `open` forever — but keeps `open` pending until the partition is closed: the
 * partition stays "opening" (nothing fetched, no position to report) and faulted.
 *
 * @module
 */
import type {
  Admin,
  CloseReason,
  ConsumedRecord,
  PartitionContext,
  PartitionHandler,
} from "../kafka/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { FlushPolicy } from "./batch.ts";
import type { BufferBudget } from "./budget.ts";
import { PartitionWriter } from "./partition.ts";
import type { ObjectStore } from "./store.ts";
import { type BackoffPolicy, GaveUp } from "./s3_retry.ts";

/** What every partition of one archiver process shares. */
export interface ArchiverShared {
  store: ObjectStore;
  prefix: string;
  topic: string;
  group: string;
  policy: FlushPolicy;
  backoff?: BackoffPolicy;
  log: Logger;
  /** Closed batches per partition before the partition answers back-pressure. */
  maxQueued: number;
  budget: BufferBudget;
  admin: Admin;
  /** Live handlers. */
  handlers: Set<ArchiverPartition>;
  totals: { eventsIn: number; eventsOut: number; bytesUploaded: number; objects: number };
  /** Wall-clock ms of the last durable upload. */
  lastFlushAt?: number;
}

/** How long one recovery attempt may wait for S3 before `open` fails (the core retries). */
const RECOVER_WAIT_MS = 15_000;

/** Resolves when `signal` aborts. */
function closed(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** One partition of the archiver. */
export class ArchiverPartition implements PartitionHandler {
  readonly writer: PartitionWriter;
  readonly #shared: ArchiverShared;
  readonly #ctx: PartitionContext;

  constructor(shared: ArchiverShared, ctx: PartitionContext) {
    this.#shared = shared;
    this.#ctx = ctx;
    const p = ctx.partition;
    this.writer = new PartitionWriter({
      store: shared.store,
      prefix: shared.prefix,
      topic: shared.topic,
      partition: p,
      policy: shared.policy,
      backoff: shared.backoff,
      log: shared.log,
      maxQueued: shared.maxQueued,
      budget: shared.budget,
      onDurable: (entry, body) => {
        const t = shared.totals;
        t.eventsOut += entry.records;
        t.bytesUploaded += body;
        t.objects++;
        shared.lastFlushAt = Date.now();
        ctx.commit(BigInt(entry.end) + 1n);
        return Promise.resolve();
      },
      // an upload finished: this partition, and any other waiting for the budget, may go on
      onDrained: () => {
        for (const h of shared.handlers) h.#ctx.wake();
      },
      onConflict: () => ctx.reopen("the ledger holds another writer's boundary"),
      onFailure: (e) => ctx.fault(e),
    });
    shared.handlers.add(this);
  }

  get partition(): number {
    return this.#ctx.partition;
  }

  async open(): Promise<bigint> {
    const { admin, topic, log, group } = this.#shared;
    const p = this.#ctx.partition;
    const offsets = await admin.offsets(topic).catch(() => undefined);
    const floor = offsets?.get(p)?.low ?? 0n;
    let r;
    try {
      r = await this.writer.init(floor, RECOVER_WAIT_MS);
    } catch (e) {
      if (!(e instanceof GaveUp)) throw e; // an outage (RetryAborted): the core retries
      // Retrying cannot help: the writer reported the fault (onFailure → ctx.fault). Stay
      // "opening" until the partition is closed (revoked, shutdown, or the fault exit).
      this.#ctx.fault(e);
      await closed(this.#ctx.signal);
      throw e;
    }
    const next = this.writer.expected();
    if (!r.last && !r.pending) {
      if (floor > 0n) {
        log.warn("no archive yet for this partition and retention already deleted its start", {
          partition: p,
          earliest_retained: floor.toString(),
        });
      } else {
        log.debug("no archive yet for this partition: archiving from the earliest offset", {
          partition: p,
        });
      }
    }
    const committed = await admin.committedOffsets(group, topic)
      .then((m) => m.get(p))
      .catch(() => undefined);
    if (committed !== undefined && committed > next) {
      log.warn(
        "the group's committed offset is ahead of the archive ledger: archiving from the ledger position (Kafka's committed offset is ignored)",
        {
          partition: p,
          group,
          committed: committed.toString(),
          archive_next: next.toString(),
          records: (committed - next).toString(),
        },
      );
    }
    return next;
  }

  take(records: readonly ConsumedRecord[]): number {
    const w = this.writer;
    const p = this.#ctx.partition;
    const now = Date.now();
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const res = w.offer(
        { partition: p, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value },
        now,
      );
      if (res === "taken") this.#shared.totals.eventsIn++;
      else if (res === "full" || res === "failed") return i;
      else if (res === "gap" || res === "uninitialised") {
        // the writer re-synced with the ledger (conflict): the core reopens the partition
        this.#ctx.reopen(`writer answered ${res} at offset ${r.offset}`);
        return records.length;
      }
    }
    return records.length;
  }

  skipTo(offset: bigint): void {
    this.writer.acceptGap(offset);
  }

  ready(): boolean {
    if (this.writer.failure !== undefined) return false;
    const budget = this.#shared.budget;
    budget.enforce();
    return !budget.blocked && this.writer.backlog < this.#shared.maxQueued;
  }

  tick(now: number): void {
    this.writer.tick(now);
  }

  async close(reason: CloseReason): Promise<void> {
    const w = this.writer;
    try {
      if (reason === "shutdown" && w.ready) {
        w.flushOpen();
        await w.drain();
      }
    } finally {
      // revoked or lost: unflushed records are abandoned; the next owner recovers from the
      // ledger. After a shutdown's drain nothing is left to abandon.
      w.abort();
      this.#shared.handlers.delete(this);
    }
  }
}
