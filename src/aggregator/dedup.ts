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
import { WINDOW_MS, windowEnd } from "./window.ts";

/** What `DedupSet` keeps per window: how many ids, and the smallest offset among them. */
interface Bucket {
  count: number;
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

/** Longest id an `IdSet` holds, in UTF-16 code units. */
export const MAX_ID_LENGTH = 0x7fff;

/** Bytes of an arena record's header: its length in code units (uint16, little-endian). */
const RECORD_HEAD = 2;
/** Header bit: the code units are stored two bytes each (some unit is above 0xff). */
const WIDE = 0x8000;

/**
 * A set of ids: the same answers as a `Set<string>`, in a fraction of its memory and outside
 * the JavaScript heap. An open-addressing table (linear probing, at most half full) holds in
 * each slot `idHash(id) + 1` (0: empty), the id's group (`add`'s `group`, which `retain`
 * filters on) and where the id's copy starts in a byte arena; a lookup reads one integer per
 * probe and compares the id in full only when the hashes agree. The arena stores each id once,
 * one byte per UTF-16 code unit when all are ≤ 0xff (two otherwise), after a 16-bit length.
 *
 * Why: the aggregator keeps every event id of its open windows plus the de-dup horizon — at a
 * few hundred thousand ids, strings and the arrays pointing at them were half of its heap, and
 * every live heap byte also raises how far V8 lets the heap grow before collecting it.
 *
 * Deletion shifts the following run back (no tombstones), so probe sequences stay short however
 * many ids come and go; the arena is compacted once deleted ids take more than half of it. A
 * `has` followed by an `add` of the same string reuses the hash and the probe.
 */
export class IdSet {
  #tags: Int32Array;
  #groups: Int32Array;
  #refs: Int32Array;
  #mask: number;
  #size = 0;
  #arena: Uint8Array;
  /** Arena bytes in use (live and deleted records). */
  #used = 0;
  /** Arena bytes of live records. */
  #live = 0;
  /** Bumped by every change of the table: a memoised probe is valid for one version only. */
  #version = 0;
  #memoId: string | undefined;
  #memoVersion = -1;
  /** Slot where the memoised id's probe ended (an empty slot: `has` answered false). */
  #memoSlot = -1;

  constructor(capacity = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.#tags = new Int32Array(slots);
    this.#groups = new Int32Array(slots);
    this.#refs = new Int32Array(slots);
    this.#mask = slots - 1;
    this.#arena = new Uint8Array(Math.max(256, capacity * 16));
  }

  /** Number of ids held. */
  get size(): number {
    return this.#size;
  }

  /** Bytes this set holds (table and arena), for memory accounting and tests. */
  get bytes(): number {
    return 3 * this.#tags.byteLength + this.#arena.byteLength;
  }

  /** True when `id` is held. */
  has(id: string): boolean {
    const i = this.#probe(id, idHash(id));
    if (i >= 0) return true;
    this.#memoId = id;
    this.#memoVersion = this.#version;
    this.#memoSlot = ~i;
    return false;
  }

