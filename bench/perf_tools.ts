/**
 * Kafka's own perf tools (`ProducerPerformance`, `ConsumerPerformance` from kafka-tools), run
 * with `java -cp "<libs>/*"` against the same broker, and parsers for their output.
 *
 * @module
 */
import { RssSampler } from "./rss.ts";

/** The closing summary line of `ProducerPerformance`. */
export interface ProducerPerfResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms?: number;
  p99Ms?: number;
}

/**
 * Parses ProducerPerformance output; the summary is the last line like
 * `1000000 records sent, 254582.5 records/sec (48.56 MB/sec), 545.07 ms avg latency,
 * 841.00 ms max latency, 562 ms 50th, 792 ms 95th, 829 ms 99th, 838 ms 99.9th.`
 */
export function parseProducerPerf(output: string): ProducerPerfResult {
  const re =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?/g;
  let last: RegExpExecArray | undefined;
  for (let m = re.exec(output); m; m = re.exec(output)) last = m;
  if (!last) throw new Error(`no ProducerPerformance summary in output: ${tail(output)}`);
  return {
    records: Number(last[1]),
    recordsPerSec: Number(last[2]),
    mbPerSec: Number(last[3]),
    avgLatencyMs: Number(last[4]),
    maxLatencyMs: Number(last[5]),
    ...(last[6] ? { p50Ms: Number(last[6]), p99Ms: Number(last[8]) } : {}),
  };
}

/** The result row of `ConsumerPerformance`. */
export interface ConsumerPerfResult {
  mb: number;
  mbPerSec: number;
  records: number;
  /** Records / (end - start), group join included. */
  recordsPerSec: number;
  rebalanceMs: number;
  fetchMs: number;
  /** Records / fetch time (group join excluded). */
  fetchRecordsPerSec: number;
}

/**
 * Parses ConsumerPerformance output: a header line naming the columns (`start.time,
 * end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
 * fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`) followed by one data line.
 */
export function parseConsumerPerf(output: string): ConsumerPerfResult {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const h = lines.findIndex((l) => l.startsWith("start.time"));
  if (h < 0 || !lines[h + 1]) {
    throw new Error(`no ConsumerPerformance result in output: ${tail(output)}`);
  }
  const cols = lines[h]!.split(",").map((s) => s.trim());
  const vals = lines[h + 1]!.split(",").map((s) => s.trim());
  const get = (name: string) => {
    const i = cols.indexOf(name);
    const v = i >= 0 ? Number(vals[i]) : NaN;
    if (!Number.isFinite(v)) throw new Error(`ConsumerPerformance: no number for ${name}`);
    return v;
  };
  return {
    mb: get("data.consumed.in.MB"),
    mbPerSec: get("MB.sec"),
    records: get("data.consumed.in.nMsg"),
    recordsPerSec: get("nMsg.sec"),
    rebalanceMs: get("rebalance.time.ms"),
    fetchMs: get("fetch.time.ms"),
    fetchRecordsPerSec: get("fetch.nMsg.sec"),
  };
}

function tail(s: string): string {
  return JSON.stringify(s.trim().split("\n").slice(-3).join(" | ").slice(-400));
}

/** Command-line arguments of ProducerPerformance with the given workload. */
export function producerPerfArgs(
  libs: string,
  o: { topic: string; records: number; recordSize: number; brokers: string },
): string[] {
  return [
    "-cp",
    `${libs}/*`,
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    o.topic,
    "--num-records",
    String(o.records),
    "--record-size",
    String(o.recordSize),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${o.brokers}`,
    "acks=all",
  ];
}

/** Command-line arguments of ConsumerPerformance reading `records` from `topic`. */
export function consumerPerfArgs(
  libs: string,
  o: { topic: string; records: number; brokers: string; group: string; timeoutMs: number },
): string[] {
  return [
    "-cp",
    `${libs}/*`,
    "org.apache.kafka.tools.ConsumerPerformance",
    "--bootstrap-server",
    o.brokers,
    "--topic",
    o.topic,
    "--messages",
    String(o.records),
    "--group",
    o.group,
    "--timeout",
    String(o.timeoutMs),
  ];
}

/** Output and peak RSS of a `java` run. */
export interface JavaRun {
  output: string;
  peakRssMb: number;
}

/** Runs `java args`; resolves to stdout + stderr and its peak RSS, throws on a non-zero exit. */
export async function runJava(args: string[], timeoutMs = 600_000): Promise<JavaRun> {
  const proc = new Deno.Command("java", {
    args: ["-Xmx512m", ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  const rss = new RssSampler(proc.pid, 100);
  const out = await proc.output();
  const peakRssMb = rss.stop();
  const text = new TextDecoder().decode(out.stdout) + "\n" + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`java ${args[2]} exited ${out.code}: ${tail(text)}`);
  return { output: text, peakRssMb };
}

/** The summary of `EndToEndLatency` (one message at a time, produce → consume). */
export interface EndToEndResult {
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

/** Parses `Avg latency: 1.23 ms` and `Percentiles: 50th = 0, 99th = 8, 99.9th = 45`. */
export function parseEndToEnd(output: string): EndToEndResult {
  const avg = /Avg latency: ([\d.]+) ms/.exec(output);
  const pct = /Percentiles: 50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)/.exec(output);
  if (!avg || !pct) throw new Error(`no EndToEndLatency summary in output: ${tail(output)}`);
  return {
    avgMs: Number(avg[1]),
    p50Ms: Number(pct[1]),
    p99Ms: Number(pct[2]),
    p999Ms: Number(pct[3]),
  };
}

/** Command-line arguments of EndToEndLatency. */
export function endToEndArgs(
  libs: string,
  o: { brokers: string; topic: string; records: number; recordSize: number },
): string[] {
  return [
    "-cp",
    `${libs}/*`,
    "org.apache.kafka.tools.EndToEndLatency",
    o.brokers,
    o.topic,
    String(o.records),
    "all",
    String(o.recordSize),
  ];
}

/** `java -version` first line, e.g. `openjdk version "17.0.15"`. */
export async function javaVersion(): Promise<string> {
  try {
    const out = await new Deno.Command("java", { args: ["-version"], stderr: "piped" }).output();
    return new TextDecoder().decode(out.stderr).split("\n")[0]?.trim() ?? "unknown";
  } catch {
    return "not found";
  }
}
