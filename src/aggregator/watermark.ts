/**
 * The per-partition event-time watermark: latest event time seen minus the allowed
 * lateness, never moving backwards, and following the wall clock when the partition is
 * idle (caught up and silent for the idle timeout) so finality is not held back forever.
 *
 * @module
 */
import { windowEnd } from "./window.ts";

/** Settings of a watermark. */
export interface WatermarkOptions {
  allowedLatenessMs: number;
  idleTimeoutMs: number;
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

  /** Moves the watermark forward to `ms` (never backwards). */
  advanceTo(ms: number): void {
    if (this.#value === null || ms > this.#value) this.#value = ms;
  }

  /**
   * Idle advance: when the partition has had no record for `idleTimeoutMs` (and the caller
   * knows it is caught up), the watermark follows the wall clock: now − lateness.
   * Returns true when it moved.
   */
  idleAdvance(nowMs: number, lastRecordAtMs: number): boolean {
    if (nowMs - lastRecordAtMs < this.#opts.idleTimeoutMs) return false;
    const before = this.#value;
    this.advanceTo(nowMs - this.#opts.allowedLatenessMs);
    return before !== this.#value;
  }

  /** True when the window starting at `startMs` is final: watermark ≥ window end. */
  isFinal(startMs: number): boolean {
    return this.#value !== null && this.#value >= windowEnd(startMs);
  }
}
