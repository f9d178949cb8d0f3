/**
 * Graceful shutdown on SIGINT/SIGTERM: the first signal runs the stop function within a
 * bounded time; a second signal (at least `DUPLICATE_SIGNAL_MS` later) exits at once.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** Signals this soon after the first are the same Ctrl-C delivered twice, not a second one. */
export const DUPLICATE_SIGNAL_MS = 500;

/** Options for `installShutdown`. */
export interface ShutdownOptions {
  /** Longest graceful stop before exiting with code 1 anyway. */
  timeoutMs: number;
  log: Logger;
  /** Ends the process with a code. Default `Deno.exit`; a host embedding Nexus passes its own. */
  exit?: (code: number) => void;
}

/**
 * Installs SIGINT and SIGTERM handlers. Returns a function that removes them.
 * The promise returned by `stop` decides the exit code: 0 when it resolves in time.
 */
export function installShutdown(stop: () => Promise<void>, options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let stopping = false;
  let firstAt = 0;
  const handler = (signal: Deno.Signal) => () => {
    if (stopping) {
      // One Ctrl-C can arrive twice within a millisecond: from the terminal's process group
      // and forwarded by a parent such as `deno task`. Only a later signal means "again".
      if (Date.now() - firstAt < DUPLICATE_SIGNAL_MS) return;
      options.log.warn("second signal: exiting now", { signal });
      exit(130);
      return;
    }
    stopping = true;
    firstAt = Date.now();
    options.log.info("stopping: flushing and committing (signal again to exit at once)", {
      signal,
      timeout_ms: options.timeoutMs,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
    });
    Promise.race([stop().then(() => "ok" as const), deadline]).then(
      (r) => {
        clearTimeout(timer);
        if (r === "timeout") {
          options.log.error("graceful stop timed out; exiting", { timeout_ms: options.timeoutMs });
          exit(1);
        } else {
          options.log.info("stopped cleanly");
          exit(0);
        }
      },
      (e) => {
        clearTimeout(timer);
        options.log.error("stop failed", { error: e });
        exit(1);
      },
    );
  };
  const onInt = handler("SIGINT");
  const onTerm = handler("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  return () => {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  };
}
