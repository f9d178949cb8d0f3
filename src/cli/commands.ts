/**
 * The commands `main.ts` owns itself: `run` and `migrate` (specs in `specs.ts`).
 *
 * @module
 */
import { describeConfig } from "../config/mod.ts";
import { checkPostgres } from "../postgres/mod.ts";
import type { Command } from "../runtime/module.ts";
import { defineCommand } from "./options.ts";
import { applyMigrations, runModules } from "./run.ts";
import { migrateSpec, runSpec } from "./specs.ts";

/** `run`: starts the modules chosen by --modules / NEXUS_MODULES. */
export const runCommand: Command = defineCommand(runSpec, async (_flags, { config, log }) => {
  log.info("effective configuration", { config: describeConfig(config).join(" ") });
  return await runModules(config, log);
});

/** `migrate`: applies pending migrations and exits. */
export const migrateCommand: Command = defineCommand(
  migrateSpec,
  async (_flags, { config, log }) => {
    await checkPostgres(config);
    const applied = await applyMigrations(config);
    log.info(applied.length ? "migrations applied" : "database already up to date", {
      applied: applied.join(",") || "none",
    });
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "up to date");
    return 0;
  },
);
