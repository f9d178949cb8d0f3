/**
 * The event-time rules of the aggregator, in one place (docs/aggregator.md repeats them):
 *
 * 1. **Watermark.** Per partition: the latest event time seen minus `NEXUS_ALLOWED_LATENESS_MS`.
 *    It never moves backwards. A window `[s, s + 1 min)` is final for a partition once its
 *    watermark reaches `s + 1 min`, and final in the views once every partition's is.
 * 2. **Clock guard.** An event whose time is more than `NEXUS_MAX_FUTURE_MS` ahead of its Kafka
 *    record timestamp is dead-lettered (`future_timestamp`) and never observed: one wrong
 *    producer clock cannot push a watermark into the future. Old events are valid; they count
 *    on time or go to the late ledger like any other.
 * 3. **Idleness.** A partition is idle when it is caught up with its log end and has had no
 *    record for `NEXUS_IDLE_TIMEOUT_MS`. Owners store `idle` (and `live`, below) with every
 *    checkpoint, so every process sees every partition's state.
 * 4. **Progress of idle partitions.** While any partition of the topic is active (not idle),
 *    an idle partition's watermark advances to the topic's **frontier**: the lowest watermark of
 *    the active partitions. Event time, not the wall clock: replaying last month's events with
 *    pauses in it turns nothing late, and an idle partition never holds the others back.
 * 5. **The wall clock** moves a watermark only when the whole topic is idle and it is a live
 *    stream: every partition's latest event time is within `allowedLateness + idleTimeout` of
 *    its record timestamp, and that record was processed within the same span of its record
 *    timestamp (a backfill with original timestamps is not live). Then idle partitions follow
 *    `now − allowedLateness`, so a quiet live stream's last windows become final.
 * 6. **Idle is confirmed by the log end.** Rule 4 uses a topic view taken at time t only once
 *    an end-offset read requested after t still finds the partition caught up, and rule 5 uses
 *    the time of the latest such read, not `now`. Records sent together land in different
 *    partitions' fetches at different moments; a partition whose records of a burst are in the
 *    log but not fetched yet would otherwise follow the frontier its neighbours' records of the
 *    same burst set, and turn them late. Idle partitions lag by up to one read period.
 *
 * A watermark never decreases and final windows never change, whichever rule moved it.
 *
 * @module
 */
import { windowEnd } from "./window.ts";

/** Settings of a watermark. */
export interface WatermarkOptions {
  allowedLatenessMs: number;
  idleTimeoutMs: number;
}

/** The topic-wide inputs of rules 4 and 5, as seen by one partition (`topicTime`). */
export interface TopicTime {
  /** Lowest watermark of the other partitions that are active; null when none is. */
  frontier: number | null;
  /** Every other partition is idle. */
  othersIdle: boolean;
  /** Every other partition is live. */
  othersLive: boolean;
}

/** One partition's stored state, as its owner last wrote it. */
export interface PartitionTime {
  partition: number;
  watermark: number | null;
  idle: boolean;
  live: boolean;
}

/**
 * Rules 4 and 5 for `self`, from every partition's state (`views`; a partition missing from it
 * counts as active without a watermark: it holds nothing back and keeps the topic from being
 * idle).
 */
export function topicTime(views: PartitionTime[], partitions: number, self: number): TopicTime {
  const byPartition = new Map(views.map((v) => [v.partition, v]));
  let frontier: number | null = null;
  let othersIdle = true;
  let othersLive = true;
  for (let p = 0; p < partitions; p++) {
    if (p === self) continue;
    const v = byPartition.get(p);
    if (!v || !v.idle) {
      othersIdle = false;
      if (v?.watermark != null && (frontier === null || v.watermark < frontier)) {
        frontier = v.watermark;
      }
    }
    if (!v || !v.live) othersLive = false;
  }
  return { frontier, othersIdle, othersLive };
}

/**
 * Rule 5's test of one partition: its latest event time (`maxEventTime`) is close to the
 * record timestamp of its last record (`recordTs`), which was processed (`seenAt`) close to it.
 */
export function isLive(
  maxEventTime: number | null,
  recordTs: number,
  seenAt: number,
  opts: WatermarkOptions,
): boolean {
  if (maxEventTime === null) return false;
  const span = opts.allowedLatenessMs + opts.idleTimeoutMs;
  return Math.abs(recordTs - maxEventTime) <= span && seenAt - recordTs <= span;
}

/** A monotone per-partition watermark. */
export class Watermark {
  #value: number | null;
  #maxEventTime: number | null = null;
  readonly #opts: WatermarkOptions;

  constructor(opts: WatermarkOptions, initial: number | null = null) {
    this.#opts = opts;
    this.#value = initial;
  }

  /** Current watermark (epoch ms) or null before the first event. */
  get value(): number | null {
    return this.#value;
  }

  /** Latest event time observed by this process, or null. */
  get maxEventTime(): number | null {
    return this.#maxEventTime;
  }

  /** Observes an event time: the watermark becomes max(watermark, time − lateness). */
  observe(timeMs: number): void {
    if (this.#maxEventTime === null || timeMs > this.#maxEventTime) this.#maxEventTime = timeMs;
    this.advanceTo(timeMs - this.#opts.allowedLatenessMs);
  }

  /** Moves the watermark forward to `ms` (never backwards). True when it moved. */
  advanceTo(ms: number): boolean {
    if (this.#value === null || ms > this.#value) {
      this.#value = ms;
      return true;
    }
    return false;
  }

  /**
   * Rules 4 and 5 for an idle partition: the topic's frontier while another partition is
   * active; `now − lateness` when every partition is idle and live (`selfLive` for this one).
   * True when the watermark moved.
   */
  advanceIdle(topic: TopicTime, nowMs: number, selfLive: boolean): boolean {
    if (topic.frontier !== null) return this.advanceTo(topic.frontier);
    if (topic.othersIdle && topic.othersLive && selfLive) {
      return this.advanceTo(nowMs - this.#opts.allowedLatenessMs);
    }
    return false;
  }

  /** True when the window starting at `startMs` is final: watermark ≥ window end. */
  isFinal(startMs: number): boolean {
    return this.#value !== null && this.#value >= windowEnd(startMs);
  }
}
