/**
 * Event-time tumbling one-minute windows: which window an event belongs to, and the
 * absolute per-window aggregate a partition keeps (count per action, revenue in cents).
 *
 * @module
 */
import { type Action, ACTIONS, type EventCore, revenueCents } from "../events/mod.ts";

export { revenueCents };

/** Length of a window in milliseconds (one minute). */
export const WINDOW_MS = 60_000;

/** Start (epoch ms, UTC) of the one-minute window holding `timeMs`. */
export function windowStart(timeMs: number): number {
  return Math.floor(timeMs / WINDOW_MS) * WINDOW_MS;
}

/** End (exclusive, epoch ms) of the window starting at `startMs`. */
export function windowEnd(startMs: number): number {
  return startMs + WINDOW_MS;
}

/** Index of each action in `WindowAgg.counts`. */
export const ACTION_INDEX: Readonly<Record<Action, number>> = Object.fromEntries(
  ACTIONS.map((a, i) => [a, i]),
) as Record<Action, number>;

/** The aggregate of one window for one partition. Values are absolute, not deltas. */
export interface WindowAgg {
  /** Window start, epoch ms. */
  start: number;
  /** Events per action, indexed like `ACTIONS`. */
  counts: number[];
  /** Exact sum of purchase revenue, integer cents. */
  revenueCents: bigint;
  /** Offset of the first record counted into this window (replay must start at or before it). */
  firstOffset: bigint;
  /** Changed since the last successful flush. */
  dirty: boolean;
}

/** A new, empty window aggregate. */
export function emptyWindow(start: number, firstOffset: bigint): WindowAgg {
  return { start, counts: ACTIONS.map(() => 0), revenueCents: 0n, firstOffset, dirty: true };
}

/** Counts `event` into `w`. */
export function addToWindow(w: WindowAgg, event: EventCore): void {
  w.counts[ACTION_INDEX[event.action]]! += 1;
  if (event.action === "purchase") w.revenueCents += BigInt(revenueCents(event));
  w.dirty = true;
}
