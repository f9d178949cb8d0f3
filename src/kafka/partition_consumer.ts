/**
 * The partition consumer: the one consumer loop of Nexus. A module (aggregator, archiver)
 * supplies a `PartitionHandler` per partition; the core owns everything around it:
 *
 * - **membership**: the group consumer's assignments and revocations become `open` and
 *   `close("revoked" | "lost")` of handlers; partitions this process keeps across a rebalance
 *   keep their handler;
 * - **position**: after `open` recovers where a partition stands (a checkpoint in PostgreSQL, a
 *   ledger in S3), the core seeks there; records below the position are dropped (stale
 *   deliveries), a batch entirely below it makes the core seek again;
 * - **the gap rule**: a batch that starts past the position is a gap. When the batch is known
 *   to be fetched from exactly the position, or after one more seek to the position still
 *   starts further on, the offsets in between are not in the log (retention, compaction,
 *   transaction markers): the handler is told (`skipTo`) and the partition goes on;
 * - **order and concurrency**: each partition has its own queue and runs its handler calls one
 *   at a time, in offset order; partitions run concurrently, and fetching goes on while
 *   handlers work (the next fetch overlaps the previous flush);
 * - **back-pressure**: a handler that takes fewer records than offered, or reports it is not
 *   `ready`, pauses fetching of its partition; `wake()` (or the next tick) resumes it, and
 *   the records it did not take are offered again — none is lost or re-fetched;
 * - **ticks**: `tick` runs on every open handler every `tickMs`, in the partition's order;
 * - **end offsets and lag** per partition;
 * - **shutdown**: a deadline-bounded stop that closes every handler with `"shutdown"` (flush,
 *   commit) and then leaves the group; timers stop with it;
 * - **fatal errors**: a failure of the group consumer, or an error thrown by `take`/`tick`,
 *   stops everything and rejects `done`.
 *
 * The core has no I/O of its own: the group consumer, the end-offset source and the handlers
 * are injected (`partition_consumer_test.ts` drives it with in-memory ones).
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { reasonOf } from "../runtime/errors.ts";
import type {
  CloseReason,
  ConsumedRecord,
  FetchedBatch,
  GroupConsumer,
  KafkaError,
  PartitionOffsets,
} from "./port.ts";
import { sleep } from "../runtime/sleep.ts";

/** What a handler can ask of the core. */
export interface PartitionContext {
  readonly topic: string;
  readonly partition: number;
  /** The partition's latest known end offset (-1n before the first report). */
  readonly highWatermark: bigint;
  /**
   * True when the latest fetch that brought records of this partition stopped before the log
   * end it reported (its byte bound cut it): more records wait in the log than are fetched — the
   * partition is catching up rather than following its producers.
   */
  readonly fetchCut: boolean;
  /**
   * Wall-clock ms at which the latest end-offset read covering this partition was requested
   * (0 before the first). `highWatermark` is at least the end offset as of that moment: a
   * record appended before it is counted in `highWatermark` once the read is done.
   */
  readonly endOffsetsReadAt: number;
  /** Aborted once the partition is closed (revoked, lost, shutdown). */
  readonly signal: AbortSignal;
  /** The handler can take records again (after back-pressure): resume fetching now. */
  wake(): void;
  /**
   * The handler learnt its state is no longer valid (fenced by a newer owner, ledger
   * conflict): close it ("lost") and open a fresh handler if the partition is still assigned.
   */
  reopen(why: string): void;
  /**
   * Records `offset` (next to consume) for the consumer group's committed offsets: lag
   * monitoring only. The core commits the latest offsets every `commitEveryMs`.
   */
  commit(offset: bigint): void;
  /**
   * This partition cannot go on for a reason retrying cannot fix (the handler stopped taking
   * records). It shows as failed in `progress()` at once; unless the partition is closed
   * first, the consumer fails after `faultExitMs`.
   */
  fault(error: unknown): void;
}

