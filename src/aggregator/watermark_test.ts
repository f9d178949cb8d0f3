import { deepStrictEqual as assertEquals } from "node:assert/strict";
import fc from "fast-check";
import { isLive, topicTime, Watermark } from "./watermark.ts";

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

const T0 = Date.UTC(2026, 0, 1);
const view = (partition: number, watermark: number | null, idle: boolean, live = false) => ({
  partition,
  watermark,
  idle,
  live,
});

Deno.test("the frontier is the lowest watermark of the other active partitions", () => {
  const t = topicTime(
    [view(0, T0, false), view(1, T0 + 5000, false), view(2, T0 - 9000, true), view(3, null, false)],
    4,
    2,
  );
  assertEquals(t, { frontier: T0, othersIdle: false, othersLive: false });
});

Deno.test("a partition without a stored state counts as active and holds nothing back", () => {
  assertEquals(topicTime([view(0, T0, true, true)], 3, 0), {
    frontier: null,
    othersIdle: false,
    othersLive: false,
  });
  assertEquals(topicTime([view(0, T0, true, true), view(1, T0, true, true)], 2, 0), {
    frontier: null,
    othersIdle: true,
    othersLive: true,
  });
});

Deno.test("an idle partition follows the frontier while others are active, not the wall clock", () => {
  const w = new Watermark(opts, T0);
  const now = T0 + 86_400_000 * 300; // the wall clock is months ahead: historical replay
  assertEquals(
    w.advanceIdle({ frontier: T0 + 60_000, othersIdle: false, othersLive: false }, now, false),
    true,
  );
  assertEquals(w.value, T0 + 60_000);
  // never backwards
  assertEquals(
    w.advanceIdle({ frontier: T0, othersIdle: false, othersLive: false }, now, false),
    false,
  );
  assertEquals(w.value, T0 + 60_000);
});

Deno.test("the wall clock moves an idle partition only when the whole topic is idle and live", () => {
  const w = new Watermark(opts, T0);
  const now = T0 + 120_000;
  const idleNotLive = { frontier: null, othersIdle: true, othersLive: false };
  assertEquals(w.advanceIdle(idleNotLive, now, true), false);
  assertEquals(w.advanceIdle({ ...idleNotLive, othersLive: true }, now, false), false);
  assertEquals(w.value, T0);
  assertEquals(w.advanceIdle({ ...idleNotLive, othersLive: true }, now, true), true);
  assertEquals(w.value, now - opts.allowedLatenessMs);
});

Deno.test("live: event time close to the record timestamp, processed close to it too", () => {
  const span = opts.allowedLatenessMs + opts.idleTimeoutMs;
  assertEquals(isLive(T0, T0 + 1000, T0 + 1500, opts), true);
  assertEquals(isLive(T0, T0 + span, T0 + span, opts), true);
  assertEquals(isLive(T0, T0 + span + 1, T0 + span + 1, opts), false, "historical replay");
  assertEquals(isLive(T0, T0, T0 + span + 1, opts), false, "backfill with original timestamps");
  assertEquals(isLive(null, T0, T0, opts), false);
});
