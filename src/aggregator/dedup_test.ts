import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DedupSet, idHash, IdSet, MAX_ID_LENGTH } from "./dedup.ts";

Deno.test("dedup keeps ids until window end + horizon <= watermark, and tracks min offset", () => {
  const d = new DedupSet(60_000);
  d.add("a", 0, 10n);
  d.add("b", 0, 11n);
  d.add("c", 60_000, 12n);
  d.add("a", 60_000, 13n); // already known: ignored
  assertEquals(d.size, 3);
  assertEquals(d.minOffset(), 10n);
  assertEquals(d.prune(119_999), 0); // window 0 ends at 60s; +60s horizon = 120s
  assertEquals(d.has("a"), true);
  assertEquals(d.prune(120_000), 2);
  assertEquals(d.has("a"), false);
  assertEquals(d.has("c"), true);
  assertEquals(d.minOffset(), 12n);
  assertEquals(d.retains(60_000, 179_999), true);
  assertEquals(d.retains(60_000, 180_000), false);
  d.clear();
  assertEquals(d.minOffset(), null);
});

Deno.test("ids that share a hash stay distinct: each is kept, found and pruned on its own", () => {
  // find real colliding ids (31-bit hash: a few hundred thousand ids hold several pairs)
  const seen = new Map<number, string>();
  const pairs: [string, string][] = [];
  for (let i = 0; pairs.length < 2; i++) {
    const id = `42-8f3a2c1d-${i}`;
    const other = seen.get(idHash(id));
    if (other !== undefined) pairs.push([other, id]);
    else seen.set(idHash(id), id);
  }
  const [[a, b], [c, d]] = pairs as [[string, string], [string, string]];
  assertEquals(idHash(a), idHash(b));
  const set = new DedupSet(0);
  set.add(a, 0, 1n);
  assertEquals([set.has(a), set.has(b)], [true, false]);
  set.add(b, 60_000, 2n);
  set.add(b, 60_000, 3n); // again: ignored
  set.add(c, 0, 4n);
  set.add(d, 0, 5n);
  assertEquals(set.size, 4);
  assertEquals([set.has(a), set.has(b), set.has(c), set.has(d)], [true, true, true, true]);
  assertEquals(set.prune(60_000), 3); // window 0 goes: a, c, d
  assertEquals([set.has(a), set.has(b), set.has(c), set.has(d)], [false, true, false, false]);
  assertEquals(set.size, 1);
  set.add(a, 120_000, 6n); // a returns after b: both held again
  assertEquals([set.has(a), set.has(b)], [true, true]);
  assertEquals(set.prune(120_000), 1); // b's window
  assertEquals([set.has(a), set.has(b)], [true, false]);
});

Deno.test("DedupSet agrees with a plain set of ids under random adds and prunes", () => {
  const set = new DedupSet(60_000);
  const model = new Map<string, number>(); // id → window start
  let seed = 7;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let step = 0; step < 20_000; step++) {
    const ws = rnd(10) * 60_000;
    const id = `e${rnd(5_000)}`;
    assertEquals(set.has(id), model.has(id), `has(${id}) at step ${step}`);
    if (!model.has(id)) model.set(id, ws);
    set.add(id, ws, BigInt(step));
    if (step % 1000 === 999) {
      const wm = rnd(12) * 60_000;
      let gone = 0;
      for (const [k, w] of model) if (!set.retains(w, wm)) (model.delete(k), gone++);
      assertEquals(set.prune(wm), gone);
    }
    assertEquals(set.size, model.size);
  }
});

Deno.test("IdSet answers as a Set<string> does, colliding ids and has-then-add included", () => {
  const ids = Array.from({ length: 120_000 }, (_, i) => `x-${i}`);
  const set = new IdSet();
  const model = new Set<string>();
  let seed = 3;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let step = 0; step < 300_000; step++) {
    const id = ids[rnd(ids.length)]!;
    // a `has` before the change (its probe is memoised for an `add` of the same id), sometimes
    // of another id, so that a stale memo would show
    const before = rnd(4); // 0, 1: `has` of this id; 2: of another one; 3: none
    if (before < 2) assertEquals(set.has(id), model.has(id));
    else if (before === 2) set.has(ids[rnd(ids.length)]!);
    if (rnd(3) === 0) assertEquals(set.delete(id), model.delete(id));
    else assertEquals(set.add(id), !model.has(id) && !!model.add(id));
    assertEquals(set.size, model.size);
  }
  for (const id of ids) assertEquals(set.has(id), model.has(id), id);
});

Deno.test("IdSet keeps ids of any UTF-16 code units apart, wide and narrow alike", () => {
  const ids = [
    "a",
    "ä",
    "\u0100",
    "\u00ff",
    "\uffff",
    "é-1",
    "e\u0301-1",
    "😀",
    "\ud83d",
    "",
    "ab",
    "a\u0000b",
  ];
  const set = new IdSet();
  for (const id of ids) assertEquals(set.add(id), true, JSON.stringify(id));
  for (const id of ids) assertEquals(set.add(id), false, JSON.stringify(id));
  assertEquals(set.size, ids.length);
  for (const id of ids) assertEquals(set.has(id), true, JSON.stringify(id));
  for (const id of ["b", "\u0101", "😁", "a\u0000c", "ä "]) assertEquals(set.has(id), false, id);
  assertEquals(set.delete("\uffff"), true);
  assertEquals([set.has("\uffff"), set.has("\u00ff"), set.size], [false, true, ids.length - 1]);
});

Deno.test("IdSet drops the ids of the groups retain rejects and keeps the others findable", () => {
  const set = new IdSet();
  for (let i = 0; i < 50_000; i++) set.add(`id-${i}`, i % 7);
  assertEquals(set.retain((g) => g !== 3 && g !== 5), 7143 + 7143);
  for (let i = 0; i < 50_000; i++) {
    const kept = i % 7 !== 3 && i % 7 !== 5;
    assertEquals(set.has(`id-${i}`), kept, `id-${i}`);
  }
  assertEquals(set.retain(() => false), 50_000 - 14_286);
  assertEquals(set.size, 0);
  assertEquals(set.add("id-1", 9), true);
});

Deno.test("IdSet memory follows the ids it holds: deleting most of them compacts it", () => {
  const set = new IdSet();
  for (let i = 0; i < 100_000; i++) set.add(`event-${i}`);
  const full = set.bytes;
  for (let i = 0; i < 99_000; i++) set.delete(`event-${i}`);
  set.retain(() => true);
  assertEquals(set.size, 1_000);
  assertEquals(set.bytes < full / 20, true, `${set.bytes} bytes after, ${full} before`);
  for (let i = 99_000; i < 100_000; i++) assertEquals(set.has(`event-${i}`), true);
});

Deno.test("IdSet refuses an id longer than it can store, naming the limit", () => {
  const set = new IdSet();
  let message = "";
  try {
    set.add("x".repeat(MAX_ID_LENGTH + 1));
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message.includes(String(MAX_ID_LENGTH)), true, message);
  assertEquals(set.add("x".repeat(MAX_ID_LENGTH)), true);
});
