import assert from "node:assert/strict";
import { keyPartitioner, murmur2, partitionOf } from "./partitioner.ts";

Deno.test("murmur2 matches the Java client's test vectors (Kafka UtilsTest#testMurmur2)", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [key, hash] of vectors) {
    assert.equal(murmur2(new TextEncoder().encode(key)), hash, key);
    for (const n of [1, 6, 12, 1_000_003]) {
      assert.equal(partitionOf(key, n), (hash & 0x7fffffff) % n, `key ${key}, ${n} partitions`);
    }
  }
});

Deno.test("a key gets the same partition as text and as bytes, always within range", () => {
  const p = keyPartitioner(6);
  for (let u = 0; u < 1000; u++) {
    const key = `user-${u}`;
    const a = p(key);
    assert.ok(Number.isInteger(a) && a >= 0 && a < 6, `${key} → ${a}`);
    assert.equal(p(new TextEncoder().encode(key)), a);
  }
});

Deno.test("records without a key go round-robin", () => {
  const p = keyPartitioner(3);
  assert.deepEqual([p(null), p(null), p(null), p(null)], [0, 1, 2, 0]);
});

Deno.test("a topic without partitions cannot be partitioned", () => {
  assert.throws(() => keyPartitioner(0), /Cannot partition: the topic has 0 partitions/);
});
