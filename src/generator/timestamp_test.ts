import assert from "node:assert/strict";
import fc from "fast-check";
import { IsoFormatter } from "./timestamp.ts";

Deno.test("IsoFormatter gives Date#toISOString's text for any time, in any order", () => {
  const f = new IsoFormatter();
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -62_198_755_200_000, max: 8_640_000_000_000_000 }), {
        maxLength: 50,
      }),
      (times) => {
        for (const t of times) assert.equal(f.format(t), new Date(t).toISOString());
      },
    ),
  );
});

Deno.test("IsoFormatter agrees with Date across minute, day and year boundaries", () => {
  const f = new IsoFormatter();
  const start = Date.UTC(2026, 11, 31, 23, 58, 59, 990);
  for (let t = start; t < start + 200_000; t += 7) {
    assert.equal(f.format(t), new Date(t).toISOString());
  }
  for (const t of [0, -1, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1)]) {
    assert.equal(f.format(t), new Date(t).toISOString());
  }
});

Deno.test("IsoFormatter throws Date's RangeError for an invalid time", () => {
  assert.throws(() => new IsoFormatter().format(Number.NaN), RangeError);
});
