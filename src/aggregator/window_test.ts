import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { revenueCents, WINDOW_MS, windowEnd, windowStart } from "./window.ts";
import type { ClickEvent } from "../events/mod.ts";

const base: ClickEvent = {
  schema_version: 1,
  event_id: "e1",
  user_id: "u1",
  session_id: "s1",
  product_id: "p1",
  action: "purchase",
  timestamp: "2026-01-01T00:00:00.000Z",
  price: 19.99,
  quantity: 3,
};

Deno.test("windowStart floors to the UTC minute; windowEnd is exclusive", () => {
  const t = Date.parse("2026-01-01T00:01:59.999Z");
  assertEquals(new Date(windowStart(t)).toISOString(), "2026-01-01T00:01:00.000Z");
  assertEquals(windowStart(Date.parse("2026-01-01T00:02:00.000Z")), windowEnd(windowStart(t)));
  assertEquals(windowEnd(0), WINDOW_MS);
});

Deno.test("revenueCents is round(price*100)*quantity for purchases only", () => {
  assertEquals(revenueCents(base), 5997);
  assertEquals(revenueCents({ ...base, price: 0.1, quantity: 1 }), 10);
  assertEquals(
    revenueCents({ ...base, price: 1.005, quantity: 2 }),
    2 * Math.round(100.49999999999999),
  );
  assertEquals(revenueCents({ ...base, action: "view" }), 0);
});
