import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createLogger } from "../log/logger.ts";
import { Batch, CHUNK_BYTES, DEFLATE_OVERHEAD_BYTES } from "./batch.ts";
import { type BudgetMember, BufferBudget } from "./budget.ts";
import { decodeObject, type RawRecord } from "./encode.ts";
import { type PartitionDeps, PartitionWriter } from "./partition.ts";
import { checkTiling, listArchive, readRecords } from "./read.ts";
import { MemoryStore } from "../../tests/fixtures/memory_store.ts";

const log = createLogger("test", { level: "error" });

/** A writer of topic "t" whose size/age policy never cuts an object: only `budget` does. */
function budgetOnlyWriter(
  store: MemoryStore,
  budget: BufferBudget,
  partition: number,
  extra: Partial<PartitionDeps> = {},
): PartitionWriter {
  return new PartitionWriter({
    store,
    prefix: "raw",
    topic: "t",
    partition,
    policy: { maxBytes: 1 << 30, maxRecords: 1e9, maxAgeMs: 1e9 },
    backoff: { baseMs: 1, maxMs: 2 },
    log,
    budget,
    ...extra,
  });
}

class FakeMember implements BudgetMember {
  cut = false;
  constructor(public openBytes: number, public queuedBytes = 0, public canCutEarly = true) {}
  cutEarly(): void {
    this.cut = true;
    this.queuedBytes += this.openBytes;
    this.openBytes = 0;
  }
}

Deno.test("the budget cuts the largest open batches first, only as many as needed", () => {
  const b = new BufferBudget(100);
  const small = new FakeMember(10);
  const big = new FakeMember(60);
  const mid = new FakeMember(40);
  const pinned = new FakeMember(70, 0, false); // a recorded re-upload: never cut early
  for (const m of [small, big, mid, pinned]) b.add(m);
  assert.equal(b.enforce(), 2);
  // 180 held: pinned (70) is skipped, big (60) brings the open part to 120, mid (40) to 80
  assert.deepEqual([small.cut, big.cut, mid.cut, pinned.cut], [false, true, true, false]);
  // the cut batches still wait for S3: over the budget, so new records wait too
  assert.equal(b.blocked, true);
  big.queuedBytes = 0; // uploaded
  mid.queuedBytes = 0;
  assert.equal(b.enforce(), 0);
  assert.equal(b.blocked, false);
  assert.equal(b.earlyCuts, 2);
  b.remove(pinned);
  assert.equal(b.total(), 10);
});

Deno.test("a batch holds gzip bytes, not records: held memory is a fraction of its size", async () => {
  const rec = (o: number): RawRecord => ({
    partition: 0,
    offset: BigInt(o),
    timestamp: 1_767_225_600_000 + o,
    key: Buffer.from(`u${o % 100}`),
    value: Buffer.from(JSON.stringify({ n: o, pad: "x".repeat(200 + (o % 50)) })),
  });
  const policy = { maxBytes: 64 << 20, maxRecords: 1e9, maxAgeMs: 1e9 };
  const b = new Batch("t", rec(0), 0);
  for (let o = 1; o < 20_000; o++) assert.ok(b.tryAdd(rec(o), policy));
  assert.ok(b.bytes > 8 * CHUNK_BYTES, `${b.bytes}`);
  const body = await b.finish();
  assert.equal(b.heldBytes, body.byteLength);
  assert.ok(body.byteLength < b.bytes / 4, `${body.byteLength} vs ${b.bytes}`);
  const back = await decodeObject(body);
  assert.equal(back.length, 20_000);
  assert.deepEqual(back.map((r) => r.offset), Array.from({ length: 20_000 }, (_, i) => BigInt(i)));
  assert.deepEqual(back[1234]!.value, rec(1234).value);
});

