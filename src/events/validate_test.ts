import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { fastAccept, validateRecord, validateValue, validateValueStrict } from "./validate.ts";
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

Deno.test("values decode as UTF-8 whether ASCII or not, from a Buffer or a plain Uint8Array", () => {
  const accented = { ...good, referrer: "https://exemple.fr/été" };
  for (const value of [good, accented]) {
    const b = enc(value);
    for (const bytes of [b, new Uint8Array(b), new Uint8Array([32, ...b]).subarray(1)]) {
      const r = validateRecord(bytes);
      assert.ok(r.ok, JSON.stringify(value));
      assert.deepEqual(r.event, value);
    }
  }
  // invalid UTF-8 (a lone continuation byte, a truncated sequence) is not_json, never text
  // with replacement characters
  for (const bad of [[0x80], [0xc3], [0xed, 0xa0, 0x80]]) {
    const json = enc(`{"referrer":"x`);
    const r = validateRecord(new Uint8Array([...json, ...bad, ...enc(`"}`)]));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, "not_json", r.detail);
  }
});

Deno.test("prices and quantities outside the contract's bounds are out_of_range", () => {
  const cases: [Record<string, unknown>, boolean][] = [
    [{ price: 0 }, true],
    [{ price: 0.01 }, true],
    [{ price: 19.99 }, true],
    [{ price: 1_000_000 }, true],
    [{ price: 0.005 }, false],
    [{ price: 1_000_000.01 }, false],
    [{ price: 1e15 }, false],
    [{ price: 1e308 }, false],
    [{ price: -1 }, false],
    [{ quantity: 10_000 }, true],
    [{ quantity: 10_001 }, false],
    [{ quantity: 0 }, false],
    [{ quantity: 1_000_000 }, false],
  ];
  for (const [patch, ok] of cases) {
    const r = validateRecord(enc({ ...good, ...patch }));
    assert.equal(r.ok, ok, JSON.stringify(patch));
    if (!r.ok) assert.equal(r.reason, "out_of_range", `${JSON.stringify(patch)}: ${r.detail}`);
    sameResult({ ...good, ...patch });
  }
});

