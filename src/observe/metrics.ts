/**
 * The metric families `/metrics` serves, in one table (`FAMILIES`), and their rendering with
 * prom-client (text exposition format 0.0.4).
 *
 * Almost every family is computed at scrape time from the modules' state — their `status()`
 * (`status_metrics.ts`) and the consumer lag the observe layer reads (`lag_metrics.ts`);
 * `scrape.ts` puts them together. Only what a status snapshot cannot hold is published by the
 * modules as it happens, through two functions: `recordFlush` (a histogram of flush
 * durations) and `countDeadLetters` (dead letters by reason).
 *
 * A family is served only while it has samples: each has one as soon as a module that feeds
 * it runs (0 where nothing happened yet). docs/observability.md lists the same families; the
 * tests compare both with what is served.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";
import type { ModuleName } from "../config/mod.ts";
import { MALFORMED_KINDS } from "../events/event.ts";

export { Registry };

/** Content type of the text exposition format 0.0.4. */
export const CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** What feeds a family: a status snapshot, the lag report, or a module as it happens. */
export type FamilySource = "status" | "lag" | "published";

/** One family as declared. */
export interface FamilyDef {
  type: "counter" | "gauge" | "histogram";
  /** Label names (a histogram's `le` not included). */
  labels: readonly string[];
  /** The modules whose presence makes the family served. */
  modules: readonly ModuleName[];
  source: FamilySource;
  help: string;
}

const ALL: readonly ModuleName[] = ["generator", "loader", "aggregator", "archiver"];
const CONSUMERS: readonly ModuleName[] = ["aggregator", "archiver"];

