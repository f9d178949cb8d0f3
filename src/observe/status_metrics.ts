/**
 * The families computed from the modules' state at scrape time: one `status()` snapshot per
 * running module (`ModuleStatus`) becomes the samples of every `source: "status"` family of
 * `FAMILIES` (metrics.ts). A module that runs has a sample in each family it feeds, 0 where
 * nothing happened yet; per-partition families have one per partition the module owns.
 *
 * @module
 */
import type { ModuleName } from "../config/mod.ts";
import type { ModuleStatus, RunningModule } from "../runtime/module.ts";
import { FAMILIES, family, type FamilyName, type MetricFamily } from "./metrics.ts";
import { moduleState } from "./module_state.ts";

/** Module-specific figures: family ← `status().extra[key]`. */
const EXTRAS: { family: FamilyName; module: ModuleName; key: string }[] = [
  { family: "nexus_aggregator_duplicates_total", module: "aggregator", key: "duplicates" },
  { family: "nexus_aggregator_replayed_records_total", module: "aggregator", key: "replayed" },
  { family: "nexus_aggregator_fenced_flushes_total", module: "aggregator", key: "fenced" },
  { family: "nexus_aggregator_state_entries", module: "aggregator", key: "state_entries" },
  { family: "nexus_archive_bytes_total", module: "archiver", key: "bytesUploaded" },
  { family: "nexus_archive_objects_total", module: "archiver", key: "objectsUploaded" },
  { family: "nexus_archive_early_cuts_total", module: "archiver", key: "earlyCuts" },
  { family: "nexus_archive_buffered_bytes", module: "archiver", key: "bufferedBytes" },
  { family: "nexus_archive_buffer_limit_bytes", module: "archiver", key: "bufferBudgetBytes" },
  { family: "nexus_archive_queued_objects", module: "archiver", key: "uploadBacklog" },
  { family: "nexus_loader_files_total", module: "loader", key: "filesLoaded" },
  { family: "nexus_loader_rejected_rows_total", module: "loader", key: "rejected" },
];

function feeds(name: FamilyName, module: ModuleName): boolean {
  return (FAMILIES[name].modules as readonly ModuleName[]).includes(module);
}

/**
 * The status families of the `running` modules; `configured` modules not running (yet) show
 * in `nexus_module_up` only, as 0. A module whose `status()` throws shows there only, too.
 */
export function statusFamilies(
  running: readonly RunningModule[],
  configured: readonly ModuleName[] = [],
): MetricFamily[] {
  const fams = new Map<FamilyName, MetricFamily>();
  const push = (name: FamilyName, labels: Record<string, string>, value: number) => {
    let f = fams.get(name);
    if (!f) fams.set(name, f = family(name));
    f.samples.push({ labels, value });
  };
  for (const name of configured) {
    if (!running.some((m) => m.name === name)) push("nexus_module_up", { module: name }, 0);
  }
  for (const m of running) {
    const module = m.name;
    push("nexus_module_up", { module }, moduleState(m).state === "running" ? 1 : 0);
    let s: ModuleStatus;
    try {
      s = m.status();
    } catch {
      continue;
    }
    push("nexus_events_total", { module, direction: "in" }, s.eventsIn);
    push("nexus_events_total", { module, direction: "out" }, s.eventsOut);
    push("nexus_last_flush_timestamp_seconds", { module }, (s.lastFlushAt ?? 0) / 1000);
    const faults = new Map((s.faults ?? []).map((f) => [f.partition, f.since]));
    push("nexus_partition_faults", { module }, faults.size);
    const owned = new Set([...Object.keys(s.partitions ?? {}).map(Number), ...faults.keys()]);
    for (const p of [...owned].sort((a, b) => a - b)) {
      const partition = String(p);
      if (feeds("nexus_partition_fault_timestamp_seconds", module)) {
        push(
          "nexus_partition_fault_timestamp_seconds",
          { module, partition },
          (faults.get(p) ?? 0) / 1000,
        );
      }
      if (feeds("nexus_watermark_seconds", module)) {
        const wm = s.partitions?.[p]?.watermark;
        push("nexus_watermark_seconds", { module, partition }, (wm ?? 0) / 1000);
      }
    }
    if (feeds("nexus_late_events_total", module)) {
      push("nexus_late_events_total", { module }, s.late ?? 0);
    }
    for (const x of EXTRAS) {
      if (x.module !== module) continue;
      const v = s.extra?.[x.key];
      if (typeof v === "number" && Number.isFinite(v)) push(x.family, {}, v);
    }
  }
  return [...fams.values()];
}
