import assert from "node:assert/strict";
import { ACTIONS, MALFORMED_KINDS, validateRecord } from "../events/mod.ts";
import { computeManifest, manifestJson } from "./manifest.ts";
import { defaultStreamParams } from "./params.ts";
import { generateStream } from "./stream.ts";

const P = defaultStreamParams({
  seed: 11,
  events: 8000,
  eventsPerSecond: 50,
  lateFraction: 0.05,
  maxLatenessMs: 90_000,
  duplicateFraction: 0.02,
  malformedFraction: 0.02,
});

Deno.test("manifest equals an independent recount of generateStream's bytes", () => {
  const m = computeManifest(P);
  const ids = new Set<string>();
  const malformed: Record<string, number> = {};
  const minutes: Record<string, Record<string, number>> = {};
  let records = 0, dups = 0;
  for (const r of generateStream(P)) {
    records++;
    const v = validateRecord(r.value);
    if (!v.ok) {
      malformed[v.reason] = (malformed[v.reason] ?? 0) + 1;
      continue;
    }
    if (ids.has(v.event.event_id)) {
      dups++;
      continue;
    }
    ids.add(v.event.event_id);
    const w = new Date(Math.floor(v.time / 60000) * 60000).toISOString();
    const c = minutes[w] ??= { revenue_cents: 0 };
    c[v.event.action] = (c[v.event.action] ?? 0) + 1;
    if (v.event.action === "purchase") {
      c.revenue_cents! += Math.round(v.event.price! * 100) * v.event.quantity!;
    }
  }
  assert.equal(m.records, records);
  assert.equal(m.valid, ids.size);
  assert.equal(m.valid, P.events);
  assert.equal(m.duplicates, dups);
  for (const k of MALFORMED_KINDS) assert.equal(m.malformed[k], malformed[k] ?? 0, k);
  assert.equal(
    m.records,
    m.valid + m.duplicates + Object.values(m.malformed).reduce((a, b) => a + b, 0),
  );
  assert.deepEqual(Object.keys(m.minutes), Object.keys(minutes).sort());
  for (const [w, got] of Object.entries(m.minutes)) {
    const want = minutes[w]!;
    for (const a of ACTIONS) assert.equal(got.counts[a], want[a] ?? 0, `${w} ${a}`);
    assert.equal(got.purchases, want.purchase ?? 0);
    assert.equal(got.revenue_cents, want.revenue_cents);
  }
});

Deno.test("manifest is deterministic; a different seed differs", () => {
  assert.equal(manifestJson(computeManifest(P)), manifestJson(computeManifest(P)));
  assert.notEqual(
    manifestJson(computeManifest(P)),
    manifestJson(computeManifest({ ...P, seed: 12 })),
  );
});

Deno.test("manifest has the contract's format, params and window keys", () => {
  const m = computeManifest({ ...P, events: 100 });
  assert.equal(m.format, "nexus-manifest/1");
  assert.deepEqual(m.params, { ...P, events: 100 });
  assert.ok(Object.keys(m.minutes).every((k) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/.test(k)));
});
