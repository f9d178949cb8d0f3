import assert from "node:assert/strict";
import { createLogger } from "../log/logger.ts";
import {
  type PartitionContext,
  type PartitionHandler,
  startPartitionConsumer,
} from "./partition_consumer.ts";
import {
  type CloseReason,
  type ConsumedRecord,
  type GroupConsumer,
  type GroupListener,
  KafkaError,
} from "./port.ts";

const log = createLogger("core-test", { level: "error" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** An in-memory group consumer: the test plays the broker and the group coordinator. */
class FakeGroup implements GroupConsumer {
  readonly capabilities = { rebalancing: "cooperative", staticMembership: true } as const;
  listener?: GroupListener;
  readonly seeks: [number, bigint][] = [];
  readonly paused = new Set<number>();
  readonly commits: [number, bigint][] = [];
  closed = false;

  start(listener: GroupListener): Promise<void> {
    this.listener = listener;
    return Promise.resolve();
  }
  seek(partition: number, offset: bigint): void {
    this.seeks.push([partition, offset]);
  }
  pause(partition: number): void {
    this.paused.add(partition);
  }
  resume(partition: number): void {
    this.paused.delete(partition);
  }
  commit(offsets: Map<number, bigint>): Promise<void> {
    this.commits.push(...offsets);
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  /** Delivers records `from`..`to` (inclusive) of `partition`. */
  deliver(partition: number, from: number, to: number, fetchOffset?: bigint, high = to + 1): void {
    const records: ConsumedRecord[] = [];
    for (let o = from; o <= to; o++) {
      records.push({ offset: BigInt(o), timestamp: 0, key: null, value: Uint8Array.of(o & 255) });
    }
    this.listener!.records({ partition, records, highWatermark: BigInt(high), fetchOffset });
  }
}

/** A handler that records what it is asked to do. */
class Recorder implements PartitionHandler {
  readonly taken: bigint[] = [];
  readonly skips: bigint[] = [];
  readonly closes: CloseReason[] = [];
  opens = 0;
  ticks = 0;
  /** How many records `take` accepts per call (back-pressure when smaller than offered). */
  capacity = Infinity;
  isReady = true;
  failOpens = 0;
  takeDelayMs = 0;
  throwOnTake?: Error;
  constructor(readonly ctx: PartitionContext, readonly start: bigint) {}
  async open(): Promise<bigint> {
    this.opens++;
    if (this.failOpens-- > 0) throw new Error("postgres down");
    await Promise.resolve();
    return this.start;
  }
  async take(records: readonly ConsumedRecord[]): Promise<number> {
    if (this.throwOnTake) throw this.throwOnTake;
    if (this.takeDelayMs) await sleep(this.takeDelayMs);
    const n = Math.min(records.length, this.capacity);
    for (let i = 0; i < n; i++) this.taken.push(records[i]!.offset);
    return n;
  }
  skipTo(offset: bigint): void {
    this.skips.push(offset);
  }
  ready(): boolean {
    return this.isReady;
  }
  tick(): void {
    this.ticks++;
  }
  close(reason: CloseReason): Promise<void> {
    this.closes.push(reason);
    return Promise.resolve();
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => BigInt(a + i));

async function setup(start = 0n, extra: { tickMs?: number } = {}) {
  const group = new FakeGroup();
  const handlers = new Map<number, Recorder[]>();
  const core = await startPartitionConsumer({
    topic: "t",
    consumer: group,
    handler: (p, ctx) => {
      const h = new Recorder(ctx, start);
      handlers.set(p, [...(handlers.get(p) ?? []), h]);
      return h;
    },
    log,
    tickMs: extra.tickMs ?? 20,
    openRetryMs: 5,
    shutdownTimeoutMs: 2000,
    commitEveryMs: 20,
  });
  const h = (p: number, i = 0) => handlers.get(p)?.[i];
  return { group, core, handlers, h };
}

Deno.test({
  name:
    "an assigned partition opens, is sought to the recovered position, and takes records in order",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(5n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    assert.deepEqual(group.seeks, [[0, 5n]]);
    group.deliver(0, 3, 9); // 3 and 4 are below the position: dropped
    group.deliver(0, 10, 12);
    await until("records taken", () => h(0)!.taken.length === 8);
    assert.deepEqual(h(0)!.taken, range(5, 12));
    assert.deepEqual(core.progress(), [{
      partition: 0,
      state: "running",
      position: 13n,
      highWatermark: 13n,
      lag: 0,
      queued: 0,
    }]);
    await core.stop();
    assert.deepEqual(h(0)!.closes, ["shutdown"]);
    assert.ok(group.closed);
  },
});

Deno.test({
  name: "the context tells whether the latest fetch with records stopped short of the log end",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    const ctx = h(0)!.ctx;
    assert.equal(ctx.fetchCut, false);
    group.deliver(0, 0, 4, 0n, 100); // the log goes on to 99: cut by its byte bound
    assert.equal(ctx.fetchCut, true);
    assert.equal(ctx.highWatermark, 100n);
    group.listener!.records({ partition: 0, records: [], highWatermark: 100n });
    assert.equal(ctx.fetchCut, true, "a delivery without records says nothing of a cut");
    group.deliver(0, 5, 99, 5n); // up to the end it reported
    assert.equal(ctx.fetchCut, false);
    await until("records taken", () => h(0)!.taken.length === 100);
    await core.stop();
  },
});

Deno.test({
  name: "a batch entirely below the position makes the core seek there again",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(100n);
    group.listener!.assigned([1]);
    await until("seek", () => group.seeks.length === 1);
    group.deliver(1, 10, 20);
    await until("second seek", () => group.seeks.length === 2);
    assert.deepEqual(group.seeks[1], [1, 100n]);
    assert.deepEqual(h(1)!.taken, []);
    await core.stop();
  },
});

Deno.test({
  name: "a gap is accepted at once when the batch was fetched from the position",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    group.deliver(0, 0, 4);
    group.deliver(0, 8, 9, 5n); // fetched from 5, starts at 8: 5..7 are not in the log
    await until("taken", () => h(0)!.taken.length === 7);
    assert.deepEqual(h(0)!.taken, [...range(0, 4), 8n, 9n]);
    assert.deepEqual(h(0)!.skips, [8n]);
    assert.equal(group.seeks.length, 1, "no extra seek");
    await core.stop();
  },
});

Deno.test({
  name: "an unproven gap is sought once and dropped, then accepted when it persists",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    group.deliver(0, 0, 2);
    await until("taken", () => h(0)!.taken.length === 3);
    // two stale batches further on, delivered together: the first triggers one seek, and the
    // second must not be taken as proof of a gap (it was fetched before the seek too)
    h(0)!.capacity = Infinity;
    group.deliver(0, 7, 8);
    group.deliver(0, 9, 9);
    await until("re-seek", () => group.seeks.length === 2);
    await sleep(20);
    assert.deepEqual(group.seeks[1], [0, 3n]);
    assert.deepEqual(h(0)!.taken, range(0, 2), "nothing past the gap taken yet");
    group.deliver(0, 7, 9); // after the seek it still starts at 7: a real gap
    await until("taken after gap", () => h(0)!.taken.length === 6);
    assert.deepEqual(h(0)!.taken, [...range(0, 2), 7n, 8n, 9n]);
    assert.deepEqual(h(0)!.skips, [7n]);
    await core.stop();
  },
});

