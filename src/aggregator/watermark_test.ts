import { deepStrictEqual as assertEquals } from "node:assert/strict";
import fc from "fast-check";
import { Watermark } from "./watermark.ts";

const opts = { allowedLatenessMs: 5000, idleTimeoutMs: 1000 };

Deno.test("watermark = max event time - lateness and never decreases", () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1e9 }), { minLength: 1 }), (ts) => {
    const w = new Watermark(opts);
    let prev = -Infinity;
    for (const t of ts) {
      w.observe(t);
      if (w.value! < prev) return false;
      prev = w.value!;
    }
    return w.value === Math.max(...ts) - 5000;
  }));
});

Deno.test("isFinal: window [s, s+60s) is final once watermark >= s+60s", () => {
  const w = new Watermark(opts);
  assertEquals(w.isFinal(0), false);
  w.observe(65_000 - 1);
  assertEquals(w.isFinal(0), false);
  w.observe(65_000);
  assertEquals(w.isFinal(0), true);
  assertEquals(w.isFinal(60_000), false);
});

Deno.test("idle advance follows the wall clock only after the idle timeout", () => {
  const w = new Watermark(opts, 10_000);
  assertEquals(w.idleAdvance(100_000, 99_500), false);
  assertEquals(w.value, 10_000);
  assertEquals(w.idleAdvance(100_000, 99_000), true);
  assertEquals(w.value, 95_000);
  // never backwards
  assertEquals(w.idleAdvance(50_000, 0), false);
  assertEquals(w.value, 95_000);
});
