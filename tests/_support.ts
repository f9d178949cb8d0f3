/**
 * Shared set-up for integration tests: configuration for the running stack, a fresh
 * migrated database per test file, and unique topic and group names so test files never
 * see each other's data.
 *
 * Services come from the environment (KAFKA_BROKERS, DATABASE_URL, S3_ENDPOINT, ...); when
 * those are unset, from `.nexus/stack.env`, written by `deno task stack up`.
 *
 * @module
 */
import { type Config, resolveConfig } from "../src/config/mod.ts";
import { createSql, migrate, type Sql } from "../src/postgres/mod.ts";
import { createKafkaClient } from "../src/kafka/mod.ts";

const STACK_ENV = new URL("../.nexus/stack.env", import.meta.url);

/** Parses `KEY=value` lines (blank lines and `#` comments ignored). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const i = t.indexOf("=");
    if (i > 0) out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

/** The environment tests run against: process env, falling back to the local stack's. */
export function testEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  if (env.KAFKA_BROKERS && env.DATABASE_URL && env.S3_ENDPOINT) return env;
  let stack: Record<string, string> = {};
  try {
    stack = parseEnvFile(Deno.readTextFileSync(STACK_ENV));
  } catch {
    throw new Error(
      "Cannot run integration tests: KAFKA_BROKERS, DATABASE_URL and S3_ENDPOINT are unset and .nexus/stack.env is missing; fix: run `deno task test` (starts the stack) or `deno task stack up` first",
    );
  }
  return { ...stack, ...env };
}

/**
 * True when the tests run against the local stack (so a test may stop and restart one of its
 * services): `tests/run.ts` sets NEXUS_TEST_LOCAL_STACK=1 when it brought the stack up, and a
 * plain `deno test` without KAFKA_BROKERS etc. reads the stack's env file.
 */
export function usesLocalStack(): boolean {
  const env = Deno.env.toObject();
  if (env.NEXUS_TEST_LOCAL_STACK === "1") return true;
  return !(env.KAFKA_BROKERS && env.DATABASE_URL && env.S3_ENDPOINT);
}

/**
 * Whether a test may stop or restart a shared service: only on the local stack, and not when
 * NEXUS_TEST_NO_RESTARTS=1 (set it while several test runs share one stack).
 */
export function serviceRestartsAllowed(): boolean {
  return usesLocalStack() && Deno.env.get("NEXUS_TEST_NO_RESTARTS") !== "1";
}

/** A validated config for tests, with optional flag-style overrides. */
export function testConfig(flags: Record<string, string> = {}): Config {
  return resolveConfig({ env: testEnv(), flags });
}

/** A unique, legal name for topics, groups and databases: `prefix_<time>_<rand>`. */
export function uniqueName(prefix: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${prefix}_${Date.now().toString(36)}_${rand}`.toLowerCase();
}

/** A fresh, migrated database of its own; `drop()` removes it. */
export interface TestDatabase {
  name: string;
  sql: Sql;
  /** Config whose DATABASE_URL points at this database. */
  config: Config;
  drop(): Promise<void>;
}

/** Creates a new database, applies all migrations and returns a client for it. */
export async function freshDatabase(prefix: string, base = testConfig()): Promise<TestDatabase> {
  const name = uniqueName(`t_${prefix}`);
  const admin = createSql(base, { max: 1 });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base.databaseUrl);
  url.pathname = `/${name}`;
  const config: Config = { ...base, databaseUrl: url.toString() };
  const sql = createSql(config, { max: 4 });
  await migrate(sql);
  return {
    name,
    sql,
    config,
    async drop() {
      await sql.end({ timeout: 2 });
      const a = createSql(base, { max: 1 });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

/** Creates a topic with `partitions` partitions and returns its name. */
export async function freshTopic(config: Config, prefix: string, partitions = 3): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = createKafkaClient(config, { clientSuffix: "test-admin" }).admin();
  try {
    const n = await admin.ensureTopic(topic, partitions);
    if (n !== partitions) throw new Error(`topic ${topic} has ${n} partitions, not ${partitions}`);
  } finally {
    await admin.close();
  }
  return topic;
}
