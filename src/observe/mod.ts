/**
 * Observability: HTTP health/readiness, Prometheus metrics, the dashboard, the terminal
 * status and the `status` command.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { RunningModule } from "../runtime/module.ts";
import { startHttpServer } from "./http.ts";
import { ObserveResources } from "./resources.ts";
import { startTerminalStatus } from "./terminal.ts";

export { countDeadLetters, FAMILIES, recordFlush, Registry } from "./metrics.ts";
export { assertBindable, isLoopback, startHttpServer } from "./http.ts";
export type { HttpOptions, HttpServer } from "./http.ts";
export { startTerminalStatus } from "./terminal.ts";
export { statusCommand } from "./status_command.ts";
export type { PartitionLag } from "./lag.ts";

/** Options of `startObservability`. */
export interface ObservabilityOptions {
  config: Config;
  log: Logger;
  /** The modules running now (read whenever a figure is needed). */
  modules: () => RunningModule[];
  /** Show the terminal status (TTY: live block; otherwise a log line every 10 s). Default true. */
  terminal?: boolean;
}

/**
 * Starts the HTTP endpoints (unless NEXUS_HTTP_PORT=0) and the terminal status. Call it
 * before starting the modules: `/readyz` says "not ready" until they run.
 *
 * @throws {ConfigError} when NEXUS_HTTP_HOST is not loopback and NEXUS_HTTP_ALLOW_PUBLIC is
 * not true; an error when the port is taken.
 */
export async function startObservability(
  opts: ObservabilityOptions,
): Promise<{ url?: string; stop(): Promise<void> }> {
  const log = opts.log.child("observe");
  const res = new ObserveResources(opts.config, opts.modules);
  let server;
  try {
    server = await startHttpServer({
      config: opts.config,
      log,
      modules: opts.modules,
      resources: res,
    });
  } catch (e) {
    await res.close();
    throw e;
  }
  const term = opts.terminal === false
    ? undefined
    : startTerminalStatus({ log, modules: opts.modules, lag: () => res.lag() });
  let stopped: Promise<void> | undefined;
  return {
    url: server?.url,
    stop() {
      stopped ??= (async () => {
        term?.stop();
        await server?.stop();
        await res.close();
      })();
      return stopped;
    },
  };
}
