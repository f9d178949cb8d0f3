/**
 * Polling helpers for start-up and shutdown waits.
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options for `waitUntil`. */
export interface WaitOptions {
  /** Give up after this many ms. Required: every wait in the stack is bounded. */
  timeoutMs: number;
  /** Pause between checks in ms. Default 250. */
  intervalMs?: number;
}

/**
 * Calls `check` until it returns true (→ true) or `timeoutMs` passes (→ false). A check that
 * throws ends the wait with that error, so checks can fail fast (e.g. the process died).
 */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  opts: WaitOptions,
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 250;
  while (true) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}
