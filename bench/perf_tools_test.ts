import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  consumerPerfArgs,
  parseConsumerPerf,
  parseEndToEnd,
  parseProducerPerf,
  producerPerfArgs,
} from "./perf_tools.ts";

Deno.test("parseProducerPerf reads the closing summary line, not the progress lines", () => {
  const out = [
    "SLF4J: something",
    "499201 records sent, 99840.2 records/sec (19.04 MB/sec), 120.3 ms avg latency, 400.0 ms max latency.",
    "1000000 records sent, 254582.484725 records/sec (48.56 MB/sec), 545.07 ms avg latency, 841.00 ms max latency, 562 ms 50th, 792 ms 95th, 829 ms 99th, 838 ms 99.9th.",
  ].join("\n");
  assertEquals(parseProducerPerf(out), {
    records: 1000000,
    recordsPerSec: 254582.484725,
    mbPerSec: 48.56,
    avgLatencyMs: 545.07,
    maxLatencyMs: 841,
    p50Ms: 562,
    p99Ms: 829,
  });
  throws(() => parseProducerPerf("Exception in thread main"), /no ProducerPerformance summary/);
});

Deno.test("parseConsumerPerf maps the header columns to the data line", () => {
  const out =
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n" +
    "2026-11-24 16:03:38:860, 2026-11-24 16:03:39:208, 3.8147, 10.9618, 20000, 57471.2644, 221, 127, 30.0370, 157480.3150\n";
  assertEquals(parseConsumerPerf(out), {
    mb: 3.8147,
    mbPerSec: 10.9618,
    records: 20000,
    recordsPerSec: 57471.2644,
    rebalanceMs: 221,
    fetchMs: 127,
    fetchRecordsPerSec: 157480.315,
  });
  throws(() => parseConsumerPerf("WARN no data"), /no ConsumerPerformance result/);
});

Deno.test("parseEndToEnd reads average and percentiles", () => {
  const out =
    "0\t80.2\n1000\t0.51\nAvg latency: 1.2314 ms\nPercentiles: 50th = 0, 99th = 8, 99.9th = 45\n";
  assertEquals(parseEndToEnd(out), { avgMs: 1.2314, p50Ms: 0, p99Ms: 8, p999Ms: 45 });
});

Deno.test("perf tool arguments carry the workload", () => {
  const p = producerPerfArgs("/libs", { topic: "t", records: 10, recordSize: 200, brokers: "h:1" });
  assertEquals(p.slice(0, 3), ["-cp", "/libs/*", "org.apache.kafka.tools.ProducerPerformance"]);
  assert(p.join(" ").includes("--num-records 10 --record-size 200 --throughput -1"));
  assert(p.join(" ").endsWith("--producer-props bootstrap.servers=h:1 acks=all"));
  const c = consumerPerfArgs("/libs", {
    topic: "t",
    records: 10,
    brokers: "h:1",
    group: "g",
    timeoutMs: 5,
  });
  assert(c.join(" ").includes("--bootstrap-server h:1 --topic t --messages 10 --group g"));
});
