/**
 * Whether a running module is still running: watches its `done` promise once and remembers
 * how it settled, so readiness and metrics can tell "running" from "finished" or "failed".
 *
 * @module
 */
import type { RunningModule } from "../runtime/module.ts";
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
