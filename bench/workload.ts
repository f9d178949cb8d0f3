/**
 * Figures of the generated stream the measurements need: records, value bytes, average size.
 *
 * @module
 */
import { generateStream, type StreamParams } from "../src/generator/mod.ts";

/** What the generator will send for a set of params. */
export interface StreamStats {
  records: number;
  valueBytes: number;
  keyBytes: number;
  avgValueBytes: number;
}

/** Counts the records and bytes `produceStream` sends for `p` (no Kafka involved). */
export function streamStats(p: StreamParams): StreamStats {
  let records = 0, valueBytes = 0, keyBytes = 0;
  for (const r of generateStream(p, { selfCheck: false })) {
    records++;
    valueBytes += r.value.length;
    keyBytes += r.key.length;
  }
  return { records, valueBytes, keyBytes, avgValueBytes: records ? valueBytes / records : 0 };
}

/** Partition of a key: FNV-1a modulo `partitions` (the benchmark's own explicit choice). */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Percentile (0..100) of sorted values, nearest-rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
