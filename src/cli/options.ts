/**
 * Declarative command flags. Each command states its flags once, in an option table (name,
 * value type, default, one-line doc); the `node:util` parser options, the parsing and
 * validation, and the `--help` text are all derived from that table. Also the one usage error
 * of the CLI, and how it is printed.
 *
 * This file and the specs (`specs.ts`) load no module code, so `nexus --help` and
 * `nexus <command> --help` stay fast.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Setting, type SettingKey, settings } from "../config/settings.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";

/**
 * A usage error: a bad flag, a missing one, or flags that exclude each other. Printed as one
 * line `nexus: Cannot run nexus <command>: <message>. Fix: <fix> (see nexus <command> --help).`,
 * exit code 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
  /** What to do instead, e.g. `give --seed an integer 0..4294967295`. */
  readonly fix: string;
  constructor(message: string, fix = "check the flags") {
    super(message);
    this.fix = fix;
  }
}

/** The line a usage error prints after `nexus: ` (no command: an error of the command line). */
export function usageLine(e: UsageError, command?: string): string {
  const what = command ? `Cannot run nexus ${command}` : "Cannot parse arguments";
  return `${what}: ${e.message}. Fix: ${e.fix} (see nexus ${command ? `${command} ` : ""}--help).`;
}

/** How a flag's raw value becomes a typed value. */
export interface ValueType<T> {
  /** What a valid value looks like, for the fix of a usage error: `an integer >= 1`. */
  expect: string;
  /** Returns the value, or throws an Error whose message is the reason it is invalid. */
  parse(raw: string): T;
}

/** A flag with a value: `--name VALUE` or `--name=VALUE`. */
export interface ValueOption<T = unknown> {
  /** Placeholder in the usage text: `N`, `ISO`, `PATH`. */
  arg: string;
  type: ValueType<T>;
  /** One line for the usage text. */
  doc: string;
  /** Default as the text a user would type; parsed like a given value. Shown as `[default: ...]`. */
  default?: string;
  /** Where the value comes from when the flag is absent and there is no fixed default. */
  fallback?: string;
  /** The flag must be given. */
  required?: true;
}

/** A boolean flag: present or not. */
export interface SwitchOption {
  switch: true;
  /** One line for the usage text. */
  doc: string;
}

/** A command's flags, by name without the dashes. */
export type OptionTable = Record<string, ValueOption | SwitchOption>;

/** The parsed flags of a table: switches are booleans, flags with a default always have a value. */
export type Values<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K] extends SwitchOption ? boolean
    : O[K] extends { type: ValueType<infer T>; default: string } ? T
    : O[K] extends { type: ValueType<infer T>; required: true } ? T
    : O[K] extends { type: ValueType<infer T> } ? T | undefined
    : never;
};

/** Everything `nexus <command> --help` shows, and what main.ts lists. */
export interface CommandSpec<O extends OptionTable = OptionTable> {
  name: string;
  /** One line for `nexus --help`. */
  summary: string;
  /** What follows `nexus <name>` in the usage line. Default `[flags] [settings]`. */
  synopsis?: string;
  /** What the command does, a paragraph or two. */
  about: string;
  options: O;
  /** Settings this command reads that are worth naming in its help (all: `nexus --help`). */
  settings?: readonly SettingKey[];
}

function isSwitch(o: ValueOption | SwitchOption): o is SwitchOption {
  return "switch" in o;
}

