/**
 * The click stream: sessions of users funnelling view → click → add_to_cart → purchase over
 * Zipf-popular products, emitted in a deterministic order with late events, duplicates and
 * malformed records mixed in as the parameters ask.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Action,
  type ClickEvent,
  type MalformedKind,
  MAX_EVENT_BYTES,
  validateRecord,
  validateValue,
  VALUE_MALFORMED_KINDS,
} from "../events/mod.ts";
import { productId, productPrices, userId } from "./catalog.ts";
import { malformedValue } from "./malformed.ts";
import { checkStreamParams, runId, type StreamParams } from "./params.ts";
import { Random, ZipfSampler } from "./random.ts";
import { IsoFormatter } from "./timestamp.ts";

/** One record in emission order. */
export interface GeneratedRecord {
  /** Kafka key: the user id. */
  key: string;
  /** Kafka value: the JSON bytes (or the deliberately broken bytes). */
  value: Buffer;
  /** What the record is: a first copy of a valid event, a re-sent copy, or malformed. */
  kind: "valid" | "duplicate" | MalformedKind;
  /** Event time (epoch ms) of valid records and duplicates. */
  eventTime?: number;
  /** The event of valid records and duplicates. */
  event?: ClickEvent;
}

/** Options beyond the contract's parameters. */
export interface StreamOptions {
  /**
   * Live mode: event time is this clock's reading when the event is made (instead of
   * `start + i / eventsPerSecond`). Late events are still held back by their lateness.
   */
  clock?: () => number;
  /**
   * Check every record against the validator (default true): a valid event as the object its
   * bytes are the JSON of, a malformed record by its bytes.
   */
  selfCheck?: boolean;
}

const DEVICES = ["mobile", "mobile", "mobile", "desktop", "desktop", "tablet"] as const;
const REFERRERS = [
  "https://www.google.com/",
  "https://www.google.com/",
  "https://www.bing.com/",
  "https://news.ycombinator.com/",
  "https://t.co/",
  "https://www.instagram.com/",
  "newsletter",
  undefined,
  undefined,
];
/** Funnel probabilities: click after a view, cart after a click, purchase after a cart. */
export const FUNNEL = { click: 0.35, cart: 0.3, remove: 0.15, purchase: 0.55 } as const;
/** Concurrent sessions whose events interleave. */
const ACTIVE_SESSIONS = 64;

interface Planned {
  product: number;
  action: Action;
  quantity?: number;
}

interface Session {
  id: string;
  user: string;
  device: ClickEvent["device"];
  referrer?: string;
  plan: Planned[];
  next: number;
}

/** A pending late event: emitted once an on-time event at or after `emitAt` went out. */
interface Late {
  emitAt: number;
  seq: number;
  rec: GeneratedRecord;
}

