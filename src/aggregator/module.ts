/**
 * The aggregator module: one `AggregatorPartition` per owned partition of the click topic,
 * driven by the partition consumer core (consumer group `NEXUS_AGGREGATOR_GROUP`). Progress
 * lives in PostgreSQL; Kafka commits are made after each PostgreSQL commit for lag monitoring
 * only and are never read back.
 *
 * @module
 */
import { type KafkaClient, startConsumerModule } from "../kafka/mod.ts";
import { createSql, type Sql } from "../postgres/mod.ts";
import type { ModuleContext, ModuleStarter, RunningModule } from "../runtime/module.ts";
import { DeadLetterQueue } from "./dlq.ts";
import { AggregatorPartition, type AggregatorShared, emptyStats } from "./handler.ts";
import { aggregatorStatus } from "./status.ts";
import { registerTopic, topicTimes } from "./sink.ts";
import { topicTime } from "./watermark.ts";
import { WINDOW_MS } from "./window.ts";

/** Tuning and collaborators; every field is optional. */
export interface AggregatorOptions {
  /** Dedup ids are kept until window end + this ≤ watermark. Default 120000 (two windows). */
  dedupHorizonMs?: number;
  /** Pause fetching when open windows + dedup ids exceed this. Default 2000000. */
  maxStateEntries?: number;
  /** PostgreSQL client (closed by the module only when it created it). Default: from config. */
  sql?: Sql;
  /** Kafka client. Default: `NEXUS_KAFKA_CLIENT` from config. */
  kafka?: KafkaClient;
}

/** Starts the aggregator; resolves once it joined its consumer group. */
export function createAggregator(
  ctx: ModuleContext,
  options: AggregatorOptions = {},
): Promise<RunningModule> {
  const { config, log } = ctx;
  const topic = config.clickTopic;
  return startConsumerModule(ctx, {
    name: "aggregator",
    kafka: options.kafka,
    prepare: async (kafka, admin) => {
      const partitionCount = await admin.partitionCount(topic);
      const ownSql = !options.sql;
      const sql = options.sql ?? createSql(config, { max: 4 });
      let dlq: DeadLetterQueue | undefined;
      try {
        await registerTopic(sql, topic, partitionCount);
        dlq = new DeadLetterQueue(kafka.producer(), config.dlqTopic);
        await dlq.start(admin, partitionCount);
      } catch (e) {
        await dlq?.stop();
        if (ownSql) await sql.end({ timeout: 1 }).catch(() => {});
        throw e;
      }
      // ticks come often enough for both time-based flush triggers
      const periodMs = Math.min(config.flushIntervalMs, 1000);
      const tickMs = config.caughtUpFlushMs > 0
        ? Math.min(periodMs, config.caughtUpFlushMs)
        : periodMs;
      const shared: AggregatorShared = {
        topic,
        sql,
        dlq,
        log,
        partition: {
          allowedLatenessMs: config.allowedLatenessMs,
          idleTimeoutMs: config.idleTimeoutMs,
          dedupHorizonMs: options.dedupHorizonMs ?? 2 * WINDOW_MS,
          maxFutureMs: config.maxFutureMs,
        },
        flushMaxEvents: config.flushMaxEvents,
        flushIntervalMs: config.flushIntervalMs,
        caughtUpFlushMs: config.caughtUpFlushMs,
        tickMs,
        idleTimeoutMs: config.idleTimeoutMs,
        allowedLatenessMs: config.allowedLatenessMs,
        maxStateEntries: options.maxStateEntries ?? 2_000_000,
        closed: emptyStats(),
        handlers: new Set(),
        overBound: false,
        topicTime: (partition, now) => topicView(partition, now),
      };
      // The stored event-time state of every partition is read at most every half flush
      // period and shared by this process's partitions; its own partitions are taken from
      // memory (fresher).
      let stored: { at: number; value: ReturnType<typeof topicTimes> } | undefined;
      const topicView = async (partition: number, now: number) => {
        if (!stored || now - stored.at >= periodMs / 2) {
          stored = { at: now, value: topicTimes(sql, topic) };
          stored.value.catch(() => {});
        }
        const read = await stored.value.catch(() => undefined);
        if (!read) return undefined;
        const views = new Map(read.views.map((v) => [v.partition, v]));
        for (const h of shared.handlers) {
          const st = h.state;
          if (!st) continue;
          views.set(h.partition, {
            partition: h.partition,
            watermark: st.watermark.value,
            idle: st.isIdle(now),
            live: st.live,
          });
        }
        return topicTime([...views.values()], read.partitions, partition);
      };
      const release = async () => {
        await shared.dlq.stop();
        if (ownSql) await sql.end({ timeout: 2 }).catch(() => {});
      };
      return {
        group: config.aggregatorGroup,
        handler: (_p, pctx) => new AggregatorPartition(shared, pctx),
        tickMs,
        offsetsEveryMs: Math.max(1000, Math.min(5000, Math.floor(config.idleTimeoutMs / 3))),
        release,
        status: (progress) => aggregatorStatus(shared, progress),
        started: {
          partitions: partitionCount,
          dlq: config.dlqTopic,
          allowed_lateness_ms: config.allowedLatenessMs,
        },
        stopped: () => ({ events_in: aggregatorStatus(shared, []).eventsIn }),
      };
    },
  });
}

/** Starts the aggregator module (consumer group `aggregatorGroup`, topic `clickTopic`). */
export const startAggregator: ModuleStarter = (ctx) => createAggregator(ctx);
