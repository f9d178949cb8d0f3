import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createLogger } from "../log/logger.ts";
import type { RawRecord } from "./encode.ts";
import { listEntries } from "./ledger.ts";
import { PartitionWriter } from "./partition.ts";
import { checkTiling, listArchive, readRecords } from "./read.ts";
import { type ListedObject, MemoryStore, type ObjectStore } from "./store.ts";

const log = createLogger("test", { level: "error" });

/** A store that "dies" (every call throws) after `budget` puts, like a killed process. */
class MortalStore implements ObjectStore {
  dead = false;
  constructor(readonly inner: MemoryStore, public budget: number) {}
  #gate() {
    if (this.dead) throw new Error("process killed");
  }
  async put(key: string, body: Uint8Array, opts?: { ifAbsent?: boolean }) {
    this.#gate();
    if (this.budget-- <= 0) {
      this.dead = true;
      throw new Error("process killed");
    }
    await this.inner.put(key, body, opts);
  }
  get(key: string) {
    this.#gate();
    return this.inner.get(key);
  }
  exists(key: string) {
    this.#gate();
    return this.inner.exists(key);
  }
  async *list(prefix: string, startAfter?: string): AsyncIterable<ListedObject> {
    this.#gate();
    yield* this.inner.list(prefix, startAfter);
  }
}

function makeLog(n: number): RawRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    partition: 0,
    offset: BigInt(i),
    timestamp: Date.UTC(2026, 0, 1) + i * 7_000, // crosses hour boundaries
    key: Buffer.from(`k${i % 17}`),
    value: i % 13 === 0 ? new Uint8Array([i & 255, 0, 255]) : Buffer.from(`{"n":${i}}`),
  }));
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

Deno.test("crash-restart with changing flush policies never overlaps nor loses a record", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rand = rng(seed);
    const records = makeLog(1500);
    const mem = new MemoryStore();
    let rounds = 0;
    let clock = 0;
    for (;; rounds++) {
      assert.ok(rounds < 500, "too many rounds");
      const store = new MortalStore(mem, 1 + Math.floor(rand() * 12));
      const w = new PartitionWriter({
        store,
        prefix: "raw",
        topic: "t",
        partition: 0,
        // every incarnation cuts differently: only the ledger keeps boundaries stable
        policy: {
          maxBytes: 1 << 20,
          maxRecords: 5 + Math.floor(rand() * 150),
          maxAgeMs: 50 + Math.floor(rand() * 500),
        },
        backoff: { baseMs: 1, maxMs: 2 },
        log,
        maxQueued: 2,
      });
      try {
        await w.init();
      } catch {
        w.abort();
        continue;
      }
      let off = Number(w.expected());
      while (off < records.length && !store.dead) {
        clock += Math.floor(rand() * 40);
        const res = w.offer(records[off]!, clock);
        if (res === "taken" || res === "skip") off++;
        else if (res === "full") await new Promise((r) => setTimeout(r, 1));
        else assert.fail(`unexpected ${res} at ${off}`);
        if (rand() < 0.05) w.tick(clock);
        if (rand() < 0.02) await new Promise((r) => setTimeout(r, 0));
      }
      if (!store.dead) {
        w.flushOpen();
        while (w.dirty && !store.dead) await new Promise((r) => setTimeout(r, 1));
      }
      w.abort();
      await w.drain();
      if (!store.dead && off >= records.length) break;
    }
    const objects = await listArchive(mem, "raw", "t");
    assert.deepEqual(checkTiling(objects), [], `seed ${seed}`);
    const offsets: bigint[] = [];
    for await (const r of readRecords(mem, objects)) offsets.push(r.offset);
    assert.deepEqual(
      offsets,
      records.map((r) => r.offset),
      `seed ${seed}: each offset exactly once`,
    );
    const entries = await listEntries(mem, "raw", "t", 0);
    assert.equal(entries.length, objects.length, "one ledger entry per object");
    assert.ok(rounds >= 3, `seed ${seed} crashed ${rounds} times`);
  }
});

