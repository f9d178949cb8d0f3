/**
 * What the aggregator reports (terminal, /metrics, `status`): its counters summed over every
 * partition it owned since start, and per owned partition the watermark, position and lag.
 *
 * @module
 */
import type { PartitionProgress } from "../kafka/mod.ts";
import type { ModuleStatus } from "../runtime/module.ts";
import { type AggregatorShared, type AggregatorStats, sharedStateSize } from "./handler.ts";

/** The aggregator's status: counters over all partitions, per-partition watermark and lag. */
export function aggregatorStatus(
  shared: AggregatorShared,
  progress: PartitionProgress[],
): ModuleStatus {
  const s: AggregatorStats = { ...shared.closed };
  for (const h of shared.handlers) {
    const x = h.stats;
    s.eventsIn += x.eventsIn;
    s.dead += x.dead;
    s.late += x.late;
    s.duplicates += x.duplicates;
    s.replayed += x.replayed;
    s.fenced += x.fenced;
  }
  const partitions: NonNullable<ModuleStatus["partitions"]> = {};
  const byPartition = new Map([...shared.handlers].map((h) => [h.partition, h]));
  for (const p of progress) {
    const st = byPartition.get(p.partition)?.state;
    partitions[p.partition] = {
      watermark: st?.watermark.value ?? undefined,
      offset: p.position === undefined ? undefined : String(p.position),
      lag: p.lag,
    };
  }
  return {
    eventsIn: s.eventsIn,
    eventsOut: 0,
    deadLettered: s.dead,
    late: s.late,
    lastFlushAt: shared.lastFlushAt,
    partitions,
    extra: {
      duplicates: s.duplicates,
      replayed: s.replayed,
      fenced: s.fenced,
      state_entries: sharedStateSize(shared),
    },
  };
}
