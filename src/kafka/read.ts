/**
 * Reading a topic to a point: its end offsets, and every record up to them. Used by `rebuild`
 * and by the tests' independent reads of what Kafka holds.
 *
 * @module
 */
import type { FetchedBatch, KafkaClient } from "./port.ts";

/** End offset (next to be written) of every partition of `topic`. */
export async function topicEnds(client: KafkaClient, topic: string): Promise<Map<number, bigint>> {
  const admin = client.admin();
  try {
    const offs = await admin.offsets(topic);
    return new Map([...offs].map(([p, o]) => [p, o.high]));
  } finally {
    await admin.close();
  }
}

/** Options of `readTopic`. */
export interface ReadTopicOptions {
  /**
   * Exclusive end per partition; partitions not in it are not read. Default: every partition
   * up to its end offset when the read starts.
   */
  to?: Map<number, bigint>;
  /** Default 120 s. */
  timeoutMs?: number;
}

/**
 * Calls `onBatch` for every record of `topic` from each partition's first retained offset up
 * to `to` (default: its end offset now), in offset order per partition.
 */
export async function readTopic(
  client: KafkaClient,
  topic: string,
  onBatch: (batch: FetchedBatch) => void | Promise<void>,
  options: ReadTopicOptions = {},
): Promise<void> {
  const admin = client.admin();
  let ranges: Map<number, { from: bigint; to: bigint }>;
  try {
    const offs = await admin.offsets(topic);
    ranges = new Map();
    for (const [p, o] of offs) {
      const to = options.to ? options.to.get(p) : o.high;
      if (to !== undefined) ranges.set(p, { from: o.low, to });
    }
  } finally {
    await admin.close();
  }
  const reader = client.reader();
  try {
    await reader.read(topic, ranges, onBatch, { timeoutMs: options.timeoutMs });
  } finally {
    await reader.close();
  }
}