Deno.test({
  name: "back-pressure pauses the partition and the records not taken are offered again, once",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n, { tickMs: 1000 });
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    const handler = h(0)!;
    handler.capacity = 3;
    group.deliver(0, 0, 9);
    await until("paused", () => group.paused.has(0));
    assert.deepEqual(handler.taken, range(0, 2));
    assert.equal(core.progress()[0]!.queued, 7);
    handler.capacity = Infinity;
    handler.ctx.wake();
    await until("rest taken", () => handler.taken.length === 10);
    assert.deepEqual(handler.taken, range(0, 9));
    await until("resumed", () => !group.paused.has(0));
    await core.stop();
  },
});

Deno.test({
  name: "a handler that is not ready pauses fetching until a tick finds it ready",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n, { tickMs: 10 });
    group.listener!.assigned([2]);
    await until("seek", () => group.seeks.length === 1);
    const handler = h(2)!;
    handler.isReady = false;
    group.deliver(2, 0, 1);
    await until("paused", () => group.paused.has(2));
    group.deliver(2, 2, 3); // an in-flight batch still arrives while paused: queued, not lost
    await sleep(30);
    assert.deepEqual(handler.taken, range(0, 1));
    handler.isReady = true;
    await until("resumed and drained", () => !group.paused.has(2) && handler.taken.length === 4);
    assert.deepEqual(handler.taken, range(0, 3));
    assert.ok(handler.ticks > 0);
    await core.stop();
  },
});

