/**
 * The aggregator's partition handler: what the partition consumer core (`src/kafka/`) runs
 * for one partition. It claims the partition in PostgreSQL (a new owner epoch fences any
 * previous owner), rebuilds state by replaying from the stored replay offset, feeds records
 * to `PartitionState`, and flushes each plan in one compare-and-set transaction
 * (`writeFlush`), dead letters first.
 *
 * Flushes happen when `NEXUS_FLUSH_MAX_EVENTS` records are pending, every
 * `NEXUS_FLUSH_INTERVAL_MS`, and — once the partition has read to the log end — within
 * `NEXUS_CAUGHT_UP_FLUSH_MS` (spaced by it, so a trickle of records does not cost a
 * transaction each; but at once at the end of a catch-up, when a fetch was cut short by its
 * byte bound since the partition last reached the end: one attempt, run behind like a size
 * flush, so that a PostgreSQL refusing it does not hold up consuming). A flush by size runs
 * behind: the partition's next records are processed while its plan (a snapshot) is written,
 * and the next plan waits for it, so there is one flush per partition at a time and at most
 * twice the size pending; `take` waits only then.
 * Other partitions flush concurrently, each in its own transaction. A flush that PostgreSQL
 * refuses for a retriable reason is retried with backoff; one that retrying cannot fix is
 * thrown by the partition's next `take` or `tick`; one fenced by a newer owner reopens the
 * partition (the core claims it again if this process still owns it).
 *
 * @module
 */
import {
  type CloseReason,
  type ConsumedRecord,
  KafkaError,
  type PartitionContext,
  type PartitionHandler,
} from "../kafka/mod.ts";
import type { Logger } from "../log/logger.ts";
import { classifyPostgresError, type Sql } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import { countDeadLetters, recordFlush } from "../observe/metrics.ts";
import type { DeadLetterQueue } from "./dlq.ts";
import { type PartitionOptions, PartitionState } from "./partials.ts";
import { claimPartition, FencedError, PROCESSOR, UnstorableRecords, writeFlush } from "./sink.ts";
import type { TopicTime } from "./watermark.ts";
import { sleep } from "../runtime/sleep.ts";

/** Per-record counters of one partition (summed over partitions for status). */
export interface AggregatorStats {
  eventsIn: number;
  counted: number;
  duplicates: number;
  late: number;
  dead: number;
  replayed: number;
  fenced: number;
}

/** What every partition of one aggregator process shares. */
export interface AggregatorShared {
  topic: string;
  sql: Sql;
  dlq: DeadLetterQueue;
  log: Logger;
  partition: PartitionOptions;
  /** Pending live records that trigger a flush. */
  flushMaxEvents: number;
  /** Longest time between flushes, ms. */
  flushIntervalMs: number;
  /** Flush spacing once caught up with the log end, ms; 0: by interval and size only. */
  caughtUpFlushMs: number;
  /** Period of `tick`, ms (a flush due within half of it is done on this tick). */
  tickMs: number;
  idleTimeoutMs: number;
  allowedLatenessMs: number;
  /** Open windows + dedup ids + pending rows over all partitions above which fetching pauses. */
  maxStateEntries: number;
  /** Counters of partitions no longer owned (their stats are folded in when they close). */
  closed: AggregatorStats;
  /** Live handlers (for the shared state bound and status). */
  handlers: Set<AggregatorPartition>;
  /** Set when the state bound was exceeded, cleared below half of it (hysteresis). */
  overBound: boolean;
  /** Wall-clock ms of the last successful flush of any partition. */
  lastFlushAt?: number;
  /**
   * The topic-wide event-time view for `partition` (`watermark.ts` rules 4 and 5); undefined
   * when it cannot be read now (the partition then simply does not advance this tick).
   */
  topicTime(partition: number, now: number): Promise<TopicTime | undefined>;
}

/** Empty counters. */
export function emptyStats(): AggregatorStats {
  return { eventsIn: 0, counted: 0, duplicates: 0, late: 0, dead: 0, replayed: 0, fenced: 0 };
}

/** Open windows + dedup ids + pending rows over all live partitions. */
export function sharedStateSize(shared: AggregatorShared): number {
  let n = 0;
  for (const h of shared.handlers) n += h.state?.stateSize ?? 0;
  return n;
}

/** One partition of the aggregator. */
export class AggregatorPartition implements PartitionHandler {
  readonly #shared: AggregatorShared;
  readonly #ctx: PartitionContext;
  /** Null until `open` claimed the partition. */
  state: PartitionState | null = null;
  readonly #fenced = { n: 0 };
  /** Set when a flush was fenced: the core is reopening the partition. */
  #gone = false;
  /** Wall-clock ms since this partition has not been ready (state bound), or undefined. */
  #blockedSince?: number;
  /** Wall-clock ms of this partition's last flush attempt (or of its open). */
  #flushedAt = Date.now();
  /** The flush started by size that runs while records go on being processed. */
  #running?: Promise<void>;
  /** Why that flush failed for good (thrown by the next `take` or `tick`). */
  #failure?: { error: unknown };
  /** Since it last reached the log end, a fetch of this partition was cut short (a catch-up). */
  #catchingUp = false;

