import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { defaultStreamParams } from "../src/generator/mod.ts";
import { areaOf, summarizeProfile } from "./profile.ts";
import { parseStatus } from "./rss.ts";
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
  assertEquals(areaOf("ext:deno_node/internal/buffer.mjs"), "deno runtime (ext:/node:)");
});
