/**
 * The configuration resolver: reads flags and environment once, with the precedence
 * flag > environment > default, validates every value and fails fast with one line that
 * names the setting, the bad value and the fix.
 *
 * @module
 */
import { type ModuleName, type Setting, type SettingKey, settings } from "./settings.ts";

type Value<S> = S extends Setting<infer T> ? T : never;
type Resolved<S> = S extends { default: string } ? Value<S> : Value<S> | undefined;

/** The validated, typed configuration of one Nexus process. */
export type Config =
  & { [K in Exclude<SettingKey, "dlqTopic">]: Resolved<typeof settings[K]> }
  & {
    /** Dead-letter topic; defaults to `<clickTopic>.dlq`. */
    dlqTopic: string;
    /** Modules `run` starts. */
    modules: ModuleName[];
  };

/** A configuration problem: not retriable, the process should exit with its one-line message. */
export class ConfigError extends Error {
  /** The environment variable of the offending setting. */
  readonly setting: string;
  /** Configuration errors never go away by retrying. */
  readonly retriable = false;
  constructor(setting: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** Where raw values come from. Flags use the setting's property name or its flag name. */
export interface ConfigSources {
  /** Parsed command-line flags, by flag name (e.g. `kafka-brokers`). Highest precedence. */
  flags?: Record<string, string | undefined>;
  /** Environment variables; defaults to `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** Reads a `*_FILE` secret; defaults to `Deno.readTextFileSync`. */
  readFile?: (path: string) => string;
}

function show(value: string, secret: boolean | undefined): string {
  return secret ? "<hidden>" : JSON.stringify(value);
}

/**
 * Resolves and validates the whole configuration.
 *
 * @throws {ConfigError} on the first invalid or missing setting, with a one-line message of
 * the form `Cannot start: SETTING (--flag) is "value": reason. Fix: ...`.
 */
export function resolveConfig(sources: ConfigSources = {}): Config {
  const flags = sources.flags ?? {};
  const env = sources.env ?? Deno.env.toObject();
  const readFile = sources.readFile ?? ((p: string) => Deno.readTextFileSync(p));
  const out: Record<string, unknown> = {};

  for (const [key, s] of Object.entries(settings) as [SettingKey, Setting][]) {
    let raw: string | undefined = flags[s.flag];
    let origin = `--${s.flag}`;
    if (raw === undefined && env[s.env] !== undefined && env[s.env] !== "") {
      raw = env[s.env];
      origin = s.env;
    }
    if (raw === undefined && s.secret && env[`${s.env}_FILE`]) {
      const path = env[`${s.env}_FILE`]!;
      origin = `${s.env}_FILE`;
      try {
        raw = readFile(path).trim();
      } catch (e) {
        throw new ConfigError(
          s.env,
          `Cannot start: ${s.env}_FILE is ${JSON.stringify(path)}: cannot read it (${
            (e as Error).message
          }). Fix: point ${s.env}_FILE at a readable file or set ${s.env}.`,
        );
      }
    }
    if (raw === undefined) raw = s.default;
    if (raw === undefined) {
      out[key] = undefined;
      continue;
    }
    try {
      out[key] = s.parse(raw);
    } catch (e) {
      throw new ConfigError(
        s.env,
        `Cannot start: ${s.env} (--${s.flag}, from ${origin}) is ${show(raw, s.secret)}: ${
          (e as Error).message
        }. Fix: give ${s.expect}.`,
      );
    }
  }

  const config = out as Config;
  config.dlqTopic ??= `${config.clickTopic}.dlq`;
  checkCrossSettings(config);
  return config;
}

function checkCrossSettings(c: Config): void {
  if (c.kafkaSaslMechanism !== "none") {
    for (const key of ["kafkaSaslUsername", "kafkaSaslPassword"] as const) {
      if (c[key] === undefined) {
        const s = settings[key];
        throw new ConfigError(
          s.env,
          `Cannot start: ${s.env} is not set but KAFKA_SASL_MECHANISM is ${
            JSON.stringify(c.kafkaSaslMechanism)
          }. Fix: set ${s.env} (or ${s.env}_FILE), or KAFKA_SASL_MECHANISM=none.`,
        );
      }
    }
  }
  if (c.dlqTopic === c.clickTopic) {
    throw new ConfigError(
      "NEXUS_DLQ_TOPIC",
      `Cannot start: NEXUS_DLQ_TOPIC is ${
        JSON.stringify(c.dlqTopic)
      }, the same as the click topic. Fix: use another name, e.g. ${c.clickTopic}.dlq.`,
    );
  }
  if (c.archiverGroup === c.aggregatorGroup) {
    throw new ConfigError(
      "NEXUS_ARCHIVER_GROUP",
      `Cannot start: NEXUS_ARCHIVER_GROUP is ${
        JSON.stringify(c.archiverGroup)
      }, the same as NEXUS_AGGREGATOR_GROUP: the two modules would split the partitions between them. Fix: give each module its own consumer group.`,
    );
  }
  if ((c.s3AccessKeyId === undefined) !== (c.s3SecretAccessKey === undefined)) {
    const missing = c.s3AccessKeyId === undefined ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY";
    throw new ConfigError(
      missing,
      `Cannot start: ${missing} is not set but its pair is. Fix: set both S3 keys or neither.`,
    );
  }
}

/** Replaces the password of a URL with `***`; other values of secret settings become `***`. */
export function maskSecret(value: string): string {
  try {
    const u = new URL(value);
    if (u.password) {
      u.password = "***";
      return u.toString();
    }
    return value;
  } catch {
    return "***";
  }
}

/**
 * Renders the effective configuration as `ENV=value` lines, secrets masked, for the
 * start-up banner. Unset optional settings are left out.
 */
export function describeConfig(config: Config): string[] {
  const lines: string[] = [];
  for (const [key, s] of Object.entries(settings) as [SettingKey, Setting][]) {
    const v = (config as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const text = Array.isArray(v) ? v.join(",") : String(v);
    lines.push(`${s.env}=${s.secret ? maskSecret(text) : text}`);
  }
  return lines;
}

/** Renders the settings table for `--help`, grouped, with env names, flags and defaults. */
export function settingsHelp(): string {
  const groups = new Map<string, string[]>();
  for (const s of Object.values(settings) as Setting[]) {
    const rows = groups.get(s.group) ?? [];
    const dflt = s.default === undefined ? "" : ` [default: ${s.default}]`;
    rows.push(`  --${s.flag.padEnd(22)} ${s.env.padEnd(26)} ${s.doc}${dflt}`);
    groups.set(s.group, rows);
  }
  return [...groups].map(([g, rows]) => `${g}:\n${rows.join("\n")}`).join("\n\n");
}

/** The flag names of every setting, for the CLI's argument parser. */
export function settingFlags(): string[] {
  return (Object.values(settings) as Setting[]).map((s) => s.flag);
}