Deno.test("many partitions stay within one shared budget and still tile exactly", async () => {
  const partitions = 12;
  const perPartition = 3_000;
  const limit = 2 * 1024 * 1024;
  const mem = new MemoryStore();
  const budget = new BufferBudget(limit);
  // values that barely compress, so held bytes grow like the uncompressed stream
  let seed = 7;
  const noise = (n: number) =>
    Buffer.from(
      Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 255),
    );
  // the policy alone would keep one object per partition: every cut below is the budget's
  const writers = Array.from({ length: partitions }, (_, p) => budgetOnlyWriter(mem, budget, p));
  for (const w of writers) await w.init();
  const next = new Array<number>(partitions).fill(0);
  let peak = 0, fulls = 0;
  // overshoot between two checks: < 64 KiB of growth per partition, plus one record that
  // starts a deflate stream (a full staging chunk and the deflate state)
  const slack = partitions * 64 * 1024 + CHUNK_BYTES + DEFLATE_OVERHEAD_BYTES;
  while (next.some((n) => n < perPartition)) {
    for (let p = 0; p < partitions; p++) {
      if (next[p]! >= perPartition) continue;
      const o = next[p]!;
      const res = writers[p]!.offer({
        partition: p,
        offset: BigInt(o),
        timestamp: 1_767_225_600_000 + o,
        key: null,
        value: noise(300 + (o % 100)),
      }, 0);
      if (res === "taken") next[p]!++;
      else if (res === "full") {
        fulls++;
        await new Promise((r) => setTimeout(r, 1));
      } else assert.fail(`unexpected ${res}`);
      peak = Math.max(peak, budget.total());
      assert.ok(budget.total() <= limit + slack, `held ${budget.total()} > ${limit} + ${slack}`);
    }
    if (next.every((n) => n % 100 === 0)) await new Promise((r) => setTimeout(r, 0));
  }
  for (const w of writers) w.flushOpen();
  for (const w of writers) {
    while (w.dirty) await new Promise((r) => setTimeout(r, 1));
  }
  // ~1.2 MB of NDJSON per partition: unbounded, the open batches alone would hold ~14 MB
  assert.ok(budget.earlyCuts > partitions, `early cuts ${budget.earlyCuts}`);
  assert.equal(budget.total(), 0);
  const objects = await listArchive(mem, "raw", "t");
  assert.ok(objects.length > partitions);
  for (let p = 0; p < partitions; p++) {
    const mine = objects.filter((o) => o.partition === p);
    assert.deepEqual(checkTiling(mine), [], `partition ${p}`);
    const offsets: bigint[] = [];
    for await (const r of readRecords(mem, mine)) offsets.push(r.offset);
    assert.deepEqual(offsets, Array.from({ length: perPartition }, (_, i) => BigInt(i)));
  }
  for (const w of writers) w.abort();
  console.log(
    `budget ${limit} B: peak held ${peak} B, ${budget.earlyCuts} early cuts, ${objects.length} objects, ${fulls} full answers`,
  );
});

Deno.test("over the budget during an S3 outage, writers answer full and catch up after", async () => {
  const mem = new MemoryStore();
  const budget = new BufferBudget(64 * 1024);
  const mk = (p: number) =>
    budgetOnlyWriter(mem, budget, p, { backoff: { baseMs: 1, maxMs: 5 }, maxQueued: 100 });
  const ws = [mk(0), mk(1), mk(2)];
  for (const w of ws) await w.init();
  mem.failing = true;
  const rec = (p: number, o: number): RawRecord => ({
    partition: p,
    offset: BigInt(o),
    timestamp: 0,
    key: null,
    value: Buffer.alloc(400, 65 + (o % 26)),
  });
  const next = [0, 0, 0];
  let taken = 0;
  for (let i = 0; i < 5_000 && !budget.blocked; i++) {
    const p = i % 3;
    if (ws[p]!.offer(rec(p, next[p]!), 0) === "taken") {
      next[p]!++;
      taken++;
    }
  }
  assert.ok(budget.blocked, "blocked during the outage");
  assert.equal(ws[0]!.offer(rec(0, next[0]!), 0), "full");
  assert.ok(taken < 5_000);
  mem.failing = false;
  const total = 600;
  while (next.some((n) => n < total)) {
    for (let p = 0; p < 3; p++) {
      if (next[p]! >= total) continue;
      if (ws[p]!.offer(rec(p, next[p]!), 0) === "taken") next[p]!++;
      else await new Promise((r) => setTimeout(r, 2));
    }
  }
  for (const w of ws) w.flushOpen();
  for (const w of ws) while (w.dirty) await new Promise((r) => setTimeout(r, 2));
  const objects = await listArchive(mem, "raw", "t");
  for (let p = 0; p < 3; p++) {
    assert.deepEqual(checkTiling(objects.filter((o) => o.partition === p)), []);
    assert.equal(ws[p]!.lastArchived, BigInt(total - 1));
  }
  for (const w of ws) w.abort();
});
