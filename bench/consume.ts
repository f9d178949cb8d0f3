/**
 * Aggregator rate from the log to Postgres (child process; from READY until every partition's
 * next_offset in consumer_checkpoints reached the end offset) vs Kafka's ConsumerPerformance
 * reading the same topic.
 *
 * @module
 */
import { stackPaths } from "../src/stack/paths.ts";
import { type BenchContext, caughtUp, storedOffsets, total, until } from "./context.ts";
import {
  consumerPerfArgs,
  type ConsumerPerfResult,
  parseConsumerPerf,
  runJava,
} from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import { cpuSeconds } from "./rss.ts";

/** Result of the consume phase. */
export interface ConsumeOutcome {
  measurement: Measurement;
  rssMb: number;
  tool: ConsumerPerfResult;
  dbUrl: string;
}

/** Runs the aggregator child on `topic` into a fresh database, then ConsumerPerformance. */
export async function measureConsume(ctx: BenchContext, topic: string): Promise<ConsumeOutcome> {
  const ends = await ctx.ends(topic);
  const records = total(ends);
  const db = await ctx.database("main");
  const spawnedAt = performance.now();
  const child = spawnChild("aggregator", {
    env: ctx.childEnv({
      DATABASE_URL: db.url,
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_DLQ_TOPIC: `${topic}.dlq`,
      NEXUS_AGGREGATOR_GROUP: `${ctx.runTag}_agg`,
    }),
    logFile: ctx.logFile,
  });
  let ms: number, startupMs: number, rssMb: number;
  let cpu0: number | undefined, cpu1: number | undefined;
  try {
    await child.waitFor("READY", 120_000);
    const t0 = performance.now();
    cpu0 = cpuSeconds(child.pid);
    startupMs = t0 - spawnedAt;
    await until(
      "aggregator catch-up",
      async () => caughtUp(await storedOffsets(db.sql, topic), ends),
      30 * 60_000,
      50,
    );
    ms = performance.now() - t0;
    cpu1 = cpuSeconds(child.pid);
    child.rss.sample();
    rssMb = child.rss.peakMb;
  } finally {
    await child.stop();
  }
  rssMb = Math.max(rssMb!, child.reportedRssMb() ?? 0);
  const rate = records / (ms / 1000);

  const run = await runJava(consumerPerfArgs(stackPaths().tools.kafkaLibs, {
    topic,
    records,
    brokers: ctx.config.kafkaBrokers.join(","),
    group: `${ctx.runTag}_perfc`,
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
      target: { text: "≥ 0.6 × consumer tool", pass: ratio >= 0.6 },
      details: {
        records,
        seconds: ms / 1000,
        startupSeconds: startupMs / 1000,
        rateFromSpawn: records / ((ms + startupMs) / 1000),
        cpuSeconds: cpu1! - cpu0!,
        cpuUtilisation: (cpu1! - cpu0!) / (ms / 1000),
        tool,
        toolPeakRssMb: run.peakRssMb,
        note:
          "clock starts when the child is running (consumer subscribed, group join in progress) like ConsumerPerformance's nMsg.sec, which includes its group join; stops when every partition's next_offset in consumer_checkpoints reached the end offset",
      },
    },
  };
}