/** A tiny binary min-heap, ordered by (emitAt, seq) so the order is deterministic. */
class LateHeap {
  readonly items: Late[] = [];
  get size(): number {
    return this.items.length;
  }
  #less(a: Late, b: Late): boolean {
    return a.emitAt < b.emitAt || (a.emitAt === b.emitAt && a.seq < b.seq);
  }
  push(x: Late): void {
    const h = this.items;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  peek(): Late | undefined {
    return this.items[0];
  }
  pop(): Late | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The records of a stream, deterministic from `p`, in emission order. Lazy: a stream of any
 * length uses memory proportional to the late and duplicate records pending.
 *
 * Emission rules:
 * - valid events get event times `start + floor(i * 1000 / eventsPerSecond)`;
 * - a late event (probability `lateFraction`) gets a lateness L uniform on
 *   [1, maxLatenessMs] and is emitted right after the first on-time event whose time is
 *   >= its time + L, so it always follows at least one event with a later event time;
 * - after each valid event, with probability `duplicateFraction`, an identical copy is
 *   scheduled 1-40 records later;
 * - after each valid event, with probability `malformedFraction`, one malformed record
 *   follows; kinds cycle through `VALUE_MALFORMED_KINDS` in order.
 */
export function* generateStream(
  p: StreamParams,
  options: StreamOptions = {},
): Generator<GeneratedRecord> {
  checkStreamParams(p);
  const selfCheck = options.selfCheck ?? true;
  const clock = options.clock;
  const run = runId(p);
  const t0 = Date.parse(p.start);
  const prices = productPrices(p.seed, p.products, p.start);
  const rngSessions = new Random(p.seed, "sessions");
  const rngLate = new Random(p.seed, "late");
  const rngDup = new Random(p.seed, "duplicates");
  const rngBad = new Random(p.seed, "malformed");
  const productZipf = new ZipfSampler(p.products, 1.1);
  const userZipf = new ZipfSampler(p.users, 0.6);

  let sessionCount = 0;
  const newSession = (): Session => {
    const r = rngSessions;
    const plan: Planned[] = [];
    const views = 1 + Math.min(20, Math.floor(-Math.log(1 - r.next()) * 3));
    for (let v = 0; v < views; v++) {
      const product = productZipf.sample(r);
      plan.push({ product, action: "view" });
      if (!r.chance(FUNNEL.click)) continue;
      plan.push({ product, action: "click" });
      if (!r.chance(FUNNEL.cart)) continue;
      plan.push({ product, action: "add_to_cart" });
      if (r.chance(FUNNEL.remove)) {
        plan.push({ product, action: "remove_from_cart" });
      } else if (r.chance(FUNNEL.purchase)) {
        plan.push({ product, action: "purchase", quantity: r.chance(0.8) ? 1 : r.range(2, 4) });
      }
    }
    sessionCount++;
    return {
      id: `${run}-s${sessionCount}`,
      user: userId(userZipf.sample(r)),
      device: r.pick(DEVICES),
      referrer: r.pick(REFERRERS),
      plan,
      next: 0,
    };
  };
  const sessions: Session[] = [];
  for (let s = 0; s < Math.min(ACTIVE_SESSIONS, p.events); s++) sessions.push(newSession());

  const check = (rec: GeneratedRecord) => {
    // A valid record's bytes are JSON.stringify(rec.event), and JSON round-trips its strings,
    // integers and finite numbers exactly: checking the object (and the size) checks the
    // bytes, without decoding and parsing them again.
    const v = rec.event && rec.value.byteLength <= MAX_EVENT_BYTES
      ? validateValue(rec.event)
      : validateRecord(rec.value);
    const got = v.ok ? "valid" : v.reason;
    const want = rec.kind === "duplicate" ? "valid" : rec.kind;
    if (got !== want) {
      throw new Error(
        `generator self-check failed: meant ${want}, validator says ${got}${
          v.ok ? "" : ` (${v.detail})`
        }: ${rec.value.toString("utf8", 0, 200)}`,
      );
    }
  };

  // Output is assembled in `out` and yielded after each step.
  const out: GeneratedRecord[] = [];
  let emitted = 0;
  let malformedCount = 0;
  const dups: { due: number; rec: GeneratedRecord }[] = []; // sorted by due
  const emitOne = (rec: GeneratedRecord) => {
    if (selfCheck) check(rec);
    out.push(rec);
    emitted++;
    while (dups.length > 0 && dups[0]!.due <= emitted) {
      const d = dups.shift()!;
      out.push(d.rec);
      emitted++;
    }
  };
  const emitValid = (rec: GeneratedRecord) => {
    emitOne(rec);
    if (rngDup.chance(p.duplicateFraction)) {
      const due = emitted + rngDup.range(1, 40);
      let i = dups.length;
      while (i > 0 && dups[i - 1]!.due > due) i--;
      dups.splice(i, 0, { due, rec: { ...rec, kind: "duplicate" } });
    }
    if (rngBad.chance(p.malformedFraction)) {
      const kind = VALUE_MALFORMED_KINDS[malformedCount % VALUE_MALFORMED_KINDS.length]!;
      malformedCount++;
      const base = makeEvent(`${run}-bad${malformedCount}`, rec.event!, rec.event!.timestamp);
      emitOne({ key: base.user_id, value: malformedValue(kind, base, rngBad), kind });
    }
  };
  const makeEvent = (id: string, like: ClickEvent, timestamp: string): ClickEvent => ({
    ...like,
    event_id: id,
    timestamp,
  });

  const iso = new IsoFormatter();
  const late = new LateHeap();
  let lateSeq = 0;
  for (let i = 0; i < p.events; i++) {
    const si = rngSessions.int(sessions.length);
    let s = sessions[si]!;
    if (s.next >= s.plan.length) {
      s = sessions[si] = newSession();
    }
    const step = s.plan[s.next++]!;
    const t = clock ? clock() : t0 + Math.floor(i * 1000 / p.eventsPerSecond);
    const event: ClickEvent = {
      schema_version: 1,
      event_id: `${run}-${i}`,
      user_id: s.user,
      session_id: s.id,
      product_id: productId(step.product),
      action: step.action,
      timestamp: iso.format(t),
    };
    if (step.action === "purchase") {
      event.price = prices[step.product]! / 100;
      event.quantity = step.quantity!;
    }
    event.device = s.device;
    if (s.referrer !== undefined) event.referrer = s.referrer;
    const rec: GeneratedRecord = {
      key: event.user_id,
      value: Buffer.from(JSON.stringify(event)),
      kind: "valid",
      eventTime: t,
      event,
    };
    if (rngLate.chance(p.lateFraction)) {
      late.push({ emitAt: t + rngLate.range(1, p.maxLatenessMs), seq: lateSeq++, rec });
    } else {
      emitValid(rec);
      while (late.size > 0 && late.peek()!.emitAt <= t) emitValid(late.pop()!.rec);
    }
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  while (late.size > 0) emitValid(late.pop()!.rec);
  for (const d of dups) out.push(d.rec);
  dups.length = 0;
  yield* out;
}
