import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { defaultStreamParams, generateStream } from "../generator/mod.ts";
import schema from "./click_event.schema.json" with { type: "json" };
import { scanEvent } from "./scan.ts";
import { validateRecord, validateRecordCore } from "./validate.ts";

const enc = new TextEncoder();
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** Asserts that a scanned `bytes` agrees with `validateRecord` in every field it reports. */
function agrees(bytes: Uint8Array): boolean {
  const s = scanEvent(bytes);
  if (s === undefined) return false;
  const v = validateRecord(bytes);
  assert.ok(v.ok, `scanned but invalid: ${latin1(bytes)} (${v.ok ? "" : v.detail})`);
  const e = v.event;
  assert.equal(s.event_id, e.event_id);
  assert.equal(s.action, e.action);
  assert.equal(s.time, v.time);
  assert.ok(Object.is(s.price, e.price), `price ${s.price} vs ${e.price}`);
  assert.ok(Object.is(s.quantity, e.quantity), `quantity ${s.quantity} vs ${e.quantity}`);
  assert.equal(latin1(bytes.subarray(s.idStart, s.idEnd)), e.event_id);
  assert.equal(latin1(bytes.subarray(s.timestampAt, s.timestampAt + 24)), e.timestamp);
  return true;
}

Deno.test("the generator's valid events are all read by the scanner, with the validator's values", () => {
  const p = defaultStreamParams({ events: 20_000, seed: 11 });
  let valid = 0, scanned = 0, malformed = 0;
  for (const r of generateStream(p, { selfCheck: false })) {
    if (r.kind === "valid" || r.kind === "duplicate") {
      valid++;
      if (agrees(r.value)) scanned++;
    } else {
      malformed++;
      // a malformed record is never accepted: scanning it either declines or agrees it is valid
      // (it cannot, so it must decline)
      assert.equal(scanEvent(r.value), undefined, `${r.kind}: ${latin1(r.value)}`);
    }
  }
  assert.equal(scanned, valid, "every valid generated event takes the fast path");
  assert.ok(malformed > 0);
});

/** Event-like objects: the schema's fields with right and wrong types, missing or extra. */
const eventLike = fc.record({
  schema_version: fc.oneof(fc.constant(1), fc.constant(2), fc.constant("1"), fc.double()),
  event_id: fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: "grapheme", maxLength: 8 })),
  user_id: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
  session_id: fc.string({ maxLength: 10 }),
  product_id: fc.string({ maxLength: 10 }),
  action: fc.constantFrom(
    "view",
    "click",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "hover",
    "",
  ),
  timestamp: fc.oneof(
    fc.date({ min: new Date(-62_000_000_000_000), max: new Date(4e12), noInvalidDate: true })
      .map((d) => d.toISOString()),
    fc.constantFrom(
      "2026-02-29T00:00:00.000Z",
      "2024-02-29T23:59:59.999Z",
      "0099-01-01T00:00:00.000Z",
    ),
    fc.string({ maxLength: 26 }),
  ),
  price: fc.oneof(
    fc.integer({ min: -5, max: 1_000_005 }),
    fc.integer({ min: 0, max: 100_000_000 }).map((c) => c / 100),
    fc.double({ noNaN: true }),
  ),
  quantity: fc.oneof(fc.integer({ min: -2, max: 10_002 }), fc.double({ noNaN: true })),
  device: fc.constantFrom("desktop", "mobile", "tablet", "tv"),
  referrer: fc.string({ maxLength: 300 }),
  extra: fc.oneof(fc.constant(null), fc.object({ maxDepth: 1 })),
}, { requiredKeys: [] });

