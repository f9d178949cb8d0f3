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

/**
 * 31-bit FNV-1a of the UTF-16 code units of `id`: `IdSet`'s slot key. A JavaScript loop over a
 * short id costs less than the engine hashing a freshly parsed string for a `Set<string>`.
 * Ids are still compared in full: equal hashes never merge ids.
 */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 1;
}

/**
 * A set of ids: the same answers as a `Set<string>`, at less cost on the aggregator's path. An
 * open-addressing table (linear probing, at most half full): each slot holds `idHash(id) + 1`
 * in an `Int32Array` (0: empty) and the id itself beside it, so a lookup reads one integer per
 * probe and compares strings only when the hashes agree. Deletion shifts the following run
 * back (no tombstones), so probe sequences stay short however many ids come and go.
 */
export class IdSet {
  #tags: Int32Array;
  #ids: (string | undefined)[];
  #mask: number;
  #size = 0;

  constructor(capacity = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.#tags = new Int32Array(slots);
    this.#ids = new Array<string | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
  }

  /** Number of ids held. */
  get size(): number {
    return this.#size;
  }

  /** True when `id` is held. */
  has(id: string): boolean {
    return this.#find(id, idHash(id)) >= 0;
  }

  /** Adds `id`; false when it was already held. */
  add(id: string): boolean {
    const h = idHash(id);
    const tag = (h + 1) | 0;
    const tags = this.#tags;
    const mask = this.#mask;
    let i = h & mask;
    for (let t = tags[i]!; t !== 0; t = tags[i]!) {
      if (t === tag && this.#ids[i] === id) return false;
      i = (i + 1) & mask;
    }
    tags[i] = tag;
    this.#ids[i] = id;
    if (++this.#size * 2 > tags.length) this.#grow();
    return true;
  }

  /** Removes `id`; false when it was not held. */
  delete(id: string): boolean {
    let i = this.#find(id, idHash(id));
    if (i < 0) return false;
    const tags = this.#tags;
    const ids = this.#ids;
    const mask = this.#mask;
    // backward-shift deletion: move up every later entry of the run whose home slot is not
    // between the hole and itself (cyclically), so that no probe sequence is broken
    for (let j = (i + 1) & mask; tags[j] !== 0; j = (j + 1) & mask) {
      const home = ((tags[j]! - 1) >>> 0) & mask;
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
        tags[i] = tags[j]!;
        ids[i] = ids[j];
        i = j;
      }
    }
    tags[i] = 0;
    ids[i] = undefined;
    this.#size--;
    return true;
  }

  /** Forgets every id. */
  clear(): void {
    this.#tags.fill(0);
    this.#ids.fill(undefined);
    this.#size = 0;
  }

  /** The slot holding `id` (whose hash is `h`), or -1. */
  #find(id: string, h: number): number {
    const tag = (h + 1) | 0;
    const tags = this.#tags;
    const mask = this.#mask;
    let i = h & mask;
    for (let t = tags[i]!; t !== 0; t = tags[i]!) {
      if (t === tag && this.#ids[i] === id) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  #grow(): void {
    const oldTags = this.#tags;
    const oldIds = this.#ids;
    const slots = oldTags.length * 2;
    const tags = new Int32Array(slots);
    const ids = new Array<string | undefined>(slots).fill(undefined);
    const mask = slots - 1;
    for (let k = 0; k < oldTags.length; k++) {
      const tag = oldTags[k]!;
      if (tag === 0) continue;
      let i = ((tag - 1) >>> 0) & mask;
      while (tags[i] !== 0) i = (i + 1) & mask;
      tags[i] = tag;
      ids[i] = oldIds[k];
    }
    this.#tags = tags;
    this.#ids = ids;
    this.#mask = mask;
  }
}

/** The de-duplication set of one partition. */
export class DedupSet {
  readonly #ids = new IdSet();
  readonly #buckets = new Map<number, Bucket>();
  readonly #horizonMs: number;

  constructor(horizonMs: number) {
    this.#horizonMs = horizonMs;
  }

  /** Number of ids held. */
  get size(): number {
    return this.#ids.size;
  }

  /** True when `eventId` was seen and is still retained. */
  has(eventId: string): boolean {
    return this.#ids.has(eventId);
  }

  /** True when an id of the window starting at `windowStartMs` is retained at `watermark`. */
  retains(windowStartMs: number, watermark: number | null): boolean {
    return watermark === null || windowEnd(windowStartMs) + this.#horizonMs > watermark;
  }

  /** Records `eventId`, seen at `offset`, as belonging to the window at `windowStartMs`. */
  add(eventId: string, windowStartMs: number, offset: bigint): void {
    if (!this.#ids.add(eventId)) return;
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
      for (const id of b.ids) this.#ids.delete(id);
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
    this.#ids.clear();
    this.#buckets.clear();
  }
}
