import assert from "node:assert/strict";
import { computeLag, lagTargets } from "./lag.ts";
import { lagFamilies } from "./lag_metrics.ts";
import { resolveConfig } from "../config/mod.ts";

Deno.test("lag: end minus the furthest known position, else end minus low", () => {
  const base = { low: 10, end: 100, committed: null, stored: null, archived: null };
  assert.equal(computeLag(base), 90);
  assert.equal(computeLag({ ...base, committed: 40 }), 60);
  assert.equal(computeLag({ ...base, committed: 40, stored: 70 }), 30);
  assert.equal(computeLag({ ...base, archived: 99 }), 0);
  assert.equal(computeLag({ ...base, committed: 120 }), 0);
});

Deno.test("lag: targets follow the configured consumer modules and groups", () => {
  const c = resolveConfig({
    env: {},
    flags: { "aggregator-group": "g1", modules: "generator,aggregator" },
  });
  assert.deepEqual(lagTargets(c, c.modules), [{
    module: "aggregator",
    group: "g1",
    topic: "clicks_topic",
  }]);
  assert.equal(lagTargets(c).length, 2);
  assert.equal(lagTargets(c, ["generator"]).length, 2);
});

Deno.test("lag: metric families carry one end offset per partition, next offset and lag per group", () => {
  const row = {
    module: "aggregator" as const,
    group: "g",
    topic: "t",
    partition: 0,
    low: 0,
    end: 10,
    committed: 4,
    stored: 5,
    watermark: "2026-01-01T00:00:00.000Z",
    archived: null,
    lag: 5,
  };
  const fams = lagFamilies([row, {
    ...row,
    module: "archiver",
    group: "h",
    stored: null,
    watermark: null,
    archived: 8,
    lag: 1,
  }]);
  const byName = new Map(fams.map((f) => [f.name, f]));
  assert.equal(byName.get("nexus_kafka_end_offset")!.samples.length, 1);
  assert.equal(byName.get("nexus_kafka_consumer_group_lag")!.samples.length, 2);
  assert.deepEqual(byName.get("nexus_consumer_next_offset")!.samples.map((s) => s.value), [5, 9]);
});