function argsError(e: unknown, command: string): UsageError {
  const code = (e as { code?: string }).code;
  const msg = (e as Error).message ?? String(e);
  const flag = /'(-[^' ]*)/.exec(msg)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return new UsageError(`${flag} is not a flag of ${command}`, "use one of the flags listed");
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /does not take/.test(msg)) {
    return new UsageError(`${flag} takes no value`, `write ${flag} alone`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new UsageError(`${flag} needs a value`, `give ${flag} VALUE or ${flag}=VALUE`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']*)'/.exec(msg)?.[1] ?? "";
    return new UsageError(
      `unexpected argument ${JSON.stringify(arg)}`,
      "give values as --flag VALUE",
    );
  }
  return new UsageError(msg.split("\n")[0]!);
}

/**
 * Parses `args` with the command's option table: unknown flags, missing values and invalid
 * values are a `UsageError` naming the flag, the value and what it expects.
 */
export function parseOptions<O extends OptionTable>(
  spec: CommandSpec<O>,
  args: string[],
): Values<O> {
  const table: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    table[name] = { type: isSwitch(o) ? "boolean" : "string" };
  }
  let given: Record<string, string | boolean | undefined>;
  try {
    given = parseArgs({ args, options: table, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw argsError(e, spec.name);
  }
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    if (isSwitch(o)) {
      out[name] = given[name] === true;
      continue;
    }
    const raw = (given[name] as string | undefined) ?? o.default;
    if (raw === undefined && o.required) {
      throw new UsageError(`--${name} is missing`, `give --${name} ${o.type.expect}`);
    }
    if (raw === undefined) continue;
    try {
      out[name] = o.type.parse(raw);
    } catch (e) {
      throw new UsageError(
        `--${name} is ${JSON.stringify(raw)}: ${(e as Error).message}`,
        `give --${name} ${o.type.expect}`,
      );
    }
  }
  return out as Values<O>;
}

/** The usage text of a command, rendered from its spec and the settings table. */
export function usageText(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const left = isSwitch(o) ? `--${name}` : `--${name} ${o.arg}`;
    const dflt = isSwitch(o) ? undefined : o.default ?? o.fallback;
    const note = isSwitch(o) || !o.required ? "" : " [required]";
    return [left, dflt === undefined ? `${o.doc}${note}` : `${o.doc} [default: ${dflt}]`] as const;
  });
  const width = Math.max(22, ...rows.map(([l]) => l.length + 2));
  const parts = [`nexus ${spec.name} ${spec.synopsis ?? "[flags] [settings]"}`, spec.about];
  if (rows.length) {
    parts.push(`Flags:\n${rows.map(([l, r]) => `  ${l.padEnd(width)} ${r}`).join("\n")}`);
  }
  if (spec.settings?.length) {
    const lines = spec.settings.map((key) => {
      const s: Setting = settings[key];
      const dflt = s.default === undefined ? "" : ` [default: ${s.default}]`;
      return `  --${s.flag.padEnd(width - 2)} ${s.env}: ${s.doc}${dflt}`;
    });
    parts.push(
      `Settings it reads (flag or environment; every setting: nexus --help):\n${lines.join("\n")}`,
    );
  }
  return parts.join("\n\n");
}

/**
 * A command from its spec and a handler of the parsed flags. `run` parses the arguments with
 * the spec's table; a usage error (from parsing or from the handler) prints one line and
 * resolves to 2.
 */
export function defineCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  handler: (values: Values<O>, ctx: ModuleContext) => Promise<number>,
): Command {
  return {
    name: spec.name,
    spec,
    async run(args, ctx) {
      try {
        return await handler(parseOptions(spec, args), ctx);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        console.error(`nexus: ${usageLine(e, spec.name)}`);
        return 2;
      }
    },
  };
}

// --- value types ------------------------------------------------------------------------

/** An integer in `min..max`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueType<number> {
  const open = max === Number.MAX_SAFE_INTEGER;
  return {
    expect: open ? `an integer >= ${min}` : `an integer ${min}..${max}`,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error("not an integer");
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(open ? `below ${min}` : `outside ${min}..${max}`);
      }
      return n;
    },
  };
}

/** A finite number >= `min` (or > `min` when `exclusive`). */
export function number(min: number, exclusive = false): ValueType<number> {
  return {
    expect: `a number ${exclusive ? ">" : ">="} ${min}`,
    parse(raw) {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new Error("not a number");
      if (exclusive ? n <= min : n < min) throw new Error(`not ${exclusive ? ">" : ">="} ${min}`);
      return n;
    },
  };
}

/** A number 0..1. */
export const fraction: ValueType<number> = {
  expect: "a number 0..1",
  parse(raw) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new Error("not a number");
    if (n < 0 || n > 1) throw new Error("outside 0..1");
    return n;
  },
};

/** Any non-empty text. */
export const text: ValueType<string> = {
  expect: "a non-empty value",
  parse(raw) {
    if (raw.trim() === "") throw new Error("empty");
    return raw;
  },
};

/** A time `Date.parse` reads (ISO 8601). */
export const isoTime: ValueType<Date> = {
  expect: "an ISO time, e.g. 2026-01-01T00:00:00Z",
  parse(raw) {
    const t = Date.parse(raw);
    if (!Number.isFinite(t)) throw new Error("not an ISO time");
    return new Date(t);
  },
};

/** A day `YYYY-MM-DD`, kept as text. */
export const day: ValueType<string> = {
  expect: "a day YYYY-MM-DD",
  parse(raw) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || !Number.isFinite(Date.parse(raw))) {
      throw new Error("not YYYY-MM-DD");
    }
    return raw;
  },
};

/** Text matching `re`. */
export function matching(re: RegExp, expect: string): ValueType<string> {
  return {
    expect,
    parse(raw) {
      if (!re.test(raw)) throw new Error(`not ${expect}`);
      return raw;
    },
  };
}

/** One of `values`. */
export function oneOf<T extends string>(values: readonly T[]): ValueType<T> {
  return {
    expect: `one of ${values.join(", ")}`,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new Error("not a known value");
      return raw as T;
    },
  };
}
