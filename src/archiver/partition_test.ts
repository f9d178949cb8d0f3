import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createLogger } from "../log/logger.ts";
import type { RawRecord } from "./encode.ts";
import type { Admin, PartitionContext } from "../kafka/mod.ts";
import { BufferBudget } from "./budget.ts";
import { ArchiverPartition, type ArchiverShared } from "./handler.ts";
import { ledgerKey } from "./key.ts";
import { listEntries } from "./ledger.ts";
import { PartitionWriter } from "./partition.ts";
import { GaveUp } from "./s3_retry.ts";
import { checkTiling, listArchive, readRecords } from "./read.ts";
import type { ListedObject, ObjectStore } from "./store.ts";
import { MemoryStore } from "../../tests/fixtures/memory_store.ts";

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

/** The fault tests expect error lines: keep them out of the test output. */
const quiet = createLogger("test", { level: "error", write: () => {} });

/** An S3 refusal as the AWS SDK throws it (the archiver's key revoked). */
const accessDenied = () =>
  Object.assign(new Error("Access Denied."), {
    name: "AccessDenied",
    $metadata: { httpStatusCode: 403 },
  });

/** A MemoryStore whose calls can be refused (403) from some point on. */
class RefusingStore extends MemoryStore {
  refuse = false;
  refused = 0;
  #gate() {
    if (!this.refuse) return;
    this.refused++;
    throw accessDenied();
  }
  override put(key: string, body: Uint8Array, opts: { ifAbsent?: boolean } = {}) {
    try {
      this.#gate();
    } catch (e) {
      return Promise.reject(e);
    }
    return super.put(key, body, opts);
  }
  override get(key: string) {
    try {
      this.#gate();
    } catch (e) {
      return Promise.reject(e);
    }
    return super.get(key);
  }
  override exists(key: string) {
    try {
      this.#gate();
    } catch (e) {
      return Promise.reject(e);
    }
    return super.exists(key);
  }
  override async *list(prefix: string, startAfter?: string): AsyncIterable<ListedObject> {
    this.#gate();
    yield* super.list(prefix, startAfter);
  }
}