/** Text variants JSON.parse still reads the same way, and some it does not. */
const variant = fc.constantFrom(
  (s: string) => s,
  (s: string) => ` \n${s}\t\r `,
  (s: string) => s.replace(/,"/g, ' ,\n "').replace(/":/g, '" : '),
  (s: string) => s.replace(/:1([,}])/, ":1.0$1"),
  (s: string) => s.replace(/:(\d+)([,}])/, ":$1e0$2"),
  (s: string) => s.replace(/:(\d)/, ":0$1"),
  (s: string) => s.replace(/:(\d+)\./, ":-$1."),
  (s: string) => s.replace(/^\{"(\w+)":([^,]+),/, '{"$1":$2,"$1":$2,'),
  (s: string) => s.slice(0, -1),
  (s: string) => s + "x",
  (s: string) => s.replace(/"/, "'"),
);

/** Mostly valid events: every required field, plain values, purchases with price and quantity. */
const validishFields = {
  schema_version: fc.constant(1),
  event_id: fc.oneof(fc.uuid(), fc.stringMatching(/^[ -~]{1,130}$/)),
  user_id: fc.stringMatching(/^[a-z0-9-]{1,66}$/),
  session_id: fc.stringMatching(/^[a-z0-9-]{1,10}$/),
  product_id: fc.stringMatching(/^[a-z0-9-]{1,10}$/),
  action: fc.constantFrom("view", "click", "add_to_cart", "remove_from_cart", "purchase"),
  timestamp: fc.date({ min: new Date(-1e13), max: new Date(4e12), noInvalidDate: true })
    .map((d) => d.toISOString()),
  price: fc.integer({ min: 0, max: 100_000_001 }).map((c) => c / 100),
  quantity: fc.integer({ min: 0, max: 10_001 }),
};
const validish = fc.record(validishFields, {
  requiredKeys: schema.required as (keyof typeof validishFields)[],
});

Deno.test("whatever the scanner reads, validateRecord accepts with the same values", () => {
  let runs = 0, scanned = 0;
  fc.assert(
    fc.property(
      fc.oneof(eventLike, validish),
      variant,
      fc.nat(),
      fc.nat(255),
      (obj, vary, at, byte) => {
        const { extra, ...fields } = obj as Record<string, unknown>;
        const base = extra === undefined ? fields : { ...fields, extra };
        const bytes = enc.encode(vary(JSON.stringify(base)));
        runs++;
        if (agrees(bytes)) scanned++;
        // and once more with one byte changed
        if (bytes.length > 0) {
          const flipped = bytes.slice();
          flipped[at % flipped.length] = byte;
          agrees(flipped);
        }
      },
    ),
    { numRuns: 20_000 },
  );
  // the property means something only if the scanner read a good share of the inputs
  assert.ok(scanned > runs / 10, `scanned ${scanned} of ${runs}`);
});

Deno.test("validateRecordCore answers what validateRecord does, the clock guard included", () => {
  const p = defaultStreamParams({ events: 3_000, seed: 5 });
  for (const r of generateStream(p, { selfCheck: false })) {
    for (const clock of [undefined, { recordTimestamp: 0, maxFutureMs: 300_000 }]) {
      const full = validateRecord(r.value, clock);
      const core = validateRecordCore(r.value, clock);
      assert.equal(core.ok, full.ok);
      if (core.ok && full.ok) {
        assert.equal(core.time, full.time);
        assert.equal(core.event.event_id, full.event.event_id);
      } else if (!core.ok && !full.ok) {
        assert.equal(core.reason, full.reason);
        assert.equal(core.detail, full.detail);
      }
    }
  }
});

Deno.test("the scanner knows every field of the schema, and nothing else", () => {
  const known = [
    "schema_version",
    "event_id",
    "user_id",
    "session_id",
    "product_id",
    "action",
    "timestamp",
    "price",
    "quantity",
    "device",
    "referrer",
  ];
  assert.deepEqual(Object.keys(schema.properties).sort(), [...known].sort());
});

Deno.test("the scanner reads the same event from a Buffer, a plain Uint8Array and a view into a larger one", () => {
  const text =
    `{"schema_version":1,"event_id":"42-1234567-abc","user_id":"u1","session_id":"s1","product_id":"p1","action":"view","timestamp":"2026-01-01T00:00:01.000Z"}`;
  const plain = enc.encode(text);
  const padded = enc.encode(`xx${text}yy`).subarray(2, 2 + plain.length);
  const buffer = Buffer.from(text);
  const events = [plain, padded, buffer].map((b) => scanEvent(b));
  for (const e of events) {
    assert.ok(e);
    assert.equal(e.event_id, "42-1234567-abc");
    assert.equal(e.time, Date.UTC(2026, 0, 1, 0, 0, 1));
  }
});
