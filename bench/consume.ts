/**
 * Aggregator rate from the log to Postgres (child process on the run's Kafka client; from
 * READY until every partition's next_offset in consumer_checkpoints reached the end offset) vs
 * Kafka's ConsumerPerformance reading the same topic; plus the child's CPU seconds per
 * million records over the same interval.
 *
 * @module
 */
import type { KafkaClientName } from "../src/kafka/mod.ts";
import type { Sql } from "../src/postgres/mod.ts";
import { stackPaths } from "../stack/paths.ts";
import { type BenchContext, caughtUp, storedOffsets, total, until } from "./context.ts";
import {
  consumerPerfArgs,
  type ConsumerPerfResult,
  parseConsumerPerf,
  runJava,
} from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import { perMillion } from "./rss.ts";

/** Result of the consume phase. */
export interface ConsumeOutcome {
  measurement: Measurement;
  rssMb: number;
  tool: ConsumerPerfResult;
  dbUrl: string;
}

/** One aggregator child from READY until every partition's checkpoint reached its end. */
export interface CatchUp {
  records: number;
  /** READY → caught up, ms. */
  ms: number;
  /** spawn → READY, ms. */
  startupMs: number;
  /** CPU seconds of the child over `ms` (`/proc/<pid>/stat`). */
  cpuSeconds?: number;
  rssMb: number;
  client: KafkaClientName;
}

/**
 * Runs an aggregator child (`client`: the run's unless given) on `topic` into the database
 * `db` until every partition's `next_offset` in consumer_checkpoints reached the end offset.
 */
export async function aggregatorCatchUp(
  ctx: BenchContext,
  topic: string,
  db: { url: string; sql: Sql },
  group: string,
  client: KafkaClientName = ctx.opts.client,
): Promise<CatchUp> {
  const ends = await ctx.ends(topic);
  const records = total(ends);
  const spawnedAt = performance.now();
  const child = spawnChild("aggregator", {
    env: ctx.childEnv({
      DATABASE_URL: db.url,
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_DLQ_TOPIC: `${topic}.dlq`,
      NEXUS_AGGREGATOR_GROUP: ctx.group(group),
      NEXUS_KAFKA_CLIENT: client,
    }),
    logFile: ctx.logFile,
  });
  let ms: number, startupMs: number, rssMb: number;
  let cpu0: number | undefined, cpu1: number | undefined;
  try {
    await child.ready(client);
    const t0 = performance.now();
    cpu0 = child.cpu();
    startupMs = t0 - spawnedAt;
    await until(
      "aggregator catch-up",
      async () => caughtUp(await storedOffsets(db.sql, topic), ends),
      30 * 60_000,
      50,
    );
    ms = performance.now() - t0;
    cpu1 = child.cpu();
    child.rss.sample();
    rssMb = child.rss.peakMb;
  } finally {
    await child.stop();
  }
  rssMb = Math.max(rssMb!, child.reportedRssMb() ?? 0);
  const cpuSeconds = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
  return { records, ms, startupMs, cpuSeconds, rssMb, client };
}

/** Runs the aggregator child on `topic` into a fresh database, then ConsumerPerformance. */
export async function measureConsume(ctx: BenchContext, topic: string): Promise<ConsumeOutcome> {
  const db = await ctx.database("main");
  const { records, ms, startupMs, cpuSeconds, rssMb, client } = await aggregatorCatchUp(
    ctx,
    topic,
    db,
    "agg",
  );
  const rate = records / (ms / 1000);

  const run = await runJava(consumerPerfArgs(stackPaths().tools.kafkaLibs, {
    topic,
    records,
    brokers: ctx.config.kafkaBrokers.join(","),
    group: ctx.group("perfc"),
    timeoutMs: 120_000,
  }));
  const tool = parseConsumerPerf(run.output);
  const ratio = rate / tool.recordsPerSec;
  return {
    rssMb,
    tool,
    dbUrl: db.url,
    measurement: {
      title: "aggregator log → Postgres",
      value: rate,
      unit: "events/s",
      baseline: { what: "ConsumerPerformance", value: tool.recordsPerSec, unit: "records/s" },
      ratio,
      target: { text: "≥ 0.3 × consumer tool", pass: ratio >= 0.3 },
      cpuSecondsPerMillion: perMillion(cpuSeconds, records),
      details: {
        records,
        client,
        seconds: ms / 1000,
        startupSeconds: startupMs / 1000,
        rateFromSpawn: records / ((ms + startupMs) / 1000),
        cpuSeconds,
        cpuUtilisation: cpuSeconds === undefined ? undefined : cpuSeconds / (ms / 1000),
        tool,
        toolPeakRssMb: run.peakRssMb,
        note:
          "clock starts at the child's READY (createAggregator resolves after its first group join, with either client) and stops when every partition's next_offset in consumer_checkpoints reached the end offset; ConsumerPerformance's nMsg.sec includes its own group join (rateFromSpawn includes ours, plus process start, checks and migrate); CPU = utime+stime of the child (/proc/<pid>/stat) over the same interval",
      },
    },
  };
}
