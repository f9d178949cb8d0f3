/**
 * The PostgreSQL client factory (postgres.js) and its start-up check. Parameterised SQL
 * only: callers use tagged templates, never string concatenation.
 *
 * @module
 */
import postgres from "postgres";
import type { Config } from "../config/mod.ts";
import { maskSecret } from "../config/mod.ts";
import { reasonOf, ServiceError } from "../runtime/errors.ts";

/** A postgres.js client. */
export type Sql = postgres.Sql;
/** A postgres.js client inside `sql.begin` (one transaction). */
export type TransactionSql = postgres.TransactionSql;

/** Options for `createSql`. */
export interface SqlOptions {
  /** Pool size. Default 4. */
  max?: number;
  /** Seconds to wait for a connection. Default 10. */
  connectTimeout?: number;
  /** Override the database name in DATABASE_URL (tests use their own databases). */
  database?: string;
}

/** Creates a postgres.js client from `Config` (URL, PGPASSWORD, PGSSLMODE). */
export function createSql(config: Config, options: SqlOptions = {}): Sql {
  const ssl = config.pgSslMode === "disable"
    ? false
    : config.pgSslMode === "verify-full"
    ? "verify-full"
    : config.pgSslMode;
  return postgres(config.databaseUrl, {
    max: options.max ?? 4,
    connect_timeout: options.connectTimeout ?? 10,
    idle_timeout: 30,
    ssl: ssl as postgres.Options<Record<string, never>>["ssl"],
    ...(config.pgPassword ? { password: config.pgPassword } : {}),
    ...(options.database ? { database: options.database } : {}),
    onnotice: () => {},
    connection: { application_name: "nexus" },
  });
}

/** Translates a connection failure into a one-line error naming DATABASE_URL and the fix. */
export function postgresError(e: unknown, config: Config): ServiceError {
  const url = maskSecret(config.databaseUrl);
  const code = (e as { code?: string }).code;
  if (code === "28P01" || code === "28000") {
    return new ServiceError(
      `Cannot connect to PostgreSQL: authentication failed for DATABASE_URL=${url} (${
        reasonOf(e)
      }). Fix: correct the password in DATABASE_URL or PGPASSWORD.`,
      { setting: "DATABASE_URL", retriable: false, cause: e },
    );
  }
  if (code === "3D000") {
    return new ServiceError(
      `Cannot connect to PostgreSQL: ${
        reasonOf(e)
      } (DATABASE_URL=${url}). Fix: create the database or correct its name in DATABASE_URL.`,
      { setting: "DATABASE_URL", retriable: false, cause: e },
    );
  }
  return new ServiceError(
    `Cannot connect to PostgreSQL at DATABASE_URL=${url}: ${
      reasonOf(e)
    }. Fix: start PostgreSQL (deno task stack up) or point DATABASE_URL at a reachable server.`,
    { setting: "DATABASE_URL", retriable: true, cause: e },
  );
}

/**
 * Checks that PostgreSQL accepts the configured credentials.
 *
 * @throws {ServiceError} naming DATABASE_URL (password masked) and the fix.
 */
export async function checkPostgres(config: Config): Promise<void> {
  const sql = createSql(config, { max: 1, connectTimeout: 8 });
  try {
    await sql`select 1`;
  } catch (e) {
    throw postgresError(e, config);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}
