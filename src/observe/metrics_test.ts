import assert from "node:assert/strict";
import fc from "fast-check";
import {
  countDeadLetter,
  countEvents,
  defaultRegistry,
  escapeLabelValue,
  recordFlush,
  Registry,
  setWatermark,
} from "./metrics.ts";
import { parsePrometheus, sampleValue } from "../../tests/fixtures/prom_parser.ts";

Deno.test("metrics: counters, gauges, histograms render as strict text format 0.0.4", async () => {
  const r = new Registry();
  const c = r.counter("t_requests_total", "Requests\nwith a newline and \\ backslash", ["path"]);
  c.inc({ path: '/a"b\\c\nd' }, 3);
  c.inc({ path: "/x" });
  const g = r.gauge("t_temp", "Temperature", ["room"]);
  g.set({ room: "a" }, -1.5);
  g.set({ room: "b" }, Infinity);
  const h = r.histogram("t_latency_seconds", "Latency", ["op"], [0.1, 1]);
  h.observe({ op: "x" }, 0.05);
  h.observe({ op: "x" }, 0.5);
  h.observe({ op: "x" }, 5);
  r.addCollector(
    () => [{ name: "t_collected", help: "c", type: "gauge", samples: [{ labels: {}, value: 7 }] }],
  );
  r.addCollector(() => {
    throw new Error("broken collector");
  });
  const errors: unknown[] = [];
  const text = await r.render((e) => errors.push(e));
  assert.equal(errors.length, 1);
  const fams = parsePrometheus(text);
  assert.equal(fams.get("t_requests_total")?.type, "counter");
  assert.equal(fams.get("t_requests_total")?.help, "Requests\nwith a newline and \\ backslash");
  assert.equal(sampleValue(fams, "t_requests_total", { path: '/a"b\\c\nd' }), 3);
  assert.equal(sampleValue(fams, "t_temp", { room: "b" }), Infinity);
  assert.equal(sampleValue(fams, "t_latency_seconds_bucket", { op: "x", le: "0.1" }), 1);
  assert.equal(sampleValue(fams, "t_latency_seconds_bucket", { op: "x", le: "1" }), 2);
  assert.equal(sampleValue(fams, "t_latency_seconds_bucket", { op: "x", le: "+Inf" }), 3);
  assert.equal(sampleValue(fams, "t_latency_seconds_count", { op: "x" }), 3);
  assert.equal(sampleValue(fams, "t_collected", {}), 7);
});

Deno.test("metrics: registry rejects bad names, unknown labels and decreasing counters", () => {
  const r = new Registry();
  assert.throws(() => r.counter("bad-name", "x"));
  assert.throws(() => r.gauge("ok", "x", ["__reserved"]));
  const c = r.counter("c_total", "x", ["a"]);
  assert.throws(() => c.inc({ b: "1" }));
  assert.throws(() => c.inc({ a: "1" }, -1));
  assert.throws(() => r.gauge("c_total", "x"));
  assert.equal(r.counter("c_total", "x", ["a"]), c);
});

Deno.test("metrics: any label value round-trips through escaping and the strict parser", async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "binary", maxLength: 30 }), async (v) => {
      const r = new Registry();
      r.gauge("g", "h", ["l"]).set({ l: v }, 1);
      const fams = parsePrometheus(await r.render());
      assert.equal(fams.get("g")?.samples[0]?.labels.l, v);
    }),
    { numRuns: 200 },
  );
  assert.equal(escapeLabelValue('a"\\\n'), 'a\\"\\\\\\n');
});

Deno.test("metrics: default registry helpers appear in the exposition", async () => {
  recordFlush("aggregator", 0.02);
  countEvents("aggregator", "in", 10);
  countDeadLetter("aggregator", "not_json", 2);
  setWatermark("aggregator", 0, 1_700_000_000_000);
  const fams = parsePrometheus(await defaultRegistry.render());
  assert.ok(
    (sampleValue(fams, "nexus_events_total", { module: "aggregator", direction: "in" }) ?? 0) >= 10,
  );
  assert.ok((sampleValue(fams, "nexus_dead_letters_total", { reason: "not_json" }) ?? 0) >= 2);
  assert.equal(
    sampleValue(fams, "nexus_watermark_seconds", { module: "aggregator", partition: "0" }),
    1_700_000_000,
  );
  assert.ok(
    (sampleValue(fams, "nexus_flush_duration_seconds_count", { module: "aggregator" }) ?? 0) >= 1,
  );
});

Deno.test("prom parser: rejects malformed expositions", () => {
  const bad = [
    "x 1", // no trailing newline
    'x{a="1"} one\n',
    'x{a="\\q"} 1\n',
    "x{a=1} 1\n",
    "# TYPE x counter\nx -1\n",
    "# TYPE x gauge\nx 1\nx 2\n",
    '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a="b"} 1\n',
    "# TYPE x gauge\n# TYPE x gauge\nx 1\n",
    "# TYPE x wrong\nx 1\n",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
  ];
  for (const b of bad) assert.throws(() => parsePrometheus(b), Error, JSON.stringify(b));
});
