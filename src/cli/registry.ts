/**
 * Where `main.ts` finds commands and modules. Every command is known by its spec (name,
 * summary, flags: `specs.ts`) without loading its code; `load` imports the code of that one
 * command when it runs. Modules load lazily too, and nothing runs at import time.
 *
 * @module
 */
import type { ModuleName } from "../config/mod.ts";
import type { Command, ModuleStarter } from "../runtime/module.ts";
import type { CommandSpec } from "./options.ts";
import {
  archiveLsSpec,
  backfillSpec,
  generateSpec,
  loadSpec,
  migrateSpec,
  rebuildSpec,
  runSpec,
  statusSpec,
  verifySpec,
} from "./specs.ts";

/** Loads the starter of each module. */
export const moduleStarters: Record<ModuleName, () => Promise<ModuleStarter>> = {
  generator: async () => (await import("../generator/mod.ts")).startGenerator,
  loader: async () => (await import("../loader/mod.ts")).startLoader,
  aggregator: async () => (await import("../aggregator/mod.ts")).startAggregator,
  archiver: async () => (await import("../archiver/mod.ts")).startArchiver,
};

/** A command as `main.ts` knows it: its spec, and how to load its code. */
export interface CommandEntry {
  spec: CommandSpec;
  /** Imports the command's code (only that command's modules). */
  load(): Promise<Command>;
}

/** Every command, in `--help` order. */
export const commands: readonly CommandEntry[] = [
  { spec: runSpec, load: async () => (await import("./commands.ts")).runCommand },
  { spec: migrateSpec, load: async () => (await import("./commands.ts")).migrateCommand },
  {
    spec: statusSpec,
    load: async () => (await import("../observe/status_command.ts")).statusCommand,
  },
  {
    spec: generateSpec,
    load: async () => (await import("../generator/cli.ts")).generateCommand,
  },
  { spec: loadSpec, load: async () => (await import("../loader/cli.ts")).loadCommand },
  {
    spec: rebuildSpec,
    load: async () => (await import("../aggregator/rebuild.ts")).rebuildCommand,
  },
  { spec: verifySpec, load: async () => (await import("../archiver/commands.ts")).verifyCommand },
  {
    spec: backfillSpec,
    load: async () => (await import("../archiver/commands.ts")).backfillCommand,
  },
  {
    spec: archiveLsSpec,
    load: async () => (await import("../archiver/commands.ts")).archiveLsCommand,
  },
];
