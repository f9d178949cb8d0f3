/**
 * Kafka's default key partitioner, as the Java client computes it:
 * `(murmur2(keyBytes) & 0x7fffffff) % partitions`. Both adapters get explicit partitions from
 * here, so a key lands on the same partition whichever client produced it (kafkajs's default
 * partitioner agrees; @platformatic/kafka's default does not mask the sign bit).
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;
const encoder = new TextEncoder();

/** Kafka's 32-bit murmur2 of `data` (signed, as `Utils.murmur2` in the Java client). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions`, as Kafka's default partitioner places it. */
export function partitionOf(key: Uint8Array | string, partitions: number): number {
  const bytes = typeof key === "string" ? encoder.encode(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}

/**
 * A partitioner for a topic of `partitions` partitions: keys by murmur2, records without a
 * key round-robin.
 */
export function keyPartitioner(partitions: number): (key: Uint8Array | string | null) => number {
  if (!(partitions >= 1)) {
    throw new RangeError(`Cannot partition: the topic has ${partitions} partitions`);
  }
  let next = 0;
  return (key) => {
    if (key === null) return next++ % partitions;
    return partitionOf(key, partitions);
  };
}
