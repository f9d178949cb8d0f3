/**
 * Graceful shutdown on SIGINT/SIGTERM: the first signal runs the stop function within a
 * bounded time; a second signal exits at once.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** Options for `installShutdown`. */
export interface ShutdownOptions {
  /** Longest graceful stop before exiting with code 1 anyway. */
  timeoutMs: number;
  log: Logger;
  /** Called instead of `Deno.exit` (tests). */
  exit?: (code: number) => void;
}

/**
 * Installs SIGINT and SIGTERM handlers. Returns a function that removes them.
 * The promise returned by `stop` decides the exit code: 0 when it resolves in time.
 */
export function installShutdown(stop: () => Promise<void>, options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let stopping = false;
  const handler = (signal: Deno.Signal) => () => {
    if (stopping) {
      options.log.warn("second signal: exiting now", { signal });
      exit(130);
      return;
    }
    stopping = true;
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
