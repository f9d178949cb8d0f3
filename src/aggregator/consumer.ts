/**
 * The aggregator module: consumes the click topic with kafkajs, keeps per-partition state
 * (`PartitionState`), and flushes each partition to Postgres in one CAS-guarded transaction
 * (`writeFlush`). Progress lives in Postgres; Kafka commits are made after each Postgres
 * commit for lag monitoring only and are never read back.
 *
 * @module
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { checkKafka, createKafka } from "../kafka/mod.ts";
import type { Logger } from "../log/logger.ts";
import { createSql, migrate, postgresError, type Sql } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { ModuleContext, ModuleStatus, RunningModule } from "../runtime/module.ts";
import { DeadLetterQueue } from "./dlq.ts";
import { type FlushPlan, PartitionState } from "./partials.ts";
import { claimPartition, FencedError, PROCESSOR, registerTopic, writeFlush } from "./sink.ts";
import { WINDOW_MS } from "./window.ts";
import { recordFlush } from "../observe/metrics.ts";

/** Extra knobs (tests and tuning); every field is optional. */
export interface AggregatorOptions {
  /** Dedup ids are kept until window end + this ≤ watermark. Default 120000. */
  dedupHorizonMs?: number;
  /** Pause fetching when open windows + dedup ids exceed this. Default 2000000. */
  maxStateEntries?: number;
  /** kafkajs group timing. Default: `NEXUS_KAFKA_SESSION_TIMEOUT_MS` (config `kafkaSessionTimeoutMs`). */
  sessionTimeout?: number;
  heartbeatInterval?: number;
  rebalanceTimeout?: number;
  /** Test hook run inside every Postgres flush transaction, before commit. */
  inTransaction?: (plan: FlushPlan) => Promise<void>;
}

/** A running aggregator (a `RunningModule` with a few extras for tests). */
export interface Aggregator extends RunningModule {
  /** Forces a flush of every owned partition now. */
  flush(): Promise<void>;
}

