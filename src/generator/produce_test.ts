import assert from "node:assert/strict";
import { keyPartitioner } from "./produce.ts";

Deno.test("keyPartitioner places keys as the Java client does (murmur2 test vectors of Kafka)", () => {
  // Kafka's UtilsTest#testMurmur2: murmur2(key bytes); the partition is (hash & 0x7fffffff) % n
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const n of [1, 6, 12, 1_000_003]) {
    const partitionOf = keyPartitioner("clicks_topic", n);
    for (const [key, hash] of vectors) {
      assert.equal(partitionOf(key), (hash & 0x7fffffff) % n, `key ${key}, ${n} partitions`);
    }
  }
});

Deno.test("keyPartitioner gives every key one partition within range, independent of the topic", () => {
  const a = keyPartitioner("a", 6);
  const b = keyPartitioner("b", 6);
  for (let u = 0; u < 1000; u++) {
    const key = `user-${u}`;
    const p = a(key);
    assert.ok(Number.isInteger(p) && p >= 0 && p < 6, `${key} → ${p}`);
    assert.equal(b(key), p);
  }
});