Deno.test("an event far ahead of its record timestamp is future_timestamp; an old one is valid", () => {
  const at = Date.UTC(2026, 0, 1);
  const clock = { recordTimestamp: at, maxFutureMs: 300_000 };
  const ahead = (ms: number) => enc({ ...good, timestamp: new Date(at + ms).toISOString() });
  assert.ok(validateRecord(ahead(300_000), clock).ok, "exactly the bound is allowed");
  const r = validateRecord(ahead(300_001), clock);
  assert.ok(!r.ok && r.reason === "future_timestamp", JSON.stringify(r));
  assert.ok(!r.ok && /300001 ms ahead/.test(r.detail), !r.ok ? r.detail : "");
  const y2099 = validateRecord(enc({ ...good, timestamp: "2099-01-01T00:00:00.000Z" }), clock);
  assert.ok(!y2099.ok && y2099.reason === "future_timestamp");
  assert.ok(validateRecord(ahead(-86_400_000 * 3650), clock).ok, "ten years old is valid");
  assert.ok(validateRecord(enc({ ...good, timestamp: "0001-01-01T00:00:00.000Z" }), clock).ok);
  assert.ok(validateRecord(ahead(10 ** 12)).ok, "without a clock there is no guard");
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

// ---- The fast path is equivalent to the Ajv-only path ------------------------------------

const ACTION_VALUES = ["view", "click", "add_to_cart", "remove_from_cart", "purchase"];

/** Timestamps around the edges of the pattern and of the calendar. */
const timestampArb: fc.Arbitrary<unknown> = fc.oneof(
  // Valid instants anywhere in years 0000..9999 (Date range), printed as the schema wants.
  fc.integer({ min: -62167219200000, max: 253402300799999 })
    .map((t) => new Date(t).toISOString()),
  fc.date({ min: new Date(-62167219200000), max: new Date(253402300799999), noInvalidDate: true })
    .map((d) => d.toISOString()),
  // Digit fields drawn independently: impossible days/months/hours, leap years, year 0000/9999.
  fc.tuple(
    fc.oneof(
      fc.constantFrom(0, 1, 99, 100, 1900, 2000, 2023, 2024, 2100, 9999),
      fc.integer({ min: 0, max: 9999 }),
    ),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 999 }),
  ).map(([y, mo, d, h, mi, s, ms]) =>
    `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`
  ),
  fc.constantFrom(
    "2024-02-29T00:00:00.000Z",
    "2023-02-29T00:00:00.000Z",
    "2000-02-29T12:00:00.000Z",
    "1900-02-29T12:00:00.000Z",
    "2026-12-31T23:59:59.999Z",
    "2026-12-31T23:59:60.000Z",
    "2026-06-30T23:59:60.000Z",
    "0000-01-01T00:00:00.000Z",
    "0000-02-29T00:00:00.000Z",
    "0099-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.999Z",
    "2026-01-01T24:00:00.000Z",
    "2026-01-01T00:00:00.000z",
    "2026-01-01t00:00:00.000Z",
    "2026-01-01T00:00:00.000+00:00",
    "2026-01-01T00:00:00.000+01:00",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.0000Z",
    "2026-01-01 00:00:00.000Z",
    "2026-01-01T00:00:00.000Z\n",
    "+02026-01-01T00:00:00.000Z",
    "２０２６-01-01T00:00:00.000Z",
    "2026-0１-01T00:00:00.000Z",
    "2026-01-01T00:00:00.00aZ",
    "",
  ),
  // Mutate one character of a valid timestamp.
  fc.tuple(fc.integer({ min: 0, max: 23 }), fc.string({ minLength: 1, maxLength: 1 }))
    .map(([i, c]) => {
      const t = "2026-03-15T10:20:30.456Z";
      return t.slice(0, i) + c + t.slice(i + 1);
    }),
  fc.string({ maxLength: 30 }),
  fc.anything(),
);

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/** Strings around a `maxLength`: ASCII, BMP and astral (Ajv counts code points). */
function stringArb(max: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.constantFrom("", "x".repeat(max), "x".repeat(max + 1), "é".repeat(max)),
    fc.constantFrom("😀".repeat(max), "😀".repeat(max - 1), "😀".repeat(max + 1)),
    fc.constantFrom("a" + "😀".repeat(max - 1), "😀".repeat(Math.ceil(max / 2))),
    fc.integer({ min: max - 2, max: max + 2 }).chain((n) =>
      fc.oneof(
        fc.string({ unit: "grapheme", minLength: n, maxLength: n }),
        fc.string({ unit: "binary", minLength: n, maxLength: n }),
        fc.string({ minLength: n, maxLength: n }),
      )
    ),
    fc.string({ unit: "binary", maxLength: 4 }),
  );
}

/** Wrong-typed or odd values any field may be replaced with. */
const junkArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, 1, -1, 1.5, "1", "", [], {}, [1], { a: 1 }),
  fc.constantFrom(1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 1e21, 5e-324, -5e-324, 0.1 + 0.2),
  fc.constantFrom(NaN, Infinity, -Infinity, undefined),
  fc.double(),
  fc.integer(),
  fc.anything(),
);

const fieldArbs: Record<string, fc.Arbitrary<unknown>> = {
  schema_version: fc.oneof(fc.constant(1), fc.constantFrom(2, 0, "1", 1.0000001, true), junkArb),
  event_id: fc.oneof(stringArb(128), junkArb),
  user_id: fc.oneof(stringArb(64), junkArb),
  session_id: fc.oneof(stringArb(128), junkArb),
  product_id: fc.oneof(stringArb(64), junkArb),
  action: fc.oneof(
    fc.constantFrom(...ACTION_VALUES),
    fc.constantFrom("View", "PURCHASE", "purchase ", "hover", ""),
    junkArb,
  ),
  timestamp: timestampArb,
  price: fc.oneof(
    fc.double({ min: 0, max: 1e6, noNaN: true }),
    fc.constantFrom(0, -0, -0.01, 9.99, "9.99", 1e308, Number.MAX_VALUE, Number.MIN_VALUE),
    junkArb,
  ),
  quantity: fc.oneof(
    fc.integer({ min: -3, max: 100 }),
    fc.constantFrom(1, 0, -1, 1.5, 2.0000001, "2", 2 ** 53, 2 ** 53 + 2, 1e300, -1e300),
    junkArb,
  ),
  device: fc.oneof(
    fc.constantFrom("desktop", "mobile", "tablet", "Desktop", "tv", ""),
    junkArb,
  ),
  referrer: fc.oneof(stringArb(256), junkArb),
};