Deno.test({
  name: "a revoked partition is closed as revoked and gets no more records",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0, 1]);
    await until("seeks", () => group.seeks.length === 2);
    group.deliver(1, 0, 1);
    await until("taken", () => h(1)!.taken.length === 2);
    group.listener!.revoked([1], "revoked");
    await until("closed", () => h(1)!.closes.length === 1);
    assert.deepEqual(h(1)!.closes, ["revoked"]);
    group.deliver(1, 2, 3);
    group.deliver(0, 0, 0);
    await until("p0 still consumed", () => h(0)!.taken.length === 1);
    assert.deepEqual(h(1)!.taken, range(0, 1));
    assert.deepEqual(core.progress().map((p) => p.partition), [0]);
    await core.stop();
    assert.deepEqual(h(1)!.closes, ["revoked"], "not closed twice");
  },
});

Deno.test({
  name: "a failing open is retried until it succeeds",
  sanitizeOps: true,
  async fn() {
    const group = new FakeGroup();
    let handler: Recorder | undefined;
    const core = await startPartitionConsumer({
      topic: "t",
      consumer: group,
      handler: (_p, ctx) => {
        handler = new Recorder(ctx, 7n);
        handler.failOpens = 2;
        return handler;
      },
      log,
      openRetryMs: 5,
    });
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    assert.equal(handler!.opens, 3);
    assert.deepEqual(group.seeks, [[0, 7n]]);
    await core.stop();
  },
});

Deno.test({
  name: "reopen closes the partition as lost and opens a fresh handler",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    h(0)!.ctx.reopen("fenced");
    await until("second handler opened", () => group.seeks.length === 2);
    assert.deepEqual(h(0, 0)!.closes, ["lost"]);
    assert.equal(h(0, 1)!.opens, 1);
    group.deliver(0, 0, 1);
    await until("new handler takes", () => h(0, 1)!.taken.length === 2);
    assert.deepEqual(h(0, 0)!.taken, []);
    await core.stop();
  },
});

Deno.test({
  name: "partitions are processed concurrently: a slow one does not hold up another",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0, 1]);
    await until("seeks", () => group.seeks.length === 2);
    h(0)!.takeDelayMs = 300;
    group.deliver(0, 0, 0);
    await sleep(10);
    group.deliver(1, 0, 0);
    await until("p1 taken", () => h(1)!.taken.length === 1, 200);
    assert.deepEqual(h(0)!.taken, [], "p0 still busy");
    await until("p0 taken", () => h(0)!.taken.length === 1);
    await core.stop();
  },
});

Deno.test({
  name: "an error thrown by a handler stops the consumer and rejects done",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    h(0)!.throwOnTake = new Error("disk on fire");
    group.deliver(0, 0, 0);
    await assert.rejects(core.done, /disk on fire/);
    assert.ok(group.closed);
    assert.deepEqual(h(0)!.closes, ["shutdown"]);
  },
});

Deno.test({
  name: "a fatal error of the group consumer rejects done after closing every partition",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([0, 1]);
    await until("seeks", () => group.seeks.length === 2);
    group.listener!.failed(new KafkaError("fenced instance", { retriable: false }));
    await assert.rejects(core.done, KafkaError);
    assert.deepEqual([h(0)!.closes, h(1)!.closes], [["shutdown"], ["shutdown"]]);
    assert.ok(group.closed);
  },
});

Deno.test({
  name: "stop is bounded: a handler that never closes does not hold the process",
  sanitizeOps: true,
  async fn() {
    const group = new FakeGroup();
    let release!: () => void;
    const stuck = new Promise<void>((r) => release = r);
    const core = await startPartitionConsumer({
      topic: "t",
      consumer: group,
      handler: (_p, ctx) => {
        const h = new Recorder(ctx, 0n);
        h.close = () => stuck;
        return h;
      },
      log,
      shutdownTimeoutMs: 200,
    });
    group.listener!.assigned([0]);
    await until("seek", () => group.seeks.length === 1);
    const t0 = Date.now();
    await core.stop();
    const took = Date.now() - t0;
    assert.ok(took < 400, `stop took ${took} ms`);
    assert.ok(group.closed, "left the group anyway");
    release();
  },
});

Deno.test({
  name: "commits from a handler reach the group consumer, the latest offset per partition",
  sanitizeOps: true,
  async fn() {
    const { group, core, h } = await setup(0n);
    group.listener!.assigned([3]);
    await until("seek", () => group.seeks.length === 1);
    h(3)!.ctx.commit(41n);
    h(3)!.ctx.commit(42n);
    await until("commit", () => group.commits.length === 1);
    assert.deepEqual(group.commits, [[3, 42n]]);
    await core.stop();
  },
});

