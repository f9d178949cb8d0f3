import assert from "node:assert/strict";
import {
  dataKey,
  headKey,
  ledgerKey,
  padOffset,
  parseDataKey,
  parseLedgerKey,
  timePartition,
} from "./key.ts";

Deno.test("data keys are Hive-partitioned by the first record's time and padded offsets", () => {
  const t = Date.UTC(2026, 0, 2, 13, 59, 59, 999);
  const key = dataKey("raw", { topic: "clicks_topic", partition: 3, start: 100n, end: 250n }, t);
  assert.equal(
    key,
    "raw/topic=clicks_topic/dt=2026-01-02/hr=13/clicks_topic-p3-o00000000000000000100-00000000000000000250.ndjson.gz",
  );
  const p = parseDataKey(key);
  assert.deepEqual(p && { ...p, key: undefined }, {
    key: undefined,
    topic: "clicks_topic",
    dt: "2026-01-02",
    hr: "13",
    partition: 3,
    start: 100n,
    end: 250n,
  });
});

Deno.test("key naming is deterministic and lexical order is offset order", () => {
  const a = dataKey("raw/", { topic: "t.x-1", partition: 0, start: 9n, end: 10n }, 0);
  const b = dataKey("raw", { topic: "t.x-1", partition: 0, start: 9n, end: 10n }, 0);
  assert.equal(a, b);
  assert.ok(padOffset(99n) < padOffset(100n));
  assert.equal(padOffset(2n ** 63n - 1n).length, 20);
  assert.ok(ledgerKey("raw", "t", 1, 99n) < ledgerKey("raw", "t", 1, 100n));
  assert.equal(parseLedgerKey(ledgerKey("raw", "t", 1, 42n)), 42n);
  assert.equal(parseLedgerKey(headKey("raw", "t", 1)), undefined);
  assert.equal(parseDataKey("raw/topic=t/dt=2026-01-01/hr=00/u-p0-o1-2.ndjson.gz"), undefined);
});

Deno.test("time partition uses UTC", () => {
  assert.deepEqual(timePartition(Date.UTC(2026, 11, 31, 23, 0)), { dt: "2026-12-31", hr: "23" });
});
