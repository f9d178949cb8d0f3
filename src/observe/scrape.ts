/**
 * One `/metrics` scrape: a `status()` snapshot of every running module (status_metrics.ts),
 * the consumer lag (lag_metrics.ts), the figures modules published (metrics.ts), rendered by
 * prom-client in the order of `FAMILIES`.
 *
 * A slow or unreachable Kafka or PostgreSQL never holds a scrape for long: the lag report
 * (cached by `ObserveResources.lag`) is awaited for at most `lagWaitMs`; past that, or when
 * it fails, the last report younger than `lagMaxAgeMs` is served, else the lag families are
 * left out of that scrape. Only one lag request is in flight at a time.
 *
 * Counters computed from a status never decrease from one scrape to the next (a late event
 * the aggregator later dead-letters as `unstorable` stays counted as late).
 *
 * @module
 */
import type { ModuleName } from "../config/mod.ts";
import type { RunningModule } from "../runtime/module.ts";
import type { PartitionLag } from "./lag.ts";
import { lagFamilies } from "./lag_metrics.ts";
import {
  FAMILIES,
  type MetricFamily,
  publishedMetrics,
  type Registry,
  renderFamilies,
} from "./metrics.ts";
import { statusFamilies } from "./status_metrics.ts";

/** Options of a `MetricsScraper`. */
export interface ScrapeOptions {
  /** The modules this process is configured to run (`config.modules`). */
  configured: readonly ModuleName[];
  /** The modules running now. */
  running: () => RunningModule[];
  /** The lag report of the configured consumers (cached by the caller). */
  lag?: () => Promise<PartitionLag[]>;
  /** More metrics to serve after Nexus's own. */
  extra?: Registry;
  /** How long a scrape waits for a lag report, ms (default 2000). */
  lagWaitMs?: number;
  /** How old a lag report may be when a fresh one is late or failed, ms (default 30000). */
  lagMaxAgeMs?: number;
  /** Told when the lag report failed or was late. */
  onError?: (what: string, e: unknown) => void;
}

/** Renders `/metrics`; keeps the state that spans scrapes (last lag report, counters). */
export class MetricsScraper {
  #inFlight: Promise<PartitionLag[]> | undefined;
  #lastLag: { at: number; rows: PartitionLag[] } | undefined;
  #counters = new Map<string, number>();

  constructor(readonly opts: ScrapeOptions) {}

  /** The text exposition of everything served now. */
  async render(): Promise<string> {
    const running = this.opts.running();
    const families = statusFamilies(running, this.opts.configured);
    const consumers = this.opts.configured.filter((m) => m === "aggregator" || m === "archiver");
    if (consumers.length > 0 && this.opts.lag) {
      const rows = await this.#lagRows();
      if (rows) {
        families.push(...lagFamilies(rows.filter((r) => consumers.includes(r.module))));
      }
    }
    this.#monotonic(families);
    return await renderFamilies(
      families,
      publishedMetrics(running.map((m) => m.name)),
      this.opts.extra,
    );
  }

  async #lagRows(): Promise<PartitionLag[] | undefined> {
    const waitMs = this.opts.lagWaitMs ?? 2000;
    const maxAgeMs = this.opts.lagMaxAgeMs ?? 30_000;
    const lag = this.opts.lag!;
    const pending = this.#inFlight ??= Promise.resolve()
      .then(lag)
      .then((rows) => {
        this.#lastLag = { at: Date.now(), rows };
        return rows;
      })
      .finally(() => (this.#inFlight = undefined));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), waitMs)
    );
    try {
      const r = await Promise.race([pending, late]);
      if (r !== "late") return r;
      pending.catch(() => {}); // settles later; a failure is reported by a later scrape
      this.opts.onError?.("lag", new Error(`no lag report within ${waitMs} ms`));
    } catch (e) {
      this.opts.onError?.("lag", e);
    } finally {
      clearTimeout(timer);
    }
    const last = this.#lastLag;
    return last && Date.now() - last.at <= maxAgeMs ? last.rows : undefined;
  }

  /** Holds every status-computed counter at the largest value it was served with. */
  #monotonic(families: MetricFamily[]): void {
    for (const f of families) {
      if (FAMILIES[f.name].type !== "counter") continue;
      for (const s of f.samples) {
        const key = f.name + JSON.stringify(Object.entries(s.labels).sort());
        const prev = this.#counters.get(key);
        if (prev !== undefined && s.value < prev) s.value = prev;
        else this.#counters.set(key, s.value);
      }
    }
  }
}
