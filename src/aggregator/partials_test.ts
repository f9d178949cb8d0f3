import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { ACTIONS, type ClickEvent } from "../events/mod.ts";
import {
  type Checkpoint,
  type FlushPlan,
  type LateRecord,
  type PartitionOptions,
  PartitionState,
} from "./partials.ts";
import { revenueCents, windowStart } from "./window.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const enc = new TextEncoder();

interface Ev {
  id: string;
  time: number;
  action: number;
  cents: number;
  qty: number;
}

function toEvent(e: Ev): ClickEvent {
  const action = ACTIONS[e.action]!;
  const ev: ClickEvent = {
    schema_version: 1,
    event_id: e.id,
    user_id: "u",
    session_id: "s",
    product_id: "p",
    action,
    timestamp: new Date(e.time).toISOString(),
  };
  if (action === "purchase") {
    ev.price = e.cents / 100;
    ev.quantity = e.qty;
  }
  return ev;
}
const bytes = (e: Ev) => enc.encode(JSON.stringify(toEvent(e)));
const MALFORMED = enc.encode("{not json");

/** An in-memory stand-in for the Postgres tables, with the same CAS rule. */
class FakeStore {
  partials = new Map<string, { counts: number[]; rev: number }>();
  late = new Map<string, LateRecord>();
  cps = new Map<number, Checkpoint>();
  dead = 0;
  claim(p: number): Checkpoint {
    const cp = this.cps.get(p) ?? { nextOffset: 0n, replayOffset: 0n, watermark: null, epoch: 0 };
    const next = { ...cp, epoch: cp.epoch + 1 };
    this.cps.set(p, next);
    return next;
  }
  write(plan: FlushPlan): void {
    const cp = this.cps.get(plan.partition)!;
    if (cp.epoch !== plan.epoch || cp.nextOffset !== plan.prevNextOffset) throw new Error("fenced");
    assert(plan.replayOffset <= plan.nextOffset);
    for (const r of plan.partials) {
      this.partials.set(`${plan.partition}|${r.windowStart}`, {
        counts: [...r.counts],
        rev: Number(r.revenueCents),
      });
    }
    for (const l of plan.late) if (!this.late.has(l.eventId)) this.late.set(l.eventId, l);
    this.dead += plan.dead.length;
    this.cps.set(plan.partition, {
      nextOffset: plan.nextOffset,
      replayOffset: plan.replayOffset,
      watermark: plan.watermark,
      epoch: cp.epoch,
    });
  }
  /** window|action -> [events, revenue] from partials + late ledger. */
  totals(): Map<string, [number, number]> {
    const out = new Map<string, [number, number]>();
    const add = (ws: number, a: string, n: number, rev: number) => {
      if (n === 0) return;
      const k = `${ws}|${a}`;
      const t = out.get(k) ?? [0, 0];
      out.set(k, [t[0] + n, t[1] + rev]);
    };
    for (const [k, v] of this.partials) {
      const ws = Number(k.split("|")[1]);
      v.counts.forEach((n, i) => add(ws, ACTIONS[i]!, n, ACTIONS[i] === "purchase" ? v.rev : 0));
    }
    for (const l of this.late.values()) add(l.windowStart, l.action, 1, l.revenueCents);
    return out;
  }
}

function truth(events: Ev[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const k = `${windowStart(e.time)}|${ACTIONS[e.action]}`;
    const t = out.get(k) ?? [0, 0];
    out.set(k, [t[0] + 1, t[1] + revenueCents(toEvent(e))]);
  }
  return out;
}

const sorted = (m: Map<string, [number, number]>) => [...m].sort((a, b) => a[0] < b[0] ? -1 : 1);

interface Schedule {
  flushEvery: number;
  /** steps after which the process "crashes" (state lost, partition re-claimed). */
  crashes: Set<number>;
  /** steps whose flush transaction is aborted by a crash. */
  crashesInTxn: Set<number>;
  /**
   * Records processed while a plan is written (the handler's flush behind): a plan taken at
   * a flush step commits this many steps later; no new plan while one is outstanding. 0: the
   * plan commits before the next record.
   */
  behind?: number;
}

