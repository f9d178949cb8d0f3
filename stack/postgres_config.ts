/**
 * Pure PostgreSQL settings of the local stack, and the checks that decide whether the
 * unprivileged `postgres` user can reach its data folder.
 *
 * @module
 */

/** Where the PostgreSQL 15 server binaries live on Debian. */
export const PG_BIN = "/usr/lib/postgresql/15/bin";
/** The superuser (and database) the stack creates. */
export const PG_USER = "nexus";
/** The system user PostgreSQL runs as when the stack is started by root. */
export const PG_SYSTEM_USER = "postgres";

/** Options for `postgresSettings`. */
export interface PostgresSettingsOptions {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Unix socket folder; undefined disables the socket (path too long). */
  socketDir: string | undefined;
  /** Default 200 (test suites open many pools). */
  maxConnections?: number;
}

/** The settings the stack puts in `nexus.conf`, included from `postgresql.conf`. */
export function postgresSettings(opts: PostgresSettingsOptions): Record<string, string> {
  return {
    listen_addresses: "127.0.0.1",
    port: String(opts.port),
    unix_socket_directories: opts.socketDir ?? "",
    max_connections: String(opts.maxConnections ?? 200),
    shared_buffers: "128MB",
    timezone: "UTC",
    log_timezone: "UTC",
    log_line_prefix: "%m [%p] %q%u@%d ",
    log_checkpoints: "off",
    log_min_messages: "warning",
  };
}

/** Renders settings as a `postgresql.conf` fragment (every value single-quoted). */
export function renderPostgresConf(settings: Record<string, string>, header: string): string {
  const lines = header.split("\n").map((l) => `# ${l}`.trimEnd());
  for (const [key, value] of Object.entries(settings)) {
    lines.push(`${key} = '${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`);
  }
  return lines.join("\n") + "\n";
}

/** Linux's limit for a unix socket path (sun_path), including the trailing NUL. */
const SUN_PATH_MAX = 108;

/** True when `<dir>/.s.PGSQL.<port>` fits in a unix socket address. */
export function socketPathFits(dir: string, port: number): boolean {
  return new TextEncoder().encode(`${dir}/.s.PGSQL.${port}`).length < SUN_PATH_MAX;
}

/** One folder on the way to the data folder, as `stat` sees it. */
export interface PathEntry {
  path: string;
  /** Permission bits (e.g. 0o755). */
  mode: number;
  /** Owner uid. */
  uid: number;
}

/**
 * Returns the first folder `uid` cannot pass through (no x bit for it as owner or other),
 * or undefined when all can be traversed. Group bits are ignored (conservative).
 */
export function firstUntraversable(entries: PathEntry[], uid: number): PathEntry | undefined {
  return entries.find((e) => !(e.uid === uid ? e.mode & 0o100 : e.mode & 0o001));
}

/** Lists `path` and its ancestors, root first: `/a/b` → `/`, `/a`, `/a/b`. */
export function ancestors(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "");
  const out = ["/"];
  for (let i = 1; i <= parts.length; i++) out.push("/" + parts.slice(0, i).join("/"));
  return out;
}