/** A valid event (purchase or not), each field then kept, replaced, or removed. */
const baseArb = fc.record({
  event_id: fc.string({ minLength: 1, maxLength: 20 }),
  user_id: fc.string({ minLength: 1, maxLength: 20 }),
  session_id: fc.string({ minLength: 1, maxLength: 20 }),
  product_id: fc.string({ minLength: 1, maxLength: 20 }),
  action: fc.constantFrom(...ACTION_VALUES),
  timestamp: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) })
    .map((t) => new Date(t).toISOString()),
  price: fc.integer({ min: 0, max: 1_000_000 }).map((c) => c / 100),
  quantity: fc.integer({ min: 1, max: 20 }),
  device: fc.constantFrom("desktop", "mobile", "tablet"),
  referrer: fc.string({ maxLength: 30 }),
}, { requiredKeys: ["event_id", "user_id", "session_id", "product_id", "action", "timestamp"] })
  .map((e) => ({ schema_version: 1, ...e }));

/** Each field mostly kept, so that about a third of the events stay valid. */
const mutation = fc.oneof(
  { arbitrary: fc.constant("keep"), weight: 24 },
  { arbitrary: fc.constant("replace"), weight: 1 },
  { arbitrary: fc.constant("delete"), weight: 1 },
);
const eventLikeArb: fc.Arbitrary<unknown> = fc.tuple(
  baseArb,
  fc.record(Object.fromEntries(Object.keys(fieldArbs).map((k) => [k, mutation]))),
  fc.record(fieldArbs),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.anything(), { maxKeys: 3 }),
).map(([base, what, replacement, extra]) => {
  const e: Record<string, unknown> = { ...extra, ...base };
  for (const [k, m] of Object.entries(what)) {
    if (m === "replace") e[k] = replacement[k];
    else if (m === "delete") delete e[k];
  }
  return e;
});

const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: eventLikeArb, weight: 8 },
  { arbitrary: fc.record(fieldArbs, { requiredKeys: [] }), weight: 2 },
  { arbitrary: fc.anything(), weight: 1 },
);

const seen = { fast: 0, strictOnly: 0, rejected: 0 };

function sameResult(input: unknown): void {
  const fast = validateValue(input);
  const strict = validateValueStrict(input);
  assert.deepEqual(fast, strict);
  if (fast.ok && strict.ok) assert.equal(fast.event, input);
  if (fastAccept(input) !== undefined) seen.fast++;
  else if (strict.ok) seen.strictOnly++;
  else seen.rejected++;
}

Deno.test("validateValue (fast path + Ajv fallback) equals Ajv-only on arbitrary event-like values", () => {
  fc.assert(
    fc.property(anyInput, (input) => {
      sameResult(input); // as built (may hold undefined, NaN, -0, Infinity)
      const text = JSON.stringify(input);
      if (text === undefined) return;
      const parsed = JSON.parse(text); // what a record would decode to
      sameResult(parsed);
      const bytes = new TextEncoder().encode(text);
      const viaRecord = validateRecord(bytes);
      if (bytes.byteLength > 0 && bytes.byteLength <= MAX_EVENT_BYTES) {
        assert.deepEqual(viaRecord, validateValueStrict(JSON.parse(text)));
      }
    }),
    { numRuns: 20_000 },
  );
  // Not vacuous: the fast path accepted many inputs, and many were rejected.
  assert.ok(seen.fast > 4_000 && seen.rejected > 4_000, JSON.stringify(seen));
});

Deno.test("the fast path accepts the edge instants the round-trip accepts, and only those", () => {
  const cases: [string, boolean][] = [
    ["2024-02-29T00:00:00.000Z", true],
    ["2023-02-29T00:00:00.000Z", false],
    ["2000-02-29T00:00:00.000Z", true],
    ["1900-02-29T00:00:00.000Z", false],
    ["2026-12-31T23:59:59.999Z", true],
    ["2026-12-31T23:59:60.000Z", false],
    ["2026-04-31T00:00:00.000Z", false],
    ["0000-01-01T00:00:00.000Z", false], // year 0: out_of_range (PostgreSQL has none)
    ["0001-01-01T00:00:00.000Z", true],
    ["9999-12-31T23:59:59.999Z", true],
    ["2026-01-01T24:00:00.000Z", false],
    ["2026-01-01T00:00:00.000z", false],
  ];
  for (const [timestamp, ok] of cases) {
    const r = validateValue({ ...good, timestamp });
    assert.equal(r.ok, ok, timestamp);
    if (r.ok) assert.equal(r.time, Date.parse(timestamp), timestamp);
    sameResult({ ...good, timestamp });
  }
});
