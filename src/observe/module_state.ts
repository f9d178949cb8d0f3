/**
 * Whether a running module is still running: watches its `done` promise once and remembers
 * how it settled, so readiness and metrics can tell "running" from "finished" or "failed";
 * and which of its partitions are faulted (`ModuleStatus.faults`: cannot go on, `run` exits
 * after `NEXUS_FAULT_EXIT_MS`).
 *
 * @module
 */
import type { ModuleStatus, RunningModule } from "../runtime/module.ts";
import { reasonOf } from "../runtime/errors.ts";

/** A module's life state. */
export type ModuleState =
  | { state: "running" }
  | { state: "finished" }
  | { state: "failed"; reason: string };

const states = new WeakMap<RunningModule, ModuleState>();

/** The current state of `m` (starts watching it on first call). */
export function moduleState(m: RunningModule): ModuleState {
  let s = states.get(m);
  if (!s) {
    s = { state: "running" };
    states.set(m, s);
    m.done.then(
      () => states.set(m, { state: "finished" }),
      (e) => states.set(m, { state: "failed", reason: reasonOf(e) }),
    );
  }
  return s;
}

/** One faulted partition of a module. */
export type PartitionFault = NonNullable<ModuleStatus["faults"]>[number];

/** The module's faulted partitions, by partition (empty when none, or `status()` throws). */
export function moduleFaults(m: RunningModule): PartitionFault[] {
  let faults: ModuleStatus["faults"];
  try {
    faults = m.status().faults;
  } catch {
    return [];
  }
  return [...(faults ?? [])].sort((a, b) => a.partition - b.partition);
}

/**
 * "partition 0 failed: <reason>", or "partitions 0,2 failed; partition 0: <reason>" (the
 * partitions first: a reason is long and readiness reasons are cut at 300 characters).
 */
export function describeFaults(faults: readonly PartitionFault[]): string {
  if (faults.length === 0) return "";
  const first = faults[0]!;
  if (faults.length === 1) return `partition ${first.partition} failed: ${first.reason}`;
  return `partitions ${
    faults.map((f) => f.partition).join(",")
  } failed; partition ${first.partition}: ${first.reason}`;
}
