/**
 * The families of a lag report (lag.ts): per partition of the click topic its end offset,
 * and per consumer group the next offset it will process and its lag. Every partition has a
 * sample from the start: with no known position the next offset is the partition's first.
 *
 * @module
 */
import type { PartitionLag } from "./lag.ts";
import { family, type MetricFamily } from "./metrics.ts";

/** Families for `rows` (pure). */
export function lagFamilies(rows: readonly PartitionLag[]): MetricFamily[] {
  const end = family("nexus_kafka_end_offset");
  const next = family("nexus_consumer_next_offset");
  const lag = family("nexus_kafka_consumer_group_lag");
  const seenEnd = new Set<string>();
  for (const r of rows) {
    const p = { topic: r.topic, partition: String(r.partition) };
    const key = `${r.topic}/${r.partition}`;
    if (!seenEnd.has(key)) {
      seenEnd.add(key);
      end.samples.push({ labels: p, value: r.end });
    }
    const g = { module: r.module, group: r.group, ...p };
    // lag = end − next (lag.ts), so next = end − lag: the furthest known position, or the
    // first offset, at most the end offset
    next.samples.push({ labels: g, value: r.end - r.lag });
    lag.samples.push({ labels: g, value: r.lag });
  }
  return [end, next, lag];
}