/** A module's logic for one partition. Calls on one handler never overlap. */
export interface PartitionHandler {
  /**
   * Recovers the partition's position: resolves to the offset to consume next. Failures are
   * retried with backoff until it succeeds or the partition is closed.
   */
  open(): Promise<bigint>;
  /**
   * Takes records (consecutive offsets from the position, except after `skipTo`). Resolves to
   * how many it took: fewer than given is back-pressure, the rest is offered again later.
   */
  take(records: readonly ConsumedRecord[]): number | Promise<number>;
  /** Offsets below `offset` are not in the log: the next record is at or after it. */
  skipTo?(offset: bigint): void;
  /** False while it cannot take records (fetching of the partition pauses). Default true. */
  ready?(): boolean;
  /** Periodic work (time-based flushes, idleness). */
  tick?(now: number): void | Promise<void>;
  /** Ends the partition: `shutdown` should flush; `revoked`/`lost` may drop state. */
  close(reason: CloseReason): Promise<void>;
}

/** Progress of one partition, for status, lag and metrics. */
export interface PartitionProgress {
  partition: number;
  state: "opening" | "running" | "paused" | "closing";
  /** Next offset to take (undefined while opening). */
  position?: bigint;
  /** Latest known end offset (-1n unknown). */
  highWatermark: bigint;
  /** Records between the position and the end offset (undefined when unknown). */
  lag?: number;
  /** Records fetched and waiting for the handler. */
  queued: number;
  /** Why the partition cannot go on (`PartitionContext.fault`), and since when (epoch ms). */
  fault?: { reason: string; since: number };
}

/** Options of `startPartitionConsumer`. */
export interface PartitionConsumerOptions {
  topic: string;
  consumer: GroupConsumer;
  /** Creates the handler of a newly assigned partition. */
  handler(partition: number, ctx: PartitionContext): PartitionHandler;
  /** End offsets of the topic, read every `offsetsEveryMs` (lag, idleness). */
  endOffsets?: () => Promise<Map<number, PartitionOffsets>>;
  log: Logger;
  /** Period of `tick`, ms. Default 1000. */
  tickMs?: number;
  /** Period of the end-offset read, ms. Default 5000. */
  offsetsEveryMs?: number;
  /** Fetched batches queued per partition before its fetching pauses. Default 2. */
  maxQueuedBatches?: number;
  /** Longest graceful stop (handlers' close + leaving the group), ms. Default 15000. */
  shutdownTimeoutMs?: number;
  /** First retry delay of a failed `open`, ms (doubling to 10 s). Default 500. */
  openRetryMs?: number;
  /** Period of the consumer-group commits (`PartitionContext.commit`), ms. Default 2000. */
  commitEveryMs?: number;
  /** How long a faulted partition may stay faulted before the consumer fails, ms. Default 30000. */
  faultExitMs?: number;
}

/** A running partition consumer. */
export interface RunningPartitionConsumer {
  /** Resolves after `stop`; rejects with the fatal error when the consumer fails. */
  readonly done: Promise<void>;
  /** Stops gracefully within the shutdown timeout. Idempotent. */
  stop(): Promise<void>;
  /** Progress of every owned partition, by partition. */
  progress(): PartitionProgress[];
}

