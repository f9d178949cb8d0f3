/**
 * What every measurement shares: the stack's env, the base config, the workload, and the
 * topics and databases a run creates (removed at the end unless `--keep`).
 *
 * @module
 */
import { type Config, resolveConfig } from "../src/config/mod.ts";
import { createKafkaClient, type KafkaClient, type KafkaClientName } from "../src/kafka/mod.ts";
import { createSql, migrate, type Sql } from "../src/postgres/mod.ts";
import { defaultStreamParams, type StreamParams } from "../src/generator/mod.ts";

/** The measurement names, in run order. */
export const MEASUREMENTS = ["produce", "consume", "latency", "rebuild", "archive", "rss"] as const;
/** One of `MEASUREMENTS`. */
export type MeasurementName = typeof MEASUREMENTS[number];

/** Options of one bench run (from the command line). */
export interface BenchOptions {
  events: number;
  partitions: number;
  name: string;
  seed: number;
  skip: Set<string>;
  latencyRate: number;
  latencySeconds: number;
  latencyFlushMs: number;
  /** Adapter of the main measurements and their children (`--client`, default platformatic). */
  client: KafkaClientName;
  /** Records of the client comparison, every adapter side by side (0 = skip). */
  clientRecords: number;
  /** Profile generator and aggregator hot paths at this many events (0 = skip). */
  profileEvents: number;
  outDir: string;
  readme?: string;
  keep: boolean;
}

/** Shared state of a run. */
export class BenchContext {
  readonly config: Config;
  readonly params: StreamParams;
  readonly runTag: string;
  readonly logFile: string;
  readonly workDir: string;
  #topics = new Set<string>();
  #groups = new Set<string>();
  #databases = new Set<string>();
  #sqls = new Set<Sql>();

  constructor(readonly env: Record<string, string>, readonly opts: BenchOptions) {
    this.config = resolveConfig({ env, flags: {} });
    this.params = defaultStreamParams({ seed: opts.seed, events: opts.events });
    this.runTag = `bench_${opts.name.replace(/[^a-z0-9]/gi, "").toLowerCase()}_${
      Date.now().toString(36)
    }`;
    this.workDir = Deno.makeTempDirSync({ prefix: `${this.runTag}_` });
    this.logFile = `${this.workDir}/children.log`;
  }

  /**
   * Env of a child module: the stack's, the run's Kafka client (`NEXUS_KAFKA_CLIENT`) and a
   * 10 s consumer-group session timeout (a killed child's partitions move sooner), plus
   * `extra` (which may override both).
   */
  childEnv(extra: Record<string, string>): Record<string, string> {
    return {
      ...this.env,
      NEXUS_LOG_LEVEL: "warn",
      NEXUS_HTTP_PORT: "0",
      NEXUS_KAFKA_CLIENT: this.opts.client,
      NEXUS_KAFKA_SESSION_TIMEOUT_MS: "10000",
      ...extra,
    };
  }

  /** A Kafka client of the port: the run's adapter unless `client` names another. */
  kafka(client: KafkaClientName = this.opts.client, suffix = "bench"): KafkaClient {
    return createKafkaClient(this.config, { client, clientSuffix: suffix });
  }

  /** A consumer group name `<runTag>_<suffix>`, deleted at the end of the run. */
  group(suffix: string): string {
    const name = `${this.runTag}_${suffix}`;
    this.#groups.add(name);
    return name;
  }

  /** Creates a fresh topic `<runTag>_<suffix>` with the run's partitions. */
  async topic(suffix: string, partitions = this.opts.partitions): Promise<string> {
    const name = `${this.runTag}_${suffix}`;
    this.#topics.add(name);
    this.#topics.add(`${name}.dlq`);
    const admin = this.kafka(undefined, "bench-admin").admin();
    try {
      const n = await admin.ensureTopic(name, partitions);
      if (n !== partitions) {
        throw new Error(`bench: topic ${name} has ${n} partitions, expected ${partitions}`);
      }
    } finally {
      await admin.close();
    }
    return name;
  }

  /** End offsets of `topic` per partition. */
  async ends(topic: string): Promise<Map<number, number>> {
    const admin = this.kafka(undefined, "bench-admin").admin();
    try {
      const m = await admin.offsets(topic);
      return new Map([...m].map(([p, o]) => [p, Number(o.high)]));
    } finally {
      await admin.close();
    }
  }

  /** A fresh migrated database `<runTag>_<suffix>`; returns its config and a client. */
  async database(suffix: string): Promise<{ url: string; sql: Sql }> {
    const name = `${this.runTag}_${suffix}`;
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
    const admin = createSql(this.config, { max: 1 });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    this.#databases.add(name);
    const url = new URL(this.config.databaseUrl);
    url.pathname = `/${name}`;
    const sql = createSql({ ...this.config, databaseUrl: url.toString() }, { max: 2 });
    await migrate(sql);
    this.#sqls.add(sql);
    return { url: url.toString(), sql };
  }

  /**
   * Removes what the run created (topics, databases; the work folder with child logs and
   * profiles unless `keepWork`), all kept with `--keep`.
   */
  async cleanup(keepWork = false): Promise<void> {
    for (const sql of this.#sqls) await sql.end({ timeout: 2 }).catch(() => {});
    if (this.opts.keep) return;
    if (!keepWork) await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
    const admin = this.kafka(undefined, "bench-admin").admin();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = [...this.#topics].filter((t) => existing.has(t));
      if (topics.length) await admin.deleteTopics(topics);
    } catch (e) {
      console.error(`bench: could not delete topics: ${(e as Error).message}`);
    }
    // one by one: a group that never formed (or is still being left) fails on its own
    for (const g of this.#groups) await admin.deleteGroups([g]).catch(() => {});
    await admin.close();
    const sql = createSql(this.config, { max: 1 });
    for (const db of this.#databases) {
      await sql.unsafe(`drop database if exists "${db}" with (force)`).catch(() => {});
    }
    await sql.end();
  }
}

/** Sum of the aggregator's stored next_offset per partition of `topic`. */
export async function storedOffsets(sql: Sql, topic: string): Promise<Map<number, number>> {
  const rows = await sql<{ partition: number; next_offset: string; replay_offset: string }[]>`
    select partition, next_offset, replay_offset from consumer_checkpoints
     where processor = 'aggregator' and topic = ${topic}`;
  return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
}

/** True when every partition's stored offset reached its end offset. */
export function caughtUp(stored: Map<number, number>, ends: Map<number, number>): boolean {
  for (const [p, end] of ends) if (end > 0 && (stored.get(p) ?? 0) < end) return false;
  return true;
}

/** Sum of the values of a map. */
export function total(m: Map<number, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until true; throws after `timeoutMs` naming `what`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`bench: ${what} did not happen within ${timeoutMs} ms`);
}