const until = async (what: string, ok: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

Deno.test("a refused upload (403) stops the writer: failure, onFailure once, no more records", async () => {
  const store = new RefusingStore();
  const records = makeLog(300);
  const budget = new BufferBudget(1 << 20);
  const failures: unknown[] = [];
  const w = new PartitionWriter({
    store,
    prefix: "raw",
    topic: "t",
    partition: 0,
    policy: { maxBytes: 1 << 20, maxRecords: 50, maxAgeMs: 1e9 },
    backoff: { baseMs: 1, maxMs: 2 },
    log: quiet,
    budget,
    onFailure: (e) => failures.push(e),
  });
  await w.init();
  let off = 0;
  for (; off < 100; off++) assert.equal(w.offer(records[off]!, 0), "taken");
  await w.drain();
  assert.equal(w.lastArchived, 99n);
  store.refuse = true; // the key is revoked
  for (; off < 160; off++) {
    const res = w.offer(records[off]!, 0);
    if (res !== "taken") break;
  }
  await until("failure", () => w.failure !== undefined);
  await w.drain();
  assert.equal(failures.length, 1, "notified once");
  assert.equal(failures[0], w.failure);
  const f = w.failure as GaveUp;
  assert.ok(f instanceof GaveUp, String(f));
  assert.equal(f.kind, "refused");
  assert.match(f.message, /HTTP 403 AccessDenied: Access Denied\./);
  assert.equal(store.refused, 5, "tried five times, then gave up (not forever)");
  // stops taking records, holds nothing, leaves the budget
  assert.equal(w.offer(records[off]!, 0), "failed");
  assert.equal(w.backlog, 0);
  assert.equal(w.dirty, false);
  assert.equal(budget.total(), 0);
  w.tick(1e12);
  w.flushOpen();
  await w.drain();
  assert.equal(store.refused, 5, "no call after giving up");
  await assert.rejects(w.init(), GaveUp, "a failed writer does not recover");
  assert.equal(failures.length, 1);
  w.abort();

  // the key restored: a fresh writer (restart) archives everything exactly once
  store.refuse = false;
  const w2 = new PartitionWriter({
    store,
    prefix: "raw",
    topic: "t",
    partition: 0,
    policy: { maxBytes: 1 << 20, maxRecords: 70, maxAgeMs: 1e9 },
    backoff: { baseMs: 1, maxMs: 2 },
    log: quiet,
  });
  await w2.init();
  for (let o = Number(w2.expected()); o < records.length; o++) {
    while (w2.offer(records[o]!, 0) === "full") await new Promise((r) => setTimeout(r, 1));
  }
  w2.flushOpen();
  await w2.drain();
  while (w2.dirty) await new Promise((r) => setTimeout(r, 1));
  const objects = await listArchive(store, "raw", "t");
  assert.deepEqual(checkTiling(objects), []);
  const offsets: bigint[] = [];
  for await (const r of readRecords(store, objects)) offsets.push(r.offset);
  assert.deepEqual(offsets, records.map((r) => r.offset));
});

Deno.test("recovery that S3 refuses, or an unparseable ledger entry, fails init for good", async () => {
  const store = new RefusingStore();
  const mk = (failures: unknown[]) =>
    new PartitionWriter({
      store,
      prefix: "raw",
      topic: "t",
      partition: 0,
      policy: { maxBytes: 1 << 20, maxRecords: 10, maxAgeMs: 1e9 },
      backoff: { baseMs: 1, maxMs: 2 },
      log: quiet,
      onFailure: (e) => failures.push(e),
    });
  store.refuse = true;
  const f1: unknown[] = [];
  const a = mk(f1);
  const e1 = await a.init().catch((e) => e);
  assert.ok(e1 instanceof GaveUp && e1.kind === "refused", String(e1));
  assert.match(e1.message, /^recover t\/0 from the ledger: HTTP 403 AccessDenied/);
  assert.deepEqual(f1, [e1]);
  assert.equal(a.offer(makeLog(1)[0]!, 0), "failed");
  a.abort();

  store.refuse = false;
  await store.put(ledgerKey("raw", "t", 0, 0n), new TextEncoder().encode("{not json"));
  const f2: unknown[] = [];
  const b = mk(f2);
  const calls = store.calls.get;
  const e2 = await b.init().catch((e) => e);
  assert.ok(e2 instanceof GaveUp && e2.kind === "unreadable", String(e2));
  assert.equal(store.calls.get - calls, 2, "head hint + the entry, read once: no retry");
  assert.deepEqual(f2, [e2]);
  b.abort();

  // an outage is still retried: init gives up only with RetryAborted after maxWaitMs
  store.objects.clear();
  store.failing = true;
  const f3: unknown[] = [];
  const c = mk(f3);
  const { RetryAborted } = await import("./s3_retry.ts");
  await assert.rejects(c.init(0n, 30), RetryAborted);
  assert.equal(c.failure, undefined);
  assert.deepEqual(f3, []);
  c.abort();
});

/** A PartitionContext that records what the handler asks of the core. */
function fakeCtx(partition = 0) {
  const abort = new AbortController();
  const calls = { faults: [] as unknown[], reopens: [] as string[], commits: [] as bigint[] };
  const ctx: PartitionContext = {
    topic: "t",
    partition,
    highWatermark: -1n,
    fetchCut: false,
    endOffsetsReadAt: 0,
    signal: abort.signal,
    wake: () => {},
    reopen: (why) => calls.reopens.push(why),
    commit: (o) => calls.commits.push(o),
    fault: (e) => calls.faults.push(e),
  };
  return { ctx, calls, abort };
}

function fakeShared(store: MemoryStore): ArchiverShared {
  const admin = {
    offsets: () => Promise.resolve(new Map([[0, { low: 0n, high: 0n }]])),
    committedOffsets: () => Promise.resolve(new Map()),
  } as unknown as Admin;
  return {
    store,
    prefix: "raw",
    topic: "t",
    group: "g",
    policy: { maxBytes: 1 << 20, maxRecords: 20, maxAgeMs: 1e9 },
    backoff: { baseMs: 1, maxMs: 2 },
    log: quiet,
    maxQueued: 2,
    budget: new BufferBudget(1 << 20),
    admin,
    handlers: new Set(),
    totals: { eventsIn: 0, eventsOut: 0, bytesUploaded: 0, objects: 0 },
  };
}

const consumed = (n: number, from = 0) =>
  makeLog(from + n).slice(from).map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
  }));

Deno.test("handler: a refused upload faults the partition; take and ready refuse records", async () => {
  const store = new RefusingStore();
  const { ctx, calls, abort } = fakeCtx();
  const h = new ArchiverPartition(fakeShared(store), ctx);
  assert.equal(await h.open(), 0n);
  assert.equal(h.take(consumed(40)), 40);
  await h.writer.drain();
  store.refuse = true;
  assert.equal(h.take(consumed(20, 40)), 20); // closes a batch: its upload is refused
  await until("fault", () => calls.faults.length === 1);
  assert.ok(calls.faults[0] instanceof GaveUp);
  assert.equal(h.ready(), false);
  assert.equal(h.take(consumed(5, 60)), 0, "takes nothing once faulted");
  abort.abort();
  await h.close("shutdown");
  assert.equal(calls.faults.length, 1);
  assert.deepEqual(calls.reopens, []);
});

Deno.test("handler: open faults (not retried by the core) and waits until the partition closes", async () => {
  const store = new RefusingStore();
  store.refuse = true;
  const { ctx, calls, abort } = fakeCtx();
  const h = new ArchiverPartition(fakeShared(store), ctx);
  let settled: string | undefined;
  const opening = h.open().then(() => settled = "resolved", (e) => settled = `rejected ${e}`);
  await until("fault", () => calls.faults.length >= 1);
  assert.ok(calls.faults.every((e) => e instanceof GaveUp));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(settled, undefined, "open stays pending while faulted");
  assert.equal(h.ready(), false);
  abort.abort(); // the core closes the partition (revoked, shutdown, fault exit)
  await opening;
  assert.match(settled!, /^rejected GaveUp: recover t\/0 from the ledger: HTTP 403/);
  await h.close("revoked");
});