class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the aggregator with explicit options; `startAggregator` is this with defaults. */
export async function createAggregator(
  ctx: ModuleContext,
  options: AggregatorOptions = {},
): Promise<Aggregator> {
  const { config } = ctx;
  const log: Logger = ctx.log;
  const topic = config.clickTopic;
  await checkKafka(config, { requireTopics: [topic] });

  const sql: Sql = createSql(config, { max: 4 });
  try {
    await migrate(sql);
  } catch (e) {
    await sql.end({ timeout: 1 }).catch(() => {});
    if ((e as { code?: string }).code || /connect|ECONNREFUSED/i.test(reasonOf(e))) {
      throw postgresError(e, config);
    }
    throw e;
  }

  const kafka: Kafka = createKafka(config, { clientSuffix: "aggregator" });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitionCount = meta.topics[0]?.partitions.length ?? config.partitions;
  await registerTopic(sql, topic, partitionCount);
  const dlq = new DeadLetterQueue(kafka, config.dlqTopic);
  await dlq.start(partitionCount);

  const partOpts = {
    allowedLatenessMs: config.allowedLatenessMs,
    idleTimeoutMs: config.idleTimeoutMs,
    dedupHorizonMs: options.dedupHorizonMs ?? 2 * WINDOW_MS,
  };
  const maxState = options.maxStateEntries ?? 2_000_000;
  const parts = new Map<number, PartitionState>();
  const reseeked = new Set<number>();
  const paused = new Map<number, number>(); // partition -> paused since (ms)
  const lock = new Mutex();
  const totals = { eventsIn: 0, dead: 0, late: 0, duplicates: 0, replayed: 0, fenced: 0 };
  let lastFlushAt: number | undefined;
  let stopping = false;
  let stopped = false;

  const sessionTimeout = options.sessionTimeout ?? config.kafkaSessionTimeoutMs;
  const consumer: Consumer = kafka.consumer({
    groupId: config.aggregatorGroup,
    allowAutoTopicCreation: false,
    sessionTimeout,
    heartbeatInterval: options.heartbeatInterval ?? Math.min(3_000, Math.floor(sessionTimeout / 3)),
    rebalanceTimeout: options.rebalanceTimeout ?? 2 * sessionTimeout,
    maxBytesPerPartition: 1024 * 1024,
  });

  const foldStats = (st: PartitionState) => {
    totals.eventsIn += st.stats.eventsIn;
    totals.dead += st.stats.dead;
    totals.late += st.stats.late;
    totals.duplicates += st.stats.duplicates;
    totals.replayed += st.stats.replayed;
  };
  const drop = (p: number) => {
    const st = parts.get(p);
    if (st) foldStats(st);
    parts.delete(p);
    reseeked.delete(p);
  };

  /** Claims `p` in Postgres and seeks Kafka to its replay offset. Caller holds the lock. */
  const claim = async (p: number): Promise<PartitionState> => {
    const cp = await claimPartition(sql, topic, p);
    const st = new PartitionState(topic, p, cp, partOpts);
    const old = parts.get(p);
    if (old) foldStats(old);
    parts.set(p, st);
    reseeked.delete(p);
    consumer.seek({ topic, partition: p, offset: String(cp.replayOffset) });
    log.info("partition claimed", {
      partition: p,
      epoch: cp.epoch,
      replay_offset: cp.replayOffset,
      next_offset: cp.nextOffset,
      watermark: cp.watermark === null ? null : new Date(cp.watermark).toISOString(),
    });
    return st;
  };

  /** Writes one partition's pending state. Caller holds the lock. False when fenced. */
  const flushOne = async (st: PartitionState): Promise<boolean> => {
    const plan = st.plan();
    if (!plan) return true;
    const started = performance.now();
    await dlq.send(topic, st.partition, plan.dead);
    try {
      await writeFlush(sql, plan, { processor: PROCESSOR, inTransaction: options.inTransaction });
    } catch (e) {
      if (e instanceof FencedError) {
        totals.fenced++;
        log.warn("fenced: another consumer owns the partition; dropping its state", {
          partition: st.partition,
          error: e.message,
        });
        if (parts.get(st.partition) === st) drop(st.partition);
        return false;
      }
      throw e;
    }
    st.committed(plan);
    lastFlushAt = Date.now();
    recordFlush("aggregator", (performance.now() - started) / 1000);
    consumer.commitOffsets([{ topic, partition: st.partition, offset: String(plan.nextOffset) }])
      .catch(() => {}); // lag monitoring only
    return true;
  };

  /** Flushes every owned partition; retriable failures throw. Caller holds the lock. */
  const flushAll = async () => {
    for (const st of [...parts.values()]) await flushOne(st);
  };

  /** Flushes `st`, retrying Postgres outages with backoff until it works or we stop. */
  const flushRetrying = async (st: PartitionState, heartbeat?: () => Promise<void>) => {
    let delay = 250;
    for (let attempt = 1;; attempt++) {
      try {
        await flushOne(st);
        return;
      } catch (e) {
        if (stopped) throw e;
        log.warn("flush failed; retrying", {
          partition: st.partition,
          attempt,
          error: reasonOf(e),
          retry_in_ms: delay,
        });
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
        await heartbeat?.().catch(() => {});
        if (parts.get(st.partition) !== st) return;
      }
    }
  };

  const stateSize = () => {
    let n = 0;
    for (const st of parts.values()) n += st.stateSize;
    return n;
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch, isStale, heartbeat, resolveOffset } = payload;
    if (stopping || batch.topic !== topic) return;
    await lock.run(async () => {
      if (stopping) return;
      const p = batch.partition;
      let st = parts.get(p);
      if (!st) {
        try {
          await claim(p);
        } catch (e) {
          log.warn("cannot claim partition; retrying", { partition: p, error: reasonOf(e) });
          await sleep(1000);
        }
        return; // the seek takes effect on the next fetch
      }
      if (isStale()) return;
      st.highWatermark = Number(batch.highWatermark);
      // After a rebalance kafkajs fetches a kept partition from the group's committed offset,
      // which is only the last flush (commits are for lag monitoring) and can be far behind
      // what this process already holds in memory. Records below `position` are skipped, and
      // kafkajs must be moved past them too: left unresolved, the same batch would be fetched
      // again forever and the partition would stall while the process looks healthy.
      if (batch.messages.length > 0 && Number(batch.lastOffset()) < st.position) {
        consumer.seek({ topic, partition: p, offset: String(st.position) });
        return;
      }
      for (const m of batch.messages) {
        const offset = Number(m.offset);
        if (offset < st.position) {
          resolveOffset(m.offset);
          continue;
        }
        // The first batch after a claim should start where we sought; if not, seek once
        // more. A second gap is real (retention or compaction) and accepted.
        if (offset > st.position && !reseeked.has(p) && !st.started) {
          reseeked.add(p);
          consumer.seek({ topic, partition: p, offset: String(st.position) });
          log.warn("first batch after claim skipped offsets; seeking again", {
            partition: p,
            expected: st.position,
            got: offset,
          });
          return;
        }
        st.started = true;
        st.process({ offset, key: m.key ?? null, value: m.value ?? null });
        resolveOffset(m.offset);
        if (st.pendingEvents >= config.flushMaxEvents) {
          await flushRetrying(st, heartbeat);
          st = parts.get(p);
          if (!st) return; // fenced
        }
      }
      if (stateSize() > maxState) {
        await flushRetrying(st, heartbeat);
        if (stateSize() > maxState && !paused.has(p)) {
          log.warn("state bound reached; pausing partition until windows close", {
            partition: p,
            state_entries: stateSize(),
            max: maxState,
          });
          paused.set(p, Date.now());
          consumer.pause([{ topic, partitions: [p] }]);
        }
      }
    });
  };

  const onAssign = (assigned: number[]) =>
    lock.run(async () => {
      if (stopping) return;
      const set = new Set(assigned);
      for (const p of [...parts.keys()]) if (!set.has(p)) drop(p);
      for (const p of assigned) if (!parts.has(p)) await claim(p);
    }).catch((e) =>
      log.warn("claiming assigned partitions failed; will retry on fetch", {
        error: reasonOf(e),
      })
    );

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = e.payload.memberAssignment[topic] ?? [];
    log.info("group joined", { partitions: assigned.join(","), leader: e.payload.isLeader });
    void onAssign(assigned);
  });

  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});
  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error;
    log.error("consumer crashed", { error: reasonOf(err), restart: e.payload.restart });
    if (!e.payload.restart && !stopping) {
      void shutdown().finally(() => rejectDone(err));
    }
  });

  const tick = async () => {
    if (stopping) return;
    const now = Date.now();
    const idleCandidates = [...parts.values()].some((st) =>
      now - st.lastRecordAt >= config.idleTimeoutMs
    );
    let hw: Map<number, number> | undefined;
    if (idleCandidates) {
      try {
        const offs = await admin.fetchTopicOffsets(topic);
        hw = new Map(offs.map((o) => [o.partition, Number(o.high)]));
      } catch (e) {
        log.debug("cannot read end offsets for idle detection", { error: reasonOf(e) });
      }
    }
    await lock.run(async () => {
      if (stopping) return;
      for (const st of parts.values()) {
        const h = hw?.get(st.partition);
        if (h !== undefined) st.highWatermark = h;
        const pausedSince = paused.get(st.partition);
        if (pausedSince !== undefined && now - pausedSince >= config.idleTimeoutMs) {
          st.watermark.advanceTo(now - config.allowedLatenessMs);
        } else if (hw) st.idleAdvance(now);
      }
      for (const st of [...parts.values()]) {
        try {
          await flushOne(st);
        } catch (e) {
          log.warn("flush failed; will retry", { partition: st.partition, error: reasonOf(e) });
          break;
        }
      }
      if (paused.size > 0 && stateSize() <= maxState / 2) {
        for (const p of paused.keys()) consumer.resume([{ topic, partitions: [p] }]);
        paused.clear();
      }
    });
  };

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    tick().catch((e) => log.warn("tick failed", { error: reasonOf(e) })).finally(() => {
      ticking = false;
    });
  }, Math.min(config.flushIntervalMs, 1000));

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  log.info("aggregator started", {
    topic,
    group: config.aggregatorGroup,
    partitions: partitionCount,
    dlq: config.dlqTopic,
    allowed_lateness_ms: config.allowedLatenessMs,
  });

  let stopPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      clearInterval(timer);
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const within = <T>(p: Promise<T>) =>
        Promise.race([p, sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
      try {
        consumer.pause([{ topic }]);
      } catch { /* not running */ }
      await within(lock.run(async () => {
        for (const st of [...parts.values()]) {
          try {
            await flushOne(st);
          } catch (e) {
            log.warn("final flush failed; state will be replayed on restart", {
              partition: st.partition,
              error: reasonOf(e),
            });
          }
        }
      }));
      stopped = true;
      await within(consumer.disconnect().catch(() => {}));
      await within(dlq.stop());
      await within(admin.disconnect().catch(() => {}));
      await within(sql.end({ timeout: 2 }).catch(() => {}));
      log.info("aggregator stopped", { events_in: status().eventsIn });
    })();
    return stopPromise;
  };

  const status = (): ModuleStatus => {
    const s = { ...totals };
    const partitions: NonNullable<ModuleStatus["partitions"]> = {};
    for (const st of parts.values()) {
      s.eventsIn += st.stats.eventsIn;
      s.dead += st.stats.dead;
      s.late += st.stats.late;
      s.duplicates += st.stats.duplicates;
      s.replayed += st.stats.replayed;
      partitions[st.partition] = {
        watermark: st.watermark.value ?? undefined,
        offset: String(st.position),
        lag: st.highWatermark >= 0 ? Math.max(0, st.highWatermark - st.position) : undefined,
      };
    }
    return {
      eventsIn: s.eventsIn,
      eventsOut: 0,
      deadLettered: s.dead,
      late: s.late,
      lastFlushAt,
      partitions,
      extra: {
        duplicates: s.duplicates,
        replayed: s.replayed,
        fenced: s.fenced,
        state_entries: stateSize(),
      },
    };
  };

  return {
    name: "aggregator",
    done,
    status,
    stop: async () => {
      await shutdown();
      resolveDone();
    },
    flush: () => lock.run(flushAll),
  };
}

/** Starts the aggregator module (consumer group `aggregatorGroup`, topic `clickTopic`). */
export function startAggregator(ctx: ModuleContext): Promise<RunningModule> {
  return createAggregator(ctx);
}