/** Runs one partition's log through PartitionState with flushes, crashes and replays. */
function runPartition(
  log: Uint8Array[],
  p: number,
  store: FakeStore,
  opts: PartitionOptions,
  sched: Schedule,
): void {
  let st = new PartitionState("t", p, store.claim(p), opts, 0);
  let step = 0;
  const behind = sched.behind ?? 0;
  let running: { plan: FlushPlan; at: number } | undefined;
  const flush = () => {
    const plan = st.plan();
    if (!plan) return;
    store.write(plan);
    st.committed(plan);
  };
  const commitRunning = () => {
    if (!running) return;
    store.write(running.plan);
    st.committed(running.plan);
    running = undefined;
  };
  while (st.position < BigInt(log.length)) {
    const off = st.position;
    st.process({ offset: off, timestamp: REC_TS, key: null, value: log[Number(off)]! }, 0);
    step++;
    if (running && step - running.at >= behind) commitRunning();
    if (step % sched.flushEvery === 0) {
      if (sched.crashesInTxn.has(step)) {
        st.plan(); // written, then the process dies before commit: nothing persists
        running = undefined;
        st = new PartitionState("t", p, store.claim(p), opts, 0);
        continue;
      }
      if (behind === 0) flush();
      else if (!running) {
        const plan = st.plan();
        if (plan) running = { plan, at: step };
      }
    }
    if (sched.crashes.has(step)) {
      running = undefined; // the plan being written dies with the process
      st = new PartitionState("t", p, store.claim(p), opts, 0);
    }
  }
  commitRunning();
  flush();
  // end of input: the partition goes idle and its watermark passes every window
  st.watermark.advanceTo(Number.MAX_SAFE_INTEGER);
  flush();
  assertEquals(st.windows.size, 0);
}

/** Record timestamps of these tests: far after every event, so the clock guard never fires. */
const REC_TS = Date.UTC(2100, 0, 1);
const OPTS: PartitionOptions = {
  allowedLatenessMs: 10_000,
  idleTimeoutMs: 1000,
  dedupHorizonMs: 60_000,
  maxFutureMs: 300_000,
};

/** Events over ~5 minutes with ids e0..eN and some re-used ids (duplicates). */
const eventsArb = fc.array(
  fc.record({
    dt: fc.integer({ min: 0, max: 300_000 }),
    action: fc.integer({ min: 0, max: 4 }),
    cents: fc.integer({ min: 1, max: 100_000 }),
    qty: fc.integer({ min: 1, max: 4 }),
    jitter: fc.integer({ min: 0, max: OPTS.allowedLatenessMs }),
    part: fc.integer({ min: 0, max: 3 }),
  }),
  { minLength: 1, maxLength: 120 },
).map((xs) =>
  xs.map((x, i) => ({
    ev: { id: `e${i}`, time: T0 + x.dt, action: x.action, cents: x.cents, qty: x.qty },
    jitter: x.jitter,
    part: x.part,
  }))
);

function partitionLogs(items: { ev: Ev; part: number }[], parts: number): Uint8Array[][] {
  const logs: Uint8Array[][] = Array.from({ length: parts }, () => []);
  for (const it of items) logs[it.part % parts]!.push(bytes(it.ev));
  return logs;
}

