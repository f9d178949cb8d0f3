/**
 * Per-partition de-duplication by event_id, bounded by open windows plus a horizon.
 *
 * Records with the same event_id share a Kafka key, hence a partition, so a per-partition
 * set is enough. Ids are kept in buckets by window start; a bucket is dropped once its
 * window is final AND `horizonMs` behind the watermark (window end + horizon ≤ watermark).
 * A copy arriving later than that is not recognised here; if its window is final it goes to
 * the late ledger, whose unique (topic, event_id) key still stops a second late copy.
 *
 * @module
 */
import { windowEnd } from "./window.ts";

interface Bucket {
  ids: string[];
  /** Offset of the first id added (ids are added in offset order). */
  minOffset: bigint;
}

/** The de-duplication set of one partition. */
export class DedupSet {
  readonly #index = new Map<string, number>();
  readonly #buckets = new Map<number, Bucket>();
  readonly #horizonMs: number;

  constructor(horizonMs: number) {
    this.#horizonMs = horizonMs;
  }

  /** Number of ids held. */
  get size(): number {
    return this.#index.size;
  }

  /** True when `eventId` was seen and is still retained. */
  has(eventId: string): boolean {
    return this.#index.has(eventId);
  }

  /** True when an id of the window starting at `windowStartMs` is retained at `watermark`. */
  retains(windowStartMs: number, watermark: number | null): boolean {
    return watermark === null || windowEnd(windowStartMs) + this.#horizonMs > watermark;
  }

  /** Records `eventId`, seen at `offset`, as belonging to the window at `windowStartMs`. */
  add(eventId: string, windowStartMs: number, offset: bigint): void {
    if (this.#index.has(eventId)) return;
    this.#index.set(eventId, windowStartMs);
    let b = this.#buckets.get(windowStartMs);
    if (!b) this.#buckets.set(windowStartMs, b = { ids: [], minOffset: offset });
    b.ids.push(eventId);
    if (offset < b.minOffset) b.minOffset = offset;
  }

  /** Drops every bucket no longer retained at `watermark`. Returns how many ids went. */
  prune(watermark: number | null): number {
    let n = 0;
    for (const [start, b] of this.#buckets) {
      if (this.retains(start, watermark)) continue;
      for (const id of b.ids) this.#index.delete(id);
      n += b.ids.length;
      this.#buckets.delete(start);
    }
    return n;
  }

  /** Smallest offset any retained id depends on, or null when empty. */
  minOffset(): bigint | null {
    let m: bigint | null = null;
    for (const b of this.#buckets.values()) if (m === null || b.minOffset < m) m = b.minOffset;
    return m;
  }

  /** Forgets everything. */
  clear(): void {
    this.#index.clear();
    this.#buckets.clear();
  }
}
