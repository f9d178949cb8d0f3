import assert from "node:assert/strict";
import { type ClickEvent, validateRecord, VALUE_MALFORMED_KINDS } from "../events/mod.ts";
import { malformedValue } from "./malformed.ts";
import { Random } from "./random.ts";

const base: ClickEvent = {
  schema_version: 1,
  event_id: "1-abc-1",
  user_id: "u000001",
  session_id: "1-abc-s1",
  product_id: "p00001",
  action: "purchase",
  timestamp: "2026-01-01T00:00:00.000Z",
  price: 19.99,
  quantity: 2,
  device: "mobile",
  referrer: "https://t.co/",
};

Deno.test("each malformed kind is validated as intended over many random variants", () => {
  const rng = new Random(99);
  for (const kind of VALUE_MALFORMED_KINDS) {
    for (let i = 0; i < 300; i++) {
      const e = { ...base, action: i % 2 ? "view" : "purchase" } as ClickEvent;
      const v = validateRecord(malformedValue(kind, e, rng));
      assert.equal(v.ok ? "valid" : v.reason, kind, `${kind} #${i}`);
    }
  }
});
