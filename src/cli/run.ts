/**
 * `run`: checks the services the chosen modules need and applies migrations — once, here,
 * for every module — then starts the modules and stops them gracefully on SIGINT/SIGTERM.
 *
 * @module
 */
import type { Config, ModuleName } from "../config/mod.ts";
import { checkKafka } from "../kafka/mod.ts";
import type { Logger } from "../log/logger.ts";
import { checkPostgres, createSql, migrate } from "../postgres/mod.ts";
import { checkS3 } from "../s3/mod.ts";
import type { RunningModule } from "../runtime/module.ts";
import { servicesFor } from "../runtime/services.ts";
import { installShutdown } from "../runtime/shutdown.ts";
import { startObservability } from "../observe/mod.ts";
import { moduleStarters } from "./registry.ts";

/**
 * Checks every service the modules need (the table `MODULE_NEEDS`), failing with one line on
 * the first problem. The one place start-up checks run: the modules themselves check nothing.
 */
export async function preflight(config: Config, modules: ModuleName[]): Promise<void> {
  const needs = servicesFor(config, modules);
  if (needs.kafka) await checkKafka(config, { requireTopics: needs.requireTopics });
  if (needs.postgres) await checkPostgres(config);
  if (needs.buckets.length > 0) await checkS3(config, needs.buckets);
}

/** Applies pending migrations; returns the names applied. */
export async function applyMigrations(config: Config): Promise<string[]> {
  const sql = createSql(config, { max: 1 });
  try {
    return (await migrate(sql)).applied;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * Runs the configured modules until a signal stops them (exit code 0) or one fails
 * (exit code 1 after stopping the others).
 */
export async function runModules(config: Config, log: Logger): Promise<number> {
  const modules = config.modules;
  await preflight(config, modules);
  if (servicesFor(config, modules).postgres) {
    const applied = await applyMigrations(config);
    if (applied.length) log.info("migrations applied", { applied: applied.join(",") });
  }
  const running: RunningModule[] = [];
  const observe = await startObservability({ config, log, modules: () => running });
  const stopAll = async () => {
    // Stop in start order: the generator first, so the consumers stop on a quiet topic.
    for (const m of running) {
      await m.stop().catch((e) => log.error("stop failed", { module: m.name, error: e }));
    }
    await observe.stop();
  };
  const uninstall = installShutdown(stopAll, { timeoutMs: config.shutdownTimeoutMs, log });
  try {
    // The generator starts first: it creates the topic the consumers need.
    const order = [...modules].sort((a, b) => (a === "generator" ? -1 : b === "generator" ? 1 : 0));
    for (const name of order) {
      const start = await moduleStarters[name]();
      const m = await start({ config, log: log.child(name) });
      running.push(m);
      log.info("module started", { module: name });
    }
  } catch (e) {
    await stopAll();
    uninstall();
    throw e;
  }
  return await new Promise<number>((resolve) => {
    let left = running.length;
    let failed = false;
    for (const m of running) {
      m.done
        .then(
          () => log.info("module finished", { module: m.name }),
          async (e) => {
            log.error("module failed", { module: m.name, error: e });
            if (!failed) {
              failed = true;
              await stopAll();
            }
          },
        )
        .finally(() => {
          if (--left === 0) {
            uninstall();
            resolve(failed ? 1 : 0);
          }
        });
    }
  });
}
