import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { defaultStreamParams } from "../src/generator/mod.ts";
import { areaOf, npmFile, summarizeProfile } from "./profile.ts";
import { clockTicks, parseStatTicks, parseStatus, perMillion } from "./rss.ts";
import { partitionOf, percentile, streamStats } from "./workload.ts";

Deno.test("streamStats counts what the generator sends", () => {
  const s = streamStats(defaultStreamParams({ events: 1000, seed: 3 }));
  assert(s.records >= 1000 && s.records < 1100);
  assert(s.avgValueBytes > 100 && s.avgValueBytes < 400);
  assertEquals(s.valueBytes, Math.round(s.avgValueBytes * s.records));
});

Deno.test("partitionOf is stable and in range; percentile is nearest-rank", () => {
  assertEquals(partitionOf("u000001", 6), partitionOf("u000001", 6));
  for (const k of ["a", "u1", "u000002"]) assert(partitionOf(k, 6) >= 0 && partitionOf(k, 6) < 6);
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assertEquals([percentile(xs, 50), percentile(xs, 99), percentile(xs, 100)], [50, 99, 100]);
  assert(Number.isNaN(percentile([], 50)));
});

Deno.test("parseStatus reads kB lines of /proc/<pid>/status", () => {
  assertEquals(parseStatus("Name:\tdeno\nVmHWM:\t  204800 kB\nVmRSS:\t  1024 kB\n"), {
    VmHWM: 204800,
    VmRSS: 1024,
  });
});

Deno.test("parseStatTicks: utime + stime of /proc/<pid>/stat, command names with spaces", () => {
  // pid (comm) state ppid ... utime(14) stime(15) ...
  const stat = "4242 (deno (child) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 56 0 0 20 0 9";
  assertEquals(parseStatTicks(stat), 1290);
  assert(clockTicks() > 0);
  assertEquals(perMillion(3, 2_000_000), 1.5);
  assertEquals(perMillion(undefined, 10), undefined);
  assertEquals(perMillion(1, 0), undefined);
});

Deno.test("areaOf: Kafka client libraries by package, Nexus's Kafka code as the port", () => {
  const cache = "file:///root/.cache/deno/npm/registry.npmjs.org";
  assertEquals(
    areaOf(`${cache}/@platformatic/kafka/2.12.1/dist/protocol/reader.js`),
    "@platformatic/kafka",
  );
  assertEquals(areaOf(`${cache}/kafkajs/2.2.4/src/protocol/decoder.js`), "kafkajs");
  assertEquals(
    areaOf(
      "file:///w/node_modules/.deno/@platformatic+kafka@2.12.1/node_modules/@platformatic/kafka/dist/a.js",
    ),
    "@platformatic/kafka",
  );
  assertEquals(npmFile(`${cache}/@platformatic/kafka/2.12.1/dist/a.js`), {
    pkg: "@platformatic/kafka",
    file: "dist/a.js",
  });
  for (const f of ["fetch_loop.ts", "partition_consumer.ts", "platformatic.ts", "kafkajs.ts"]) {
    assertEquals(areaOf(`file:///work/main/src/kafka/${f}`), "kafka port");
  }
  assertEquals(areaOf("file:///work/main/src/aggregator/handler.ts"), "src/aggregator");
});

Deno.test("summarizeProfile: self samples per function and area, idle excluded", () => {
  const npm = "file:///root/.cache/deno/npm/registry.npmjs.org/kafkajs/2.2.4/src/a.js";
  const p = {
    nodes: [
      { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      { id: 2, callFrame: { functionName: "decode", url: npm, lineNumber: 9 } },
      {
        id: 3,
        callFrame: {
          functionName: "validateRecord",
          url: "file:///r/src/events/v.ts",
          lineNumber: 0,
        },
      },
      { id: 4, callFrame: { functionName: "(garbage collector)", url: "", lineNumber: -1 } },
    ],
    samples: [1, 1, 2, 2, 2, 3, 4, 2],
  };
  const s = summarizeProfile(p);
  assertEquals(s.busySamples, 6);
  assertEquals(s.idleSamples, 2);
  assertEquals(s.functions[0], { name: "decode kafkajs/src/a.js:10", samples: 4, share: 4 / 6 });
  assertEquals(s.areas.map((a) => a.name), ["kafkajs", "src/events", "(garbage collector)"]);
  assertEquals(s.clientLibraryShare, 4 / 6);
  assertEquals(s.kafkaPortShare, 0);
  assertEquals(areaOf("ext:deno_node/internal/buffer.mjs"), "deno runtime (ext:/node:)");
});
