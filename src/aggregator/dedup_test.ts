import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DedupSet } from "./dedup.ts";

Deno.test("dedup keeps ids until window end + horizon <= watermark, and tracks min offset", () => {
  const d = new DedupSet(60_000);
  d.add("a", 0, 10n);
  d.add("b", 0, 11n);
  d.add("c", 60_000, 12n);
  d.add("a", 60_000, 13n); // already known: ignored
  assertEquals(d.size, 3);
  assertEquals(d.minOffset(), 10n);
  assertEquals(d.prune(119_999), 0); // window 0 ends at 60s; +60s horizon = 120s
  assertEquals(d.has("a"), true);
  assertEquals(d.prune(120_000), 2);
  assertEquals(d.has("a"), false);
  assertEquals(d.has("c"), true);
  assertEquals(d.minOffset(), 12n);
  assertEquals(d.retains(60_000, 179_999), true);
  assertEquals(d.retains(60_000, 180_000), false);
  d.clear();
  assertEquals(d.minOffset(), null);
});
