/**
 * A tiny Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format 0.0.4 (`# HELP`, `# TYPE`, escaped label values). Collectors add
 * families computed at scrape time (module status, consumer lag).
 *
 * A process-wide default registry carries the helpers modules call (`recordFlush`,
 * `countEvents`, ...). Metric names are documented in docs/observability.md.
 *
 * @module
 */

/** Prometheus metric types this registry renders. */
export type MetricType = "counter" | "gauge" | "histogram";

/** Label values by label name. */
export type Labels = Record<string, string | number>;

/** One sample line: `name{labels} value`. */
export interface Sample {
  /** Suffix appended to the family name (`_bucket`, `_sum`, `_count`), usually empty. */
  suffix?: string;
  labels: Labels;
  value: number;
}

/** A family as rendered: name, help, type and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** A source of families computed at scrape time. May be async (e.g. asks Kafka). */
export type Collector = () => MetricFamily[] | Promise<MetricFamily[]>;

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text: backslash and newline. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Formats a sample value the way Prometheus parses it (`+Inf`, `-Inf`, `NaN`). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}="${escapeLabelValue(String(labels[k]))}"`).join(",") + "}";
}

/** Renders families in text format 0.0.4. */
export function renderFamilies(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      out.push(`${f.name}${s.suffix ?? ""}${renderLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.join("\n") + (out.length ? "\n" : "");
}

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME_RE.test(name)) throw new Error(`invalid metric name "${name}"`);
  for (const l of labelNames) {
    if (!LABEL_RE.test(l) || l.startsWith("__")) throw new Error(`invalid label name "${l}"`);
  }
}

function keyOf(labelNames: readonly string[], labels: Labels): string {
  for (const k of Object.keys(labels)) {
    if (!labelNames.includes(k)) throw new Error(`unexpected label "${k}"`);
  }
  return JSON.stringify(labelNames.map((n) => String(labels[n] ?? "")));
}

function labelsOf(labelNames: readonly string[], key: string): Labels {
  const values = JSON.parse(key) as string[];
  const out: Labels = {};
  labelNames.forEach((n, i) => (out[n] = values[i]!));
  return out;
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    checkNames(name, labelNames);
  }
  abstract readonly type: MetricType;
  abstract collect(): MetricFamily;
}

/** A monotonically increasing counter. */
export class Counter extends Metric {
  readonly type = "counter" as const;
  #values = new Map<string, number>();
  /** Adds `n` (≥ 0, default 1). */
  inc(labels: Labels = {}, n = 1): void {
    if (!(n >= 0)) throw new Error(`counter ${this.name} cannot decrease (${n})`);
    const k = keyOf(this.labelNames, labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** Current value for `labels` (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(this.labelNames, labels)) ?? 0;
  }
  collect(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      samples: [...this.#values].map(([k, value]) => ({
        labels: labelsOf(this.labelNames, k),
        value,
      })),
    };
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  readonly type = "gauge" as const;
  #values = new Map<string, number>();
  set(labels: Labels, value: number): void {
    this.#values.set(keyOf(this.labelNames, labels), value);
  }
  inc(labels: Labels = {}, n = 1): void {
    const k = keyOf(this.labelNames, labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  get(labels: Labels = {}): number | undefined {
    return this.#values.get(keyOf(this.labelNames, labels));
  }
  /** Forgets every label set (e.g. before a collector refills it). */
  reset(): void {
    this.#values.clear();
  }
  collect(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      samples: [...this.#values].map(([k, value]) => ({
        labels: labelsOf(this.labelNames, k),
        value,
      })),
    };
  }
}

/** Default histogram buckets (seconds): 5 ms .. 10 s. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram with cumulative buckets, `_sum` and `_count`. */
export class Histogram extends Metric {
  readonly type = "histogram" as const;
  readonly buckets: number[];
  #values = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets = DEFAULT_BUCKETS,
  ) {
    super(name, help, labelNames);
    if (labelNames.includes("le")) throw new Error(`histogram ${name} cannot use label "le"`);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(labels: Labels, value: number): void {
    const k = keyOf(this.labelNames, labels);
    let v = this.#values.get(k);
    if (!v) this.#values.set(k, v = { counts: this.buckets.map(() => 0), sum: 0, count: 0 });
    this.buckets.forEach((b, i) => {
      if (value <= b) v.counts[i]!++;
    });
    v.sum += value;
    v.count++;
  }
  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const [k, v] of this.#values) {
      const labels = labelsOf(this.labelNames, k);
      this.buckets.forEach((b, i) => {
        samples.push({
          suffix: "_bucket",
          labels: { ...labels, le: formatValue(b) },
          value: v.counts[i]!,
        });
      });
      samples.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: v.count });
      samples.push({ suffix: "_sum", labels, value: v.sum });
      samples.push({ suffix: "_count", labels, value: v.count });
    }
    return { name: this.name, help: this.help, type: this.type, samples };
  }
}