/** Every family Nexus serves. docs/observability.md lists the same (a test checks). */
export const FAMILIES = {
  nexus_module_up: {
    type: "gauge",
    labels: ["module"],
    modules: ALL,
    source: "status",
    help: "1 while the module runs; 0 before it started and once it ended (finished or failed)",
  },
  nexus_events_total: {
    type: "counter",
    labels: ["module", "direction"],
    modules: ALL,
    source: "status",
    help:
      "Records the module consumed (in) or produced/wrote (out) since start: generator out = sent to Kafka; aggregator in = records read (replays not counted); archiver in = records taken, out = records durable in S3; loader in = CSV rows read",
  },
  nexus_last_flush_timestamp_seconds: {
    type: "gauge",
    labels: ["module"],
    modules: ALL,
    source: "status",
    help:
      "When the module last flushed, uploaded, sent or loaded (Unix seconds); 0 before the first",
  },
  nexus_partition_faults: {
    type: "gauge",
    labels: ["module"],
    modules: ALL,
    source: "status",
    help:
      "Partitions of the module that cannot go on for a reason retrying cannot fix (S3 refused, unreadable ledger); 0 when none. Non-zero: not ready, and run exits after NEXUS_FAULT_EXIT_MS",
  },
  nexus_partition_fault_timestamp_seconds: {
    type: "gauge",
    labels: ["module", "partition"],
    modules: CONSUMERS,
    source: "status",
    help: "Per owned partition: when it was reported faulted (Unix seconds); 0 while it is not",
  },
  nexus_flush_duration_seconds: {
    type: "histogram",
    labels: ["module"],
    modules: CONSUMERS,
    source: "published",
    help:
      "Duration of one flush: the aggregator's PostgreSQL transaction (dead letters included), the archiver's upload of one object",
  },
  nexus_watermark_seconds: {
    type: "gauge",
    labels: ["module", "partition"],
    modules: ["aggregator"],
    source: "status",
    help:
      "Per owned partition: the event-time watermark (Unix seconds); 0 until the partition has one",
  },
  nexus_late_events_total: {
    type: "counter",
    labels: ["module"],
    modules: ["aggregator"],
    source: "status",
    help: "Events that arrived after their window was final (recorded in late_events) since start",
  },
  nexus_dead_letters_total: {
    type: "counter",
    labels: ["module", "reason"],
    modules: ["aggregator"],
    source: "published",
    help: "Records written to the dead-letter topic since start, by reason",
  },
  nexus_aggregator_duplicates_total: {
    type: "counter",
    labels: [],
    modules: ["aggregator"],
    source: "status",
    help: "Events dropped as duplicates (an event_id already counted) since start",
  },
  nexus_aggregator_replayed_records_total: {
    type: "counter",
    labels: [],
    modules: ["aggregator"],
    source: "status",
    help: "Records re-read to rebuild a claimed partition's state since start",
  },
  nexus_aggregator_fenced_flushes_total: {
    type: "counter",
    labels: [],
    modules: ["aggregator"],
    source: "status",
    help: "Flushes refused because a newer owner had claimed the partition, since start",
  },
  nexus_aggregator_state_entries: {
    type: "gauge",
    labels: [],
    modules: ["aggregator"],
    source: "status",
    help:
      "Open windows + dedup ids + pending rows over all owned partitions (fetching pauses over the state bound)",
  },
  nexus_archive_bytes_total: {
    type: "counter",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help: "Compressed bytes the archiver uploaded since start",
  },
  nexus_archive_objects_total: {
    type: "counter",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help: "Objects the archiver uploaded since start",
  },
  nexus_archive_early_cuts_total: {
    type: "counter",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help:
      "Objects closed early because the buffers reached NEXUS_ARCHIVE_MAX_BUFFER_BYTES, since start",
  },
  nexus_archive_buffered_bytes: {
    type: "gauge",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help: "Uncompressed bytes the archiver holds in open and queued objects",
  },
  nexus_archive_buffer_limit_bytes: {
    type: "gauge",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help: "The archiver's memory budget (NEXUS_ARCHIVE_MAX_BUFFER_BYTES)",
  },
  nexus_archive_queued_objects: {
    type: "gauge",
    labels: [],
    modules: ["archiver"],
    source: "status",
    help: "Closed objects waiting for their upload, over all owned partitions",
  },
  nexus_loader_files_total: {
    type: "counter",
    labels: [],
    modules: ["loader"],
    source: "status",
    help: "CSV files the loader loaded since start",
  },
  nexus_loader_rejected_rows_total: {
    type: "counter",
    labels: [],
    modules: ["loader"],
    source: "status",
    help: "CSV rows the loader rejected since start",
  },
  nexus_kafka_end_offset: {
    type: "gauge",
    labels: ["topic", "partition"],
    modules: CONSUMERS,
    source: "lag",
    help: "End offset (high watermark) of each partition of the click topic",
  },
  nexus_consumer_next_offset: {
    type: "gauge",
    labels: ["module", "group", "topic", "partition"],
    modules: CONSUMERS,
    source: "lag",
    help:
      "Next offset the consumer group will process: the furthest of its Kafka committed offset, the aggregator's stored next_offset and the archiver's last archived offset + 1; the partition's first offset when none; at most the end offset",
  },
  nexus_kafka_consumer_group_lag: {
    type: "gauge",
    labels: ["module", "group", "topic", "partition"],
    modules: CONSUMERS,
    source: "lag",
    help: "Records the consumer group has not processed yet: end offset - next offset",
  },
} as const satisfies Record<string, FamilyDef>;

/** A family name. */
export type FamilyName = keyof typeof FAMILIES;

/** Label values by label name. */
export type Labels = Record<string, string>;

/** A gauge or counter family computed at scrape time. */
export interface MetricFamily {
  name: FamilyName;
  samples: { labels: Labels; value: number }[];
}

/** An empty family `name` (its samples are pushed by the caller). */
export function family(name: FamilyName): MetricFamily {
  return { name, samples: [] };
}

// ---- published by the modules as it happens ----

