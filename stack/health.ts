/**
 * Waiting for a service to become healthy, failing fast (with its log file) if it dies.
 *
 * @module
 */
import { type ServiceName, StackError } from "./errors.ts";
import { lastLogLine } from "./logs.ts";
import { displayPath, type StackPaths } from "./paths.ts";
import { waitUntil } from "./wait.ts";

/** Options for `waitHealthy`. */
export interface WaitHealthyOptions {
  name: ServiceName;
  paths: StackPaths;
  logFile: string;
  timeoutMs: number;
  /** Returns undefined when healthy, else a reason. */
  check: () => Promise<string | undefined>;
  /** False once the service process has exited. */
  alive: () => Promise<boolean>;
}

/** Polls `check` until healthy; fails with the service, its log file and last log line. */
export async function waitHealthy(opts: WaitHealthyOptions): Promise<void> {
  const log = displayPath(opts.paths, opts.logFile);
  let reason = "not checked yet";
  const ok = await waitUntil(async () => {
    if (!await opts.alive()) {
      const last = await lastLogLine(opts.logFile);
      throw new StackError(
        `Cannot start ${opts.name}: current value is a process that exited during start-up` +
          `${last ? ` (log says: ${last})` : ""}; fix: read ${log}`,
        { service: opts.name, logFile: opts.logFile },
      );
    }
    reason = await opts.check() ?? "";
    return reason === "";
  }, { timeoutMs: opts.timeoutMs, intervalMs: 500 });
  if (!ok) {
    throw new StackError(
      `Cannot start ${opts.name}: current value is not healthy after ` +
        `${Math.round(opts.timeoutMs / 1000)} s (last check: ${reason}); fix: read ${log}`,
      { service: opts.name, logFile: opts.logFile },
    );
  }
}
