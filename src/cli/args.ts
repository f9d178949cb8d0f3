/**
 * Splits a command line into the command, the setting flags (from the settings table) and
 * the command's own arguments, which the command parses with its option table. Setting flags
 * are taken first, wherever they appear, so no command declares a flag of the same name
 * (`registry_test.ts` checks).
 *
 * @module
 */
import { settingFlags } from "../config/mod.ts";
import { UsageError } from "./options.ts";

/** A split command line. */
export interface SplitArgs {
  /** First positional word, or undefined (then `--help` or nothing was given). */
  command: string | undefined;
  /** Setting flags by flag name, e.g. `{ "kafka-brokers": "h:1" }`. */
  settings: Record<string, string>;
  /** Everything else, in order, for the command. */
  rest: string[];
  /** `-h`/`--help` was given. */
  help: boolean;
}

/**
 * Splits `argv`. Setting flags may appear anywhere, as `--name value` or `--name=value`.
 *
 * @throws {UsageError} when a setting flag has no value.
 */
export function splitArgs(argv: string[]): SplitArgs {
  const known = new Set(settingFlags());
  const out: SplitArgs = { command: undefined, settings: {}, rest: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") {
      out.help = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(a);
    if (m && known.has(m[1]!)) {
      let value = m[2];
      if (value === undefined) {
        value = argv[i + 1];
        if (value === undefined || value.startsWith("--")) {
          throw new UsageError(
            `--${m[1]} needs a value`,
            `give --${m[1]} VALUE or --${m[1]}=VALUE`,
          );
        }
        i++;
      }
      out.settings[m[1]!] = value;
      continue;
    }
    if (out.command === undefined && !a.startsWith("-")) out.command = a;
    else out.rest.push(a);
  }
  return out;
}
