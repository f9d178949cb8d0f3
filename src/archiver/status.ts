/**
 * What the archiver reports (terminal, /metrics, `status`): records and bytes archived, and
 * per owned partition the last archived offset and how far the archive is behind the log.
 *
 * @module
 */
import type { PartitionProgress } from "../kafka/mod.ts";
import type { ModuleStatus } from "../runtime/module.ts";
import type { ArchiverShared } from "./handler.ts";

/** The archiver's status: per partition the last archived offset and the archive's lag. */
export function archiverStatus(
  shared: ArchiverShared,
  progress: PartitionProgress[],
): ModuleStatus {
  const partitions: NonNullable<ModuleStatus["partitions"]> = {};
  const writers = new Map([...shared.handlers].map((h) => [h.partition, h.writer]));
  let lagTotal = 0;
  let backlog = 0;
  let paused = 0;
  for (const p of progress) {
    const last = writers.get(p.partition)?.lastArchived;
    // records not yet durable in S3
    const lag = p.highWatermark >= 0n && p.position !== undefined
      ? Math.max(0, Number(p.highWatermark - (last === undefined ? p.position : last + 1n)))
      : undefined;
    if (lag !== undefined) lagTotal += lag;
    if (p.state === "paused") paused++;
    partitions[p.partition] = { offset: last?.toString(), lag };
  }
  for (const w of writers.values()) backlog += w.backlog;
  const t = shared.totals;
  return {
    eventsIn: t.eventsIn,
    eventsOut: t.eventsOut,
    lastFlushAt: shared.lastFlushAt,
    partitions,
    extra: {
      bytesUploaded: t.bytesUploaded,
      objectsUploaded: t.objects,
      uploadBacklog: backlog,
      pausedPartitions: paused,
      bufferedBytes: shared.budget.total(),
      bufferBudgetBytes: shared.budget.limit,
      earlyCuts: shared.budget.earlyCuts,
      lag: lagTotal,
    },
  };
}
