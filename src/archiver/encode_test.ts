import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { decodeObject, encodeLine, parseLine, type RawRecord, toLine } from "./encode.ts";

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