/** A core with `faultExitMs` and a Recorder per partition (the fault tests). */
async function faultSetup(faultExitMs: number) {
  const group = new FakeGroup();
  const handlers = new Map<number, Recorder>();
  const core = await startPartitionConsumer({
    topic: "t",
    consumer: group,
    handler: (p, ctx) => {
      const h = new Recorder(ctx, 0n);
      handlers.set(p, h);
      return h;
    },
    log,
    tickMs: 20,
    openRetryMs: 5,
    shutdownTimeoutMs: 1000,
    commitEveryMs: 20,
    faultExitMs,
  });
  let settled: string | undefined;
  core.done.then(() => settled = "resolved", (e) => settled = `rejected: ${e.message}`);
  return { group, core, h: (p: number) => handlers.get(p)!, settled: () => settled };
}

Deno.test({
  name: "fault: shown in progress at once, and the consumer fails after faultExitMs",
  sanitizeOps: true,
  async fn() {
    const { group, core, h, settled } = await faultSetup(150);
    group.listener!.assigned([0, 1]);
    await until("seeks", () => group.seeks.length === 2);
    const t0 = Date.now();
    h(1).ctx.fault(new Error("upload x: HTTP 403 AccessDenied: Access Denied."));
    h(1).ctx.fault(new Error("a second fault is ignored"));
    const p = core.progress();
    assert.equal(p[0]!.fault, undefined);
    assert.equal(p[1]!.fault?.reason, "upload x: HTTP 403 AccessDenied: Access Denied.");
    assert.ok(Math.abs(p[1]!.fault!.since - t0) < 50);
    await sleep(80);
    assert.equal(settled(), undefined, "not before faultExitMs");
    await until("done rejected", () => settled() !== undefined, 2000);
    const took = Date.now() - t0;
    assert.match(settled()!, /^rejected: partition t\/1 cannot go on: upload x: HTTP 403/);
    assert.ok(took >= 150 && took < 1000, `failed after ${took} ms`);
    // the failure stops everything: handlers closed with "shutdown", the group left
    await until("closed", () => group.closed);
    assert.deepEqual(h(0).closes, ["shutdown"]);
    assert.deepEqual(h(1).closes, ["shutdown"]);
    await core.stop();
  },
});

Deno.test({
  name: "fault: a partition closed before faultExitMs clears it (no failure)",
  sanitizeOps: true,
  async fn() {
    const { group, core, h, settled } = await faultSetup(100);
    group.listener!.assigned([0, 1]);
    await until("seeks", () => group.seeks.length === 2);
    h(0).ctx.fault(new Error("NoSuchBucket"));
    assert.ok(core.progress()[0]!.fault);
    group.listener!.revoked([0], "revoked");
    await until("closed", () => h(0).closes.length === 1);
    assert.deepEqual(h(0).closes, ["revoked"]);
    await sleep(250);
    assert.equal(settled(), undefined, "the consumer goes on");
    assert.deepEqual(core.progress().map((x) => [x.partition, x.fault]), [[1, undefined]]);
    // assigned again: a fresh handler, not faulted
    group.listener!.assigned([0]);
    await until("reopened", () => group.seeks.length === 3);
    assert.equal(core.progress()[0]!.fault, undefined);
    // a closed handler's late fault is ignored
    const old = h(0);
    group.listener!.revoked([0], "revoked");
    await until("closed again", () => old.closes.length === 1);
    old.ctx.fault(new Error("too late"));
    await sleep(150);
    assert.equal(settled(), undefined);
    await core.stop();
    assert.equal(settled(), "resolved");
  },
});

Deno.test({
  name: "fault: a handler that faults in open and waits stays opening, faulted, until closed",
  sanitizeOps: true,
  async fn() {
    const group = new FakeGroup();
    const opened: PartitionContext[] = [];
    let openCalls = 0;
    const core = await startPartitionConsumer({
      topic: "t",
      consumer: group,
      handler: (_p, ctx) => {
        const h = new Recorder(ctx, 0n);
        h.open = async () => {
          openCalls++;
          opened.push(ctx);
          ctx.fault(new Error("recover t/0: ledger unreadable"));
          await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));
          throw new Error("closed");
        };
        return h;
      },
      log,
      openRetryMs: 5,
      shutdownTimeoutMs: 1000,
      faultExitMs: 10_000,
    });
    group.listener!.assigned([0]);
    await until("open", () => opened.length === 1);
    const p = core.progress()[0]!;
    assert.equal(p.state, "opening");
    assert.equal(p.position, undefined);
    assert.equal(p.fault?.reason, "recover t/0: ledger unreadable");
    await sleep(50);
    assert.equal(openCalls, 1, "open is not retried while it waits");
    assert.deepEqual(group.seeks, [], "nothing fetched");
    // stop closes it (and its fault timer): stop resolves, nothing left running
    await core.stop();
    await core.done;
  },
});
