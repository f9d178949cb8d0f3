/**
 * The aggregation state of one partition: open windows (absolute partial aggregates),
 * the de-duplication set, the watermark, and what is pending for the next flush (late
 * events and dead letters). Pure: no I/O. `consumer.ts` feeds it records; `sink.ts` writes
 * the `FlushPlan` it produces.
 *
 * Event time: see `watermark.ts` for the rules (watermark, idleness, clock guard). A record
 * whose event time is too far ahead of its Kafka record timestamp is dead-lettered
 * (`future_timestamp`) before it can move the watermark.
 *
 * Replay rule (exactly-once after a restart): records below the stored `nextOffset` were
 * already processed and their effects are in Postgres. They are replayed only to rebuild
 * state, and classified against the stored watermark `W`: a record whose window ends after
 * `W` was counted into that (still open) window, because the watermark never decreases;
 * a record whose window ends at or before `W` is already in a persisted final window or in
 * the late ledger, and only its event_id is re-learnt (when still within the dedup horizon).
 *
 * @module
 */
import {
  type EventCore,
  type MalformedKind,
  validateRecord,
  validateRecordCore,
} from "../events/mod.ts";
import { DedupSet, IdSet } from "./dedup.ts";
import { isLive, type TopicTime, Watermark } from "./watermark.ts";
import {
  addToWindow,
  emptyWindow,
  revenueCents,
  type WindowAgg,
  windowEnd,
  windowStart,
} from "./window.ts";

/** Options of a partition's state. */
export interface PartitionOptions {
  allowedLatenessMs: number;
  idleTimeoutMs: number;
  /** Dedup ids are kept until window end + this ≤ watermark. */
  dedupHorizonMs: number;
  /** Clock guard: largest lead of an event time over its record timestamp (ms). */
  maxFutureMs: number;
}

/** What Postgres says about a partition when it is claimed. */
export interface Checkpoint {
  nextOffset: bigint;
  replayOffset: bigint;
  watermark: number | null;
  epoch: number;
}

/** One consumed record. */
export interface InputRecord {
  offset: bigint;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** A late event waiting to be written to `late_events`. */
export interface LateRecord {
  eventId: string;
  offset: bigint;
  windowStart: number;
  watermark: number;
  latenessMs: number;
  action: string;
  revenueCents: number;
  eventJson: string;
  /** The record, kept in case PostgreSQL refuses to store the event (it is then dead-lettered). */
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** A malformed record waiting to be dead-lettered. */
export interface DeadRecord {
  offset: bigint;
  reason: MalformedKind;
  detail: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Set once the DLQ send succeeded (a retried flush does not send it again). */
  produced: boolean;
}

/** Absolute partial aggregate of one window, to be merged into `window_partials`. */
export interface PartialRow {
  windowStart: number;
  counts: number[];
  /** Exact sum of purchase revenue, integer cents. */
  revenueCents: bigint;
}

/** Everything one flush of one partition writes, in one transaction. */
export interface FlushPlan {
  topic: string;
  partition: number;
  epoch: number;
  /** Compare-and-set: the stored next_offset this plan follows. */
  prevNextOffset: bigint;
  nextOffset: bigint;
  replayOffset: bigint;
  watermark: number | null;
  /** Caught up and silent for the idle timeout (other owners read it: `watermark.ts`). */
  idle: boolean;
  /** Event time tracks record time and the wall clock (`watermark.ts` `isLive`). */
  live: boolean;
  partials: PartialRow[];
  late: LateRecord[];
  dead: DeadRecord[];
}

/** How one record was handled. */
export type Outcome = "counted" | "duplicate" | "late" | "dead" | "replayed" | "skipped";

/** The state of one partition owned by this process. */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly watermark: Watermark;
  readonly dedup: DedupSet;
  /** Open windows by start. */
  readonly windows = new Map<number, WindowAgg>();
  /** Next offset to process (records below it are skipped). */
  position: bigint;
  /** The stored next_offset: records below it are replayed, not re-applied. */
  committedNext: bigint;
  #committedReplay: bigint;
  #committedWatermark: number | null;
  #committedIdle = false;
  #committedLive = false;
  /** Record timestamp of the last valid record, and the wall clock when it was processed. */
  #lastRecordTs: number | null = null;
  #lastSeenAt = 0;
  /** The topic view an idle partition waits to confirm (`advanceIdle`). */
  #idleView?: { frontier: number; at: number };
  /** Watermark of the checkpoint this state was rebuilt from (replay classification). */
  readonly #replayWatermark: number | null;
  #late: LateRecord[] = [];
  #lateIds = new IdSet();
  #dead: DeadRecord[] = [];
  /** Records since the last plan that was committed (or since the claim). */
  pendingEvents = 0;
  /** `pendingEvents` when the latest plan was taken: what its commit settles. */
  #plannedEvents = 0;
  lastRecordAt: number;
  /** True once a record has been processed since the claim. */
  started = false;
  /** Last known high watermark (log end offset) of the partition, for idle detection. */
  highWatermark = -1n;
  readonly stats = { eventsIn: 0, counted: 0, duplicates: 0, late: 0, dead: 0, replayed: 0 };

