import assert from "node:assert/strict";
import { hash32, Random, ZipfSampler } from "./random.ts";

Deno.test("same seed gives the same sequence; different seeds and streams differ", () => {
  const a = new Random(7), b = new Random(7), c = new Random(8), d = new Random(7, "users");
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  const sb = Array.from({ length: 100 }, () => b.nextUint32());
  const sc = Array.from({ length: 100 }, () => c.nextUint32());
  const sd = Array.from({ length: 100 }, () => d.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.notDeepEqual(sa, sd);
});

Deno.test("next() stays in [0,1) and is roughly uniform", () => {
  const r = new Random(42);
  const buckets = new Array(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const b of buckets) assert.ok(Math.abs(b - n / 10) < n / 10 * 0.05, `bucket ${b}`);
});

Deno.test("int and range stay within bounds and hit both ends", () => {
  const r = new Random(1);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const v = r.range(3, 9);
    assert.ok(v >= 3 && v <= 9 && Number.isInteger(v));
    seen.add(v);
  }
  assert.equal(seen.size, 7);
});

Deno.test("chance(p) has frequency close to p", () => {
  const r = new Random(3);
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (r.chance(0.2)) hits++;
  assert.ok(Math.abs(hits / 100_000 - 0.2) < 0.01, String(hits));
});

Deno.test("zipf sampler is skewed: rank 0 most frequent, frequencies decrease", () => {
  const r = new Random(5);
  const z = new ZipfSampler(100, 1.1);
  const counts = new Array(100).fill(0);
  for (let i = 0; i < 200_000; i++) counts[z.sample(r)]++;
  assert.ok(counts[0] > counts[1] && counts[1] > counts[5] && counts[5] > counts[50]);
  assert.ok(counts[0] > 200_000 * 0.15);
  assert.ok(counts.every((c) => c > 0));
});

Deno.test("hash32 is stable", () => {
  assert.equal(hash32(""), 0x811c9dc5);
  assert.equal(hash32("abc"), hash32("abc"));
  assert.notEqual(hash32("abc"), hash32("abd"));
});