Deno.test("property: any interleaving/partitioning within the lateness bound gives the exact windows, no late events, flushes behind or not", () => {
  fc.assert(
    fc.property(
      eventsArb,
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 0, max: 40 }),
      (items, parts, flushEvery, behind) => {
        // emission order: by event time + jitter (jitter <= allowed lateness) => every event is
        // at most allowedLateness behind the latest earlier-emitted event time
        const order = [...items].sort((a, b) => a.ev.time + a.jitter - (b.ev.time + b.jitter));
        const store = new FakeStore();
        const logs = partitionLogs(order, parts);
        logs.forEach((log, p) =>
          runPartition(log, p, store, OPTS, {
            flushEvery,
            crashes: new Set(),
            crashesInTxn: new Set(),
            behind,
          })
        );
        assertEquals(store.late.size, 0);
        assertEquals(sorted(store.totals()), sorted(truth(items.map((i) => i.ev))));
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("property: arbitrary order, duplicates, malformed records, crashes and flushes written while records go on: windows + late ledger = truth", () => {
  fc.assert(
    fc.property(
      eventsArb,
      fc.array(fc.nat(), { maxLength: 40 }), // which events are re-sent
      fc.array(fc.nat(), { maxLength: 10 }), // where malformed records go
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 30 }),
      fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 40 }),
      (items, dups, bad, parts, flushEvery, crashes, crashesInTxn, shuffle, behind) => {
        let order = items.map((it) => ({ ...it, bad: false }));
        if (shuffle) {
          order = [...order].sort((a, b) => (a.jitter * 7919 % 1000) - (b.jitter * 7919 % 1000));
        }
        // duplicates: an identical copy (same id, same partition) later in the stream
        for (const d of dups) {
          const src = order[d % order.length]!;
          if (src.bad) continue;
          order.splice(Math.min(order.length, (d % order.length) + 1 + (d % 7)), 0, { ...src });
        }
        for (const b of bad) {
          order.splice(b % (order.length + 1), 0, { ...order[0]!, bad: true, part: b });
        }
        const logs: Uint8Array[][] = Array.from({ length: parts }, () => []);
        for (const it of order) logs[it.part % parts]!.push(it.bad ? MALFORMED : bytes(it.ev));
        const store = new FakeStore();
        // duplicates here may come minutes of event time later: keep them all in the horizon
        const opts = { ...OPTS, dedupHorizonMs: 600_000 };
        logs.forEach((log, p) =>
          runPartition(log, p, store, opts, {
            flushEvery,
            crashes: new Set(crashes),
            crashesInTxn: new Set(crashesInTxn.map((c) => c * flushEvery)),
            behind,
          })
        );
        assertEquals(sorted(store.totals()), sorted(truth(items.map((i) => i.ev))));
        assertEquals(store.dead, order.filter((o) => o.bad).length);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("a late event goes to the ledger with its lateness; a copy within the horizon is dropped", () => {
  const st = new PartitionState(
    "t",
    0,
    { nextOffset: 0n, replayOffset: 0n, watermark: null, epoch: 1 },
    OPTS,
    0,
  );
  const a: Ev = { id: "a", time: T0 + 1000, action: 0, cents: 1, qty: 1 };
  const b: Ev = { id: "b", time: T0 + 200_000, action: 0, cents: 1, qty: 1 };
  const late: Ev = { id: "c", time: T0 + 5000, action: 4, cents: 250, qty: 2 };
  assertEquals(
    st.process({ offset: 0n, timestamp: REC_TS, key: null, value: bytes(a) }),
    "counted",
  );
  assertEquals(
    st.process({ offset: 1n, timestamp: REC_TS, key: null, value: bytes(b) }),
    "counted",
  );
  assertEquals(
    st.process({ offset: 2n, timestamp: REC_TS, key: null, value: bytes(late) }),
    "late",
  );
  assertEquals(
    st.process({ offset: 3n, timestamp: REC_TS, key: null, value: bytes(late) }),
    "duplicate",
  );
  assertEquals(
    st.process({ offset: 4n, timestamp: REC_TS, key: null, value: bytes(a) }),
    "duplicate",
  );
  assertEquals(st.process({ offset: 5n, timestamp: REC_TS, key: null, value: MALFORMED }), "dead");
  assertEquals(
    st.process({ offset: 5n, timestamp: REC_TS, key: null, value: MALFORMED }),
    "skipped",
  );
  const plan = st.plan()!;
  assertEquals(plan.late.length, 1);
  assertEquals(plan.late[0]!.latenessMs, T0 + 200_000 - 10_000 - (T0 + 60_000));
  assertEquals(plan.late[0]!.revenueCents, 500);
  assertEquals(plan.dead.map((d) => d.reason), ["not_json"]);
  assertEquals(plan.nextOffset, 6n);
  // window 0 is final at this watermark; window 3 (b) is open and holds replay at offset 1
  assertEquals(plan.replayOffset, 1n); // window 0 final and past the horizon: only b holds replay
  st.committed(plan);
  assertEquals([...st.windows.keys()], [windowStart(T0 + 200_000)]);
  assertEquals(st.plan(), null);
});

Deno.test("replay below the stored next_offset rebuilds open windows without re-emitting", () => {
  const st = new PartitionState(
    "t",
    0,
    { nextOffset: 3n, replayOffset: 0n, watermark: T0 + 70_000, epoch: 2 },
    OPTS,
    0,
  );
  const old: Ev = { id: "x", time: T0 + 1000, action: 0, cents: 1, qty: 1 }; // final window
  const open: Ev = { id: "y", time: T0 + 75_000, action: 1, cents: 1, qty: 1 };
  assertEquals(
    st.process({ offset: 0n, timestamp: REC_TS, key: null, value: bytes(old) }),
    "replayed",
  );
  assertEquals(
    st.process({ offset: 1n, timestamp: REC_TS, key: null, value: bytes(open) }),
    "replayed",
  );
  assertEquals(
    st.process({ offset: 2n, timestamp: REC_TS, key: null, value: MALFORMED }),
    "replayed",
  );
  assertEquals(st.replaying, false);
  assertEquals(st.dedup.has("x"), true);
  assertEquals(st.windows.size, 1);
  assertEquals(st.plan(), null); // nothing new to write
  assertEquals(
    st.process({ offset: 3n, timestamp: REC_TS, key: null, value: bytes(old) }),
    "duplicate",
  );
});

Deno.test("property: with a short dedup horizon, copies re-sent soon after are still counted once (crashes included)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          late: fc.integer({ min: 0, max: 40_000 }),
          dup: fc.integer({ min: 0, max: 20 }),
          action: fc.integer({ min: 0, max: 4 }),
        }),
        { minLength: 1, maxLength: 150 },
      ),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 1, max: 150 }), { maxLength: 5 }),
      (xs, flushEvery, crashes) => {
        // event i at T0 + 2 s * i, emitted up to 40 s late (allowed: 10 s); a copy follows
        // 1-7 records later when dup <= 6
        const evs: Ev[] = xs.map((x, i) => ({
          id: `e${i}`,
          time: T0 + 2000 * i,
          action: x.action,
          cents: 100,
          qty: 1,
        }));
        const order = evs.map((e, i) => ({ e, at: e.time + xs[i]!.late }))
          .sort((a, b) => a.at - b.at).map((x) => x.e);
        const withDups: Ev[] = [];
        const pending: { e: Ev; after: number }[] = [];
        order.forEach((e, i) => {
          withDups.push(e);
          const d = xs[Number(e.id.slice(1))]!.dup;
          if (d <= 6) pending.push({ e, after: i + d });
          for (const p of pending.filter((p) => p.after === i)) withDups.push(p.e);
        });
        for (const p of pending.filter((p) => p.after >= order.length)) withDups.push(p.e);
        const store = new FakeStore();
        runPartition(withDups.map(bytes), 0, store, OPTS, {
          flushEvery,
          crashes: new Set(crashes),
          crashesInTxn: new Set(),
        });
        assertEquals(sorted(store.totals()), sorted(truth(evs)));
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("an idle partition follows the frontier only after an end-offset read taken later still finds it caught up", () => {
  const st = new PartitionState(
    "t",
    0,
    { nextOffset: 0n, replayOffset: 0n, watermark: null, epoch: 1 },
    OPTS,
    0,
  );
  const ev = (id: string, time: number): Ev => ({ id, time, action: 0, cents: 1, qty: 1 });
  st.process({ offset: 0n, timestamp: REC_TS, key: null, value: bytes(ev("a", T0 + 1000)) }, 0);
  st.highWatermark = 1n;
  const frontier = (ms: number) => ({ frontier: ms, othersIdle: false, othersLive: false });
  const before = st.watermark.value;
  // idle at 2000 (timeout 1000); the view taken now waits for a read requested after it
  assertEquals(st.advanceIdle(frontier(T0 + 300_000), 2000, 1500), false);
  assertEquals(st.watermark.value, before);
  // a read requested at 2000 (not after the view): still waiting
  assertEquals(st.advanceIdle(frontier(T0 + 300_000), 2500, 2000), false);
  // the read found a record the fetch has not delivered: not idle, the held view is dropped
  st.highWatermark = 2n;
  assertEquals(st.advanceIdle(frontier(T0 + 300_000), 3000, 2600), false);
  assertEquals(
    st.process(
      { offset: 1n, timestamp: REC_TS, key: null, value: bytes(ev("b", T0 + 2000)) },
      3100,
    ),
    "counted",
    "the record sent with the frontier's records counts on time",
  );
  // idle again: view at 4200, confirmed by a read requested at 4300
  assertEquals(st.advanceIdle(frontier(T0 + 300_000), 4200, 3500), false);
  assertEquals(st.advanceIdle(frontier(T0 + 400_000), 4400, 4300), true);
  assertEquals(
    st.watermark.value,
    T0 + 300_000,
    "the confirmed view's frontier, not the newer one",
  );
  assertEquals(st.advanceIdle(frontier(T0 + 500_000), 4600, 4500), true);
  assertEquals(st.watermark.value, T0 + 400_000);
});

Deno.test("a quiet live partition follows the wall clock as of the latest end-offset read, not now", () => {
  const t = Date.UTC(2026, 5, 1, 12, 0, 30);
  const st = new PartitionState(
    "t",
    0,
    { nextOffset: 0n, replayOffset: 0n, watermark: null, epoch: 1 },
    OPTS,
    t,
  );
  const live: Ev = { id: "a", time: t, action: 0, cents: 1, qty: 1 };
  st.process({ offset: 0n, timestamp: t, key: null, value: bytes(live) }, t);
  st.highWatermark = 1n;
  const allIdle = { frontier: null, othersIdle: true, othersLive: true };
  assert(st.live);
  assertEquals(st.advanceIdle(allIdle, t + 5000, 0), false, "no read yet: nothing moves");
  assertEquals(st.advanceIdle(allIdle, t + 6000, t + 4000), true);
  assertEquals(st.watermark.value, t + 4000 - OPTS.allowedLatenessMs);
});
