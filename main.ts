/**
 * Nexus: an event-sourced e-commerce data pipeline. This file only wires commands and the
 * modules chosen by configuration; nothing runs at import time. Commands are known by their
 * specs; a command's code (and its Kafka, PostgreSQL or S3 client) loads only when it runs,
 * so `--help` loads no module code.
 *
 * @module
 */
import { splitArgs } from "./src/cli/args.ts";
import { parseOptions, UsageError, usageLine, usageText } from "./src/cli/options.ts";
import { commands } from "./src/cli/registry.ts";
import { ConfigError, resolveConfig, settingsHelp } from "./src/config/mod.ts";
import { configureLogging, createLogger } from "./src/log/logger.ts";
import { reasonOf, ServiceError } from "./src/runtime/errors.ts";

function helpText(): string {
  const list = commands.map(({ spec }) => `  ${spec.name.padEnd(10)} ${spec.summary}`).join("\n");
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
    return fail(e instanceof UsageError ? usageLine(e) : reasonOf(e));
  }
  if (split.command === undefined || split.command === "help") {
    console.log(helpText());
    return split.command === "help" || split.help ? 0 : 2;
  }
  const entry = commands.find((c) => c.spec.name === split.command);
  if (!entry) {
    const names = commands.map((c) => c.spec.name).join(", ");
    return fail(usageLine(
      new UsageError(`unknown command ${JSON.stringify(split.command)}`, `use one of ${names}`),
    ));
  }
  const name = entry.spec.name;
  if (split.help) {
    console.log(usageText(entry.spec));
    return 0;
  }
  let config;
  try {
    parseOptions(entry.spec, split.rest); // a usage error before any module code loads
    config = resolveConfig({ flags: split.settings });
  } catch (e) {
    if (e instanceof UsageError) return fail(usageLine(e, name));
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  }
  configureLogging({ level: config.logLevel, format: config.logFormat });
  const log = createLogger("nexus");
  try {
    const cmd = await entry.load();
    return await cmd.run(split.rest, { config, log });
  } catch (e) {
    if (e instanceof UsageError) return fail(usageLine(e, name));
    if (e instanceof ServiceError || e instanceof ConfigError) return fail(e.message);
    log.debug("command failed", { stack: (e as Error).stack });
    return fail(reasonOf(e), 1);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
