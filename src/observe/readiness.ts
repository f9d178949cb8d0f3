/**
 * Readiness: the services the configured modules need (the table `MODULE_NEEDS`, the same the
 * start-up checks read) are reachable, and every module is running with no faulted partition.
 * Results are cached for a few seconds and each check is bounded in time, so `/readyz` answers
 * fast even while a service hangs.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { checkKafka } from "../kafka/mod.ts";
import { checkPostgres } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { RunningModule } from "../runtime/module.ts";
import { servicesFor } from "../runtime/services.ts";
import { checkS3 } from "../s3/mod.ts";
import { describeFaults, moduleFaults, moduleState } from "./module_state.ts";

/** One named check; rejects with the reason when not ready. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** The outcome of all checks. */
export interface Readiness {
  ready: boolean;
  checks: { name: string; ok: boolean; reason?: string }[];
}

/** The service checks the modules of `config.modules` need (the table `MODULE_NEEDS`). */
export function serviceChecks(config: Config): ReadinessCheck[] {
  const needs = servicesFor(config, config.modules);
  const out: ReadinessCheck[] = [];
  if (needs.kafka) out.push({ name: "kafka", check: () => checkKafka(config) });
  if (needs.postgres) out.push({ name: "postgres", check: () => checkPostgres(config) });
  if (needs.buckets.length) {
    out.push({ name: "s3", check: () => checkS3(config, needs.buckets) });
  }
  return out;
}

/**
 * A check that every module returned by `modules()` is running (and that there is one) and
 * has no faulted partition (`ModuleStatus.faults`). The reason names the module, the
 * partitions and the first one's error, e.g. `archiver partition 2 failed: upload raw/...:
 * HTTP 403 InvalidAccessKeyId: ...` or `archiver partitions 0,2 failed; partition 0: ...`.
 */
export function modulesCheck(modules: () => RunningModule[]): ReadinessCheck {
  return {
    name: "modules",
    check() {
      const list = modules();
      if (list.length === 0) return Promise.reject(new Error("no module running yet"));
      const bad: string[] = [];
      for (const m of list) {
        const s = moduleState(m);
        if (s.state !== "running") {
          bad.push(`${m.name} ${s.state}${s.state === "failed" ? `: ${s.reason}` : ""}`);
          continue;
        }
        const faults = moduleFaults(m);
        if (faults.length) bad.push(`${m.name} ${describeFaults(faults)}`);
      }
      return bad.length ? Promise.reject(new Error(bad.join("; "))) : Promise.resolve();
    },
  };
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs checks with a per-check timeout and caches each result for `ttlMs`. */
export class ReadinessProbe {
  #cache = new Map<string, { at: number; result: Promise<{ ok: boolean; reason?: string }> }>();
  constructor(
    readonly checks: ReadinessCheck[],
    readonly opts: { ttlMs?: number; timeoutMs?: number; now?: () => number } = {},
  ) {}

  /** Evaluates every check (cached ones reused). */
  async evaluate(): Promise<Readiness> {
    const now = (this.opts.now ?? Date.now)();
    const ttl = this.opts.ttlMs ?? 5000;
    const results = await Promise.all(this.checks.map(async (c) => {
      let entry = this.#cache.get(c.name);
      // The modules check is cheap and must reflect a failure at once: never cached.
      if (!entry || now - entry.at >= ttl || c.name === "modules") {
        const result = withTimeout(c.check(), this.opts.timeoutMs ?? 4000).then(
          () => ({ ok: true }),
          (e) => ({ ok: false, reason: reasonOf(e) }),
        );
        entry = { at: now, result };
        this.#cache.set(c.name, entry);
      }
      return { name: c.name, ...(await entry.result) };
    }));
    return { ready: results.every((r) => r.ok), checks: results };
  }
}