/** Flush durations, seconds: 5 ms .. 10 s. */
export const FLUSH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const flushSeconds = new Histogram({
  name: "nexus_flush_duration_seconds",
  help: FAMILIES.nexus_flush_duration_seconds.help,
  labelNames: FAMILIES.nexus_flush_duration_seconds.labels,
  buckets: FLUSH_BUCKETS,
  registers: [],
});
const flushed = new Set<string>();

const deadLetters = new Counter({
  name: "nexus_dead_letters_total",
  help: FAMILIES.nexus_dead_letters_total.help,
  labelNames: FAMILIES.nexus_dead_letters_total.labels,
  registers: [],
});

/** Records one flush of `module` that took `seconds`. */
export function recordFlush(module: "aggregator" | "archiver", seconds: number): void {
  flushed.add(module);
  flushSeconds.observe({ module }, seconds);
}

/** Counts dead letters of `module` written to the dead-letter topic, by their reason. */
export function countDeadLetters(
  module: "aggregator",
  records: Iterable<{ readonly reason: string }>,
): void {
  for (const r of records) deadLetters.inc({ module, reason: r.reason });
}

/** A published metric and its family name. */
export interface PublishedMetric {
  name: FamilyName;
  metric: Metric;
}

/**
 * The published metrics fed by `running` modules, each with a 0 sample per module (and
 * reason) that has published nothing yet.
 */
export function publishedMetrics(running: readonly ModuleName[]): PublishedMetric[] {
  const out: PublishedMetric[] = [];
  const flushing = running.filter((m) => m === "aggregator" || m === "archiver");
  for (const module of flushing) {
    if (flushed.has(module)) continue;
    flushed.add(module);
    flushSeconds.zero({ module });
  }
  if (flushing.length) out.push({ name: "nexus_flush_duration_seconds", metric: flushSeconds });
  if (running.includes("aggregator")) {
    for (const reason of MALFORMED_KINDS) deadLetters.inc({ module: "aggregator", reason }, 0);
    out.push({ name: "nexus_dead_letters_total", metric: deadLetters });
  }
  return out;
}

// ---- rendering ----

/**
 * Renders `families` (those with samples; the others are left out; NaN samples are dropped)
 * and `published` in the order of `FAMILIES`, then `extra`'s metrics, in text format 0.0.4.
 *
 * @throws when a family's labels do not match its declaration, or a counter is negative.
 */
export async function renderFamilies(
  families: readonly MetricFamily[],
  published: readonly PublishedMetric[] = [],
  extra?: Registry,
): Promise<string> {
  const metrics = new Map<string, Metric>();
  for (const f of families) {
    const samples = f.samples.filter((s) => !Number.isNaN(s.value));
    if (samples.length === 0) continue;
    const def: FamilyDef = FAMILIES[f.name];
    if (metrics.has(f.name)) throw new Error(`${f.name}: computed twice`);
    const opts = { name: f.name, help: def.help, labelNames: def.labels, registers: [] };
    if (def.type === "counter") {
      const c = new Counter(opts);
      for (const s of samples) c.inc(s.labels, s.value);
      metrics.set(f.name, c);
    } else if (def.type === "gauge") {
      const g = new Gauge(opts);
      for (const s of samples) g.set(s.labels, s.value);
      metrics.set(f.name, g);
    } else {
      throw new Error(`${f.name}: a histogram is published, not computed`);
    }
  }
  for (const { name, metric } of published) {
    if (metrics.has(name)) throw new Error(`${name}: computed and published`);
    metrics.set(name, metric);
  }
  // in the order of FAMILIES, so related families stay together
  const order = new Map(Object.keys(FAMILIES).map((n, i) => [n, i]));
  const reg = new Registry();
  for (const [, m] of [...metrics].sort(([a], [b]) => order.get(a)! - order.get(b)!)) {
    reg.registerMetric(m);
  }
  const text = await (extra ? Registry.merge([reg, extra]) : reg).metrics();
  if (text.trim() === "") return ""; // nothing to serve (prom-client says "\n")
  return text.endsWith("\n") ? text : text + "\n";
}
