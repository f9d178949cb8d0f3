/**
 * Event-time tumbling one-minute windows: which window an event belongs to, and the
 * absolute per-window aggregate a partition keeps (count per action, revenue in cents).
 *
 * @module
 */
import { type Action, ACTIONS, type ClickEvent, revenueCents } from "../events/mod.ts";

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
export function addToWindow(w: WindowAgg, event: ClickEvent): void {
  w.counts[ACTION_INDEX[event.action]]! += 1;
  if (event.action === "purchase") w.revenueCents += BigInt(revenueCents(event));
  w.dirty = true;
}

/** Total of a window across partitions, as the output views present it. */
export interface WindowTotals {
  counts: Record<Action, number>;
  purchases: number;
  revenueCents: bigint;
}

/** Empty totals with every action at zero. */
export function emptyTotals(): WindowTotals {
  return {
    counts: Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>,
    purchases: 0,
    revenueCents: 0n,
  };
}

/** Adds one event to per-minute totals keyed by window-start ISO (reference semantics). */
export function addToTotals(
  totals: Map<string, WindowTotals>,
  event: ClickEvent,
  timeMs: number,
): void {
  const key = new Date(windowStart(timeMs)).toISOString();
  let t = totals.get(key);
  if (!t) totals.set(key, t = emptyTotals());
  t.counts[event.action] += 1;
  if (event.action === "purchase") {
    t.purchases += 1;
    t.revenueCents += BigInt(revenueCents(event));
  }
}
