import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { validateRecord } from "./validate.ts";
import { MAX_EVENT_BYTES } from "./event.ts";

const good = {
  schema_version: 1,
  event_id: "e-1",
  user_id: "u1",
  session_id: "s1",
  product_id: "p1",
  action: "purchase",
  timestamp: "2026-01-01T00:00:00.123Z",
  price: 9.99,
  quantity: 2,
  device: "mobile",
};
const enc = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v));

Deno.test("a valid purchase passes and carries its epoch time", () => {
  const r = validateRecord(enc(good));
  assert.ok(r.ok);
  assert.equal(r.time, Date.UTC(2026, 0, 1, 0, 0, 0, 123));
});

Deno.test("each malformed kind is recognised with its own reason", () => {
  const cases: [unknown, string][] = [
    ["{not json", "not_json"],
    [{ ...good, user_id: undefined }, "missing_field"],
    [{ ...good, quantity: "2" }, "wrong_type"],
    [{ ...good, action: "hover" }, "unknown_action"],
    [{ ...good, timestamp: "yesterday" }, "bad_timestamp"],
    [{ ...good, timestamp: "2026-13-01T00:00:00.000Z" }, "bad_timestamp"],
    [{ ...good, schema_version: 2 }, "wrong_schema_version"],
    [{ ...good, referrer: "x".repeat(MAX_EVENT_BYTES) }, "oversized"],
    [[1, 2], "wrong_type"],
  ];
  for (const [value, reason] of cases) {
    const r = validateRecord(enc(value));
    assert.equal(r.ok, false, JSON.stringify(value).slice(0, 80));
    if (!r.ok) assert.equal(r.reason, reason, `${JSON.stringify(value).slice(0, 80)}: ${r.detail}`);
  }
});

Deno.test("a purchase without price or quantity is missing a field", () => {
  const r = validateRecord(enc({ ...good, price: undefined }));
  assert.ok(!r.ok && r.reason === "missing_field");
});

Deno.test("a view needs no price", () => {
  const { price: _p, quantity: _q, ...view } = good;
  assert.ok(validateRecord(enc({ ...view, action: "view" })).ok);
});

Deno.test("an empty or null value is not JSON", () => {
  assert.ok(!validateRecord(null).ok);
  assert.ok(!validateRecord(new Uint8Array()).ok);
});
