/**
 * Generator produce rate (`produceStream` in a child process, on the run's Kafka client) vs
 * Kafka's ProducerPerformance with the same record count, record size and acks on the same
 * broker; plus the child's CPU seconds per million records over the same interval.
 *
 * @module
 */
import type { StreamParams } from "../src/generator/mod.ts";
import type { KafkaClientName } from "../src/kafka/mod.ts";
import { stackPaths } from "../stack/paths.ts";
import type { BenchContext } from "./context.ts";
import { parseProducerPerf, producerPerfArgs, runJava } from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import { perMillion } from "./rss.ts";
import type { StreamStats } from "./workload.ts";

/** Result of the produce phase: the measurement, the filled topic and the generator's RSS. */
export interface ProduceOutcome {
  measurement: Measurement;
  topic: string;
  rssMb: number;
}

/** What the generator child reports when it is done. */
export interface GeneratorDone {
  records: number;
  ms: number;
  /** CPU seconds of the child over `ms` (`/proc/self/stat`); null when unreadable. */
  cpuSeconds: number | null;
  client: string;
}

/**
 * Runs the generator child (`client`: the run's unless given) on `topic` with `params`;
 * resolves to its report and its peak RSS.
 */
export async function runGenerator(
  ctx: BenchContext,
  topic: string,
  params: StreamParams,
  client: KafkaClientName = ctx.opts.client,
): Promise<GeneratorDone & { rssMb: number }> {
  const child = spawnChild("generator", {
    env: ctx.childEnv({
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_PARTITIONS: String(ctx.opts.partitions),
      NEXUS_KAFKA_CLIENT: client,
      BENCH_PARAMS: JSON.stringify(params),
    }),
    logFile: ctx.logFile,
  });
  const done = await child.waitFor("DONE ", 30 * 60_000);
  await child.exited;
  const g = JSON.parse(done.slice(5)) as GeneratorDone;
  if (g.client !== client) {
    throw new Error(`generator child ran Kafka client "${g.client}", expected "${client}"`);
  }
  return { ...g, rssMb: Math.max(child.reportedRssMb() ?? 0, child.rss.peakMb) };
}

/** Runs the generator child and ProducerPerformance. */
export async function measureProduce(
  ctx: BenchContext,
  stats: StreamStats,
): Promise<ProduceOutcome> {
  const topic = await ctx.topic("gen");
  const g = await runGenerator(ctx, topic, ctx.params);
  const rssMb = g.rssMb;
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
      target: { text: "≥ 0.3 × producer tool", pass: ratio >= 0.3 },
      cpuSecondsPerMillion: perMillion(g.cpuSeconds ?? undefined, g.records),
      details: {
        records: g.records,
        seconds,
        mbPerSec: mbps,
        client: g.client,
        cpuSeconds: g.cpuSeconds,
        cpuUtilisation: g.cpuSeconds === null ? null : g.cpuSeconds / seconds,
        recordSize,
        acks: "all",
        tool,
        toolPeakRssMb: run.peakRssMb,
        note:
          "produceStream: generate + self-check (validateRecord) + the port's idempotent producer (acks=all, one request per partition), batches of DEFAULT_SEND_BATCH (1000) records, one send in flight; time and CPU (utime+stime of the child, /proc/self/stat) include connect",
      },
    },
  };
}
