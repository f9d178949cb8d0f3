import assert from "node:assert/strict";
import { parseRecords, type RawRecord, RecordSplitter } from "./records.ts";

function split(text: string, pieces = 3) {
  const s = new RecordSplitter(4);
  const out: RawRecord[] = [];
  const step = Math.ceil(text.length / pieces);
  for (let i = 0; i < text.length; i += step) s.push(text.slice(i, i + step), out);
  s.end(out);
  return out;
}

Deno.test("records split on line breaks outside quotes, with start line numbers", () => {
  const recs = split('\uFEFFa,b\r\n1,"x\ny"\n\n2,"q""q"\n3,z');
  assert.deepEqual(recs.map((r) => [r.line, r.raw]), [
    [1, "a,b"],
    [2, '1,"x\ny"'],
    [5, '2,"q""q"'],
    [6, "3,z"],
  ]);
  const parsed = parseRecords(recs);
  assert.deepEqual(parsed.map((r) => "fields" in r ? r.fields : r.error), [
    ["a", "b"],
    ["1", "x\ny"],
    ["2", 'q"q'],
    ["3", "z"],
  ]);
});

Deno.test("a bad quote is rejected alone; the following good lines survive", () => {
  const recs = split('a,b\nx,"y"z\n4,5\n"open,1\n6,7\n8,9\n10,11\n12,13\n');
  const parsed = parseRecords(recs);
  const good = parsed.filter((r) => "fields" in r).map((r) => r.line);
  const bad = parsed.filter((r) => "error" in r).map((r) => r.line);
  assert.deepEqual(bad, [2, 4]);
  assert.deepEqual(good, [1, 3, 5, 6, 7, 8]);
});
