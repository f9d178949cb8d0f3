/**
 * Generator produce rate (`produceStream` in a child process) vs Kafka's ProducerPerformance
 * with the same record count, record size and acks on the same broker.
 *
 * @module
 */
import { stackPaths } from "../src/stack/paths.ts";
import type { BenchContext } from "./context.ts";
import { parseProducerPerf, producerPerfArgs, runJava } from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import type { StreamStats } from "./workload.ts";

/** Result of the produce phase: the measurement, the filled topic and the generator's RSS. */
export interface ProduceOutcome {
  measurement: Measurement;
  topic: string;
  rssMb: number;
}

/** Runs the generator child and ProducerPerformance. */
export async function measureProduce(
  ctx: BenchContext,
  stats: StreamStats,
): Promise<ProduceOutcome> {
  const topic = await ctx.topic("gen");
  const child = spawnChild("generator", {
    env: ctx.childEnv({
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_PARTITIONS: String(ctx.opts.partitions),
      BENCH_PARAMS: JSON.stringify(ctx.params),
    }),
    logFile: ctx.logFile,
  });
  const done = await child.waitFor("DONE ", 30 * 60_000);
  await child.exited;
  const g = JSON.parse(done.slice(5)) as { records: number; ms: number; cpuSeconds: number };
  const rssMb = Math.max(child.reportedRssMb() ?? 0, child.rss.peakMb);
  const seconds = g.ms / 1000;
  const rate = g.records / seconds;
  const mbps = stats.valueBytes / 1e6 / seconds;

  const perfTopic = await ctx.topic("perf");
  const recordSize = Math.round(stats.avgValueBytes);
  const run = await runJava(producerPerfArgs(stackPaths().tools.kafkaLibs, {
    topic: perfTopic,
    records: g.records,
    recordSize,
    brokers: ctx.config.kafkaBrokers.join(","),
  }));
  const tool = parseProducerPerf(run.output);
  const ratio = rate / tool.recordsPerSec;
  return {
    topic,
    rssMb,
    measurement: {
      title: "generator produce",
      value: rate,
      unit: "events/s",
      baseline: { what: "ProducerPerformance", value: tool.recordsPerSec, unit: "records/s" },
      ratio,
      target: { text: "≥ 0.5 × producer tool", pass: ratio >= 0.5 },
      details: {
        records: g.records,
        seconds,
        mbPerSec: mbps,
        cpuSecondsWholeProcess: g.cpuSeconds,
        recordSize,
        acks: "all",
        tool,
        toolPeakRssMb: run.peakRssMb,
        note:
          "produceStream: generate + self-check (validateRecord) + kafkajs idempotent producer, batches of 4000, one send in flight; time includes connect",
      },
    },
  };
}