/** A set of metrics and collectors rendered together. */
export class Registry {
  #metrics = new Map<string, Metric>();
  #collectors = new Set<Collector>();

  #add<M extends Metric>(m: M): M {
    const existing = this.#metrics.get(m.name);
    if (existing) {
      if (existing.type !== m.type) {
        throw new Error(`metric ${m.name} already registered as ${existing.type}`);
      }
      return existing as M;
    }
    this.#metrics.set(m.name, m);
    return m;
  }
  /** Registers (or returns the already registered) counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets?: number[],
  ): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }
  /** Adds a scrape-time collector; returns a function removing it. */
  addCollector(c: Collector): () => void {
    this.#collectors.add(c);
    return () => this.#collectors.delete(c);
  }
  /**
   * Every family: registered metrics, then collected ones. A collector that fails or returns
   * a name already present is skipped (reported through `onError`), never breaking a scrape.
   */
  async families(onError?: (e: unknown) => void): Promise<MetricFamily[]> {
    const out = [...this.#metrics.values()].map((m) => m.collect());
    const seen = new Set(out.map((f) => f.name));
    for (const c of this.#collectors) {
      try {
        for (const f of await c()) {
          checkNames(f.name, []);
          if (seen.has(f.name)) throw new Error(`duplicate metric family ${f.name}`);
          seen.add(f.name);
          out.push(f);
        }
      } catch (e) {
        onError?.(e);
      }
    }
    return out;
  }
  /** Text exposition format 0.0.4. */
  async render(onError?: (e: unknown) => void): Promise<string> {
    return renderFamilies(await this.families(onError));
  }
}

/** Content type of the text exposition format. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The process-wide registry `/metrics` renders. */
export const defaultRegistry = new Registry();

const flushSeconds = defaultRegistry.histogram(
  "nexus_flush_duration_seconds",
  "Duration of a module's flush (aggregator to Postgres, archiver upload)",
  ["module"],
);
const eventsTotal = defaultRegistry.counter(
  "nexus_events_total",
  "Records a module consumed (in) or produced/wrote (out)",
  ["module", "direction"],
);
const deadLetters = defaultRegistry.counter(
  "nexus_dead_letters_total",
  "Records sent to the dead-letter topic, by reason",
  ["module", "reason"],
);
const lateTotal = defaultRegistry.counter(
  "nexus_late_events_total",
  "Events that arrived after their window was final",
);
const watermarkSeconds = defaultRegistry.gauge(
  "nexus_watermark_seconds",
  "Event-time watermark per module and partition (Unix seconds)",
  ["module", "partition"],
);
const consumerLag = defaultRegistry.gauge(
  "nexus_consumer_lag",
  "Records behind the end of the partition, as reported by the consumer itself",
  ["group", "topic", "partition"],
);
const archiveBytes = defaultRegistry.counter(
  "nexus_archive_bytes_total",
  "Compressed bytes the archiver uploaded",
);

/** Records one flush of `module` that took `seconds`. */
export function recordFlush(module: string, seconds: number): void {
  flushSeconds.observe({ module }, seconds);
}
/** Counts `n` records in or out of `module`. */
export function countEvents(module: string, direction: "in" | "out", n: number): void {
  eventsTotal.inc({ module, direction }, n);
}
/** Counts `n` dead-lettered records of `module` for `reason`. */
export function countDeadLetter(module: string, reason: string, n: number): void {
  deadLetters.inc({ module, reason }, n);
}
/** Counts `n` late events. */
export function countLate(n: number): void {
  lateTotal.inc({}, n);
}
/** Sets `module`'s watermark of `partition` (epoch ms). */
export function setWatermark(module: string, partition: number, epochMs: number): void {
  watermarkSeconds.set({ module, partition }, epochMs / 1000);
}
/** Sets the lag a consumer sees on one partition. */
export function setLag(group: string, topic: string, partition: number, lag: number): void {
  consumerLag.set({ group, topic, partition }, lag);
}
/** Counts `n` archived bytes. */
export function addArchiveBytes(n: number): void {
  archiveBytes.inc({}, n);
}
