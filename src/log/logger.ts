/**
 * A small structured logger: namespaced by module, with a level and a text or JSON format.
 * Writes to stderr so stdout stays free for command output. Callers must never pass
 * secrets; the config banner masks them before logging.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Logger options. */
export interface LoggerOptions {
  /** Least severe level printed. Default `info`. */
  level?: Level;
  /** `text` (default) or `json` lines. */
  format?: "text" | "json";
  /** Where lines go. Default: stderr. */
  write?: (line: string) => void;
}

/** A namespaced logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger for a sub-namespace, e.g. `nexus:aggregator`. */
  child(ns: string): Logger;
}

const encoder = new TextEncoder();
const defaultWrite = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n"));
let globalOptions: LoggerOptions = {};

/** Sets the level and format every logger created afterwards (and existing ones) use. */
export function configureLogging(options: LoggerOptions): void {
  globalOptions = { ...globalOptions, ...options };
}

function fmtValue(v: unknown): string {
  if (typeof v === "string") return /[\s="]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === "bigint") return String(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x) ?? String(v);
}

/** Fields with a value: `undefined` ones are left out of the line. */
function present(fields: Record<string, unknown> | undefined): [string, unknown][] {
  return Object.entries(fields ?? {}).filter(([, v]) => v !== undefined);
}

/** Creates a logger for namespace `ns` (e.g. `aggregator`). */
export function createLogger(ns: string, options: LoggerOptions = {}): Logger {
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    const o = { ...globalOptions, ...options };
    if (RANK[level] < RANK[o.level ?? "info"]) return;
    const write = o.write ?? defaultWrite;
    const time = new Date().toISOString();
    if (o.format === "json") {
      const f: Record<string, unknown> = {};
      for (const [k, v] of present(fields)) {
        f[k] = v instanceof Error ? v.message : v;
      }
      write(
        JSON.stringify(
          { time, level, ns, msg, ...f },
          (_k, x) => typeof x === "bigint" ? String(x) : x,
        ),
      );
    } else {
      const extra = present(fields).map(([k, v]) => ` ${k}=${fmtValue(v)}`).join("");
      write(`${time} ${level.toUpperCase().padEnd(5)} [${ns}] ${msg}${extra}`);
    }
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (sub) => createLogger(`${ns}:${sub}`, options),
  };
}
