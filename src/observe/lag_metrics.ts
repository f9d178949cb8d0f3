/**
 * Metric families of a lag report (see lag.ts): end offset, committed offset and lag per
 * group and partition, and the aggregator's Postgres checkpoint and the archiver's last
 * archived offset where known.
 *
 * @module
 */
import type { PartitionLag } from "./lag.ts";
import type { MetricFamily } from "./metrics.ts";

/** Families for `rows` (pure). */
export function lagFamilies(rows: PartitionLag[]): MetricFamily[] {
  const f = (name: string, help: string): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: [],
  });
  const end = f("nexus_kafka_end_offset", "End offset (high watermark) of a partition");
  const committed = f(
    "nexus_kafka_committed_offset",
    "Offset a consumer group committed to Kafka on a partition",
  );
  const lag = f(
    "nexus_kafka_consumer_group_lag",
    "Records a consumer group has not processed yet on a partition (end - furthest position)",
  );
  const stored = f(
    "nexus_checkpoint_next_offset",
    "Next offset the aggregator stored in Postgres (consumer_checkpoints)",
  );
  const wm = f(
    "nexus_checkpoint_watermark_seconds",
    "Watermark the aggregator stored in Postgres (Unix seconds)",
  );
  const archived = f("nexus_archive_last_offset", "Last offset the archiver archived");
  const seenEnd = new Set<string>();
  for (const r of rows) {
    const p = { topic: r.topic, partition: r.partition };
    const key = `${r.topic}/${r.partition}`;
    if (!seenEnd.has(key)) {
      seenEnd.add(key);
      end.samples.push({ labels: p, value: r.end });
    }
    const g = { group: r.group, ...p };
    if (r.committed !== null) committed.samples.push({ labels: g, value: r.committed });
    lag.samples.push({ labels: { module: r.module, ...g }, value: r.lag });
    if (r.stored !== null) stored.samples.push({ labels: p, value: r.stored });
    if (r.watermark !== null) {
      wm.samples.push({ labels: p, value: Date.parse(r.watermark) / 1000 });
    }
    if (r.archived !== null) archived.samples.push({ labels: p, value: r.archived });
  }
  return [end, committed, lag, stored, wm, archived];
}