  constructor(
    topic: string,
    partition: number,
    checkpoint: Checkpoint,
    readonly opts: PartitionOptions,
    now = Date.now(),
  ) {
    this.topic = topic;
    this.partition = partition;
    this.epoch = checkpoint.epoch;
    this.watermark = new Watermark(opts, checkpoint.watermark);
    this.dedup = new DedupSet(opts.dedupHorizonMs);
    this.position = checkpoint.replayOffset;
    this.committedNext = checkpoint.nextOffset;
    this.#committedReplay = checkpoint.replayOffset;
    this.#committedWatermark = checkpoint.watermark;
    this.#replayWatermark = checkpoint.watermark;
    this.lastRecordAt = now;
  }

  /** True while records below the stored next_offset are still being replayed. */
  get replaying(): boolean {
    return this.position < this.committedNext;
  }

  /** Late events and dead letters waiting for the next flush. */
  get pendingLate(): number {
    return this.#late.length;
  }

  /** Processes one record. Records below `position` are ignored (already processed). */
  process(rec: InputRecord, now = Date.now()): Outcome {
    if (rec.offset < this.position) return "skipped";
    this.position = rec.offset + 1n;
    this.lastRecordAt = now;
    this.#idleView = undefined;
    const replay = rec.offset < this.committedNext;
    const v = validateRecordCore(rec.value, {
      recordTimestamp: rec.timestamp,
      maxFutureMs: this.opts.maxFutureMs,
    });
    if (v.ok) {
      this.#lastRecordTs = rec.timestamp;
      this.#lastSeenAt = now;
    }
    if (replay) {
      this.stats.replayed++;
      if (v.ok) this.#replay(v.event, v.time, rec.offset);
      return "replayed";
    }
    // Dead and late records wait for the next flush: keep copies, not views into the client's
    // fetch buffers (a view would keep a whole fetch response alive for one record).
    const key = rec.key;
    const value = rec.value;
    this.stats.eventsIn++;
    this.pendingEvents++;
    if (!v.ok) {
      this.#dead.push({
        offset: rec.offset,
        reason: v.reason,
        detail: v.detail,
        key: copy(key),
        value: copy(value),
        produced: false,
      });
      this.stats.dead++;
      return "dead";
    }
    return this.#live(v.event, v.time, rec.offset, key, value);
  }

  #replay(event: EventCore, time: number, offset: bigint): void {
    const ws = windowStart(time);
    if (this.dedup.has(event.event_id)) return;
    // the watermark a replayed record saw when it was first processed is at most the stored
    // one, and its own event time moved it: observe it again so idle rules see the same
    this.watermark.observe(time);
    const w = this.#replayWatermark;
    if (w === null || windowEnd(ws) > w) {
      this.#count(event, ws, offset);
      const agg = this.windows.get(ws)!;
      agg.dirty = false; // already persisted with this content
    } else if (this.dedup.retains(ws, w)) {
      this.dedup.add(event.event_id, ws, offset);
    }
  }

  #count(event: EventCore, ws: number, offset: bigint): void {
    let agg = this.windows.get(ws);
    if (!agg) this.windows.set(ws, agg = emptyWindow(ws, offset));
    addToWindow(agg, event);
    this.dedup.add(event.event_id, ws, offset);
  }

  #live(
    event: EventCore,
    time: number,
    offset: bigint,
    key: Uint8Array | null,
    value: Uint8Array | null,
  ): Outcome {
    const ws = windowStart(time);
    const id = event.event_id;
    if (this.dedup.has(id) || this.#lateIds.has(id)) {
      this.stats.duplicates++;
      return "duplicate";
    }
    let outcome: Outcome;
    const wm = this.watermark.value;
    if (wm !== null && wm >= windowEnd(ws)) {
      this.#late.push({
        eventId: id,
        offset,
        windowStart: ws,
        watermark: wm,
        latenessMs: wm - windowEnd(ws),
        action: event.action,
        revenueCents: revenueCents(event),
        eventJson: JSON.stringify(fullEvent(value, event)),
        key: copy(key),
        value: copy(value),
      });
      this.#lateIds.add(id);
      if (this.dedup.retains(ws, wm)) this.dedup.add(id, ws, offset);
      this.stats.late++;
      outcome = "late";
    } else {
      this.#count(event, ws, offset);
      this.stats.counted++;
      outcome = "counted";
    }
    this.watermark.observe(time);
    return outcome;
  }

  /** Caught up with the log end and without records for the idle timeout. */
  isIdle(now = Date.now()): boolean {
    if (this.replaying) return false;
    if (this.highWatermark >= 0n && this.position < this.highWatermark) return false;
    return now - this.lastRecordAt >= this.opts.idleTimeoutMs;
  }

  /** True when this partition's event time tracks its record time and the wall clock. */
  get live(): boolean {
    const last = this.#lastRecordTs;
    if (last === null) return false;
    return isLive(this.watermark.maxEventTime, last, this.#lastSeenAt, this.opts);
  }

  /**
   * Applies the topic's event-time progress to this partition while it is idle (see
   * `watermark.ts`, rule 6). Rule 4: the frontier of the topic view taken now (`topic`) is
   * held and applied on a later call, once an end-offset read requested after it
   * (`endOffsetsReadAt`) still finds this partition caught up; a record already in the log when
   * the view was taken (sent with the records that moved the frontier, not fetched yet) keeps
   * the partition active instead of turning late. Rule 5: the wall clock as of that read.
   * True when the watermark moved.
   */
  advanceIdle(topic: TopicTime, now: number, endOffsetsReadAt: number): boolean {
    if (!this.isIdle(now)) {
      this.#idleView = undefined;
      return false;
    }
    let moved = false;
    const held = this.#idleView;
    if (held && endOffsetsReadAt > held.at) {
      moved = this.watermark.advanceTo(held.frontier);
      this.#idleView = undefined;
    }
    if (topic.frontier !== null) this.#idleView ??= { frontier: topic.frontier, at: now };
    else if (endOffsetsReadAt > 0) {
      // every record appended before the read has been taken (the partition is caught up)
      moved = this.watermark.advanceIdle(topic, Math.min(now, endOffsetsReadAt), this.live) ||
        moved;
    }
    return moved;
  }

  /** Number of open windows plus retained dedup ids: the memory this partition holds. */
  get stateSize(): number {
    return this.windows.size + this.dedup.size + this.#late.length + this.#dead.length;
  }

  /**
   * The flush to write now, or null when there is nothing new (or still replaying). Records
   * may go on being processed while the plan is written: the plan is a snapshot (window
   * contents copied, lists copied), and `committed` settles only what it holds. At most one
   * plan is written at a time (its compare-and-set follows the stored next_offset).
   */
  plan(): FlushPlan | null {
    if (this.replaying) return null;
    this.#plannedEvents = this.pendingEvents;
    const wm = this.watermark.value;
    const partials: PartialRow[] = [];
    for (const w of this.windows.values()) {
      if (w.dirty) {
        partials.push({
          windowStart: w.start,
          counts: [...w.counts],
          revenueCents: w.revenueCents,
        });
      }
    }
    let replay = this.position;
    for (const w of this.windows.values()) {
      const final = wm !== null && wm >= windowEnd(w.start);
      if (!final && w.firstOffset < replay) replay = w.firstOffset;
    }
    // dedup buckets retained after pruning at `wm`
    const dmin = this.#dedupMinAfterPrune(wm);
    if (dmin !== null && dmin < replay) replay = dmin;
    const idle = this.isIdle();
    const live = this.live;
    const changed = partials.length > 0 || this.#late.length > 0 || this.#dead.length > 0 ||
      this.position !== this.committedNext || wm !== this.#committedWatermark ||
      replay !== this.#committedReplay || idle !== this.#committedIdle ||
      live !== this.#committedLive;
    if (!changed) return null;
    return {
      topic: this.topic,
      partition: this.partition,
      epoch: this.epoch,
      prevNextOffset: this.committedNext,
      nextOffset: this.position,
      replayOffset: replay,
      watermark: wm,
      idle,
      live,
      partials,
      late: [...this.#late],
      dead: [...this.#dead],
    };
  }

  #dedupMinAfterPrune(wm: number | null): bigint | null {
    // Pruning is monotone in the watermark, so prune now: entries not retained at `wm` are
    // not needed whether or not this flush commits (a retry uses the same or a later `wm`).
    this.dedup.prune(wm);
    return this.dedup.minOffset();
  }

  /**
   * Applies a committed plan: drops final windows, clears what was written. A window counted
   * into after the plan was taken stays dirty (its stored content is not its content now), and
   * late events and dead letters queued since stay pending.
   */
  committed(plan: FlushPlan): void {
    this.committedNext = plan.nextOffset;
    this.#committedReplay = plan.replayOffset;
    this.#committedWatermark = plan.watermark;
    this.#committedIdle = plan.idle;
    this.#committedLive = plan.live;
    const wm = plan.watermark;
    for (const p of plan.partials) {
      const w = this.windows.get(p.windowStart);
      if (w && sameContent(w, p)) w.dirty = false;
    }
    if (wm !== null) {
      for (const [start, w] of this.windows) {
        if (wm >= windowEnd(start) && !w.dirty) this.windows.delete(start);
      }
    }
    this.#late.splice(0, plan.late.length);
    this.#dead.splice(0, plan.dead.length);
    if (this.#late.length === 0) this.#lateIds.clear();
    else for (const l of plan.late) this.#lateIds.delete(l.eventId);
    this.pendingEvents = Math.max(0, this.pendingEvents - this.#plannedEvents);
    this.#plannedEvents = 0;
  }

  /**
   * Turns pending late events PostgreSQL refused to store (`offsets`) into dead letters
   * (`unstorable`, with the database's reason), so the next plan writes the rest.
   */
  reject(offsets: ReadonlySet<bigint>, detail: (offset: bigint) => string): number {
    const keep: LateRecord[] = [];
    let moved = 0;
    for (const l of this.#late) {
      if (!offsets.has(l.offset)) {
        keep.push(l);
        continue;
      }
      this.#dead.push({
        offset: l.offset,
        reason: "unstorable",
        detail: detail(l.offset),
        key: l.key,
        value: l.value,
        produced: false,
      });
      this.#lateIds.delete(l.eventId);
      this.stats.late--;
      this.stats.dead++;
      moved++;
    }
    this.#late = keep;
    return moved;
  }
}

/** True when `row` (as written) is the window's content now. */
function sameContent(w: WindowAgg, row: PartialRow): boolean {
  if (w.revenueCents !== row.revenueCents || w.counts.length !== row.counts.length) return false;
  for (let i = 0; i < row.counts.length; i++) if (w.counts[i] !== row.counts[i]) return false;
  return true;
}

/**
 * The whole event a late record's `late_events.payload` keeps: the hot path reads only the
 * counting fields (`validateRecordCore`), so the value is validated once more in full — the
 * same verdict, since it is the same bytes; only late events (about 1 %) pay for it.
 */
function fullEvent(value: Uint8Array | null, core: EventCore): EventCore {
  const v = validateRecord(value);
  return v.ok ? v.event : core;
}

/** A copy of `b` in its own memory (null stays null). */
function copy(b: Uint8Array | null): Uint8Array | null {
  return b === null ? null : new Uint8Array(b);
}
