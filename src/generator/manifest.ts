/**
 * The ground-truth manifest of a stream: what was emitted, counted from `generateStream`
 * itself, so consumers (aggregator, archiver, verify) can be checked against it exactly.
 *
 * @module
 */
import { type Action, ACTIONS, MALFORMED_KINDS, type MalformedKind } from "../events/mod.ts";
import { canonicalParams, type StreamParams } from "./params.ts";
import { type GeneratedRecord, generateStream } from "./stream.ts";

/** Per-minute figures of the valid, de-duplicated events. */
export interface MinuteCounts {
  counts: Record<Action, number>;
  purchases: number;
  revenue_cents: number;
}

/** The manifest (format `nexus-manifest/1`). */
export interface Manifest {
  format: "nexus-manifest/1";
  params: StreamParams;
  /** Total records emitted = valid + duplicates + sum of malformed. */
  records: number;
  valid: number;
  duplicates: number;
  malformed: Record<MalformedKind, number>;
  /** Keyed by window start (event time floored to the minute, UTC ISO), sorted. */
  minutes: Record<string, MinuteCounts>;
}

/** Counts records one at a time; `finish()` returns the manifest. */
export class ManifestBuilder {
  readonly #params: StreamParams;
  #records = 0;
  #valid = 0;
  #duplicates = 0;
  readonly #malformed = Object.fromEntries(MALFORMED_KINDS.map((k) => [k, 0])) as Record<
    MalformedKind,
    number
  >;
  readonly #minutes = new Map<number, MinuteCounts>();

  constructor(params: StreamParams) {
    this.#params = canonicalParams(params);
  }

  /** Counts one emitted record. */
  add(rec: GeneratedRecord): void {
    this.#records++;
    if (rec.kind === "duplicate") {
      this.#duplicates++;
    } else if (rec.kind === "valid") {
      this.#valid++;
      const e = rec.event!;
      const minute = Math.floor(rec.eventTime! / 60_000) * 60_000;
      let m = this.#minutes.get(minute);
      if (!m) {
        m = {
          counts: Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>,
          purchases: 0,
          revenue_cents: 0,
        };
        this.#minutes.set(minute, m);
      }
      m.counts[e.action]++;
      if (e.action === "purchase") {
        m.purchases++;
        m.revenue_cents += Math.round(e.price! * 100) * e.quantity!;
      }
    } else {
      this.#malformed[rec.kind]++;
    }
  }

  /** Records counted so far. */
  get records(): number {
    return this.#records;
  }

  /** The manifest of everything counted. */
  finish(): Manifest {
    const minutes: Record<string, MinuteCounts> = {};
    for (const k of [...this.#minutes.keys()].sort((a, b) => a - b)) {
      minutes[new Date(k).toISOString()] = this.#minutes.get(k)!;
    }
    return {
      format: "nexus-manifest/1",
      params: this.#params,
      records: this.#records,
      valid: this.#valid,
      duplicates: this.#duplicates,
      malformed: { ...this.#malformed },
      minutes,
    };
  }
}

/** The manifest of `generateStream(p)`, without Kafka (what `generate --dry-run` writes). */
export function computeManifest(p: StreamParams): Manifest {
  const b = new ManifestBuilder(p);
  for (const rec of generateStream(p, { selfCheck: false })) b.add(rec);
  return b.finish();
}

/** The manifest as the bytes written to files and S3 (2-space JSON, trailing newline). */
export function manifestJson(m: Manifest): string {
  return JSON.stringify(m, null, 2) + "\n";
}
