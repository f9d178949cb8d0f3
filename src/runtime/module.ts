/**
 * The contract between `main.ts` and the modules it hosts. A module is started with a
 * context and returns a handle; `main.ts` never knows a module's internals.
 *
 * @module
 */
import type { CommandSpec } from "../cli/options.ts";
import type { Config, ModuleName } from "../config/mod.ts";
import type { Logger } from "../log/logger.ts";

/** What a module gets when it starts. */
export interface ModuleContext {
  config: Config;
  log: Logger;
}

/** A point-in-time view of a module, for the terminal status, /metrics and `status`. */
export interface ModuleStatus {
  /** Records consumed or produced since start. */
  eventsIn: number;
  eventsOut: number;
  /** Records sent to the dead-letter topic since start. */
  deadLettered?: number;
  /** Late events recorded since start (aggregator). */
  late?: number;
  /** Wall-clock ms of the last flush/upload/send. */
  lastFlushAt?: number;
  /** Per-partition detail: lag, watermark (epoch ms), last offset. */
  partitions?: Record<number, { lag?: number; watermark?: number; offset?: string }>;
  /** Anything else worth showing. */
  extra?: Record<string, number | string>;
  /**
   * Partitions that cannot go on for a reason retrying cannot fix (the module is not ready;
   * `run` exits non-zero after `NEXUS_FAULT_EXIT_MS`).
   */
  faults?: { partition: number; reason: string; since: number }[];
}

/** A running module. */
export interface RunningModule {
  name: ModuleName;
  /** Settles when the module ends by itself (finished, or failed: then it rejects). */
  done: Promise<void>;
  /** Stops gracefully: flush, commit, disconnect. Idempotent. */
  stop(): Promise<void>;
  /** Current figures. */
  status(): ModuleStatus;
}

/** Starts a module; resolves once it is running (connected, subscribed). */
export type ModuleStarter = (ctx: ModuleContext) => Promise<RunningModule>;

/**
 * A sub-command provided by a module, e.g. `generate`, `load`, `rebuild`, `verify`. Its name,
 * summary and flags are its spec (`src/cli/specs.ts`), which `--help` reads without loading
 * the command's code; `defineCommand` (`src/cli/options.ts`) builds one.
 */
export interface Command {
  /** `spec.name`. */
  name: string;
  /** Name, summary and option table; the usage text is rendered from it. */
  spec: CommandSpec;
  /**
   * Parses `args` with the spec's option table and runs; resolves to the exit code. A usage
   * error prints one `nexus: ` line and resolves to 2.
   */
  run(args: string[], ctx: ModuleContext): Promise<number>;
}
