/**
 * Nexus: an event-sourced e-commerce data pipeline. This file only wires commands and the
 * modules chosen by configuration; nothing runs at import time.
 *
 * @module
 */
import { splitArgs } from "./src/cli/args.ts";
import { migrateCommand, runCommand } from "./src/cli/commands.ts";
import { moduleCommands } from "./src/cli/registry.ts";
import { ConfigError, resolveConfig, settingsHelp } from "./src/config/mod.ts";
import { configureLogging, createLogger } from "./src/log/logger.ts";
import { statusCommand } from "./src/observe/mod.ts";
import { reasonOf, ServiceError } from "./src/runtime/errors.ts";
import type { Command } from "./src/runtime/module.ts";

function helpText(commands: Command[]): string {
  const list = commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n");
  return `Nexus — event-sourced e-commerce data pipeline

Usage: nexus <command> [command flags] [settings]

Commands:
${list}
  help       Show this help; "nexus <command> --help" shows a command's flags

Settings (flag > environment variable > default; secrets also from VAR_FILE):
${settingsHelp()}`;
}

/** Runs the CLI with `argv`; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const fail = (msg: string, code = 2) => {
    console.error(`nexus: ${msg}`);
    return code;
  };
  let split;
  try {
    split = splitArgs(argv);
  } catch (e) {
    return fail(reasonOf(e));
  }
  const commands = [runCommand, migrateCommand, statusCommand, ...(await moduleCommands())];
  if (split.command === undefined || split.command === "help") {
    console.log(helpText(commands));
    return split.command === "help" || split.help ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === split.command);
  if (!cmd) {
    return fail(
      `Cannot run: unknown command "${split.command}". Fix: use one of ${
        commands.map((c) => c.name).join(", ")
      } (nexus --help).`,
    );
  }
  if (split.help) {
    console.log(cmd.usage);
    return 0;
  }
  let config;
  try {
    config = resolveConfig({ flags: split.settings });
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  }
  configureLogging({ level: config.logLevel, format: config.logFormat });
  const log = createLogger("nexus");
  try {
    return await cmd.run(split.rest, { config, log });
  } catch (e) {
    if (e instanceof ServiceError || e instanceof ConfigError) return fail(e.message);
    log.debug("command failed", { stack: (e as Error).stack });
    return fail(reasonOf(e), 1);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
