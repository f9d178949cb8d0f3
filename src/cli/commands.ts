/**
 * The commands `main.ts` owns itself: `run` and `migrate`.
 *
 * @module
 */
import { describeConfig } from "../config/mod.ts";
import { checkPostgres } from "../postgres/mod.ts";
import type { Command } from "../runtime/module.ts";
import { applyMigrations, runModules } from "./run.ts";

/** `run`: starts the modules chosen by --modules / NEXUS_MODULES. */
export const runCommand: Command = {
  name: "run",
  summary: "Start the modules chosen by --modules (or NEXUS_MODULES) until Ctrl-C",
  usage: `nexus run [--modules generator,aggregator,archiver,loader] [settings...]

Checks Kafka, PostgreSQL and S3 as the modules need them (one clear line and exit 2 on a
problem), applies migrations, starts the modules and stops them gracefully on SIGINT or
SIGTERM (flush, commit, disconnect) within NEXUS_SHUTDOWN_TIMEOUT_MS; a second signal exits
at once. With the generator: live click events at --rate events/s (NEXUS_GENERATOR_RATE).`,
  async run(args, { config, log }) {
    if (args.length) throw new Error(`Cannot run: unexpected argument "${args[0]}"`);
    log.info("effective configuration", { config: describeConfig(config).join(" ") });
    return await runModules(config, log);
  },
};

/** `migrate`: applies pending migrations and exits. */
export const migrateCommand: Command = {
  name: "migrate",
  summary: "Apply pending database migrations (safe to run concurrently) and exit",
  usage: `nexus migrate [--database-url URL]

Applies each numbered file of migrations/ not yet recorded in nexus_schema_migrations, each
in its own transaction, under an advisory lock.`,
  async run(args, { config, log }) {
    if (args.length) throw new Error(`Cannot migrate: unexpected argument "${args[0]}"`);
    await checkPostgres(config);
    const applied = await applyMigrations(config);
    log.info(applied.length ? "migrations applied" : "database already up to date", {
      applied: applied.join(",") || "none",
    });
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "up to date");
    return 0;
  },
};