  /**
   * Adds `id` in `group` (an int32 that `retain` filters on; 0 by default); false when it was
   * already held (its group then stays as it was).
   *
   * @throws {RangeError} when `id` is longer than {@linkcode MAX_ID_LENGTH} code units.
   */
  add(id: string, group = 0): boolean {
    let i: number;
    let tag: number;
    if (id === this.#memoId && this.#memoVersion === this.#version) {
      i = this.#memoSlot;
      tag = this.#tags[i]! === 0 ? (idHash(id) + 1) | 0 : 0;
    } else {
      const h = idHash(id);
      const at = this.#probe(id, h);
      if (at >= 0) return false;
      i = ~at;
      tag = (h + 1) | 0;
    }
    if (tag === 0) return false; // unreachable: a memoised slot stays empty within its version
    const ref = this.#store(id);
    this.#tags[i] = tag;
    this.#groups[i] = group;
    this.#refs[i] = ref;
    this.#version++;
    if (++this.#size * 2 > this.#tags.length) this.#resize(this.#tags.length * 2);
    return true;
  }

  /** Removes `id`; false when it was not held. */
  delete(id: string): boolean {
    const i = this.#probe(id, idHash(id));
    if (i < 0) return false;
    this.#live -= this.#recordBytes(this.#refs[i]!);
    this.#removeSlot(i);
    this.#maybeCompact();
    return true;
  }

  /** Keeps only the ids whose group passes `keep`; returns how many went. */
  retain(keep: (group: number) => boolean): number {
    const tags = this.#tags;
    const groups = this.#groups;
    let gone = 0;
    let last = -1;
    let lastKept = true;
    // Deleting slot i pulls a later entry of its run into i: look at i again before moving on.
    // An entry pulled from the table's start into its end (a wrapped run) was kept already.
    for (let i = 0; i < tags.length; i++) {
      while (tags[i] !== 0) {
        const g = groups[i]!;
        const kept: boolean = g === last ? lastKept : keep(g);
        last = g;
        lastKept = kept;
        if (kept) break;
        this.#live -= this.#recordBytes(this.#refs[i]!);
        this.#removeSlot(i);
        gone++;
      }
    }
    if (gone > 0) this.#maybeCompact();
    return gone;
  }

  /** Forgets every id. */
  clear(): void {
    this.#tags.fill(0);
    this.#size = 0;
    this.#used = 0;
    this.#live = 0;
    this.#version++;
  }

  /**
   * The slot holding `id` (whose hash is `h`); when it is not held, `~slot` of the empty slot
   * where its probe ended (negative).
   */
  #probe(id: string, h: number): number {
    const tag = (h + 1) | 0;
    const tags = this.#tags;
    const mask = this.#mask;
    let i = h & mask;
    for (let t = tags[i]!; t !== 0; t = tags[i]!) {
      if (t === tag && this.#equals(this.#refs[i]!, id)) return i;
      i = (i + 1) & mask;
    }
    return ~i;
  }

  /** Empties slot `i`: every later entry of the run whose home slot is not between the hole and
   * itself (cyclically) moves up, so that no probe sequence is broken. */
  #removeSlot(i: number): void {
    const tags = this.#tags;
    const groups = this.#groups;
    const refs = this.#refs;
    const mask = this.#mask;
    for (let j = (i + 1) & mask; tags[j] !== 0; j = (j + 1) & mask) {
      const home = ((tags[j]! - 1) >>> 0) & mask;
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
        tags[i] = tags[j]!;
        groups[i] = groups[j]!;
        refs[i] = refs[j]!;
        i = j;
      }
    }
    tags[i] = 0;
    this.#size--;
    this.#version++;
  }