interface Slot {
  partition: number;
  handler: PartitionHandler;
  ctx: PartitionContext;
  abort: AbortController;
  state: "opening" | "open" | "closing";
  position?: bigint;
  highWatermark: bigint;
  fetchCut: boolean;
  endOffsetsReadAt: number;
  /** Batches waiting for the handler; the first may be partly taken (`skip` records). */
  queue: FetchedBatch[];
  skip: number;
  /** Serialises the handler's calls. */
  chain: Promise<void>;
  draining: boolean;
  ticking: boolean;
  /** Fetching paused by the core (queue full or handler not ready). */
  fetchPaused: boolean;
  /** The handler did not take everything or is not ready. */
  blocked: boolean;
  /** Position at which the core last sought again for the gap rule. */
  gapSeekAt?: bigint;
  fault?: { reason: string; since: number };
  faultTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Starts consuming: joins the group (resolves once joined) and drives the handlers until
 * `stop` or a fatal error.
 */
export async function startPartitionConsumer(
  opts: PartitionConsumerOptions,
): Promise<RunningPartitionConsumer> {
  const { topic, consumer, log } = opts;
  const tickMs = opts.tickMs ?? 1000;
  const maxQueued = Math.max(1, opts.maxQueuedBatches ?? 2);
  const shutdownMs = opts.shutdownTimeoutMs ?? 15_000;
  const slots = new Map<number, Slot>();
  const assigned = new Set<number>();
  const high = new Map<number, bigint>();
  /** Offsets to commit at the next commit tick. */
  const toCommit = new Map<number, bigint>();
  /** A partition's previous handler still closing: the next one opens after it. */
  const closing = new Map<number, Promise<void>>();
  let stopping = false;
  let stopPromise: Promise<void> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});

  const fail = (e: unknown) => {
    if (stopping) return;
    log.error("consumer failed; stopping", { error: reasonOf(e) });
    void shutdown().finally(() => rejectDone(e));
  };

  /** Runs `fn` after everything queued on the slot's handler. */
  const enqueue = (slot: Slot, fn: () => Promise<void> | void): Promise<void> => {
    const next = slot.chain.then(fn);
    slot.chain = next.catch(() => {});
    return next;
  };

  const setFetchPaused = (slot: Slot, paused: boolean) => {
    if (slot.fetchPaused === paused || slot.state === "closing") return;
    slot.fetchPaused = paused;
    if (paused) consumer.pause(slot.partition);
    else consumer.resume(slot.partition);
  };

  const open = (partition: number) => {
    const abort = new AbortController();
    const slot: Slot = {
      partition,
      handler: undefined as unknown as PartitionHandler,
      ctx: undefined as unknown as PartitionContext,
      abort,
      state: "opening",
      highWatermark: high.get(partition) ?? -1n,
      fetchCut: false,
      endOffsetsReadAt: 0,
      queue: [],
      skip: 0,
      chain: Promise.resolve(),
      draining: false,
      ticking: false,
      fetchPaused: false,
      blocked: false,
    };
    const ctx: PartitionContext = {
      topic,
      partition,
      get highWatermark() {
        return slot.highWatermark;
      },
      get fetchCut() {
        return slot.fetchCut;
      },
      get endOffsetsReadAt() {
        return slot.endOffsetsReadAt;
      },
      signal: abort.signal,
      wake: () => wake(slot),
      reopen: (why: string) => reopen(slot, why),
      commit: (offset: bigint) => {
        if (assigned.has(partition)) toCommit.set(partition, offset);
      },
      fault: (error: unknown) => {
        if (slot.state === "closing" || slot.fault) return;
        const reason = reasonOf(error);
        slot.fault = { reason, since: Date.now() };
        const exitMs = opts.faultExitMs ?? 30_000;
        log.error("partition cannot go on; it is reported failed", {
          partition,
          error: reason,
          exit_in_ms: exitMs,
        });
        slot.faultTimer = setTimeout(() => {
          if (slot.state !== "closing") {
            fail(new Error(`partition ${topic}/${partition} cannot go on: ${reason}`));
          }
        }, exitMs);
      },
    };
    slot.ctx = ctx;
    slot.handler = opts.handler(partition, ctx);
    slots.set(partition, slot);
    // after the previous handler of this partition has closed (its final flush first)
    slot.chain = closing.get(partition) ?? slot.chain;
    void enqueue(slot, async () => {
      let delay = opts.openRetryMs ?? 500;
      for (let attempt = 1; !abort.signal.aborted; attempt++) {
        try {
          const position = await slot.handler.open();
          if (abort.signal.aborted) return;
          slot.position = position;
          slot.state = "open";
          consumer.seek(partition, position);
          return;
        } catch (e) {
          if (abort.signal.aborted) return;
          log.warn("cannot open partition; retrying", {
            partition,
            attempt,
            error: reasonOf(e),
            retry_in_ms: delay,
          });
          await sleep(delay, abort.signal);
          delay = Math.min(delay * 2, 10_000);
        }
      }
    });
  };

  /** Closes a slot: no more records, the handler's `close` after its queued calls. */
  const close = (slot: Slot, reason: CloseReason): Promise<void> => {
    if (slots.get(slot.partition) === slot) slots.delete(slot.partition);
    if (slot.state === "closing") return slot.chain;
    slot.state = "closing";
    clearTimeout(slot.faultTimer);
    slot.abort.abort();
    slot.queue.length = 0;
    slot.skip = 0;
    if (reason !== "shutdown") toCommit.delete(slot.partition);
    const closed = enqueue(slot, () => slot.handler.close(reason)).catch((e) =>
      log.warn("closing partition failed", { partition: slot.partition, error: reasonOf(e) })
    );
    closing.set(slot.partition, closed);
    void closed.then(() => {
      if (closing.get(slot.partition) === closed) closing.delete(slot.partition);
    });
    return closed;
  };

  const reopen = (slot: Slot, why: string) => {
    if (slot.state === "closing" || stopping) return;
    log.warn("partition state invalid; reopening", { partition: slot.partition, reason: why });
    void close(slot, "lost").then(() => {
      if (!stopping && assigned.has(slot.partition) && !slots.has(slot.partition)) {
        open(slot.partition);
      }
    });
  };

  const wake = (slot: Slot) => {
    if (slot.state !== "open" || !slot.blocked) return;
    if (!(slot.handler.ready?.() ?? true)) return;
    slot.blocked = false;
    drain(slot);
    if (!slot.blocked && slot.queue.length < maxQueued) setFetchPaused(slot, false);
  };

  /**
   * Applies the position rules to the first queued batch: drops what is below the position,
   * seeks again when the whole batch is, handles a gap. Returns the records to offer, "drop"
   * (this batch is stale) or "reset" (sought again: every queued batch is stale).
   */
  const admit = (slot: Slot, batch: FetchedBatch): ConsumedRecord[] | "drop" | "reset" => {
    const recs = batch.records;
    const position = slot.position!;
    let i = slot.skip;
    while (i < recs.length && recs[i]!.offset < position) i++;
    if (i >= recs.length) {
      // everything below the position: a stale delivery (seek, or kafkajs after a rebalance
      // fetching from the group's committed offset, which is behind): fetch from here again
      if (recs.length > 0) consumer.seek(slot.partition, position);
      return "drop";
    }
    const first = recs[i]!.offset;
    if (first > position) {
      const proven = batch.fetchOffset === position;
      if (!proven && slot.gapSeekAt !== position) {
        slot.gapSeekAt = position;
        log.warn("records skipped offsets; seeking again", {
          partition: slot.partition,
          expected: String(position),
          got: String(first),
        });
        consumer.seek(slot.partition, position);
        return "reset";
      }
      log.warn(
        "offsets missing from the log (retention, compaction or transaction markers); continuing",
        {
          partition: slot.partition,
          from: String(position),
          to: String(first),
        },
      );
      slot.handler.skipTo?.(first);
      slot.position = first;
    }
    slot.gapSeekAt = undefined;
    return i === 0 ? recs : recs.slice(i);
  };

  const drain = (slot: Slot) => {
    if (slot.draining || slot.blocked || slot.state !== "open") return;
    slot.draining = true;
    void enqueue(slot, async () => {
      try {
        while (slot.state === "open" && !slot.blocked && slot.queue.length > 0) {
          const batch = slot.queue[0]!;
          const offered = admit(slot, batch);
          if (offered === "drop" || offered === "reset") {
            if (offered === "reset") slot.queue.length = 0;
            else slot.queue.shift();
            slot.skip = 0;
            continue;
          }
          const before = offered.length;
          const taken = await slot.handler.take(offered);
          if (slot.state !== "open") return;
          if (taken > 0) slot.position = offered[taken - 1]!.offset + 1n;
          if (taken < before) {
            slot.skip = batch.records.length - (before - taken);
            slot.blocked = true;
          } else {
            slot.queue.shift();
            slot.skip = 0;
          }
          if (!(slot.handler.ready?.() ?? true)) slot.blocked = true;
          // room again: fetch the next batch while this one's successors are processed
          else if (slot.queue.length < maxQueued) setFetchPaused(slot, false);
        }
      } finally {
        slot.draining = false;
      }
      if (slot.state !== "open") return;
      if (slot.blocked) setFetchPaused(slot, true);
      else if (slot.queue.length < maxQueued) setFetchPaused(slot, false);
    }).catch(fail);
  };

  const onRecords = (batch: FetchedBatch) => {
    const slot = slots.get(batch.partition);
    if (batch.highWatermark >= 0n) {
      high.set(batch.partition, batch.highWatermark);
      if (slot && batch.highWatermark > slot.highWatermark) {
        slot.highWatermark = batch.highWatermark;
      }
    }
    if (!slot || slot.state !== "open" || batch.records.length === 0) return;
    slot.fetchCut = batch.highWatermark > batch.records[batch.records.length - 1]!.offset + 1n;
    slot.queue.push(batch);
    if (slot.queue.length >= maxQueued) setFetchPaused(slot, true);
    drain(slot);
  };

  const tick = () => {
    const now = Date.now();
    for (const slot of slots.values()) {
      if (slot.state !== "open") continue;
      if (slot.blocked) wake(slot);
      const t = slot.handler.tick;
      if (!t || slot.ticking) continue;
      slot.ticking = true;
      void enqueue(slot, () => t.call(slot.handler, now)).catch(fail).finally(() => {
        slot.ticking = false;
      });
    }
  };

  const refreshOffsets = async () => {
    if (!opts.endOffsets) return;
    try {
      const requestedAt = Date.now();
      const offs = await opts.endOffsets();
      for (const [p, o] of offs) {
        const h = high.get(p);
        if (h === undefined || o.high > h) high.set(p, o.high);
        const slot = slots.get(p);
        if (!slot) continue;
        if (o.high > slot.highWatermark) slot.highWatermark = o.high;
        if (requestedAt > slot.endOffsetsReadAt) slot.endOffsetsReadAt = requestedAt;
      }
    } catch (e) {
      log.debug("cannot read end offsets", { error: reasonOf(e) });
    }
  };

  let ticking = false;
  const tickTimer = setInterval(() => {
    if (ticking || stopping) return;
    ticking = true;
    try {
      tick();
    } finally {
      ticking = false;
    }
  }, tickMs);
  const commitNow = async () => {
    if (toCommit.size === 0) return;
    const batch = new Map(toCommit);
    toCommit.clear();
    await consumer.commit(batch).catch(() => {});
  };
  let committing = false;
  const commitTimer = setInterval(() => {
    if (committing || stopping) return;
    committing = true;
    commitNow().finally(() => committing = false);
  }, opts.commitEveryMs ?? 2000);
  let offsetsBusy = false;
  const offsetsTimer = opts.endOffsets
    ? setInterval(() => {
      if (offsetsBusy || stopping) return;
      offsetsBusy = true;
      refreshOffsets().finally(() => offsetsBusy = false);
    }, opts.offsetsEveryMs ?? 5000)
    : undefined;

  const shutdown = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      clearInterval(tickTimer);
      clearInterval(offsetsTimer);
      clearInterval(commitTimer);
      const deadline = Date.now() + shutdownMs;
      const within = <T>(p: Promise<T>, share = 1) => {
        let t: ReturnType<typeof setTimeout> | undefined;
        const left = Math.max(0, (deadline - Date.now()) * share);
        return Promise.race([
          p.then(() => true),
          new Promise<boolean>((r) => t = setTimeout(() => r(false), left)),
        ]).finally(() => clearTimeout(t));
      };
      for (const slot of slots.values()) {
        try {
          consumer.pause(slot.partition);
        } catch { /* not running */ }
      }
      const closing = [...slots.values()].map((s) => close(s, "shutdown"));
      // leave a quarter of the time (at least) for leaving the group
      if (!(await within(Promise.all(closing), 0.75))) {
        log.warn("stop: partitions not closed in time; they resume from their last flush");
      }
      await within(commitNow(), 0.5);
      if (!(await within(consumer.close()))) log.warn("stop: leaving the group timed out");
    })();
    return stopPromise;
  };

  await consumer.start({
    assigned: (partitions) => {
      for (const p of partitions) {
        assigned.add(p);
        if (!stopping && !slots.has(p)) open(p);
      }
      log.info("partitions assigned", { partitions: partitions.join(",") });
    },
    revoked: (partitions, reason) => {
      for (const p of partitions) {
        assigned.delete(p);
        const slot = slots.get(p);
        if (slot) void close(slot, reason);
      }
      log.info(`partitions ${reason}`, { partitions: partitions.join(",") });
    },
    records: onRecords,
    failed: (e: KafkaError) => fail(e),
  }).catch(async (e) => {
    clearInterval(tickTimer);
    clearInterval(offsetsTimer);
    clearInterval(commitTimer);
    stopping = true;
    await consumer.close().catch(() => {});
    throw e;
  });
  void refreshOffsets();

  return {
    done,
    stop: async () => {
      await shutdown();
      resolveDone();
    },
    progress: () =>
      [...slots.values()].map((s): PartitionProgress => {
        const position = s.position;
        const h = s.highWatermark;
        let queued = -s.skip;
        for (const b of s.queue) queued += b.records.length;
        return {
          partition: s.partition,
          state: s.state === "open" ? (s.fetchPaused ? "paused" : "running") : s.state,
          position,
          highWatermark: h,
          lag: position !== undefined && h >= 0n ? Math.max(0, Number(h - position)) : undefined,
          queued: Math.max(0, queued),
          ...(s.fault ? { fault: s.fault } : {}),
        };
      }).sort((a, b) => a.partition - b.partition),
  };
}
