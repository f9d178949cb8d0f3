import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Batch } from "./batch.ts";
import type { RawRecord } from "./encode.ts";

const r = (offset: number, size = 10): RawRecord => ({
  partition: 0,
  offset: BigInt(offset),
  timestamp: 1000 + offset,
  key: null,
  value: Buffer.alloc(size, 65),
});

Deno.test("a batch closes by record count", () => {
  const policy = { maxBytes: 1 << 20, maxRecords: 3, maxAgeMs: 1000 };
  const b = new Batch("t", r(5), 0);
  assert.ok(b.tryAdd(r(6), policy));
  assert.ok(b.tryAdd(r(7), policy));
  assert.ok(b.isFull(policy));
  assert.equal(b.tryAdd(r(8), policy), false);
  assert.equal(b.start, 5n);
  assert.equal(b.end, 7n);
  assert.equal(b.firstTimestamp, 1005);
});

Deno.test("a batch never exceeds maxBytes except with one oversized record", () => {
  const policy = { maxBytes: 400, maxRecords: 1000, maxAgeMs: 1000 };
  const b = new Batch("t", r(0), 0);
  let o = 1;
  while (b.tryAdd(r(o), policy)) o++;
  assert.ok(b.bytes <= 400);
  const big = new Batch("t", r(0, 2000), 0);
  assert.ok(big.bytes > 400 && big.isFull(policy));
});

Deno.test("a batch expires by wall-clock age and rejects non-increasing offsets", () => {
  const policy = { maxBytes: 1 << 20, maxRecords: 10, maxAgeMs: 1000 };
  const b = new Batch("t", r(1), 5000);
  assert.equal(b.isExpired(policy, 5999), false);
  assert.ok(b.isExpired(policy, 6000));
  assert.throws(() => b.tryAdd(r(1), policy));
});
