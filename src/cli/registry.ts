/**
 * Where `main.ts` finds modules and their commands. Modules load lazily, so a command only
 * loads the code it uses, and nothing runs at import time.
 *
 * @module
 */
import type { ModuleName } from "../config/mod.ts";
import type { Command, ModuleStarter } from "../runtime/module.ts";

/** Loads the starter of each module. */
export const moduleStarters: Record<ModuleName, () => Promise<ModuleStarter>> = {
  generator: async () => (await import("../generator/mod.ts")).startGenerator,
  loader: async () => (await import("../loader/mod.ts")).startLoader,
  aggregator: async () => (await import("../aggregator/mod.ts")).startAggregator,
  archiver: async () => (await import("../archiver/mod.ts")).startArchiver,
};

/** Loads the commands the modules provide (generate, load, rebuild, verify, ...). */
export async function moduleCommands(): Promise<Command[]> {
  const [g, l, ag, ar] = await Promise.all([
    import("../generator/mod.ts"),
    import("../loader/mod.ts"),
    import("../aggregator/mod.ts"),
    import("../archiver/mod.ts"),
  ]);
  return [
    ...g.generatorCommands,
    ...l.loaderCommands,
    ...ag.aggregatorCommands,
    ...ar.archiverCommands,
  ];
}