Deno.test("a missing object under a recorded boundary is rewritten with the same range", async () => {
  const mem = new MemoryStore();
  const records = makeLog(100);
  const mk = (maxRecords: number) =>
    new PartitionWriter({
      store: mem,
      prefix: "raw",
      topic: "t",
      partition: 0,
      policy: { maxBytes: 1 << 20, maxRecords, maxAgeMs: 1e9 },
      backoff: { baseMs: 1, maxMs: 2 },
      log,
    });
  const a = mk(30);
  await a.init();
  for (const r of records.slice(0, 60)) assert.equal(a.offer(r, 0), "taken");
  await a.drain();
  // delete the second object as if the crash came between ledger entry and upload
  const objs = await listArchive(mem, "raw", "t");
  assert.equal(objs.length, 2);
  mem.objects.delete(objs[1]!.key);
  a.abort();
  const b = mk(1000); // would cut differently on its own
  const rec = await b.init();
  assert.equal(rec.pending?.start, "30");
  assert.equal(b.expected(), 30n);
  for (const r of records.slice(30)) b.offer(r, 0);
  b.flushOpen();
  await b.drain();
  const after = await listArchive(mem, "raw", "t");
  assert.deepEqual(after.map((o) => [o.start, o.end]), [[0n, 29n], [30n, 59n], [60n, 99n]]);
  assert.equal(after[1]!.key, objs[1]!.key);
});

Deno.test("an S3 outage backs the writer up (full) and it catches up afterwards", async () => {
  const mem = new MemoryStore();
  const records = makeLog(200);
  const w = new PartitionWriter({
    store: mem,
    prefix: "raw",
    topic: "t",
    partition: 0,
    policy: { maxBytes: 1 << 20, maxRecords: 10, maxAgeMs: 1e9 },
    backoff: { baseMs: 1, maxMs: 5 },
    log,
    maxQueued: 2,
  });
  await w.init();
  mem.failing = true;
  let off = 0;
  while (w.offer(records[off]!, 0) === "taken") off++;
  assert.ok(off <= 30, `bounded: took ${off} records during the outage`);
  await new Promise((r) => setTimeout(r, 30));
  mem.failing = false;
  while (off < records.length) {
    if (w.offer(records[off]!, 0) === "taken") off++;
    else await new Promise((r) => setTimeout(r, 2));
  }
  w.flushOpen();
  await w.drain();
  while (w.dirty) await new Promise((r) => setTimeout(r, 2));
  assert.equal(w.lastArchived, 199n);
  assert.deepEqual(checkTiling(await listArchive(mem, "raw", "t")), []);
});

Deno.test("two writers racing on one partition (a zombie) still tile the offsets exactly", async () => {
  let conflicts = 0;
  for (const seed of [7, 8, 9]) {
    const rand = rng(seed);
    const mem = new MemoryStore(); // honours ifAbsent like S3 If-None-Match
    const records = makeLog(800);
    const run = async (maxRecords: number) => {
      const w = new PartitionWriter({
        store: mem,
        prefix: "raw",
        topic: "t",
        partition: 0,
        policy: { maxBytes: 1 << 20, maxRecords, maxAgeMs: 1e9 },
        backoff: { baseMs: 1, maxMs: 2 },
        log,
        onConflict: () => conflicts++,
      });
      await w.init();
      let off = Number(w.expected());
      while (off < records.length) {
        const res = w.offer(records[off]!, 0);
        if (res === "taken" || res === "skip") off++;
        else if (res === "uninitialised") {
          await w.init(); // lost a race for a boundary: re-sync from the ledger
          off = Number(w.expected());
        } else await new Promise((r) => setTimeout(r, 1));
        if (rand() < 0.1) await new Promise((r) => setTimeout(r, 0));
      }
      w.flushOpen();
      while (w.dirty) {
        await new Promise((r) => setTimeout(r, 1));
        if (!w.ready) {
          await w.init();
          for (let o = Number(w.expected()); o < records.length; o++) w.offer(records[o]!, 0);
          w.flushOpen();
        }
      }
    };
    await Promise.all([run(37), run(50)]);
    const objects = await listArchive(mem, "raw", "t");
    assert.deepEqual(checkTiling(objects), [], `seed ${seed}`);
    const offsets: bigint[] = [];
    for await (const r of readRecords(mem, objects)) offsets.push(r.offset);
    assert.deepEqual(offsets, records.map((r) => r.offset), `seed ${seed}`);
  }
  assert.ok(conflicts > 0, "the writers did collide on ledger entries");
});
