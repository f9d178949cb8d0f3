/**
 * The clients the observability endpoints share: one Kafka admin (created on first use,
 * replaced after a failure), one small Postgres pool, and a lag report cached briefly so
 * the dashboard's polling and Prometheus scrapes don't multiply broker requests.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type Admin, createKafkaClient } from "../kafka/mod.ts";
import { createSql, type Sql } from "../postgres/mod.ts";
import type { RunningModule } from "../runtime/module.ts";
import { collectLag, lagTargets, type PartitionLag } from "./lag.ts";

/** Shared, lazily created clients. */
export class ObserveResources {
  #admin: Admin | undefined;
  #sql: Sql | undefined;
  #lag: { at: number; value: Promise<PartitionLag[]>; failed: boolean } | undefined;
  #closed = false;

  constructor(
    readonly config: Config,
    readonly modules: () => RunningModule[],
    /** How long a lag report is reused, ms. */
    readonly lagTtlMs = 1000,
  ) {}

  /** The Kafka admin client (connects on first use). */
  admin(): Admin {
    if (this.#closed) throw new Error("observability stopped");
    this.#admin ??= createKafkaClient(this.config, {
      clientSuffix: "observe",
      connectTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
    }).admin();
    return this.#admin;
  }

  /** Runs `fn` with the admin; drops the client when it fails so the next call reconnects. */
  async withAdmin<T>(fn: (a: Admin) => Promise<T>): Promise<T> {
    const a = this.admin();
    try {
      return await fn(a);
    } catch (e) {
      if (this.#admin === a) {
        this.#admin = undefined;
        a.close().catch(() => {});
      }
      throw e;
    }
  }

  /** A small Postgres pool (postgres.js connects on first query). */
  sql(): Sql {
    if (!this.#sql) this.#sql = createSql(this.config, { max: 2, connectTimeout: 5 });
    return this.#sql;
  }

  /** Last archived offsets per partition from a running archiver's status, if any. */
  archivedFromStatus(): Map<number, number> | undefined {
    const ar = this.modules().find((m) => m.name === "archiver");
    if (!ar) return undefined;
    const out = new Map<number, number>();
    for (const [p, d] of Object.entries(ar.status().partitions ?? {})) {
      if (d.offset !== undefined && /^\d+$/.test(d.offset)) out.set(Number(p), Number(d.offset));
    }
    return out;
  }

  /** Lag of the configured consumers, cached for `lagTtlMs`. */
  lag(): Promise<PartitionLag[]> {
    const now = Date.now();
    // A failure is kept for 5 s so a broker outage isn't hammered (and logged) per request.
    const ttl = this.#lag?.failed ? Math.max(this.lagTtlMs, 5000) : this.lagTtlMs;
    if (this.#lag && now - this.#lag.at < ttl) return this.#lag.value;
    const targets = lagTargets(this.config, this.config.modules);
    const usesPg = targets.some((t) => t.module === "aggregator");
    const value = this.withAdmin((admin) =>
      collectLag(targets, {
        admin,
        sql: usesPg ? this.sql() : undefined,
        archived: () => Promise.resolve(this.archivedFromStatus() ?? new Map()),
      })
    );
    const entry = { at: now, value, failed: false };
    this.#lag = entry;
    value.catch(() => (entry.failed = true));
    return value;
  }

  /** Closes every client. */
  async close(): Promise<void> {
    this.#closed = true;
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.close();
    await this.#sql?.end({ timeout: 2 }).catch(() => {});
    this.#sql = undefined;
  }
}
