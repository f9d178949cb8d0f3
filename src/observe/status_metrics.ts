/**
 * Turns `RunningModule.status()` snapshots into metric families at scrape time, so modules
 * that never call the metric helpers still show events in/out, dead letters, late events and
 * per-partition watermark, offset and lag, and faulted partitions (`ModuleStatus.faults`).
 *
 * @module
 */
import type { RunningModule } from "../runtime/module.ts";
import type { Collector, MetricFamily } from "./metrics.ts";
import { moduleState } from "./module_state.ts";

/** A collector over the modules `modules()` returns at each scrape. */
export function moduleStatusCollector(modules: () => RunningModule[]): Collector {
  return () => statusFamilies(modules());
}

/** The families for a set of modules (pure apart from calling `status()`). */
export function statusFamilies(modules: RunningModule[]): MetricFamily[] {
  const fam = (name: string, help: string, type: MetricFamily["type"]): MetricFamily => ({
    name,
    help,
    type,
    samples: [],
  });
  const up = fam("nexus_module_up", "1 while the module runs, 0 once it ended", "gauge");
  const events = fam(
    "nexus_module_events_total",
    "Records consumed (in) or produced (out) since start, from the module's status",
    "counter",
  );
  const dead = fam(
    "nexus_module_dead_letters_total",
    "Records dead-lettered since start, from the module's status",
    "counter",
  );
  const late = fam(
    "nexus_module_late_events_total",
    "Late events recorded since start, from the module's status",
    "counter",
  );
  const flush = fam(
    "nexus_module_last_flush_timestamp_seconds",
    "Wall-clock time of the module's last flush/upload/send (Unix seconds)",
    "gauge",
  );
  const wm = fam(
    "nexus_module_watermark_seconds",
    "Per-partition event-time watermark from the module's status (Unix seconds)",
    "gauge",
  );
  const off = fam(
    "nexus_module_offset",
    "Per-partition last offset from the module's status",
    "gauge",
  );
  const lag = fam("nexus_module_lag", "Per-partition lag from the module's status", "gauge");
  const extra = fam(
    "nexus_module_extra",
    "Numeric extra figures a module reports, by key",
    "gauge",
  );
  const faults = fam(
    "nexus_partition_faults",
    "Partitions of the module that cannot go on for a reason retrying cannot fix (S3 refused, unreadable ledger); 0 when none. Non-zero: not ready, and run exits after NEXUS_FAULT_EXIT_MS",
    "gauge",
  );
  const faultSince = fam(
    "nexus_partition_fault_timestamp_seconds",
    "When each faulted partition was reported faulted (Unix seconds)",
    "gauge",
  );
  for (const m of modules) {
    const module = m.name;
    up.samples.push({ labels: { module }, value: moduleState(m).state === "running" ? 1 : 0 });
    let s;
    try {
      s = m.status();
    } catch {
      continue;
    }
    const faulted = s.faults ?? [];
    faults.samples.push({ labels: { module }, value: faulted.length });
    for (const f of [...faulted].sort((a, b) => a.partition - b.partition)) {
      faultSince.samples.push({
        labels: { module, partition: String(f.partition) },
        value: f.since / 1000,
      });
    }
    events.samples.push({ labels: { module, direction: "in" }, value: s.eventsIn });
    events.samples.push({ labels: { module, direction: "out" }, value: s.eventsOut });
    if (s.deadLettered !== undefined) {
      dead.samples.push({ labels: { module }, value: s.deadLettered });
    }
    if (s.late !== undefined) late.samples.push({ labels: { module }, value: s.late });
    if (s.lastFlushAt !== undefined) {
      flush.samples.push({ labels: { module }, value: s.lastFlushAt / 1000 });
    }
    for (const [p, d] of Object.entries(s.partitions ?? {})) {
      const labels = { module, partition: p };
      if (d.watermark !== undefined) wm.samples.push({ labels, value: d.watermark / 1000 });
      if (d.offset !== undefined && /^-?\d+$/.test(d.offset)) {
        off.samples.push({ labels, value: Number(d.offset) });
      }
      if (d.lag !== undefined) lag.samples.push({ labels, value: d.lag });
    }
    for (const [key, v] of Object.entries(s.extra ?? {})) {
      if (typeof v === "number") extra.samples.push({ labels: { module, key }, value: v });
    }
  }
  return [up, events, dead, late, flush, wm, off, lag, extra, faults, faultSince];
}