  #recordBytes(ref: number): number {
    const a = this.#arena;
    const head = a[ref]! | (a[ref + 1]! << 8);
    return RECORD_HEAD + (head & ~WIDE) * (head & WIDE ? 2 : 1);
  }

  /** Copies `id` into the arena; returns where its record starts. */
  #store(id: string): number {
    const n = id.length;
    if (n > MAX_ID_LENGTH) {
      throw new RangeError(
        `Cannot keep an id of ${n} code units for de-duplication: the most is ${MAX_ID_LENGTH}`,
      );
    }
    this.#reserve(RECORD_HEAD + 2 * n);
    const a = this.#arena;
    const at = this.#used;
    let p = at + RECORD_HEAD;
    let wide = false;
    for (let k = 0; k < n; k++) {
      const c = id.charCodeAt(k);
      if (c > 0xff) {
        wide = true;
        break;
      }
      a[p++] = c;
    }
    if (wide) {
      p = at + RECORD_HEAD;
      for (let k = 0; k < n; k++) {
        const c = id.charCodeAt(k);
        a[p++] = c & 0xff;
        a[p++] = c >>> 8;
      }
    }
    const head = wide ? n | WIDE : n;
    a[at] = head & 0xff;
    a[at + 1] = head >>> 8;
    this.#used = p;
    this.#live += p - at;
    return at;
  }

  #reserve(size: number): void {
    if (this.#used + size <= this.#arena.byteLength) return;
    let cap = this.#arena.byteLength * 2;
    while (cap < this.#used + size) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.#arena.subarray(0, this.#used));
    this.#arena = grown;
  }

  /** True when the record at `ref` holds `id`. */
  #equals(ref: number, id: string): boolean {
    const a = this.#arena;
    const head = a[ref]! | (a[ref + 1]! << 8);
    const n = head & ~WIDE;
    if (n !== id.length) return false;
    let p = ref + RECORD_HEAD;
    if (head & WIDE) {
      for (let k = 0; k < n; k++, p += 2) {
        if (id.charCodeAt(k) !== (a[p]! | (a[p + 1]! << 8))) return false;
      }
    } else {
      for (let k = 0; k < n; k++, p++) if (id.charCodeAt(k) !== a[p]) return false;
    }
    return true;
  }

  /** Places every entry in a table of `slots` slots (the arena stays as it is). */
  #resize(slots: number): void {
    const oldTags = this.#tags;
    const oldGroups = this.#groups;
    const oldRefs = this.#refs;
    const tags = new Int32Array(slots);
    const groups = new Int32Array(slots);
    const refs = new Int32Array(slots);
    const mask = slots - 1;
    for (let k = 0; k < oldTags.length; k++) {
      const tag = oldTags[k]!;
      if (tag === 0) continue;
      let i = ((tag - 1) >>> 0) & mask;
      while (tags[i] !== 0) i = (i + 1) & mask;
      tags[i] = tag;
      groups[i] = oldGroups[k]!;
      refs[i] = oldRefs[k]!;
    }
    this.#tags = tags;
    this.#groups = groups;
    this.#refs = refs;
    this.#mask = mask;
    this.#version++;
  }

  /**
   * Once deleted ids take more than two thirds of the arena, copies the live ones into a fresh arena
   * of twice their size; a table more than seven eighths empty shrinks to a quarter full.
   */
  #maybeCompact(): void {
    if (this.#used > 64 * 1024 && this.#live * 3 < this.#used) {
      const old = this.#arena;
      const arena = new Uint8Array(Math.max(256, this.#live * 2));
      const tags = this.#tags;
      const refs = this.#refs;
      let used = 0;
      for (let k = 0; k < tags.length; k++) {
        if (tags[k] === 0) continue;
        const ref = refs[k]!;
        const len = this.#recordBytes(ref);
        arena.set(old.subarray(ref, ref + len), used);
        refs[k] = used;
        used += len;
      }
      this.#arena = arena;
      this.#used = used;
      this.#live = used;
    }
    if (this.#tags.length > 1024 && this.#size * 8 < this.#tags.length) {
      this.#resize(2 ** Math.ceil(Math.log2(Math.max(16, this.#size * 4))));
    }
  }
}

/**
 * The `IdSet` group of a window: its start in minutes since the epoch (windows are whole
 * minutes; an int32 of minutes reaches past the year 6000).
 */
function windowGroup(windowStartMs: number): number {
  return Math.floor(windowStartMs / WINDOW_MS) | 0;
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
    if (!this.#ids.add(eventId, windowGroup(windowStartMs))) return;
    const b = this.#buckets.get(windowStartMs);
    if (!b) this.#buckets.set(windowStartMs, { count: 1, minOffset: offset });
    else {
      b.count++;
      if (offset < b.minOffset) b.minOffset = offset;
    }
  }

  /** Drops every bucket no longer retained at `watermark`. Returns how many ids went. */
  prune(watermark: number | null): number {
    const gone = new Set<number>();
    let n = 0;
    for (const [start, b] of this.#buckets) {
      if (this.retains(start, watermark)) continue;
      gone.add(windowGroup(start));
      n += b.count;
      this.#buckets.delete(start);
    }
    if (gone.size > 0) this.#ids.retain((g) => !gone.has(g));
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
