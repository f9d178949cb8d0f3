import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { validateRecord } from "../events/mod.ts";
import {
  decodeObject,
  encodeLine,
  lineVerdict,
  LineWriter,
  parseLine,
  type RawRecord,
  toLine,
} from "./encode.ts";

/** One object's bytes as the archiver writes them: its NDJSON lines, gzipped. */
const gzipLines = (lines: string[]) => Buffer.from(gzipSync(Buffer.from(lines.join(""), "utf8")));

const event = {
  schema_version: 1,
  event_id: "e-1",
  user_id: "u1",
  session_id: "s1",
  product_id: "p1",
  action: "view",
  timestamp: "2026-01-01T00:00:00.123Z",
};

function rec(offset: bigint, value: Uint8Array | null, key: Uint8Array | null = null): RawRecord {
  return { partition: 2, offset, timestamp: 1_767_225_600_000, key, value };
}

Deno.test("valid, malformed, binary and null values survive byte-exact", async () => {
  const binary = new Uint8Array([0, 255, 128, 10, 13, 34, 92, 0xc3, 0x28]);
  const records = [
    rec(0n, Buffer.from(JSON.stringify(event)), Buffer.from("u1")),
    rec(1n, Buffer.from("{not json")),
    rec(2n, binary, new Uint8Array([0xff, 0])),
    rec(3n, null),
    rec(4n, new Uint8Array()),
  ];
  const lines = records.map((r) => encodeLine(toLine("t", r)));
  const back = await decodeObject(await gzipLines(lines));
  assert.equal(back.length, records.length);
  back.forEach((b, i) => {
    const r = records[i]!;
    assert.equal(b.offset, r.offset);
    assert.equal(b.partition, 2);
    assert.equal(b.timestamp, r.timestamp);
    const bytes = (x: Uint8Array | null) => x === null ? null : [...x];
    assert.deepEqual(bytes(b.value), bytes(r.value));
    assert.deepEqual(bytes(b.key), bytes(r.key));
  });
  assert.equal(back[0]!.valid, true);
  assert.equal(back[1]!.reason, "not_json");
  assert.equal(back[2]!.valid, false);
});

Deno.test("lines carry the validator's verdict and event fields", () => {
  const l = toLine("t", rec(7n, Buffer.from(JSON.stringify(event))));
  assert.equal(l.offset, "7");
  assert.equal(l.event_id, "e-1");
  assert.equal(l.event_time, event.timestamp);
  const bad = toLine("t", rec(8n, Buffer.from(JSON.stringify({ ...event, action: "hover" }))));
  assert.equal(bad.valid, false);
  assert.equal(bad.reason, "unknown_action");
  assert.equal(parseLine(encodeLine(bad).trim()).reason, "unknown_action");
});

Deno.test("LineWriter writes exactly the bytes of encodeLine(toLine(...)), whatever the record", () => {
  const topicArb = fc.oneof(fc.constant("clicks"), fc.string({ maxLength: 12 }));
  const eventValue = fc.record({
    schema_version: fc.constant(1),
    event_id: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.uuid()),
    user_id: fc.string({ minLength: 1, maxLength: 10 }),
    session_id: fc.constant("s"),
    product_id: fc.constant("p"),
    action: fc.constantFrom("view", "click", "purchase", "hover"),
    price: fc.constant(12.5),
    quantity: fc.constant(2),
    timestamp: fc.constantFrom("2026-01-01T00:00:00.123Z", "2026-13-01T00:00:00.123Z", "x"),
  }).map((e) => new TextEncoder().encode(JSON.stringify(e)));
  const bytes = fc.uint8Array({ maxLength: 300 });
  const recordArb = fc.record({
    partition: fc.nat(1000),
    offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    timestamp: fc.oneof(fc.nat(), fc.constant(-1), fc.integer()),
    key: fc.option(bytes, { nil: null }),
    value: fc.option(fc.oneof(eventValue, bytes), { nil: null }),
  });
  fc.assert(
    fc.property(topicArb, recordArb, (topic, r) => {
      const want = new TextEncoder().encode(encodeLine(toLine(topic, r)));
      const w = new LineWriter(topic);
      for (const v of [validateRecord(r.value), lineVerdict(r.value)]) {
        const bound = w.lineBytesBound(r, v);
        const out = new Uint8Array(bound + 8).fill(0xee);
        const end = w.write(r, v, out, 3);
        assert.deepEqual([...out.subarray(3, end)], [...want]);
        assert.ok(end - 3 <= bound, `line of ${end - 3} bytes within its bound ${bound}`);
      }
    }),
    { numRuns: 3000 },
  );
});