  constructor(shared: AggregatorShared, ctx: PartitionContext) {
    this.#shared = shared;
    this.#ctx = ctx;
    shared.handlers.add(this);
  }

  get partition(): number {
    return this.#ctx.partition;
  }

  /** Counters of this partition since it was opened. */
  get stats(): AggregatorStats {
    const s = this.state?.stats;
    return {
      eventsIn: s?.eventsIn ?? 0,
      counted: s?.counted ?? 0,
      duplicates: s?.duplicates ?? 0,
      late: s?.late ?? 0,
      dead: s?.dead ?? 0,
      replayed: s?.replayed ?? 0,
      fenced: this.#fenced.n,
    };
  }

  async open(): Promise<bigint> {
    const { sql, topic, log, partition } = this.#shared;
    const p = this.#ctx.partition;
    const cp = await claimPartition(sql, topic, p);
    this.state = new PartitionState(topic, p, cp, partition);
    log.debug("partition claimed", {
      partition: p,
      epoch: cp.epoch,
      replay_offset: String(cp.replayOffset),
      next_offset: String(cp.nextOffset),
      watermark: cp.watermark === null ? null : new Date(cp.watermark).toISOString(),
    });
    return cp.replayOffset;
  }

  async take(records: readonly ConsumedRecord[]): Promise<number> {
    const st = this.state!;
    const max = this.#shared.flushMaxEvents;
    const now = Date.now(); // one clock reading per batch: its records arrived together
    this.#rethrow();
    for (const r of records) {
      st.process(r, now);
      if (st.pendingEvents >= max && !this.#running) {
        this.#flushBehind(true);
        if (this.#gone) return records.length; // fenced: the core reopens the partition
      }
    }
    if (st.pendingEvents >= 2 * max) await this.#settle(); // one flush behind, not more
    if (this.#gone) return records.length;
    // A catch-up (a restart's replay, a burst) that just ended is stored now, not after the
    // caught-up spacing, which is for the trickle that follows. Batches merely queued behind a
    // flush are no catch-up: only fetches cut short by their byte bound make one.
    if (this.#ctx.fetchCut) this.#catchingUp = true;
    const high = this.#ctx.highWatermark;
    const atEnd = high >= 0n && st.position >= high;
    const catchUpOver = atEnd && this.#catchingUp && this.#shared.caughtUpFlushMs > 0;
    if (atEnd) this.#catchingUp = false;
    if (sharedStateSize(this.#shared) > this.#shared.maxStateEntries) {
      await this.#settle();
      await this.#flush(true);
    } else if (st.pendingEvents > 0 && catchUpOver) {
      this.#flushBehind(false);
    } else if (st.pendingEvents > 0 && this.#caughtUpDue(Date.now())) {
      await this.#settle();
      await this.#flush(true);
    }
    return records.length;
  }

  /**
   * Starts a flush of what is pending — after the one running behind, if any — and lets records
   * go on being processed while it is written (one flush per partition at a time). With
   * `retry`, transient failures are retried until it is written (a flush by size); without, it
   * is one attempt (the end of a catch-up: a PostgreSQL refusing it for now must not stop
   * consuming; the ticks try again when due, as for any flush).
   */
  #flushBehind(retry: boolean): void {
    const start = () => this.#flush(retry);
    const running = (this.#running ? this.#running.then(start) : start()).catch((error) => {
      this.#failure = { error };
    }).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
  }

  /** Waits for the flush running behind, and throws why it failed, if it did. */
  async #settle(): Promise<void> {
    if (this.#running) await this.#running;
    this.#rethrow();
  }

  #rethrow(): void {
    const f = this.#failure;
    if (f) {
      this.#failure = undefined;
      throw f.error;
    }
  }

  ready(): boolean {
    const shared = this.#shared;
    const size = sharedStateSize(shared);
    if (size > shared.maxStateEntries) {
      if (!shared.overBound) {
        shared.log.warn("state bound reached; pausing fetching until windows close", {
          state_entries: size,
          max: shared.maxStateEntries,
        });
      }
      shared.overBound = true;
    } else if (size <= shared.maxStateEntries / 2) shared.overBound = false;
    if (shared.overBound) this.#blockedSince ??= Date.now();
    else this.#blockedSince = undefined;
    return !shared.overBound;
  }

  async tick(now: number): Promise<void> {
    this.#rethrow();
    const st = this.state;
    if (!st) return;
    st.highWatermark = this.#ctx.highWatermark;
    const idle = st.isIdle(now);
    // held back by the state bound for a whole idle timeout: treated as idle, so windows
    // can close by the topic's event time (never by the wall clock unless live)
    const held = this.#blockedSince !== undefined &&
      now - this.#blockedSince >= this.#shared.idleTimeoutMs;
    if (idle || held) {
      const topic = await this.#shared.topicTime(st.partition, now);
      // a held partition has unread records by definition: nothing for rule 6 to confirm
      if (topic && idle) st.advanceIdle(topic, now, this.#ctx.endOffsetsReadAt);
      else if (topic) st.watermark.advanceIdle(topic, now, st.live);
    }
    // a flush due before the next tick would be late by then: do it on this one (unless
    // one is being written right now)
    const slack = this.#shared.tickMs / 2;
    if (this.#running) return;
    if (
      now - this.#flushedAt >= this.#shared.flushIntervalMs - slack ||
      this.#caughtUpDue(now + slack)
    ) await this.#flush(false);
  }

  /** True when the partition has read to the log end and its caught-up flush is due. */
  #caughtUpDue(now: number): boolean {
    const spacing = this.#shared.caughtUpFlushMs;
    const high = this.#ctx.highWatermark;
    return spacing > 0 && high >= 0n && this.state!.position >= high &&
      now - this.#flushedAt >= spacing;
  }

  async close(reason: CloseReason): Promise<void> {
    const shared = this.#shared;
    try {
      await this.#running; // never rejects: its failure is kept in #failure
      // hand over as much as possible: a newer owner fences this write, which is fine
      if (this.state && reason !== "lost") await this.#flushOnce();
    } catch (e) {
      if (!(e instanceof FencedError)) {
        shared.log.warn("final flush failed; state will be replayed by the next owner", {
          partition: this.#ctx.partition,
          error: reasonOf(e),
        });
      }
    } finally {
      const s = this.stats;
      const c = shared.closed;
      c.eventsIn += s.eventsIn;
      c.counted += s.counted;
      c.duplicates += s.duplicates;
      c.late += s.late;
      c.dead += s.dead;
      c.replayed += s.replayed;
      c.fenced += s.fenced;
      shared.handlers.delete(this);
      this.state = null;
    }
  }

  /**
   * Writes the pending plan once. False when fenced (the partition reopens); throws other
   * failures.
   */
  async #flushOnce(): Promise<boolean> {
    const st = this.state;
    if (!st || this.#gone) return false;
    this.#flushedAt = Date.now();
    const plan = st.plan();
    if (!plan) return true;
    const shared = this.#shared;
    const started = performance.now();
    try {
      await shared.dlq.send(shared.topic, st.partition, plan.dead);
      await writeFlush(shared.sql, plan, { processor: PROCESSOR });
    } catch (e) {
      if (e instanceof FencedError) {
        this.#gone = true;
        // a final flush after the partition moved is expected to lose to the new owner
        if (this.#ctx.signal.aborted) return false;
        this.#fenced.n++;
        shared.log.warn("fenced: another consumer owns the partition; dropping its state", {
          partition: st.partition,
          error: e.message,
        });
        this.#ctx.reopen("fenced by a newer owner");
        return false;
      }
      throw e;
    }
    st.committed(plan);
    shared.lastFlushAt = Date.now();
    recordFlush("aggregator", (performance.now() - started) / 1000);
    countDeadLetters("aggregator", plan.dead);
    this.#ctx.commit(plan.nextOffset);
    return true;
  }

  /**
   * Flushes. Late events PostgreSQL refuses are dead-lettered as `unstorable` and the rest is
   * written at once. Transient failures (connections, timeouts, a broker moving) are retried
   * with backoff when `retry` (until written, fenced or closed), else left to the next tick;
   * failures retrying cannot fix stop the module (thrown).
   */
  async #flush(retry: boolean): Promise<void> {
    let delay = 250;
    const signal = this.#ctx.signal;
    for (let attempt = 1; !this.#gone && !(retry && signal.aborted); attempt++) {
      try {
        await this.#flushOnce();
        return;
      } catch (e) {
        const st = this.state;
        if (e instanceof UnstorableRecords && st) {
          const moved = st.reject(new Set(e.offsets.keys()), (o) => e.offsets.get(o)!);
          this.#shared.log.warn("late events PostgreSQL cannot store are dead-lettered", {
            partition: st.partition,
            records: moved,
            offsets: [...e.offsets.keys()].slice(0, 5).join(","),
            error: [...e.offsets.values()][0],
          });
          continue;
        }
        if (!transient(e)) {
          throw new Error(
            `Cannot flush partition ${this.#shared.topic}/${this.#ctx.partition}: ${
              reasonOf(e)
            } (not retried: retrying cannot fix it)`,
            { cause: e },
          );
        }
        if (!retry) {
          this.#shared.log.warn("flush failed; will retry", {
            partition: this.#ctx.partition,
            error: reasonOf(e),
          });
          return;
        }
        this.#shared.log.warn("flush failed; retrying", {
          partition: this.#ctx.partition,
          attempt,
          error: reasonOf(e),
          retry_in_ms: delay,
        });
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}

/** True when retrying a failed flush may succeed: Kafka or PostgreSQL outages, not data. */
function transient(e: unknown): boolean {
  if (e instanceof KafkaError) return e.retriable;
  return classifyPostgresError(e) === "transient";
}
