import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { validateRecord, VALUE_MALFORMED_KINDS } from "../events/mod.ts";
import { defaultStreamParams } from "./params.ts";
import { generateStream } from "./stream.ts";

const P = defaultStreamParams({
  seed: 7,
  events: 5000,
  users: 300,
  products: 80,
  lateFraction: 0.05,
  maxLatenessMs: 2000,
  duplicateFraction: 0.03,
  malformedFraction: 0.03,
});

function bytesOf(p = P): Buffer {
  return Buffer.concat([...generateStream(p)].flatMap((r) => [Buffer.from(r.key + "\t"), r.value]));
}

Deno.test("same seed and params give byte-identical streams; another seed differs", () => {
  const a = bytesOf(), b = bytesOf();
  assert.ok(a.equals(b));
  assert.ok(!a.equals(bytesOf({ ...P, seed: 8 })));
});

Deno.test("every record is classified by validateRecord as the kind it was meant to be", () => {
  let n = 0;
  for (const r of generateStream({ ...P, malformedFraction: 0.5 }, { selfCheck: false })) {
    const v = validateRecord(r.value);
    const want = r.kind === "duplicate" ? "valid" : r.kind;
    assert.equal(v.ok ? "valid" : v.reason, want, r.value.toString().slice(0, 200));
    n++;
  }
  assert.ok(n > 7000);
});

Deno.test("all malformed kinds occur; duplicates repeat an earlier valid record byte for byte", () => {
  const seen = new Map<string, Buffer>();
  const kinds = new Set<string>();
  let dups = 0;
  for (const r of generateStream(P)) {
    kinds.add(r.kind);
    if (r.kind === "valid") {
      assert.ok(!seen.has(r.event!.event_id), "valid event ids are unique");
      seen.set(r.event!.event_id, r.value);
      assert.equal(r.key, r.event!.user_id);
    } else if (r.kind === "duplicate") {
      dups++;
      const first = seen.get(r.event!.event_id);
      assert.ok(first && first.equals(r.value), "a duplicate follows its original");
    }
  }
  for (const k of VALUE_MALFORMED_KINDS) assert.ok(kinds.has(k), k);
  assert.equal(seen.size, P.events);
  assert.ok(dups > 0);
});

Deno.test("late events follow an event with a later event time; lateness is bounded", () => {
  let maxTime = -Infinity;
  let late = 0;
  for (const r of generateStream(P)) {
    if (r.kind !== "valid") continue;
    const t = r.eventTime!;
    if (t < maxTime) {
      late++;
      assert.ok(maxTime - t <= P.maxLatenessMs, `lateness ${maxTime - t}`);
    }
    maxTime = Math.max(maxTime, t);
  }
  const expected = P.events * P.lateFraction;
  assert.ok(late > expected * 0.6 && late < expected * 1.4, `late ${late}`);
});

Deno.test("sessions funnel: views > clicks > carts > purchases; purchases carry price and quantity", () => {
  const counts: Record<string, number> = {};
  for (const r of generateStream(P)) {
    if (r.kind !== "valid") continue;
    const e = r.event!;
    counts[e.action] = (counts[e.action] ?? 0) + 1;
    if (e.action === "purchase") {
      assert.ok(e.price! > 0 && Math.abs(Math.round(e.price! * 100) - e.price! * 100) < 1e-6);
      assert.ok(Number.isInteger(e.quantity) && e.quantity! >= 1);
    } else {
      assert.equal(e.price, undefined);
    }
  }
  assert.ok(counts.view! > counts.click! && counts.click! > counts.add_to_cart!);
  assert.ok(counts.add_to_cart! > counts.purchase! && counts.purchase! > 0);
  assert.ok(counts.remove_from_cart! > 0);
});

Deno.test("valid events are about 200 bytes and event time follows the density", () => {
  let bytes = 0, n = 0, last = 0;
  for (const r of generateStream({ ...P, lateFraction: 0 })) {
    if (r.kind !== "valid") continue;
    bytes += r.value.length;
    n++;
    last = r.eventTime!;
  }
  assert.ok(bytes / n > 150 && bytes / n < 260, `avg ${bytes / n}`);
  assert.equal(last, Date.parse(P.start) + Math.floor((P.events - 1) * 1000 / P.eventsPerSecond));
});

Deno.test("product popularity is skewed (Zipf-like)", () => {
  const byProduct = new Map<string, number>();
  for (const r of generateStream(P)) {
    if (r.kind === "valid" && r.event!.action === "view") {
      byProduct.set(r.event!.product_id, (byProduct.get(r.event!.product_id) ?? 0) + 1);
    }
  }
  const sorted = [...byProduct.values()].sort((a, b) => b - a);
  const top5 = sorted.slice(0, 5).reduce((a, b) => a + b, 0);
  const total = sorted.reduce((a, b) => a + b, 0);
  assert.ok(top5 / total > 0.25, `top 5 share ${top5 / total}`);
});

Deno.test("zero fractions give exactly the valid events, in event-time order", () => {
  const p = { ...P, lateFraction: 0, duplicateFraction: 0, malformedFraction: 0, events: 500 };
  const recs = [...generateStream(p)];
  assert.equal(recs.length, 500);
  assert.ok(
    recs.every((r, i) =>
      r.kind === "valid" && (i === 0 || r.eventTime! >= recs[i - 1]!.eventTime!)
    ),
  );
});

Deno.test("live clock sets event time from the clock", () => {
  let now = Date.parse("2030-05-05T10:00:00.000Z");
  const recs = [];
  for (const r of generateStream({ ...P, events: 50, lateFraction: 0 }, { clock: () => now++ })) {
    recs.push(r);
  }
  const valid = recs.filter((r) => r.kind === "valid");
  assert.equal(valid[0]!.event!.timestamp, "2030-05-05T10:00:00.000Z");
});
