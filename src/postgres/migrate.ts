/**
 * Migrations: numbered SQL files in `migrations/` (`0001_name.sql`, ...), each applied once
 * in its own transaction and recorded in `nexus_schema_migrations`. A session-level advisory
 * lock serialises concurrent appliers, so two processes starting together do not race.
 *
 * @module
 */
import type { Sql } from "./client.ts";
import { connectionGone } from "./transaction.ts";

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** What `migrate` did. */
export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** The advisory-lock key (an arbitrary constant: "nexus" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6e65787573;
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The default migrations folder: `migrations/` at the project root. */
export function defaultMigrationsDir(): URL {
  return new URL("../../migrations/", import.meta.url);
}

/** Reads and orders the migration files; rejects duplicate versions and stray names. */
export async function loadMigrations(dir: URL = defaultMigrationsDir()): Promise<Migration[]> {
  const out: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const m = FILE_RE.exec(entry.name);
    if (!m) {
      throw new Error(
        `Cannot load migrations: file name is "${entry.name}"; expected NNNN_snake_name.sql`,
      );
    }
    const sql = await Deno.readTextFile(new URL(entry.name, dir));
    out.push({ version: Number(m[1]), name: entry.name, sql, checksum: await sha256(sql) });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new Error(`Cannot load migrations: version ${out[i]!.version} is used twice`);
    }
  }
  return out;
}

/**
 * Applies every migration not yet recorded, in order, each in its own transaction, under a
 * session advisory lock. Fails if an applied migration's file has since changed.
 */
export async function migrate(
  sql: Sql,
  migrations?: Migration[],
): Promise<MigrateResult> {
  const list = migrations ?? await loadMigrations();
  const conn = await sql.reserve();
  // Once the reserved connection is gone (server restart), nothing more may be written to it
  // — no rollback, no unlock, no release: postgres.js would write to a null socket and end the
  // process (see `transaction.ts`); the server already dropped the lock with the session.
  let gone = false;
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await conn`create table if not exists nexus_schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
      const rows = await conn<{ version: number; name: string; checksum: string }[]>`
        select version, name, checksum from nexus_schema_migrations`;
      const done = new Map(rows.map((r) => [r.version, r]));
      const applied: string[] = [];
      for (const m of list) {
        const prior = done.get(m.version);
        if (prior) {
          if (prior.checksum !== m.checksum) {
            throw new Error(
              `Cannot migrate: ${m.name} was changed after it was applied (recorded as ${prior.name}); fix: add a new migration instead of editing an applied one`,
            );
          }
          continue;
        }
        await conn.unsafe("begin");
        try {
          await conn.unsafe(m.sql);
          await conn`insert into nexus_schema_migrations (version, name, checksum)
            values (${m.version}, ${m.name}, ${m.checksum})`;
          await conn.unsafe("commit");
        } catch (e) {
          if (connectionGone(e)) gone = true;
          else await conn.unsafe("rollback").catch(() => {});
          throw new Error(`Cannot migrate: ${m.name} failed: ${(e as Error).message}`, {
            cause: e,
          });
        }
        applied.push(m.name);
      }
      return { applied, alreadyApplied: list.length - applied.length };
    } catch (e) {
      if (connectionGone(e) || connectionGone((e as Error).cause)) gone = true;
      throw e;
    } finally {
      if (!gone) await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
    }
  } catch (e) {
    if (connectionGone(e)) gone = true;
    throw e;
  } finally {
    if (!gone) conn.release();
  }
}
