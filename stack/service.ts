/**
 * The contract every stack service (Kafka, PostgreSQL, SeaweedFS) implements, and the context
 * it runs in.
 *
 * @module
 */
import type { StackCredentials } from "./credentials.ts";
import type { StackBuckets } from "./env.ts";
import type { ServiceName } from "./errors.ts";
import type { StackPaths } from "./paths.ts";
import type { StackPorts } from "./ports.ts";

export type { ServiceName } from "./errors.ts";

/** All service names, in start order. */
export const SERVICE_NAMES: readonly ServiceName[] = ["kafka", "postgres", "s3"];

/** Everything a service needs to install, start, check and stop itself. */
export interface StackContext {
  paths: StackPaths;
  /** The ports requested by the environment (a running service may use recorded ones). */
  ports: StackPorts;
  buckets: StackBuckets;
  /** Loads (creating on first use) the stack's secrets. */
  credentials(): Promise<StackCredentials>;
  /** True when running as root (PostgreSQL then runs as the `postgres` user). */
  isRoot: boolean;
  /** Progress lines for humans. */
  log(line: string): void;
}

/** One line of `stack status`. */
export interface ServiceStatus {
  name: ServiceName;
  running: boolean;
  pid: number | undefined;
  /** Where clients connect, e.g. `127.0.0.1:19092`. */
  address: string;
  /** The port the service actually listens on (recorded at start), or the requested one. */
  port: number;
  /** True when it runs with other ports than the environment now asks for. */
  portsDiffer: boolean;
  logFile: string;
}

/** A service of the local stack. Every method is idempotent. */
export interface Service {
  readonly name: ServiceName;
  /** Installs the binaries/jars if missing (cached across runs). */
  install(ctx: StackContext): Promise<void>;
  /** Starts the process if it is not running; does not wait for health. */
  start(ctx: StackContext): Promise<void>;
  /** Returns undefined when healthy, otherwise a one-line reason. Quick (a few seconds). */
  check(ctx: StackContext): Promise<string | undefined>;
  /** Waits until healthy, failing fast if the process dies; then does first-run setup. */
  waitReady(ctx: StackContext, timeoutMs: number): Promise<void>;
  /** Stops the process gracefully (forcefully after a timeout) and waits until it is gone. */
  stop(ctx: StackContext): Promise<"not-running" | "stopped" | "killed">;
  /** Reports whether it runs, its pid and address. */
  status(ctx: StackContext): Promise<ServiceStatus>;
}
